"""Writes to a served catalog: one writer per group, the router's write routes.

An id lives in exactly one group: the one that holds it, else (a new id) the group its
stable hash names (CRC-32 of its UTF-8 bytes, modulo the group count). Each group has one
``GroupWriter`` replica holding the group's ``hashidx.Writer`` (and its lock); a write is
committed — data, manifest and ``CURRENT`` synced on the catalog's filesystem — before it
is acknowledged, so an acknowledged write survives the death of any node, and the replica
Serve starts elsewhere reopens the group where the last commit left it. On an object store
the commit is uploaded (new files, then the group's ``CURRENT``) before the acknowledgement,
and the restarted writer starts from the store's copy. Search replicas notice the group's
new generation on their next request (a ``stat`` of its ``CURRENT`` on a filesystem; on an
object store, the generation the router saw acknowledged, else a read of ``CURRENT`` at most
every second), so a client reads its own acknowledged writes.
"""
from __future__ import annotations

import asyncio
import math
import threading
import zlib
from typing import Any, Optional

import numpy as np
from ray import serve
from starlette.requests import Request

from . import catalog as catalogs
from . import storage
from .errors import HashIdxError
from .ray_errors import WRITE_ERRORS, RequestError, group_error
from .index import Index
from .writer import Writer

#: Items per PUT, ids per delete.
MAX_WRITE_ITEMS = 10_000


def owner(id: str, groups: int) -> int:
    """The group a new id goes to: a hash every router and every version computes alike."""
    return zlib.crc32(id.encode("utf-8")) % groups


@serve.deployment(max_ongoing_requests=64)
class GroupWriter:
    """The one writer of one group (deploy with one replica). On a filesystem it writes the
    group in place; on an object store it writes a private copy (from the node's verified
    cache) and publishes each commit to the store (:func:`hashidx.storage.publish`: the new
    files, then ``CURRENT``) before it acknowledges it."""

    def __init__(self, catalog: storage.Location, group: str, generation: int, cache_dir: Optional[str]) -> None:
        manifest = catalogs.read_manifest(catalog, generation)
        where = catalog.child(catalogs.group_entry(manifest, group)["path"])
        self.store = where if isinstance(where, storage.ObjectStore) else None
        if self.store is not None:
            self.path, self.present = storage.IndexCache(cache_dir).writable_copy(self.store)
        else:
            self.path, self.present = where.local_path(), {}
        self.writer = Writer(self.path)
        self.lock = threading.Lock()
        self.published = storage.read_current(where)

    def holds(self, ids: list[str]) -> list[str]:
        """The ids of `ids` this group holds now."""
        with self.lock, Index(self.path) as index:
            return [i for i in ids if i in index]

    def upsert(self, ids: list[str], vectors: np.ndarray, attributes: Optional[list]) -> dict:
        with self.lock:
            try:
                self.writer.upsert(vectors, ids, attributes)
                summary = self.writer.commit()
            except HashIdxError as error:
                self.writer.rollback()
                return {"error": [type(error).__name__, str(error)]}
            return self._published(summary)

    def delete(self, ids: list[str]) -> dict:
        with self.lock:
            try:
                self.writer.delete(ids, ignore_missing=True)
                summary = self.writer.commit()
            except HashIdxError as error:
                self.writer.rollback()
                return {"error": [type(error).__name__, str(error)]}
            return self._published(summary)

    def count(self) -> int:
        with self.lock, Index(self.path) as index:
            return len(index)

    def _published(self, summary: Any) -> dict:
        """The answer to a committed write, once it is durable where every node reads it:
        on an object store, after the commit's files and ``CURRENT`` are uploaded (a failed
        upload is not acknowledged; the next commit uploads what is missing)."""
        manifest = f"MANIFEST-{summary.generation:06d}"
        if self.store is not None:
            try:
                manifest = storage.publish(self.path, self.store, present=self.present)
            except HashIdxError as error:
                return {"error": [type(error).__name__, f"committed on {self.path} but not stored: {error}"]}
        self.published = manifest
        return {"generation": summary.generation, "count": summary.count, "manifest": manifest}


class WriteRoutes:
    """The router's write routes (mixed into ``Router``, which provides ``writers``,
    ``names``, ``dimension``, ``generation``, ``committed``, ``_json``, ``_retrying``)."""

    write_deadline_s = 60.0

    async def _write_route(self, request: Request, path: str) -> Optional[dict]:
        if path == "/v1/items" and request.method == "PUT":
            return await self._put(await self._json(request))
        if path == "/v1/items:delete" and request.method == "POST":
            body = await self._json(request)
            unknown = set(body) - {"ids", "ignore_missing"}
            if unknown:
                raise RequestError(400, "invalid_request", f"unknown field(s) {sorted(unknown)}")
            ids = body.get("ids")
            ignore = body.get("ignore_missing", False)
            if not isinstance(ignore, bool):
                raise RequestError(400, "invalid_request", "ignore_missing must be true or false")
            return await self._delete(ids, ignore)
        if path.startswith("/v1/items/") and request.method == "DELETE":
            from urllib.parse import unquote
            return await self._delete([unquote(path[len("/v1/items/"):])], False)
        return None

    async def _holders(self, ids: list[str]) -> dict:
        """Which group holds each id that exists (asked of every group's writer)."""
        answers = await asyncio.wait_for(asyncio.gather(*[self._retrying(lambda w=w: w.holds.remote(ids))
                                                          for w in self.writers]), self.write_deadline_s)
        return {i: g for g, held in enumerate(answers) for i in held}

    async def _put(self, body: dict) -> dict:
        items = body.get("items")
        if set(body) - {"items"}:
            raise RequestError(400, "invalid_request", f"unknown field(s) {sorted(set(body) - {'items'})}")
        if not isinstance(items, list) or not items:
            raise RequestError(400, "invalid_request", "items must be a non-empty list of {id, vector, attributes?}")
        if len(items) > MAX_WRITE_ITEMS:
            raise RequestError(400, "limit_exceeded", f"{len(items)} items; a PUT holds at most {MAX_WRITE_ITEMS}")
        ids, vectors, attributes, seen = [], [], [], {}
        for n, item in enumerate(items):
            if not isinstance(item, dict) or set(item) - {"id", "vector", "attributes"}:
                raise RequestError(400, "invalid_request", f"items[{n}] must be an object with id, vector, attributes")
            id, vector, attrs = item.get("id"), item.get("vector"), item.get("attributes", {})
            if not isinstance(id, str) or not id:
                raise RequestError(400, "invalid_id", f"items[{n}].id must be a non-empty string")
            if id in seen:
                raise RequestError(400, "duplicate_id", f"items[{seen[id]}] and items[{n}] both have the id \"{id}\"")
            seen[id] = n
            if not isinstance(vector, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                       for x in vector):
                raise RequestError(400, "invalid_request", f"items[{n}].vector must be a list of numbers")
            if len(vector) != self.dimension:
                raise RequestError(400, "dimension_mismatch",
                                   f"items[{n}].vector has dimension {len(vector)} but the catalog has {self.dimension}")
            if not all(math.isfinite(x) and abs(x) <= 3.4e38 for x in vector):
                raise RequestError(400, "non_finite_value", f"items[{n}].vector holds a number beyond a 32-bit float")
            if not isinstance(attrs, dict):
                raise RequestError(400, "invalid_attributes", f"items[{n}].attributes must be an object")
            ids.append(id)
            vectors.append(vector)
            attributes.append(attrs)
        holders = await self._holders(ids)
        by_group: dict = {}
        for n, id in enumerate(ids):
            by_group.setdefault(holders.get(id, owner(id, len(self.writers))), []).append(n)
        calls = []
        for g, rows in by_group.items():
            block = np.asarray([vectors[n] for n in rows], dtype=np.float32)
            calls.append(self._retrying(lambda w=self.writers[g], r=rows, b=block: w.upsert.remote(
                [ids[n] for n in r], b, [attributes[n] for n in r])))
        answers = await asyncio.wait_for(asyncio.gather(*calls), self.write_deadline_s)
        self._note_commits(list(by_group), answers)
        return {"upserted": len(ids), "generation": self.generation, "count": await self._count()}

    async def _delete(self, ids: Any, ignore_missing: bool) -> dict:
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise RequestError(400, "invalid_request", "ids must be a non-empty list of ids")
        if len(ids) > MAX_WRITE_ITEMS:
            raise RequestError(400, "limit_exceeded", f"{len(ids)} ids; a delete holds at most {MAX_WRITE_ITEMS}")
        unique = list(dict.fromkeys(ids))
        holders = await self._holders(unique)
        missing = [i for i in unique if i not in holders]
        if missing and not ignore_missing:
            raise RequestError(404, "unknown_id", f"id \"{missing[0]}\" is not in the catalog ({len(missing)} ids are not); "
                               "nothing was deleted (ignore_missing: true deletes the others)")
        by_group: dict = {}
        for i, g in holders.items():
            by_group.setdefault(g, []).append(i)
        calls = [self._retrying(lambda w=self.writers[g], d=d: w.delete.remote(d)) for g, d in by_group.items()]
        answers = await asyncio.wait_for(asyncio.gather(*calls), self.write_deadline_s)
        self._note_commits(list(by_group), answers)
        return {"deleted": len(holders), "generation": self.generation, "count": await self._count()}

    async def _count(self) -> int:
        counts = await asyncio.gather(*[self._retrying(lambda w=w: w.count.remote()) for w in self.writers])
        return int(sum(counts))

    def _note_commits(self, groups: list, answers: list) -> None:
        """Remembers each group's newest committed manifest (searches ask for at least it),
        then raises the first group's error."""
        for g, answer in zip(groups, answers):
            manifest = answer.get("manifest") if isinstance(answer, dict) else None
            if manifest and (storage.generation_of(manifest) or 0) > (storage.generation_of(self.committed.get(g, "")) or 0):
                self.committed[g] = manifest
        for answer in answers:
            if isinstance(answer, dict) and "error" in answer:
                raise group_error(answer["error"], WRITE_ERRORS, "commit_failed")
