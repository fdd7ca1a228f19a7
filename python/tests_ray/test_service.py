"""The sharded search service on Ray Serve, over HTTP on loopback: the same answers as the
catalog searched in-process (plain, filtered, by id, batches), hashidx serve's errors, the
token, and answers that keep coming from the surviving replicas when a node dies."""
from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import hashidx
import hashidx.ray

PORT = 8123
TOKEN = "s3cret-token"


def call(method: str, path: str, body=None, token: str | None = TOKEN, timeout: float = 30):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            # Not our answer: Ray Serve's proxy answers a plain "Internal Server Error" while a
            # replica is unreachable (a node dying). Callers see the status; nothing was acknowledged.
            return error.code, {"error": {"code": "proxy", "message": text.decode(errors="replace")[:200]}}


@pytest.fixture(scope="module")
def service(cluster, words, tmp_path_factory):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from ray import serve
    vectors, names = words
    root = tmp_path_factory.mktemp("served")
    table = pa.table({"word": names, "length": [len(w) for w in names],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])})
    pq.write_table(table, root / "words.parquet", row_group_size=2000)
    catalog = hashidx.ray.build(str(root / "words.parquet"), root / "words.catalog", id_column="word",
                                attribute_columns=["length"], groups=4, sample_size=8_000, partitions=200)
    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    hashidx.ray.serve(root / "words.catalog", replicas=2, token=TOKEN, deadline_s=10.0, group_cpus=0, writable=True)
    yield catalog
    serve.shutdown()
    catalog.close()


def hits(answer: dict) -> tuple[list, list]:
    return [h["id"] for h in answer["results"]], [h["score"] for h in answer["results"]]


def test_searches_answer_as_the_catalog_does(service, words):
    vectors, names = words
    for q in [vectors[names.index(w)] + 0.01 for w in ("king", "paris", "computer", "river")]:
        status, answer = call("POST", "/v1/search", {"vector": q.tolist(), "k": 10, "probes": 32, "candidates": 200})
        assert status == 200 and "partial" not in answer
        ids, scores = service.search(q.astype(np.float32), k=10, probes=32, candidates=200)
        assert hits(answer)[0] == ids.tolist()
        assert np.array_equal(np.array(hits(answer)[1], dtype=np.float32), scores)
    # Filtered, with fields.
    q = vectors[names.index("king")]
    status, answer = call("POST", "/v1/search", {"vector": q.tolist(), "k": 5, "where": "length = 5", "fields": ["length"]})
    assert status == 200
    ids, _ = service.search(q, k=5, where="length = 5")
    assert hits(answer)[0] == ids.tolist() and all(h["attributes"] == {"length": 5} for h in answer["results"])
    # By id: the item's neighbours without the item.
    status, answer = call("POST", "/v1/search", {"id": "queen", "k": 5})
    assert status == 200 and "queen" not in hits(answer)[0] and "king" in hits(answer)[0]
    # A batch: each response as its search alone.
    status, batch = call("POST", "/v1/search/batch", {"k": 3, "queries": [{"id": "paris"}, {"vector": q.tolist(), "k": 2}]})
    assert status == 200 and len(batch["responses"]) == 2 and len(batch["responses"][1]["results"]) == 2
    assert batch["responses"][0] == call("POST", "/v1/search", {"id": "paris", "k": 3})[1]
    # Items, info, health.
    status, item = call("GET", "/v1/items/king?fields=length&vector=true")
    assert status == 200 and item["attributes"] == {"length": 4} and len(item["vector"]) == vectors.shape[1]
    assert call("GET", "/v1/info")[1]["items"] == len(vectors)
    assert call("GET", "/healthz", token=None) == (200, {"status": "ok"})


@pytest.mark.parametrize("method, path, body, status, code", [
    ("POST", "/v1/search", b"{not json", 400, "malformed_json"),
    ("POST", "/v1/search", {"vector": [1.0, 2.0], "k": 3}, 400, "dimension_mismatch"),
    ("POST", "/v1/search", {"vektor": [1.0]}, 400, "invalid_request"),
    ("POST", "/v1/search", {"id": "king", "vector": [1.0]}, 400, "invalid_request"),
    ("POST", "/v1/search", {"id": "king", "k": 100000}, 400, "limit_exceeded"),
    ("POST", "/v1/search", {"id": "no-such-word-here"}, 404, "unknown_id"),
    ("POST", "/v1/search", {"id": "king", "where": "length = "}, 400, "invalid_filter"),
    ("GET", "/v1/items/no-such-word-here", None, 404, "unknown_id"),
    ("GET", "/v1/items/king?fields=weight", None, 400, "invalid_argument"),
    ("GET", "/v1/search", None, 405, "method_not_allowed"),
    ("GET", "/v2/nothing", None, 404, "not_found"),
])
def test_errors_are_hashidx_serves(service, method, path, body, status, code):
    got, answer = call(method, path, body)
    assert got == status and answer["error"]["code"] == code and answer["error"]["message"]


def test_the_token_is_required(service):
    status, answer = call("POST", "/v1/search", {"id": "king"}, token=None)
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert call("POST", "/v1/search", {"id": "king"}, token="wrong")[0] == 401


def test_writes_go_to_one_group_and_are_read_back_at_once(service, words):
    vectors, names = words
    rng = np.random.default_rng(5)
    new = (rng.normal(size=(3, vectors.shape[1])) * 2).astype(np.float32)
    status, answer = call("PUT", "/v1/items", {"items": [
        {"id": "zz-new-0", "vector": new[0].tolist(), "attributes": {"length": 8}},
        {"id": "zz-new-1", "vector": new[1].tolist()},
        {"id": "king", "vector": new[2].tolist(), "attributes": {"length": 4}}]})   # an upsert of an existing id
    assert status == 200 and answer["upserted"] == 3 and answer["count"] == len(vectors) + 2
    # Read your writes: the next search finds them, each in exactly one group.
    for i in range(3):
        status, found = call("POST", "/v1/search", {"vector": new[i].tolist(), "k": 1})
        assert found["results"][0]["id"] == ["zz-new-0", "zz-new-1", "king"][i]
        assert found["results"][0]["score"] == pytest.approx(1.0, abs=2e-3)
    assert call("GET", "/v1/items/zz-new-0?fields=length")[1]["attributes"] == {"length": 8}
    # Deletes: one by path, several by body; unknown ids refused unless ignored.
    assert call("DELETE", "/v1/items/zz-new-1")[1]["deleted"] == 1
    assert call("GET", "/v1/items/zz-new-1")[0] == 404
    status, answer = call("POST", "/v1/items:delete", {"ids": ["zz-new-0", "nobody-has-this"]})
    assert status == 404 and answer["error"]["code"] == "unknown_id"
    status, answer = call("POST", "/v1/items:delete", {"ids": ["zz-new-0", "nobody-has-this"], "ignore_missing": True})
    assert status == 200 and answer["deleted"] == 1 and answer["count"] == len(vectors)
    # King is back as it was (a second upsert) for the tests that follow.
    call("PUT", "/v1/items", {"items": [{"id": "king", "vector": vectors[names.index("king")].tolist(),
                                         "attributes": {"length": 4}}]})


@pytest.mark.parametrize("body, code", [
    ({"items": [{"id": "a", "vector": [1.0]}]}, "dimension_mismatch"),
    ({"items": [{"id": "", "vector": [1.0] * 50}]}, "invalid_id"),
    ({"items": [{"id": "a", "vector": [1.0] * 50}, {"id": "a", "vector": [1.0] * 50}]}, "duplicate_id"),
    ({"items": [{"id": "a", "vector": [1.0] * 50, "attributes": {"length": "long"}}]}, "invalid_attributes"),
    ({"items": [{"id": "a", "vector": [0.0] * 50}]}, "zero_vector"),
    ({"items": []}, "invalid_request"),
    ({"itemz": []}, "invalid_request"),
])
def test_bad_writes_change_nothing(service, words, body, code):
    before = call("GET", "/v1/info")[1]["items"]
    status, answer = call("PUT", "/v1/items", body)
    assert status == 400 and answer["error"]["code"] == code, answer
    assert call("GET", "/v1/info")[1]["items"] == before


def test_a_catalog_swap_mid_query_never_mixes_generations(service, words, tmp_path):
    """A second catalog served under /swap: generation 1's ids start "g1-", generation 2's
    "g2-". While one thread searches without pause, generation 2 is built and served in
    place of 1: every answer is wholly one generation's, and the answers end on 2's."""
    import threading
    import pyarrow as pa
    import pyarrow.parquet as pq
    vectors, names = words
    part = vectors[:4000]
    for g in (1, 2):
        table = pa.table({"id": [f"g{g}-{w}" for w in names[:4000]],
                          "embedding": pa.FixedSizeListArray.from_arrays(pa.array(part.ravel()), part.shape[1])})
        pq.write_table(table, tmp_path / f"gen{g}.parquet")
    root = tmp_path / "swap.catalog"
    hashidx.ray.build(str(tmp_path / "gen1.parquet"), root, id_column="id", groups=2).close()
    hashidx.ray.serve(root, name="swap", route_prefix="/swap", replicas=1, token=TOKEN, group_cpus=0)
    q = part[names.index("music")].tolist()
    seen, mixed, failed, stop = [], [], [0], threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                status, answer = call("POST", "/swap/v1/search", {"vector": q, "k": 10}, timeout=30)
            except (OSError, ValueError, http.client.HTTPException):
                failed[0] += 1
                continue
            if status != 200 or "partial" in answer:
                failed[0] += 1
                continue
            prefixes = {h["id"][:3] for h in answer["results"]}
            (seen if len(prefixes) == 1 else mixed).append(prefixes)

    searcher = threading.Thread(target=search)
    searcher.start()
    time.sleep(1)
    hashidx.ray.build(str(tmp_path / "gen2.parquet"), root, id_column="id", groups=2).close()
    hashidx.ray.serve(root, name="swap", route_prefix="/swap", replicas=1, token=TOKEN, group_cpus=0)
    time.sleep(2)
    stop.set()
    searcher.join()
    print(f"swap: {len(seen)} whole answers, {len(mixed)} mixed, {failed[0]} failed")
    assert mixed == []
    assert {"g1-"} in seen and seen[-1] == {"g2-"}


def test_a_dead_node_leaves_the_replicas_on_the_others_answering(service, cluster, words):
    c, workers = cluster
    vectors, names = words
    q = (vectors[names.index("music")] + 0.01).tolist()
    expected = call("POST", "/v1/search", {"vector": q, "k": 10})[1]["results"]
    c.remove_node(workers[0], allow_graceful=False)   # SIGKILL of a worker node's processes
    killed = time.monotonic()
    # The window: from the kill to the first of 20 answers in a row that are whole and the
    # same as before (until Serve's health checks drop the dead replicas, a request may
    # still reach one: a dropped connection, a proxy error or a partial answer).
    streak, window = 0, None
    while time.monotonic() - killed < 90:
        try:
            status, answer = call("POST", "/v1/search", {"vector": q, "k": 10}, timeout=15)
            ok = status == 200 and "partial" not in answer and answer["results"] == expected
        except (OSError, ValueError, http.client.HTTPException):   # dropped connection, non-JSON proxy error
            ok = False
        if not ok:
            streak, window = 0, None
            time.sleep(0.2)
            continue
        if streak == 0:
            window = time.monotonic() - killed
        streak += 1
        if streak == 20:
            break
    assert streak == 20, "no 20 whole answers in a row within 90 s of a node's death"
    print(f"whole answers in a row from {window:.1f} s after a worker node was killed")


def test_acknowledged_writes_survive_a_node_death(service, cluster, words):
    """Writes run while the last worker node is killed: every write the service
    acknowledged is there afterwards (the writer replicas restart on the head node)."""
    c, workers = cluster
    vectors, _ = words
    rng = np.random.default_rng(9)
    acknowledged = {}
    slowest = 0.0
    for n in range(40):
        if n == 15:
            c.remove_node(workers[1], allow_graceful=False)
        v = (rng.normal(size=vectors.shape[1]) * 2).astype(np.float32)
        started = time.monotonic()
        try:
            status, answer = call("PUT", "/v1/items", {"items": [{"id": f"durable-{n}", "vector": v.tolist()}]}, timeout=90)
        except (OSError, http.client.HTTPException):
            continue   # not acknowledged: may or may not be there
        slowest = max(slowest, time.monotonic() - started)
        if status == 200:
            acknowledged[f"durable-{n}"] = v
    assert len(acknowledged) >= 20
    for id, v in acknowledged.items():
        deadline = time.monotonic() + 60
        while True:
            try:
                status, item = call("GET", f"/v1/items/{id}?vector=true")
            except (OSError, http.client.HTTPException):
                status = None
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status == 200, f"acknowledged write {id} is gone"
        assert np.allclose(item["vector"], v, atol=2e-3 * np.linalg.norm(v))
    print(f"{len(acknowledged)} of 40 writes acknowledged across a node's death (slowest {slowest:.1f} s); all read back")
