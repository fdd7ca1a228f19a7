"""Catalogs: several hashidx indexes (groups) built from one trained model, searched as one.

A catalog is a directory on a disk every node sees, or the same files under a prefix of an
object store (S3 or compatible; :mod:`hashidx.storage`), whose groups each node opens from
verified copies in its local cache::

    CURRENT                  the name of the newest catalog manifest, replaced atomically
    catalog-<G>.json         generation G: the model index and the groups, by path
    model-<G>.hidx           the index the model was trained on (a sample of the rows)
    groups/<name>-<G>.hidx   one ordinary hashidx index per group

Every group is built with the model index's trained model (``build(..., model_from=…)``),
so each row has the code and the partition it would have in one index over all rows, and
searching every group and merging the best ``k`` by score is the same search (exactly, with
all partitions probed and every row re-ranked; at other settings each group keeps its own
best candidates, so the merge never sees fewer than one index would). Readers open the
manifest ``CURRENT`` names and the groups it lists; a new generation writes new files and
then replaces ``CURRENT`` with one rename, so a reader sees the old catalog or the new one,
never a mix (on an object store, ``CURRENT`` is replaced by one PUT). A group is an ordinary
index: ``hashidx query``/``info --verify`` open it (or a cached copy of it).
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import storage
from .errors import CorruptIndexError, HashIdxError, NotAnIndexError
from .index import Index, PathLike

FORMAT = "hashidx-catalog"
VERSION = 1
#: The most groups one catalog names (each is an open index per reader).
MAX_GROUPS = 4096
#: The largest manifest a reader parses.
MAX_MANIFEST_BYTES = 16 << 20


@dataclass(frozen=True)
class Group:
    """One group of a catalog: its name, its index directory (relative to the catalog) and
    its row count."""

    name: str
    path: str
    rows: int


def read_manifest(where: Union[PathLike, storage.Location], generation: Optional[int] = None, *,
                  filesystem: Any = None) -> dict:
    """The manifest of the catalog at ``where`` (a path, an ``s3://`` URL with
    ``filesystem``, or a :mod:`hashidx.storage` location): the one ``CURRENT`` names, or
    generation ``generation``'s. Checked; ``manifest_name`` is added."""
    root = storage.location(where, filesystem)
    if generation is None:
        data = root.read("CURRENT", 256)
        if data is None:
            raise NotAnIndexError(f"{root.url}: no catalog here (no CURRENT file); build one with hashidx.ray.build "
                                  "or hashidx.catalog.commit")
        name = data.decode("utf-8", "replace").strip()
        if not name.startswith("catalog-") or not name.endswith(".json") or "/" in name:
            raise CorruptIndexError(f"{root.url}/CURRENT: names {name[:80]!r}, not a catalog manifest")
    else:
        name = f"catalog-{int(generation)}.json"
    where_text = f"{root.url}/{name}"
    data = root.read(name, MAX_MANIFEST_BYTES)
    if data is None:
        raise NotAnIndexError(f"{where_text}: no such catalog generation (removed, or never committed)")
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise CorruptIndexError(f"{where_text}: not a catalog manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptIndexError(f"{where_text}: not a hashidx catalog manifest")
    if manifest.get("version") != VERSION:
        raise CorruptIndexError(f"{where_text}: catalog version {manifest.get('version')}; this hashidx reads {VERSION}")
    if not isinstance(manifest.get("generation"), int) or not isinstance(manifest.get("dimension"), int):
        raise CorruptIndexError(f"{where_text}: needs an integer generation and dimension")
    groups = manifest.get("groups")
    if not isinstance(groups, list) or not 0 < len(groups) <= MAX_GROUPS:
        raise CorruptIndexError(f"{where_text}: needs 1…{MAX_GROUPS} groups")
    for g in groups:
        if not (isinstance(g, dict) and isinstance(g.get("name"), str) and isinstance(g.get("path"), str)
                and isinstance(g.get("rows"), int) and not os.path.isabs(g["path"]) and ".." not in g["path"].split("/")):
            raise CorruptIndexError(f"{where_text}: a group entry is malformed: {str(g)[:200]}")
    manifest["manifest_name"] = name
    return manifest


def group_entry(manifest: dict, group: str) -> dict:
    """The entry of the group named ``group`` in ``manifest``."""
    for g in manifest["groups"]:
        if g["name"] == group:
            return g
    raise NotAnIndexError(f"catalog generation {manifest['generation']} has no group {group!r}")


def commit(where: Union[PathLike, storage.Location], *, model: str, groups: Sequence[Group], dimension: int,
           extra: Optional[dict] = None, filesystem: Any = None) -> int:
    """Writes the next generation's manifest naming ``model`` and ``groups`` (paths relative
    to the catalog, already written: synced on a filesystem, uploaded to a store) and then
    replaces ``CURRENT`` with its name — a rename after syncing on a filesystem, one PUT on
    an object store: either way readers see the old catalog or the new one. Returns the
    generation."""
    root = storage.location(where, filesystem)
    generation = next_generation(root)
    manifest = {"format": FORMAT, "version": VERSION, "generation": generation, "dimension": int(dimension),
                "model": model, "rows": int(sum(g.rows for g in groups)),
                "groups": [{"name": g.name, "path": g.path, "rows": int(g.rows)} for g in groups],
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if extra:
        manifest.update(extra)
    name = f"catalog-{generation}.json"
    root.write(name, json.dumps(manifest, indent=1).encode())
    root.write("CURRENT", f"{name}\n".encode())
    return generation


def next_generation(where: Union[PathLike, storage.Location], *, filesystem: Any = None) -> int:
    """One more than the newest generation any manifest in the catalog has."""
    newest = 0
    for name in storage.location(where, filesystem).list():
        if name.startswith("catalog-") and name.endswith(".json"):
            try:
                newest = max(newest, int(name[len("catalog-"):-len(".json")]))
            except ValueError:
                pass
    return newest + 1


def open_group(root: storage.Location, relative: str, cache: Optional[storage.IndexCache] = None) -> Index:
    """The index at ``relative`` in the catalog at ``root``: opened in place on a
    filesystem, from ``cache``'s verified copy (default cache) on an object store."""
    if isinstance(root, storage.LocalFolder):
        return Index(root.local_path(relative))
    return (cache or storage.IndexCache()).open(root.child(relative))


class Catalog:
    """An open catalog: one snapshot of every group of one generation, searched as one index.

    >>> with hashidx.catalog.Catalog("products.catalog") as catalog:
    ...     ids, scores = catalog.search(query, k=10, where='in_stock')
    """

    def __init__(self, path: Union[PathLike, storage.Location], *, filesystem: Any = None,
                 cache: Optional[storage.IndexCache] = None) -> None:
        """Opens the catalog at ``path``: a directory, or an object store (``s3://…`` URL
        with ``filesystem``, or a :class:`hashidx.storage.ObjectStore`) whose groups are
        opened from verified copies in ``cache`` (default :class:`~hashidx.storage.IndexCache`)."""
        root = storage.location(path, filesystem)
        self._cache = cache
        for attempt in range(3):   # a generation removed while we opened it: open the newer one
            manifest = read_manifest(root)
            indexes: list[Index] = []
            try:
                for g in manifest["groups"]:
                    indexes.append(open_group(root, g["path"], cache))
                break
            except (NotAnIndexError, HashIdxError):
                for ix in indexes:
                    ix.close()
                if attempt == 2 or read_manifest(root)["manifest_name"] == manifest["manifest_name"]:
                    raise
        self.location = root
        self.path = root.url
        self.manifest = manifest
        self.generation: int = manifest["generation"]
        self.groups = [Group(g["name"], g["path"], g["rows"]) for g in manifest["groups"]]
        self.indexes = indexes
        dims = {ix.dimension for ix in indexes}
        if len(dims) != 1:
            raise CorruptIndexError(f"{root}: groups of different dimensions {sorted(dims)}")
        self.dimension = dims.pop()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(ix) for ix in self.indexes)

    def close(self) -> None:
        for ix in self.indexes:
            ix.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def reopen(self) -> "Catalog":
        """The catalog's newest generation (this one stays open)."""
        return Catalog(self.location, cache=self._cache)

    def search(self, queries: Any, k: int = 10, *, candidates: Optional[int] = None,
               **options: Any) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`Index.search`, over every group: each group's best ``k``, merged by
        score (ties: the earlier group, then the lower row), as one index over all the rows
        would rank them. Groups are searched on threads (the GIL is released in each).

        ``candidates`` (default: the groups' own default) is what one index would re-rank;
        each group re-ranks :func:`group_candidates` of it — twice its fair share — which
        gives one index's recall at the same settings (GloVe-50, 4 groups: within 0.002 at
        probes 16–256; Benchmarks/results/scale-groups.md)."""
        total = candidates if candidates is not None else self.default_candidates
        each = group_candidates(total, k, len(self.indexes))
        per_group = self._each(lambda ix: ix.search(queries, k, candidates=each, **options))
        return merge([r[0] for r in per_group], [r[1] for r in per_group], k)

    @property
    def default_candidates(self) -> int:
        """The candidates one search re-ranks by default (the groups' setting)."""
        return int(self.indexes[0].info["default_candidates"])

    def _each(self, call: Any) -> list:
        if len(self.indexes) == 1:
            return [call(self.indexes[0])]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=min(len(self.indexes), os.cpu_count() or 1))
        return list(self._pool.map(call, self.indexes))


def group_candidates(candidates: int, k: int, groups: int) -> int:
    """What each of ``groups`` groups re-ranks for a search that would re-rank
    ``candidates`` in one index: twice the fair share (the true neighbours are not spread
    evenly), never fewer than ``k``, never more than ``candidates``. Measured on GloVe-50 with 4
    groups: the fair share (``candidates / 4``) loses 0.008–0.04 of recall@10, twice it is
    within 0.002 of one index, the whole ``candidates`` each gains 0.001–0.019 at twice the
    re-rank work."""
    return int(min(candidates, max(k, math.ceil(candidates * 2 / groups))))


def merge(ids: Sequence[np.ndarray], scores: Sequence[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` of several groups' answers to the same queries (each ``(k,)`` or
    ``(n, k)``, best first, empty slots -inf), by score; ties go to the earlier group, then the
    earlier slot (the lower row within a group): what one index over the groups' rows in
    order returns. Empty slots stay at the end (ids None or -1, scores -inf)."""
    single = scores[0].ndim == 1
    all_scores = np.concatenate([s.reshape(-1, s.shape[-1]) for s in scores], axis=1)
    all_ids = np.concatenate([np.asarray(i, dtype=object).reshape(-1, i.shape[-1]) for i in ids], axis=1)
    # A stable sort on -score keeps group order, then slot order, among equal scores.
    order = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
    top_scores = np.take_along_axis(all_scores, order, axis=1).astype(np.float32)
    top_ids = np.take_along_axis(all_ids, order, axis=1)
    if single:
        return top_ids[0], top_scores[0]
    return top_ids, top_scores


__all__ = ["Catalog", "Group", "commit", "open_group", "group_entry", "merge", "group_candidates", "read_manifest", "next_generation", "FORMAT", "VERSION"]
