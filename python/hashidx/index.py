"""The index: build, open, search, read items."""
from __future__ import annotations

import ctypes
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Optional, Union

import numpy as np

from . import _convert, _native
from ._convert import ArrayLike, check, error_struct
from .errors import ClosedError, InvalidArgumentError, UnknownIDError

lib = _native.lib
PathLike = Union[str, "os.PathLike[str]"]


class Item(NamedTuple):
    """One item of an index: its id, its stored vector and its attributes."""

    id: Union[str, int]
    vector: np.ndarray
    attributes: dict


class BuildSummary(NamedTuple):
    """What a build produced."""

    rows: int
    dimension: int
    bits: int
    shards: int
    partitions: int
    bytes_on_disk: int
    seconds: float
    tuned_probes: Optional[int]
    tuned_candidates: Optional[int]


def _path(path: PathLike) -> bytes:
    return _convert.text(os.fspath(path), name="path")


class _Handle:
    """A C handle shared by calls on many threads: each call holds it for its length, and
    close() frees it once no call holds it (never under a running search)."""

    def __init__(self, pointer: int, free: Any, what: str) -> None:
        self._pointer: Optional[int] = pointer
        self._free = free
        self._what = what
        self._users = 0
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            if self._pointer is None:
                raise ClosedError(f"the {self._what} is closed")
            self._users += 1
            return self._pointer

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._closing:
                self._finish()

    _closing = False

    def close(self) -> None:
        with self._lock:
            if self._pointer is None or self._closing:
                return
            self._closing = True
            if self._users == 0:
                self._finish()

    def _finish(self) -> None:
        pointer, self._pointer = self._pointer, None
        if pointer is not None:
            self._free(pointer)

    @property
    def closed(self) -> bool:
        return self._pointer is None or self._closing


class Index:
    """An open hashidx index: an immutable snapshot of one committed generation.

    Any number of threads may search one ``Index`` at once (the GIL is released inside
    every search). Writes go through :meth:`writer`; :meth:`reopen` gives a snapshot that
    sees them. Use as a context manager, or call :meth:`close`.

    >>> index = hashidx.open("words.hidx")
    >>> ids, scores = index.search(query, k=10)
    """

    def __init__(self, path: PathLike) -> None:
        """Opens the newest committed generation of the index at ``path``.

        Raises :class:`NotAnIndexError`, :class:`CorruptIndexError`,
        :class:`UnsupportedVersionError` or :class:`IndexIOError`.
        """
        handle = ctypes.c_void_p()
        error = error_struct()
        check(lib.hashidx_open(_path(path), ctypes.byref(handle), error), error)
        self._init(handle.value, os.fspath(path))

    @classmethod
    def _from_handle(cls, pointer: int, path: str) -> "Index":
        self = cls.__new__(cls)
        self._init(pointer, path)
        return self

    def _init(self, pointer: int, path: str) -> None:
        self._handle = _Handle(pointer, lib.hashidx_close, "index")
        self.path = path
        self.dimension = int(lib.hashidx_dimension(pointer))
        self._string_ids = bool(lib.hashidx_has_string_ids(pointer))
        self._count = int(lib.hashidx_count(pointer))
        self._options_cache: dict = {}
        self._single_shape = (self.dimension,)
        self._local = threading.local()   # per thread: buffers of single queries

    # -- life cycle --------------------------------------------------------------------

    def close(self) -> None:
        """Releases the index (after the searches running on other threads end). Calls
        afterwards raise :class:`ClosedError`."""
        self._handle.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._handle.closed

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    def reopen(self) -> "Index":
        """A new snapshot of the same index at its newest committed generation (this one
        stays open and unchanged)."""
        pointer = self._handle.acquire()
        try:
            newer = ctypes.c_void_p()
            error = error_struct()
            check(lib.hashidx_reopen(pointer, ctypes.byref(newer), error), error)
        finally:
            self._handle.release()
        return Index._from_handle(newer.value, self.path)

    # -- description -------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of live items."""
        return self._count

    @property
    def string_ids(self) -> bool:
        """True when items have string ids; False when their ids are their row numbers."""
        return self._string_ids

    @property
    def info(self) -> dict:
        """What ``hashidx info`` shows, as a dict: count, dimension, bits, partitions,
        shards, default_probes, default_candidates, attributes (name → type), and how well
        the partitions fit the items now — list_balance and list_balance_at_fit (the merge
        policy refits once the first is 1.32× the second), drift, growth (``None`` where
        unknown) — and partition_arena_bytes, …"""
        return json.loads(self._string_call(lambda p, buf, cap, needed, err: lib.hashidx_info_json(p, buf, cap, needed, err)))

    def verify(self, files: Optional[Iterable[str]] = None) -> None:
        """Reads the shards and checks every block's checksum (``hashidx info --verify``;
        opening checks everything else). ``files``: shard file names to check
        (``"shard-000003-000000.hidx"``), by default all; names not in this generation are
        skipped. Raises :class:`CorruptIndexError` naming the file that does not match."""
        if files is None:
            text, length = None, 0
        else:
            names = [files] if isinstance(files, str) else list(files)
            if not all(isinstance(n, str) and n and "\n" not in n and "/" not in n for n in names):
                raise InvalidArgumentError("files: shard file names (no '/', no newline)")
            text = "\n".join(names).encode("utf-8")
            length = len(text)
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            check(lib.hashidx_verify(pointer, text, length, error), error)
        finally:
            self._handle.release()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._count} items × {self.dimension}"
        return f"<hashidx.Index {self.path!r}: {state}>"

    # -- search ------------------------------------------------------------------------

    def _options(self, k: int, probes: Optional[int], candidates: Optional[int], where: Optional[str],
                 shortlist: Optional[int], rerank: Optional[str], blend_weight: Optional[float],
                 threads: Optional[int]) -> _native.SearchOptions:
        key = (k, probes, candidates, where, shortlist, rerank, blend_weight, threads)
        cached = self._options_cache.get(key)
        if cached is not None:
            return cached
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 < k <= 2**31 - 1:
            raise InvalidArgumentError(f"k: must be a positive integer, got {k!r}")
        o = _native.SearchOptions()
        lib.hashidx_search_options_init(ctypes.byref(o))
        o.k = int(k)
        o.probes = _convert.positive_or_default(probes, name="probes")
        o.candidates = _convert.positive_or_default(candidates, name="candidates")
        o.shortlist = _convert.positive_or_default(shortlist, name="shortlist")
        o.threads = _convert.positive_or_default(threads, name="threads")
        o.rerank = _convert.rerank_code(rerank)
        if blend_weight is not None:
            o.blend_weight = _convert.unit_interval(blend_weight, name="blend_weight")
        if where is not None:
            o.filter = _convert.text(where, name="where")
        if len(self._options_cache) > 64:
            self._options_cache.clear()
        self._options_cache[key] = o
        return o

    def search_rows(self, queries: ArrayLike, k: int = 10, *, probes: Optional[int] = None,
                    candidates: Optional[int] = None, where: Optional[str] = None, shortlist: Optional[int] = None,
                    rerank: Optional[str] = None, blend_weight: Optional[float] = None,
                    threads: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`search`, with row numbers (int64, -1 for an empty slot) instead of ids."""
        o = self._options(k, probes, candidates, where, shortlist, rerank, blend_weight, threads)
        if type(queries) is np.ndarray and queries.shape == self._single_shape and queries.dtype.kind == "f":
            return self._search_one(queries, o)
        array, dtype, single = _convert.vectors(queries, name="queries", single_ok=True)
        n = array.shape[0]
        rows = np.empty((n, o.k), dtype=np.int64)
        scores = np.empty((n, o.k), dtype=np.float32)
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_search(pointer, array.ctypes.data, dtype, n, array.shape[1], o,
                                        rows.ctypes.data, scores.ctypes.data, None, error)
        finally:
            self._handle.release()
        check(status, error)
        if single:
            return rows[0], scores[0]
        return rows, scores

    def _search_one(self, query: np.ndarray, o: _native.SearchOptions) -> tuple[np.ndarray, np.ndarray]:
        """One query of the index's dimension, through this thread's buffers: the query is
        copied (and converted) into a float32 buffer and the results copied out, which costs
        less than taking the addresses of new arrays (about 1 µs each through NumPy)."""
        buffers = getattr(self._local, "buffers", None)
        if buffers is None or buffers[0] < o.k:
            k = max(o.k, 16)
            q = np.empty(self.dimension, dtype=np.float32)
            rows = np.empty(k, dtype=np.int64)
            scores = np.empty(k, dtype=np.float32)
            buffers = self._local.buffers = (k, q, q.ctypes.data, rows, rows.ctypes.data, scores, scores.ctypes.data)
        _, q, q_address, rows, rows_address, scores, scores_address = buffers
        q[...] = query
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_search(pointer, q_address, 0, 1, self.dimension, o, rows_address, scores_address,
                                        None, error)
        finally:
            self._handle.release()
        check(status, error)
        return rows[:o.k].copy(), scores[:o.k].copy()

    def search(self, queries: ArrayLike, k: int = 10, *, probes: Optional[int] = None,
               candidates: Optional[int] = None, where: Optional[str] = None, shortlist: Optional[int] = None,
               rerank: Optional[str] = None, blend_weight: Optional[float] = None,
               threads: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most cosine-similar to each query, best first.

        ``queries``: one vector (shape ``(d,)``) or a batch (``(n, d)``) of float32, float16
        or float64 (converted), of the index's dimension. A batch runs on ``threads``
        threads (all cores when None), without the GIL.

        Returns ``(ids, scores)`` of shape ``(k,)`` for one vector, ``(n, k)`` for a batch:
        ids are strings (an object array; None past the results) in an index built with
        ids, else int64 row numbers (-1 past the results); scores are float32 cosines
        (-inf past the results). Fewer than ``k`` results come back when the index holds
        fewer items or fewer pass ``where``.

        ``probes`` (partitions scanned) and ``candidates`` (re-ranked exactly): more is
        slower and more exact; None: the index's defaults (tuned when it was built with a
        target recall). ``where``: a filter such as ``'colour = "red" AND price < 50'``
        (docs/FILTERS.md).

        >>> ids, scores = index.search(np.random.rand(50).astype("float32"), k=3)
        >>> ids.shape, scores.dtype
        ((3,), dtype('float32'))

        Raises :class:`DimensionError`, :class:`NonFiniteError`, :class:`ZeroVectorError`,
        :class:`InvalidFilterError`, :class:`InvalidArgumentError`.
        """
        rows, scores = self.search_rows(queries, k, probes=probes, candidates=candidates, where=where,
                                        shortlist=shortlist, rerank=rerank, blend_weight=blend_weight, threads=threads)
        return self._ids(rows), scores

    def search_by_id(self, id: Union[str, int], k: int = 10, *, probes: Optional[int] = None,
                     candidates: Optional[int] = None, where: Optional[str] = None, shortlist: Optional[int] = None,
                     rerank: Optional[str] = None, blend_weight: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """The items most similar to the item ``id`` ("more like this"), leaving it out, as
        one query of :meth:`search`. Raises :class:`UnknownIDError` when no item has it."""
        o = self._options(k, probes, candidates, where, shortlist, rerank, blend_weight, None)
        rows = np.empty(o.k, dtype=np.int64)
        scores = np.empty(o.k, dtype=np.float32)
        key = _convert.text(str(id), name="id")
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_search_by_id(pointer, key, o, rows.ctypes.data, scores.ctypes.data, None, error)
        finally:
            self._handle.release()
        check(status, error)
        return self._ids(rows), scores

    # -- items -------------------------------------------------------------------------

    def _ids(self, rows: np.ndarray) -> np.ndarray:
        if not self._string_ids:
            return rows
        flat = np.ascontiguousarray(rows.reshape(-1))
        text = self._string_call(lambda p, buf, cap, needed, err: lib.hashidx_ids_of_rows(
            p, flat.ctypes.data, flat.size, buf, cap, needed, err), size_hint=16 * flat.size + 1)
        out = np.empty(flat.size, dtype=object)
        out[:] = [s if s else None for s in text.split("\n")[:flat.size]]
        return out.reshape(rows.shape)

    def row(self, id: Union[str, int]) -> int:
        """The row number of the item ``id``; raises :class:`UnknownIDError` when none has it."""
        key = _convert.text(str(id), name="id")
        row = ctypes.c_int64()
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_row_of_id(pointer, key, ctypes.byref(row), error)
        finally:
            self._handle.release()
        check(status, error)
        return int(row.value)

    def __contains__(self, id: object) -> bool:
        try:
            self.row(id)  # type: ignore[arg-type]
            return True
        except UnknownIDError:
            return False

    def vector(self, id: Union[str, int]) -> np.ndarray:
        """The stored vector of item ``id`` (float32; rebuilt from its direction and norm,
        so a float16 index gives it to about 1e-3 of its length)."""
        row = self.row(id)
        out = np.empty(self.dimension, dtype=np.float32)
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_vector(pointer, row, out.ctypes.data, self.dimension, error)
        finally:
            self._handle.release()
        check(status, error)
        return out

    def attributes(self, id: Union[str, int], fields: Optional[Sequence[str]] = None) -> dict:
        """The attributes of item ``id`` (only ``fields`` when given; absent ones left out)."""
        row = self.row(id)
        names = None
        if fields is not None:
            if isinstance(fields, str):
                fields = [fields]
            names = _convert.text(",".join(fields), name="fields")
        return json.loads(self._string_call(lambda p, buf, cap, needed, err: lib.hashidx_attributes_json(
            p, row, names, buf, cap, needed, err), size_hint=256))

    def get(self, id: Union[str, int]) -> Item:
        """The item ``id``: its id, vector and attributes."""
        return Item(id, self.vector(id), self.attributes(id))

    def _string_call(self, call: Any, size_hint: int = 1024) -> str:
        """Runs a call that writes text into a buffer, growing the buffer once when the first
        is too small."""
        pointer = self._handle.acquire()
        try:
            capacity = size_hint
            needed = ctypes.c_size_t()
            for _ in range(2):
                buffer = ctypes.create_string_buffer(capacity)
                error = error_struct()
                status = call(pointer, buffer, capacity, ctypes.byref(needed), error)
                if status == 19 and needed.value > capacity:   # HASHIDX_ERR_BUFFER_TOO_SMALL
                    capacity = needed.value
                    continue
                check(status, error)
                return buffer.raw[:needed.value - 1].decode("utf-8")
            check(status, error)
            raise AssertionError("unreachable")
        finally:
            self._handle.release()

    # -- writing -----------------------------------------------------------------------

    def writer(self, threads: Optional[int] = None) -> "Writer":
        """A :class:`Writer` for this index's directory (one per index at a time)."""
        from .writer import Writer
        return Writer(self.path, threads=threads)


def open(path: PathLike) -> Index:  # noqa: A001 - mirrors io.open / hashidx_open
    """Opens the index at ``path`` (see :class:`Index`)."""
    return Index(path)


def build(path: PathLike, vectors: ArrayLike, *, ids: Optional[Sequence[Union[str, int]]] = None,
          attributes: Optional[Sequence[Optional[Mapping[str, Any]]]] = None, labels: Any = None,
          bits: Optional[int] = None, partitions: Optional[int] = None, float32_vectors: bool = False,
          threads: Optional[int] = None, seed: Optional[int] = None, target_recall: Optional[float] = None,
          rerank: Optional[str] = None, supervision_weight: Optional[float] = None,
          model_from: Union[Index, PathLike, None] = None) -> Index:
    """Builds an index at ``path`` (a directory; an index already there is replaced
    atomically) and opens it.

    ``vectors``: ``(n, d)`` float32, float16 or float64 (converted). ``ids``: one unique,
    non-empty string per row (None: ids are row numbers). ``attributes``: one dict per row
    (``{"colour": "red", "price": 49.5, "tags": ["a", "b"], "in_stock": True}``) for
    filtered search. ``labels``: per row a label, a list of labels or None, or an integer
    array (negative: none), to train the codes on (supervised hashing).

    ``bits``: code length, a multiple of 64 (default 256). ``partitions``: None picks about
    2√n (none under 20,000 rows), 0 builds none. ``float32_vectors``: store float32 instead
    of float16 for the re-rank. ``target_recall``: tune the index's default probes and
    candidates for this recall@10 (e.g. 0.95). ``rerank``: the default ranking ('cosine',
    'learned', 'blend'). ``model_from``: an index (or its path) whose trained model — hash
    function and partitions — to build with instead of training one (then ``bits``,
    ``partitions``, ``seed`` and ``labels`` do not apply): indexes built from one model hash
    and partition alike, so searching each and merging by score is one search (the groups
    of a :class:`hashidx.catalog.Catalog`).

    >>> index = hashidx.build("words.hidx", np.load("Data/glove-20k.npy"))
    >>> len(index)
    20000

    The GIL is released while the build runs. Raises :class:`DuplicateIDError`,
    :class:`InvalidIDError`, :class:`NonFiniteError`, :class:`ZeroVectorError`,
    :class:`InvalidAttributesError`, :class:`InvalidArgumentError`, :class:`IndexIOError`.
    """
    array, dtype, _ = _convert.vectors(vectors, name="vectors")
    n, d = array.shape
    id_bytes = _convert.lines(ids, count=n, name="ids")
    attribute_bytes = _convert.attributes(attributes, count=n)
    label_bytes = _convert.labels(labels, count=n)
    o = _native.BuildOptions()
    lib.hashidx_build_options_init(ctypes.byref(o))
    if bits is not None:
        o.bits = _convert.positive_or_default(bits, name="bits")
    if partitions is not None:
        if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 0:
            raise InvalidArgumentError(f"partitions: must be None, 0 or a positive count, got {partitions!r}")
        o.partitions = int(min(partitions, 2**31 - 1))
    o.float32_vectors = 1 if float32_vectors else 0
    o.threads = _convert.positive_or_default(threads, name="threads")
    if seed is not None:
        if not isinstance(seed, (int, np.integer)) or not 0 < seed < 2**64:
            raise InvalidArgumentError(f"seed: must be an integer in 1…2^64-1, got {seed!r}")
        o.seed = int(seed)
    if target_recall is not None:
        if not 0 < target_recall <= 1:
            raise InvalidArgumentError(f"target_recall: must be a recall@10 in (0, 1], e.g. 0.95, got {target_recall}")
        o.target_recall = float(target_recall)
    o.rerank = _convert.rerank_code(rerank)
    if supervision_weight is not None:
        o.supervision_weight = _convert.unit_interval(supervision_weight, name="supervision_weight")
    if model_from is not None:
        o.model_from = _path(model_from.path if isinstance(model_from, Index) else model_from)
    if label_bytes is not None:
        o.labels = label_bytes
        o.labels_length = len(label_bytes)
    summary = _native.BuildSummary()
    error = _native.Error()
    status = lib.hashidx_build(_path(path), array.ctypes.data, dtype, n, d,
                               id_bytes, len(id_bytes) if id_bytes is not None else 0,
                               attribute_bytes, len(attribute_bytes) if attribute_bytes is not None else 0,
                               ctypes.byref(o), ctypes.byref(summary), error)
    check(status, error)
    index = Index(path)
    index.build_summary = BuildSummary(
        summary.rows, summary.dimension, summary.bits, summary.shards, summary.partitions, summary.bytes_on_disk,
        summary.seconds, summary.tuned_probes or None, summary.tuned_candidates or None)
    return index
