"""2. Depth limits: deep filters and deep JSON are errors, never a stack overflow."""

from __future__ import annotations

import pytest

import support
from support import assert_error

DEEP_FILTERS = {
    "not x 25000": "not " * 25000 + "in_stock",
    "( x 50000": "(" * 50000 + "in_stock" + ")" * 50000,
    "not ( x 20000": "not (" * 20000 + "in_stock" + ")" * 20000,
}


def assert_nesting_error(answer):
    error = assert_error(answer, 400, "invalid_filter")
    assert "nest" in error["message"].lower(), answer
    assert len(answer.body) < 4096, f"the error quotes the whole filter: {len(answer.body)} bytes"


@pytest.mark.parametrize("name", list(DEEP_FILTERS))
def test_deep_filter_in_a_search(serve, name):
    server = serve()
    assert_nesting_error(server.request("POST", "/v1/search", {"id": "sku-1", "where": DEEP_FILTERS[name]}))
    assert server.healthy()
    # a filter just within the limit still works
    ok = server.request("POST", "/v1/search", {"id": "sku-1", "where": "not " * 10 + "in_stock", "k": 3})
    assert ok.status == 200, ok


def test_deep_filters_in_a_batch(serve):
    server = serve()
    deep = DEEP_FILTERS["not x 25000"]
    a = server.request("POST", "/v1/search/batch", {"queries": [{"id": "sku-1"}, {"id": "sku-2", "where": deep}]})
    assert_nesting_error(a)
    assert "queries[1]" in a.message, a
    a = server.request("POST", "/v1/search/batch", {"queries": [{"id": "sku-1"}, {"id": "sku-2"}], "where": DEEP_FILTERS["( x 50000"]})
    assert_nesting_error(a)
    many = [{"id": f"sku-{i}", "where": deep} for i in range(20)]
    assert_nesting_error(server.request("POST", "/v1/search/batch", {"queries": many}))
    assert server.healthy()


@pytest.mark.parametrize("opener", ["[", '{"a":', '{"vector":['])
def test_deep_json(serve, opener):
    server = serve()
    for route in ("/v1/search", "/v1/search/batch", "/v1/items", "/v1/items:delete"):
        method = "PUT" if route == "/v1/items" else "POST"
        a = server.request(method, route, (opener * 100_000).encode())
        assert_error(a, 400, "malformed_json")
    assert server.healthy()


def test_deep_json_closed(serve):
    """Balanced: 100,000 `[` and as many `]`."""
    server = serve()
    a = server.request("POST", "/v1/search", ("[" * 100_000 + "]" * 100_000).encode())
    assert_error(a, 400, "malformed_json")
    a = server.request("POST", "/v1/search", ('{"vector": ' + "[" * 100_000 + "]" * 100_000 + "}").encode())
    assert_error(a, 400, "malformed_json")
    assert server.healthy()
