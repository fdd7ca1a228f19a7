"""7. Smaller things: the token file's permissions, huge integers, float32 vectors back as written."""

from __future__ import annotations

import random

import pytest

import support
from support import TOKEN, assert_error, float32, float32_ulp


def permission_warning(stderr: str, token_file) -> bool:
    words = ("permission", "readable", "mode", "0644", "644", "chmod")
    return any(str(token_file) in line and any(w in line.lower() for w in words) for line in stderr.splitlines())


def test_world_readable_token_file_warns(serve):
    server = serve(token=TOKEN, token_mode=0o644)
    assert server.request("GET", "/v1/info").status == 200
    assert server.request("GET", "/v1/info", token=None).status == 401
    stderr = server.stderr()
    print(stderr[-1000:])
    assert permission_warning(stderr, server.token_file), f"no warning naming {server.token_file} and its permissions: {stderr[-2000:]!r}"


def test_private_token_file_does_not_warn(serve):
    server = serve(token=TOKEN, token_mode=0o600)
    assert server.request("GET", "/v1/info").status == 200
    stderr = server.stderr()
    assert not permission_warning(stderr, server.token_file), stderr[-2000:]


@pytest.mark.parametrize("body", [
    {"id": "x", "k": 99999999999999999999999},
    {"id": "sku-1", "k": 99999999999999999999999},
    {"id": "sku-1", "k": -99999999999999999999999},
    {"id": "sku-1", "probes": 99999999999999999999999},
])
def test_huge_integers_are_not_called_fractions(serve, body):
    server = serve()
    a = server.request("POST", "/v1/search", body)
    error = assert_error(a, 400, ("limit_exceeded", "invalid_request"))
    assert "fraction" not in error["message"].lower(), error


@pytest.mark.parametrize("text,code", [
    (b'{"id": "sku-1", "k": 2.5}', "invalid_request"),
    (b'{"id": "sku-1", "k": 1e2}', "invalid_request"),
    (b'{"id": "sku-1", "k": 0}', "invalid_request"),
    (b'{"id": "sku-1", "k": "5"}', "invalid_request"),
])
def test_k_must_be_a_positive_whole_number(serve, text, code):
    server = serve()
    assert_error(server.request("POST", "/v1/search", text), 400, code)


def test_float32_vectors_come_back_within_an_ulp(serve, tmp_path):
    index = support.build_index(tmp_path / "f32", extra=["--vector-type", "float32"])
    server = serve(index_path=index)
    rng = random.Random(11)
    vectors = {
        "f32-a": [float32(rng.uniform(-1, 1)) for _ in range(support.DIM)],
        "f32-b": [float32(rng.gauss(0, 1000)) for _ in range(support.DIM)],
        "f32-c": [float32(rng.uniform(-1e-3, 1e-3)) for _ in range(support.DIM)],
        "f32-d": [float32(x) for x in [3.0e38, -1.0e-38] + [1.5] * (support.DIM - 2)],
    }
    a = server.request("PUT", "/v1/items", {"items": [{"id": k, "vector": v} for k, v in vectors.items()]})
    assert a.status == 200, a
    worst = 0.0
    for item_id, written in vectors.items():
        got = server.request("GET", f"/v1/items/{item_id}?vector=true").json["vector"]
        assert len(got) == len(written)
        for w, g in zip(written, got):
            ulps = abs(float32(g) - w) / float32_ulp(w)
            worst = max(worst, ulps)
            assert ulps <= 1, f"{item_id}: wrote {w!r}, got {g!r} ({ulps:.2f} ulp)"
    print(f"largest difference: {worst:.2f} ulp")
    # the vectors the index was built with, too
    written = support.query_vector(5)
    got = server.request("GET", "/v1/items/sku-5?vector=true").json["vector"]
    for w, g in zip(written, got):
        w = float32(w)
        assert abs(float32(g) - w) <= float32_ulp(w), (w, g)
