"""7. Smaller things: the token file's permissions, huge integers, float32 vectors back as written."""

from __future__ import annotations

import math
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


def roundtrip(server, vectors: dict[str, list[float]], ulps_allowed: float | None = 1) -> float:
    """PUTs `vectors`, GETs each back with vector=true; returns the largest difference in ulps.

    The index stores a vector as its unit direction and its norm (float32 here), so the rule
    the library documents is an error relative to the norm: |got - written| <= 2^-22 x norm.
    `ulps_allowed`, when given, asks more: each component within that many of its own ulps
    (true for vectors whose components are of one magnitude)."""
    a = server.request("PUT", "/v1/items", {"items": [{"id": k, "vector": v} for k, v in vectors.items()]})
    assert a.status == 200, a
    worst = 0.0
    for item_id, written in vectors.items():
        got = server.request("GET", f"/v1/items/{item_id}?vector=true").json["vector"]
        assert len(got) == len(written)
        norm = math.sqrt(math.fsum(w * w for w in written))
        for w, g in zip(written, got):
            assert abs(float32(g) - w) <= 2.0**-22 * norm, f"{item_id}: wrote {w!r}, got {g!r} (norm {norm:.3g})"
            ulps = abs(float32(g) - w) / float32_ulp(w)
            worst = max(worst, ulps)
            if ulps_allowed is not None:
                assert ulps <= ulps_allowed, f"{item_id}: wrote {w!r}, got {g!r} ({ulps:.3g} ulp)"
    return worst


@pytest.fixture
def float32_server(serve, tmp_path):
    return serve(index_path=support.build_index(tmp_path / "f32", extra=["--vector-type", "float32"]))


def test_float32_vectors_come_back_within_an_ulp(float32_server):
    rng = random.Random(11)
    worst = roundtrip(float32_server, {
        "f32-a": [float32(rng.uniform(-1, 1)) for _ in range(support.DIM)],
        "f32-b": [float32(rng.gauss(0, 1000)) for _ in range(support.DIM)],
        "f32-c": [float32(rng.uniform(-1e-3, 1e-3)) for _ in range(support.DIM)],
    })
    support.note(f"float32 round trip: largest difference {worst:.2f} ulp")
    # the vectors the index was built with, too
    got = float32_server.request("GET", "/v1/items/sku-5?vector=true").json["vector"]
    for w, g in zip(support.query_vector(5), got):
        w = float32(w)
        assert abs(float32(g) - w) <= float32_ulp(w), (w, g)


def test_float32_vectors_of_wide_range_come_back_within_the_norm_rule(float32_server):
    """Components of very different magnitudes in one vector (stored as direction x norm): the
    small ones come back within 2^-22 x the norm, not within their own ulp (-1e-38 next to 3e38
    comes back as 0), as Index.vector(ofRow:) and SERVER.md say."""
    roundtrip(float32_server, {"f32-wide": [float32(x) for x in [3.0e38, -1.0e-38, 1e-20] + [1.5] * (support.DIM - 3)]},
              ulps_allowed=None)


def test_items_whose_length_is_beyond_a_float32_are_refused(float32_server):
    """A query's length does not matter (next test); an item's norm is stored as a float32."""
    a = float32_server.request("PUT", "/v1/items", {"items": [{"id": "huge", "vector": [3e38] * support.DIM}]})
    assert_error(a, 400, "invalid_argument")
    assert "length" in a.json["error"]["message"]


def test_components_up_to_float_max_are_accepted(serve):
    """Every component within ±3.4028234663852886e38 is a valid vector value, whatever the norm:
    a cosine search does not depend on the query's length."""
    server = serve()
    for v in ([3e38] * support.DIM, [3.4028234663852886e38, -3.4028234663852886e38] + [1.0] * (support.DIM - 2)):
        a = server.request("POST", "/v1/search", {"vector": v, "k": 3})
        assert a.status == 200, a
        a = server.request("POST", "/v1/search/batch", {"queries": [{"vector": v}], "k": 3})
        assert a.status == 200, a


@pytest.mark.parametrize("text", ["3.4028235677973366e38", "3.40282357e38", "-3.40282357e38", "1e39"])
def test_components_beyond_float_max_are_refused(serve, text):
    """At or beyond 2^128 - 2^103 a number rounds to infinity as a 32-bit float."""
    server = serve()
    body = ('{"vector": [%s' % text + ", 1" * (support.DIM - 1) + "]}").encode()
    assert_error(server.request("POST", "/v1/search", body), 400, "non_finite_value")


@pytest.mark.parametrize("text", ["3.4028235e38", "3.4028234663852888e38", "-3.40282356e38"])
def test_components_that_round_to_float_max_are_accepted(serve, text):
    """Below 2^128 - 2^103 a number rounds to a finite 32-bit float (FLT_MAX at most)."""
    server = serve()
    body = ('{"vector": [%s' % text + ", 1" * (support.DIM - 1) + "]}").encode()
    a = server.request("POST", "/v1/search", body)
    assert a.status == 200, a
