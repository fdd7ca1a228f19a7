"""5. Amplification: every count a client controls is bounded; big answers stream in bounded memory."""

from __future__ import annotations

import json
import threading
import time

import pytest

import support
from support import RSSSampler, assert_error, mb


def assert_limit(answer, flag: str | None):
    error = assert_error(answer, 400, "limit_exceeded")
    if flag:
        assert flag in error["message"], answer
    assert len(answer.body) < 2048, answer


def test_info_reports_the_limits(serve):
    server = serve("--max-k", "500", "--max-candidates", "600", "--max-probes", "70", "--max-batch", "80",
                   "--max-batch-results", "900", "--max-answer-bytes", "100000", "--max-items", "50",
                   "--max-body-bytes", "123456")
    info = server.request("GET", "/v1/info").json
    assert info["limits"] == {"max_k": 500, "max_candidates": 600, "max_probes": 70, "max_batch": 80,
                              "max_batch_results": 900, "max_answer_bytes": 100000, "max_items": 50,
                              "max_body_bytes": 123456}, info
    assert info["max_k"] == 500
    defaults = serve().request("GET", "/v1/info").json["limits"]
    assert defaults == {"max_k": 10000, "max_candidates": 100000, "max_probes": 4096, "max_batch": 1000,
                        "max_batch_results": 100000, "max_answer_bytes": 67108864, "max_items": 100000,
                        "max_body_bytes": 67108864}, defaults


def test_batch_results_bound(serve):
    server = serve()
    queries = [{"id": f"sku-{i}"} for i in range(400)]
    assert_limit(server.request("POST", "/v1/search/batch", {"queries": queries, "k": 10000}), "--max-batch-results")
    queries = [{"id": f"sku-{i}", "k": 10000} for i in range(400)]
    assert_limit(server.request("POST", "/v1/search/batch", {"queries": queries}), "--max-batch-results")
    assert server.healthy()


@pytest.mark.parametrize("field,value,flag", [
    ("candidates", 10_000_000, "--max-candidates"),
    ("probes", 10**9, "--max-probes"),
    ("k", 10_001, "--max-k"),
    ("k", 99999999999999999999999, "--max-k"),
    ("candidates", 10**30, "--max-candidates"),
])
def test_search_bounds(serve, field, value, flag):
    server = serve()
    assert_limit(server.request("POST", "/v1/search", {"id": "sku-1", field: value}), flag)
    assert_limit(server.request("POST", "/v1/search/batch", {"queries": [{"id": "sku-1"}], field: value}), flag)
    assert_limit(server.request("POST", "/v1/search/batch", {"queries": [{"id": "sku-1", field: value}]}), flag)
    assert server.healthy()


def test_batch_and_write_counts(serve):
    server = serve("--max-batch", "10", "--max-items", "5")
    assert_limit(server.request("POST", "/v1/search/batch", {"queries": [{"id": "sku-1"}] * 11}), "--max-batch")
    assert server.request("POST", "/v1/search/batch", {"queries": [{"id": "sku-1", "k": 1}] * 10}).status == 200
    v = support.query_vector(1)
    items = [{"id": f"n-{i}", "vector": v} for i in range(6)]
    assert_limit(server.request("PUT", "/v1/items", {"items": items}), "--max-items")
    assert_limit(server.request("POST", "/v1/items:delete", {"ids": [f"sku-{i}" for i in range(6)]}), "--max-items")
    assert server.request("GET", "/readyz", token=None).json["items"] == support.ROWS


def test_large_answer_streams_in_bounded_memory(serve):
    server = serve("--max-batch-results", "1000000", "--max-answer-bytes", str(512 << 20))
    # 200 × k 1000 with every attribute: about 25 MB, far past the 1 MiB built whole (kept
    # at that size so that a debug build answers in seconds).
    queries = [{"id": f"sku-{i}"} for i in range(200)]
    body = {"queries": queries, "k": 1000, "candidates": 1000, "fields": ["*"]}
    server.request("POST", "/v1/search/batch", {"queries": queries[:5], "k": 10})  # warm up
    time.sleep(0.5)
    before = server.rss_kb()
    start = time.monotonic()
    with RSSSampler(server) as sampler:
        a = server.request("POST", "/v1/search/batch", body, timeout=120)
        took = time.monotonic() - start
    assert a.status == 200, a
    answer = json.loads(a.body)
    time.sleep(1.0)
    after = server.rss_kb()
    support.note(f"answer {len(a.body) / 1e6:.1f} MB in {took:.1f} s; RSS before {mb(before):.0f} MB, "
          f"peak {mb(sampler.peak_kb):.0f} MB (+{mb(sampler.peak_kb - before):.0f}), after {mb(after):.0f} MB "
          f"(+{mb(after - before):.0f}); transfer-encoding {a.headers.get('transfer-encoding')}")
    assert len(answer["responses"]) == 200
    assert all(len(r["results"]) == 1000 for r in answer["responses"])
    assert all("attributes" in r for r in answer["responses"][0]["results"])
    assert sampler.peak_kb - before < 200 * 1024, f"peak RSS +{mb(sampler.peak_kb - before):.0f} MB"
    assert after - before < 64 * 1024, f"RSS after +{mb(after - before):.0f} MB"


def test_answer_bytes_bound(serve):
    server = serve("--max-answer-bytes", "100000")
    a = server.request("POST", "/v1/search", {"id": "sku-1", "k": 1500, "candidates": 1500, "fields": ["*"]})
    assert_limit(a, "--max-answer-bytes")
    queries = [{"id": f"sku-{i}"} for i in range(20)]
    a = server.request("POST", "/v1/search/batch", {"queries": queries, "k": 100, "fields": ["*"]})
    assert_limit(a, "--max-answer-bytes")
    # a small answer still goes through
    assert server.request("POST", "/v1/search", {"id": "sku-1", "k": 5, "fields": ["*"]}).status == 200


def test_huge_vector_is_refused_quickly(serve):
    server = serve()
    n = 24_000_000 // 4
    body = b'{"vector": [' + b"0.1," * (n - 1) + b"0.1]}"
    assert len(body) > 23_000_000
    time.sleep(0.3)
    before = server.rss_kb()
    latencies: list[float] = []
    done = threading.Event()
    result: dict = {}

    def send():
        t = time.monotonic()
        try:
            result["answer"] = server.request("POST", "/v1/search", body, timeout=60)
        except Exception as e:  # noqa: BLE001
            result["error"] = e
        result["seconds"] = time.monotonic() - t
        done.set()

    with RSSSampler(server) as sampler:
        thread = threading.Thread(target=send)
        thread.start()
        while not done.is_set():
            t = time.monotonic()
            ok = server.request("GET", "/healthz", token=None, timeout=10).status == 200
            latencies.append(time.monotonic() - t)
            assert ok
            done.wait(0.05)
        thread.join()
    assert "error" not in result, result
    a = result["answer"]
    support.note(f"{len(body) / 1e6:.0f} MB vector: {a.status} in {result['seconds']:.2f} s; /healthz {len(latencies)} times, "
          f"slowest {max(latencies) * 1000:.0f} ms; RSS before {mb(before):.0f} MB, peak {mb(sampler.peak_kb):.0f} MB "
          f"(+{mb(sampler.peak_kb - before):.0f})")
    assert_error(a, 400, "dimension_mismatch")
    assert result["seconds"] < 5 * support.time_factor(), f"{result['seconds']:.1f} s (time factor {support.time_factor()})"
    assert max(latencies) < 0.5, f"/healthz took {max(latencies):.2f} s while the vector was decoded"
    # A vector costs its body and 4 bytes a value, not a node per number (1.5 GB for 66 MB before).
    assert (sampler.peak_kb - before) * 1024 < 6 * len(body), f"peak RSS +{mb(sampler.peak_kb - before):.0f} MB"


def test_error_messages_do_not_echo_megabytes(serve):
    """An error names what was wrong without sending a megabyte of the request back."""
    server = serve()
    big = "a" * 1_000_000
    v = support.query_vector(1)
    cases = [
        ("POST", "/v1/search", {"id": big}),
        ("POST", "/v1/search/batch", {"queries": [{"id": big}]}),
        ("POST", "/v1/items:delete", {"ids": [big]}),
        ("POST", "/v1/search", {"id": "sku-1", "where": big}),
        ("POST", "/v1/search", {"id": "sku-1", "where": "price < " + "9" * 100_000}),
        ("POST", "/v1/search", {"id": "sku-1", "fields": [big]}),
        ("POST", "/v1/search", {"id": "sku-1", big: 1}),
        ("POST", "/v1/search", {"id": "sku-1", "k": int("9" * 4000)}),
        ("PUT", "/v1/items", {"items": [{"id": "q", "vector": v, "attributes": {big: 1}}]}),
        ("PUT", "/v1/items", {"items": [{"id": "q", "vector": v, "attributes": {"category": 1, "x": big}}]}),
        ("PUT", "/v1/items", {"items": [{"id": big, "vector": v}]}),
        ("GET", "/v1/items/" + "a" * 6000, None),
        ("GET", "/v1/items/sku-1?fields=" + "a" * 6000, None),
        ("GET", "/v1/items/sku-1?vector=" + "a" * 6000, None),
    ]
    problems = []
    for method, path, body in cases:
        a = server.request(method, path, body)
        what = f"{method} {path[:40]} {str(body)[:60]}"
        if not (400 <= a.status < 500):
            problems.append(f"{what}: {a.status}")
        elif len(a.body) > 4096:
            problems.append(f"{what}: {a.status} {a.code}, {len(a.body)} bytes of error")
    assert not problems, "\n".join(problems)
    assert server.request("GET", "/readyz", token=None).json["items"] == support.ROWS


def test_metrics_labels_are_bounded(serve):
    """Odd methods, unknown paths and item ids do not each add series to /metrics."""
    server = serve()

    def round_(tag: str):
        for i in range(150):
            support.raw_exchange(server.port, support.raw_request(f"X{tag}{i}", "/v1/search"))
            support.raw_exchange(server.port, support.raw_request("GET", f"/nope-{tag}-{i}"))
            support.raw_exchange(server.port, support.raw_request("GET", f"/v1/items/id-{tag}-{i}"))
        return len(server.request("GET", "/metrics").body)

    server.request("GET", "/metrics")  # its own series
    first = round_("a")
    second = round_("b")
    support.note(f"/metrics: {first} bytes after 450 odd requests, {second} after 450 more")
    assert second - first < 512, f"/metrics grew from {first} to {second} bytes"
