"""The writer: add, upsert and delete items, commit them at once."""
from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Optional, Union

from . import _convert, _native
from ._convert import ArrayLike, check, error_struct
from .errors import InvalidArgumentError
from .index import PathLike, _Handle, _path

lib = _native.lib


class CommitSummary(NamedTuple):
    """What a commit made visible."""

    generation: int
    added: int
    deleted: int
    count: int
    seconds: float


class Writer:
    """Changes an index in place; the changes become visible all at once, durably, when
    committed. One writer per index at a time, across processes (a second one raises
    :class:`IndexIOError` naming the holder). Open searches keep their snapshot
    (:meth:`Index.reopen` sees the commits).

    As a context manager it commits on a clean exit and rolls back on an exception:

    >>> with hashidx.Writer("shop.hidx") as w:
    ...     w.upsert(new_vectors, ids=["sku-1", "sku-2"], attributes=[{"price": 10}, {"price": 12}])
    ...     w.delete(["sku-17"])

    Calls from several threads are safe and run one at a time; the GIL is released while
    one runs.
    """

    def __init__(self, path: PathLike, threads: Optional[int] = None) -> None:
        """Opens the index at ``path`` for writing, hashing added rows on ``threads``
        threads (all cores when None)."""
        handle = ctypes.c_void_p()
        error = error_struct()
        check(lib.hashidx_writer_open(_path(path), _convert.positive_or_default(threads, name="threads"),
                                      ctypes.byref(handle), error), error)
        self.path = os.fspath(path)
        self._handle = _Handle(handle.value, lib.hashidx_writer_free, "writer")

    def _change(self, function: Any, vectors: ArrayLike, ids: Any, attributes: Any) -> None:
        array, dtype, _ = _convert.vectors(vectors, name="vectors", single_ok=False)
        n, d = array.shape
        id_bytes = _convert.lines(ids, count=n, name="ids")
        attribute_bytes = _convert.attributes(attributes, count=n)
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = function(pointer, array.ctypes.data, dtype, n, d, id_bytes,
                              len(id_bytes) if id_bytes is not None else 0, attribute_bytes,
                              len(attribute_bytes) if attribute_bytes is not None else 0, error)
        finally:
            self._handle.release()
        check(status, error)

    def add(self, vectors: ArrayLike, ids: Optional[Sequence[Union[str, int]]] = None,
            attributes: Optional[Sequence[Optional[Mapping[str, Any]]]] = None) -> None:
        """Adds the rows of ``vectors`` (``(n, d)``) as new items: with one new id each in an
        index built with ids (:class:`IDExistsError` for one that exists), or without ids
        in an index whose ids are row numbers (they get the next numbers). Pending until
        :meth:`commit`."""
        self._change(lib.hashidx_writer_add, vectors, ids, attributes)

    def upsert(self, vectors: ArrayLike, ids: Sequence[Union[str, int]],
               attributes: Optional[Sequence[Optional[Mapping[str, Any]]]] = None) -> None:
        """Adds the rows under ``ids``, replacing the items that have them (readers see the
        old item or the new one, never both)."""
        if ids is None:
            raise InvalidArgumentError("ids: an upsert names the items it replaces")
        self._change(lib.hashidx_writer_upsert, vectors, ids, attributes)

    def delete(self, ids: Sequence[Union[str, int]], *, ignore_missing: bool = False) -> int:
        """Deletes the items with ``ids``. Unless ``ignore_missing``, an id no item has
        raises :class:`UnknownIDError` and nothing is deleted. Returns how many ids were not
        found."""
        id_bytes = _convert.lines(ids, count=None, name="ids") or b""
        missing = ctypes.c_int64()
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_writer_delete(pointer, id_bytes, len(id_bytes), 1 if ignore_missing else 0,
                                               ctypes.byref(missing), error)
        finally:
            self._handle.release()
        check(status, error)
        return int(missing.value)

    def commit(self, durability: str = "shards") -> CommitSummary:
        """Makes every pending change visible and durable at once.

        ``durability``: ``"shards"`` writes them as a new generation (new shards and
        deletion files); ``"log"`` appends them to the index's write log and fsyncs it, no
        shard written (a millisecond or so): every reader that opens or reopens the index
        sees them, searched from memory, until a commit to shards or :meth:`flush` writes the
        log out. Prefer ``"log"`` for frequent small writes, and flush once a few thousand
        items have piled up (each search scans the buffered items)."""
        if durability not in ("shards", "log"):
            raise InvalidArgumentError(f'durability: must be "shards" or "log", got {durability!r}')
        summary = _native.CommitSummary()
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            commit = lib.hashidx_writer_commit if durability == "shards" else lib.hashidx_writer_commit_log
            status = commit(pointer, ctypes.byref(summary), error)
        finally:
            self._handle.release()
        check(status, error)
        return CommitSummary(summary.generation, summary.added, summary.deleted, summary.count, summary.seconds)

    def flush(self) -> Optional[CommitSummary]:
        """Writes what the write log holds to a shard (a new generation) without holding the
        writer: other threads may go on adding, deleting and committing to the log meanwhile
        (their records move into the new generation's log). ``None`` when the log is empty."""
        summary = _native.CommitSummary()
        flushed = ctypes.c_int32(0)
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_writer_flush(pointer, ctypes.byref(summary), ctypes.byref(flushed), error)
        finally:
            self._handle.release()
        check(status, error)
        if not flushed.value:
            return None
        return CommitSummary(summary.generation, summary.added, summary.deleted, summary.count, summary.seconds)

    def rollback(self) -> None:
        """Drops every pending change."""
        pointer = self._handle.acquire()
        try:
            lib.hashidx_writer_rollback(pointer)
        finally:
            self._handle.release()

    @property
    def has_changes(self) -> bool:
        """Whether there are uncommitted changes."""
        pointer = self._handle.acquire()
        try:
            return bool(lib.hashidx_writer_has_changes(pointer))
        finally:
            self._handle.release()

    def compact(self, retrain: bool = False) -> None:
        """Rewrites shards with deletions and small shards (with ``retrain``, retrains the
        model and partitions on the live items) and commits. Needs no pending changes
        (:class:`PendingChangesError`)."""
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_writer_compact(pointer, 1 if retrain else 0, error)
        finally:
            self._handle.release()
        check(status, error)

    def close(self) -> None:
        """Releases the index's lock. Raises :class:`PendingChangesError` (and stays open)
        while there are uncommitted changes: commit or roll back first."""
        if self._handle.closed:
            return
        pointer = self._handle.acquire()
        try:
            error = error_struct()
            status = lib.hashidx_writer_close(pointer, error)
        finally:
            self._handle.release()
        check(status, error)
        self._handle.close()

    @property
    def closed(self) -> bool:
        """Whether the writer was closed."""
        return self._handle.closed

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._handle.closed:
            return
        if exc_type is None:
            if self.has_changes:
                self.commit()
            self.close()
        else:
            self.rollback()
            self._handle.close()   # frees: rolls back and releases the lock

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()   # uncommitted changes are dropped with the handle

    def __repr__(self) -> str:
        return f"<hashidx.Writer {self.path!r}{' closed' if self.closed else ''}>"
