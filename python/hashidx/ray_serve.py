"""A catalog served by Ray Serve: one deployment per group (replicas on different nodes)
and a router that speaks `hashidx serve`'s HTTP/JSON contract (docs/SERVER.md) for
searches: ``POST /v1/search``, ``POST /v1/search/batch``, ``GET /v1/items/{id}``,
``GET /v1/info``, ``GET /healthz``, ``GET /readyz``, the bearer token.

The router fans each request out to every group with a deadline, merges the best ``k`` as
one index over all the rows ranks them (:func:`hashidx.catalog.merge`), and says in the
answer when a group did not answer in time (``"partial": true``, ``"missing_groups"``).
Every deployment of one catalog generation carries the generation in its name, so a router
only ever asks groups of its own generation.

Start it with :func:`serve` (``hashidx.ray.serve``).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import math
from typing import Any, Optional
from urllib.parse import unquote

import numpy as np
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import catalog as catalogs
from . import storage
from .errors import HashIdxError
from .ray_errors import READ_ERRORS, RequestError, group_error
from .ray_writes import GroupWriter, WriteRoutes

#: The router's bounds on what a request may ask (as `hashidx serve`'s --max-… flags).
LIMITS = {"max_body_bytes": 16 << 20, "max_k": 1000, "max_batch": 1000, "max_batch_results": 100_000,
          "max_filter_bytes": 1 << 20}


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)




@serve.deployment(max_ongoing_requests=32)
class GroupSearcher:
    """One group of one catalog generation: searches it, reads its items."""

    def __init__(self, catalog: storage.Location, group: str, generation: int, cache_dir: Optional[str],
                 refresh_s: float = 1.0) -> None:
        manifest = catalogs.read_manifest(catalog, generation)   # the generation we were made for
        where = catalog.child(catalogs.group_entry(manifest, group)["path"])
        cache = storage.IndexCache(cache_dir) if isinstance(where, storage.ObjectStore) else None
        self.follower = storage.Follower(where, cache, refresh_s)
        self.group = group
        self.groups = len(manifest["groups"])
        self.default_candidates = int(self.follower.index.info["default_candidates"])

    def search(self, vectors: np.ndarray, k: int, probes: Optional[int], candidates: Optional[int],
               where: Optional[str], fields: Optional[list[str]], exclude: Optional[str],
               at_least: Optional[str] = None) -> dict:
        """The group's best ``k`` (``k + 1`` when ``exclude`` is set, which is then left out)
        for each row of ``vectors``, with the ``fields`` of each result, from the group's
        newest generation (at least ``at_least``, a manifest the caller saw committed)."""
        index = self.follower.refresh(at_least)
        wanted = k + (1 if exclude else 0)
        # This group's share of what one index would re-rank (catalog.group_candidates).
        each = catalogs.group_candidates(candidates or self.default_candidates, wanted, self.groups)
        try:
            ids, scores = index.search(vectors, wanted, probes=probes, candidates=each, where=where)
        except HashIdxError as error:
            return {"error": [type(error).__name__, str(error)]}
        out_ids, out_scores, out_attributes = [], [], []
        for row_ids, row_scores in zip(ids, scores):
            pairs = [(i, float(s)) for i, s in zip(row_ids.tolist(), row_scores.tolist()) if math.isfinite(s)
                     and str(i) != exclude][:k]
            out_ids.append([str(i) for i, _ in pairs])
            out_scores.append([s for _, s in pairs])
            if fields is not None:
                out_attributes.append([index.attributes(i, None if fields == ["*"] else fields) for i, _ in pairs])
        return {"ids": out_ids, "scores": out_scores, "attributes": out_attributes if fields is not None else None}

    def item(self, id: str, fields: Optional[list[str]], vector: bool, at_least: Optional[str] = None) -> Optional[dict]:
        """The item ``id`` if this group holds it."""
        index = self.follower.refresh(at_least)
        if id not in index:
            return None
        try:
            out: dict = {"id": id, "attributes": index.attributes(id, fields)}
            if vector:
                out["vector"] = index.vector(id).tolist()
        except HashIdxError as error:
            return {"error": [type(error).__name__, str(error)]}
        return out

    def count(self, at_least: Optional[str] = None) -> int:
        return len(self.follower.refresh(at_least))


@serve.deployment(max_ongoing_requests=256)
class Router(WriteRoutes):
    """The HTTP face of a served catalog."""

    def __init__(self, catalog: storage.Location, generation: int, groups: list, writers: Optional[list],
                 token: Optional[str], deadline_s: float) -> None:
        self.manifest = catalogs.read_manifest(catalog, generation)
        #: Per group, the newest manifest a write through this router committed: searches
        #: ask for at least that generation, so a client reads its acknowledged writes.
        self.committed: dict[int, str] = {}
        self.names = [g["name"] for g in self.manifest["groups"]]
        self.groups = groups
        self.writers = writers or []
        self.dimension = int(self.manifest["dimension"])
        self.generation = generation
        self.token = token
        self.deadline_s = deadline_s

    async def __call__(self, request: Request) -> Response:
        try:
            path = request.url.path
            prefix = request.scope.get("root_path", "")
            if prefix and path.startswith(prefix):   # served under a route prefix
                path = path[len(prefix):]
            path = path.rstrip("/") or "/"
            if path in ("/healthz", "/readyz"):
                if request.method != "GET":
                    raise RequestError(405, "method_not_allowed", f"{path} takes GET")
                return JSONResponse({"status": "ok"} if path == "/healthz" else
                                    {"status": "ready", "generation": self.generation, "items": self.manifest["rows"]})
            self._authorize(request)
            if path == "/v1/search" and request.method == "POST":
                return JSONResponse(await self._search(await self._json(request)))
            if path == "/v1/search/batch" and request.method == "POST":
                return JSONResponse(await self._batch(await self._json(request)))
            if path.startswith("/v1/items/") and request.method == "GET":
                return JSONResponse(await self._item(unquote(path[len("/v1/items/"):]), request))
            if path == "/v1/info" and request.method == "GET":
                return JSONResponse({"dimension": self.dimension, "items": await self._items(), "generation": self.generation,
                                     "groups": self.names, "read_only": not self.writers, "limits": LIMITS})
            if self.writers:
                answer = await self._write_route(request, path)
                if answer is not None:
                    return JSONResponse(answer)
            elif request.method in ("PUT", "DELETE") or path == "/v1/items:delete":
                raise RequestError(403, "read_only", "this catalog is served read-only (serve it with writable=True)")
            if path in ("/v1/search", "/v1/search/batch", "/v1/info") or path.startswith("/v1/items/"):
                raise RequestError(405, "method_not_allowed", f"{request.method} is not allowed on {path}")
            raise RequestError(404, "not_found", f"no route {path}")
        except RequestError as error:
            return _error(error.status, error.code, error.message)
        except Exception as error:   # the service's own fault: still a JSON error
            return _error(500, "internal", f"{type(error).__name__}: {error}")

    # -- requests ------------------------------------------------------------------------

    async def _items(self) -> int:
        """Live items now: the groups' counts."""
        counts = await asyncio.gather(*[self._retrying(lambda g=g, n=n: g.count.remote(self.committed.get(n)))
                                        for n, g in enumerate(self.groups)])
        return int(sum(counts))

    def _authorize(self, request: Request) -> None:
        if self.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise RequestError(401, "unauthorized", "this catalog needs Authorization: Bearer <token>")

    async def _json(self, request: Request) -> dict:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > LIMITS["max_body_bytes"]:
                raise RequestError(413, "payload_too_large", f"the body is over {LIMITS['max_body_bytes']} bytes")
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError(400, "malformed_json", f"the body is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise RequestError(400, "invalid_request", "the body must be a JSON object")
        return value

    def _options(self, body: dict, defaults: Optional[dict] = None) -> dict:
        known = {"vector", "id", "k", "probes", "candidates", "where", "fields", "queries"}
        unknown = set(body) - known
        if unknown:
            raise RequestError(400, "invalid_request", f"unknown field(s) {sorted(unknown)}; a misspelt option is never ignored")
        d = defaults or {}
        k = body.get("k", d.get("k", 10))
        if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= LIMITS["max_k"]:
            raise RequestError(400, "limit_exceeded" if isinstance(k, int) and k > LIMITS["max_k"] else "invalid_request",
                               f"k must be an integer in 1…{LIMITS['max_k']}, got {k!r}")
        out = {"k": k}
        for name in ("probes", "candidates"):
            v = body.get(name, d.get(name))
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                raise RequestError(400, "invalid_request", f"{name} must be a positive integer, got {v!r}")
            out[name] = v
        where = body.get("where", d.get("where"))
        if where is not None and (not isinstance(where, str) or len(where.encode()) > LIMITS["max_filter_bytes"]):
            raise RequestError(400, "invalid_request", "where must be a filter expression (a string up to 1 MiB)")
        out["where"] = where
        fields = body.get("fields", d.get("fields"))
        if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
            raise RequestError(400, "invalid_request", "fields must be a list of attribute names")
        out["fields"] = fields
        return out

    async def _vector(self, body: dict) -> tuple[np.ndarray, Optional[str]]:
        if ("vector" in body) == ("id" in body):
            raise RequestError(400, "invalid_request", "give exactly one of vector or id")
        if "id" in body:
            if not isinstance(body["id"], str) or not body["id"]:
                raise RequestError(400, "invalid_request", "id must be a non-empty string")
            item = await self._find(body["id"], None, True)
            return np.asarray(item["vector"], dtype=np.float32), body["id"]
        vector = body["vector"]
        if not isinstance(vector, list) or not vector or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                                  for x in vector):
            raise RequestError(400, "invalid_request", "vector must be a non-empty list of numbers")
        if len(vector) != self.dimension:
            raise RequestError(400, "dimension_mismatch",
                               f"vector has dimension {len(vector)} but the catalog has dimension {self.dimension}")
        array = np.asarray(vector, dtype=np.float64)
        if not np.all(np.isfinite(array)) or np.any(np.abs(array) > np.finfo(np.float32).max):
            raise RequestError(400, "non_finite_value", "vector holds a number beyond a 32-bit float")
        return array.astype(np.float32), None

    async def _fan_out(self, vectors: np.ndarray, o: dict, exclude: Optional[str]) -> tuple[list, list]:
        """Every group's answer within the deadline: (answers in group order, None where a
        group missed it), and the names of the groups that missed it."""
        calls = [asyncio.ensure_future(self._ask(n, vectors, o, exclude)) for n in range(len(self.groups))]
        done, pending = await asyncio.wait(calls, timeout=self.deadline_s)
        for p in pending:
            p.cancel()
        answers, missing = [], []
        for name, call in zip(self.names, calls):
            if call in done and call.exception() is None:
                answer = call.result()
                if "error" in answer:
                    raise group_error(answer["error"], READ_ERRORS, "internal")
                answers.append(answer)
            else:
                answers.append(None)
                missing.append(name)
        return answers, missing

    async def _ask(self, n: int, vectors: np.ndarray, o: dict, exclude: Optional[str]) -> dict:
        return await self._retrying(lambda: self.groups[n].search.remote(vectors, o["k"], o["probes"], o["candidates"],
                                                                         o["where"], o["fields"], exclude,
                                                                         self.committed.get(n)))

    async def _retrying(self, call: Any) -> Any:
        """`call()` awaited, asked again (Serve picks another replica) when the replica it
        reached died, until the caller's deadline cancels it."""
        from ray.exceptions import RayTaskError
        delay = 0.02
        while True:
            try:
                return await call()
            except (asyncio.CancelledError, RayTaskError):   # cancelled, or the group's own error: no retry
                raise
            except Exception:   # a dead or unreachable replica (RayActorError, ActorUnavailableError, …)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _merged(self, answers: list, query: int, k: int, with_attributes: bool) -> list:
        live = [a for a in answers if a is not None]
        if not live:
            return []
        ids = [np.array([a["ids"][query] + [None] * (k - len(a["ids"][query]))], dtype=object) for a in live]
        scores = [np.array([a["scores"][query] + [-np.inf] * (k - len(a["scores"][query]))], dtype=np.float32) for a in live]
        attrs = {}
        if with_attributes:
            for a in live:
                attrs.update(zip(a["ids"][query], a["attributes"][query]))
        top_ids, top_scores = catalogs.merge(ids, scores, k)
        out = []
        for rank, (i, s) in enumerate(zip(top_ids[0].tolist(), top_scores[0].tolist()), 1):
            if i is None or not math.isfinite(s):
                break
            hit = {"rank": rank, "id": i, "score": s}
            if with_attributes:
                hit["attributes"] = attrs.get(i, {})
            out.append(hit)
        return out

    async def _search(self, body: dict) -> dict:
        if "queries" in body:
            raise RequestError(400, "invalid_request", "queries belongs to /v1/search/batch")
        o = self._options(body)
        vector, exclude = await self._vector(body)
        answers, missing = await self._fan_out(vector[None, :], o, exclude)
        out: dict = {"results": self._merged(answers, 0, o["k"], o["fields"] is not None)}
        if missing:
            out.update({"partial": True, "missing_groups": missing})
        return out

    async def _batch(self, body: dict) -> dict:
        queries = body.get("queries")
        if not isinstance(queries, list) or not queries:
            raise RequestError(400, "invalid_request", "queries must be a non-empty list of searches")
        if len(queries) > LIMITS["max_batch"]:
            raise RequestError(400, "limit_exceeded", f"{len(queries)} searches; a batch holds at most {LIMITS['max_batch']}")
        shared = {key: body[key] for key in ("k", "probes", "candidates", "where", "fields") if key in body}
        self._options({key: v for key, v in body.items() if key != "queries"})
        total = sum(q.get("k", shared.get("k", 10)) if isinstance(q, dict) else 0 for q in queries)
        if total > LIMITS["max_batch_results"]:
            raise RequestError(400, "limit_exceeded", f"the batch asks for {total} results; at most {LIMITS['max_batch_results']}")
        responses = []
        for q in queries:   # (searches with their own options, ids or filters are asked one by one)
            if not isinstance(q, dict):
                raise RequestError(400, "invalid_request", "each search in queries is a JSON object")
            merged = {**shared, **q}
            responses.append(await self._search(merged))
        return {"responses": responses}

    async def _find(self, id: str, fields: Optional[list], vector: bool) -> dict:
        calls = [asyncio.ensure_future(self._item_of(n, id, fields, vector)) for n in range(len(self.groups))]
        done, pending = await asyncio.wait(calls, timeout=self.deadline_s)
        for p in pending:
            p.cancel()
        for call in calls:
            if call in done and call.exception() is None and isinstance(call.result(), dict):
                answer = call.result()
                if "error" in answer:
                    raise group_error(answer["error"], READ_ERRORS, "internal")
                return answer
        missing = [name for name, call in zip(self.names, calls) if call not in done or call.exception() is not None]
        if missing:
            raise RequestError(503, "group_unavailable",
                               f"id \"{id}\" is in none of the groups that answered; {', '.join(missing)} did not answer in time")
        raise RequestError(404, "unknown_id", f"id \"{id}\" is not in the catalog")

    async def _item_of(self, n: int, id: str, fields: Optional[list], vector: bool) -> Optional[dict]:
        return await self._retrying(lambda: self.groups[n].item.remote(id, fields, vector, self.committed.get(n)))

    async def _item(self, id: str, request: Request) -> dict:
        fields = request.query_params.get("fields")
        names = [f for f in fields.split(",") if f] if fields else None
        return await self._find(id, names, request.query_params.get("vector") == "true")


def serve_catalog(catalog: Any, *, replicas: int = 2, token: Optional[str] = None, deadline_s: float = 1.0,
                  name: str = "hashidx", route_prefix: str = "/", group_cpus: float = 0.5, writable: bool = False,
                  filesystem: Any = None, cache_dir: Optional[str] = None, refresh_s: float = 1.0) -> Any:
    """Deploys the catalog's current generation on the connected Ray cluster: one
    deployment per group and the router, each with ``replicas`` replicas at most one per
    node (so a node's loss leaves the others), the router at ``route_prefix`` of Serve's
    HTTP proxy (``serve.start(http_options=…)`` chooses its host and port). With
    ``writable``, one ``GroupWriter`` per group takes ``PUT /v1/items``, ``DELETE
    /v1/items/{id}`` and ``POST /v1/items:delete`` (:mod:`hashidx.ray_writes`). Returns the
    router's handle. Serving a newer generation replaces the application: requests finish
    on the generation they started on.

    ``catalog``: a directory every node sees, or an object store (``s3://…`` with
    ``filesystem``, or a :class:`hashidx.storage.ObjectStore`); then each replica opens its
    group from a verified copy in the node's cache at ``cache_dir`` (default
    :class:`hashidx.storage.IndexCache`'s). A write to such a catalog is visible to searches
    through the router replica that acknowledged it at once, and through every replica
    within ``refresh_s`` seconds (each search replica reads its group's ``CURRENT`` from the
    store at most that often); on a filesystem, at once everywhere."""
    root = storage.location(catalog, filesystem)
    manifest = catalogs.read_manifest(root)
    generation = manifest["generation"]
    # Health checks every second, a replica that misses them for 3 s is replaced: the window
    # in which a request may still reach a dead node's replica.
    checks = {"health_check_period_s": 1, "health_check_timeout_s": 3}
    groups = [GroupSearcher.options(name=f"{g['name']}-searcher", num_replicas=replicas, max_replicas_per_node=1,
                                    ray_actor_options={"num_cpus": group_cpus}, **checks)
              .bind(root, g["name"], generation, cache_dir, refresh_s) for g in manifest["groups"]]
    if not 0 < refresh_s <= 3600:
        raise ValueError(f"refresh_s: seconds in (0, 3600], got {refresh_s!r}")
    writers = [GroupWriter.options(name=f"{g['name']}-writer", num_replicas=1, ray_actor_options={"num_cpus": 0}, **checks)
               .bind(root, g["name"], generation, cache_dir) for g in manifest["groups"]] if writable else None
    app = (Router.options(num_replicas=replicas, max_replicas_per_node=1, ray_actor_options={"num_cpus": 0}, **checks)
           .bind(root, generation, groups, writers, token, deadline_s))
    return serve.run(app, name=name, route_prefix=route_prefix)


__all__ = ["serve_catalog", "GroupSearcher", "Router", "LIMITS"]
