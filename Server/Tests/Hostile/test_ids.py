"""6. Ids compare as bytes; ids are one line of text."""

from __future__ import annotations

import urllib.parse

import pytest

import support
from support import assert_error

NFC = "caf\u00e9"
NFD = "cafe\u0301"


def path(item_id: str) -> str:
    return "/v1/items/" + urllib.parse.quote(item_id, safe="").replace(".", "%2E")


def test_nfc_and_nfd_are_two_items(serve):
    server = serve()
    v1, v2 = support.query_vector(1), support.query_vector(2)
    a = server.request("PUT", "/v1/items", {"items": [{"id": NFC, "vector": v1, "attributes": {"category": "nfc"}},
                                                       {"id": NFD, "vector": v2, "attributes": {"category": "nfd"}}]})
    assert a.status == 200, a
    assert a.json["upserted"] == 2 and a.json["count"] == support.ROWS + 2, a
    assert server.request("GET", path(NFC)).json == {"id": NFC, "attributes": {"category": "nfc"}}
    assert server.request("GET", path(NFD)).json == {"id": NFD, "attributes": {"category": "nfd"}}
    # each finds the other's neighbours under its own id, and neither is its own result
    for item_id in (NFC, NFD):
        results = server.request("POST", "/v1/search", {"id": item_id, "k": 20}).json["results"]
        assert item_id not in [r["id"] for r in results]
    a = server.request("DELETE", path(NFD))
    assert a.status == 200 and a.json["deleted"] == 1, a
    assert server.request("GET", path(NFC)).json["id"] == NFC
    assert_error(server.request("GET", path(NFD)), 404, "unknown_id")
    a = server.request("POST", "/v1/items:delete", {"ids": [NFD]})
    assert_error(a, 404, "unknown_id")
    assert server.request("GET", path(NFC)).status == 200


def test_nfc_and_nfd_in_one_request_are_not_duplicates_but_bytes_are(serve):
    server = serve()
    v = support.query_vector(1)
    a = server.request("PUT", "/v1/items", {"items": [{"id": NFD, "vector": v}, {"id": NFD, "vector": v}]})
    assert_error(a, 400, "duplicate_id")
    assert server.request("GET", "/readyz", token=None).json["items"] == support.ROWS


@pytest.mark.parametrize("bad", ["a\r\nb", "a\nb", "a\rb", "\n", "tab\there", "nul\u0000", "del\u007f", ""])
def test_control_characters_and_empty_ids_are_refused(serve, bad):
    server = serve()
    v = support.query_vector(1)
    a = server.request("PUT", "/v1/items", {"items": [{"id": bad, "vector": v}]})
    assert_error(a, 400, "invalid_id")
    assert server.request("GET", "/readyz", token=None).json["items"] == support.ROWS


def test_id_length_is_counted_in_bytes(serve):
    server = serve()
    v = support.query_vector(1)
    ok = "é" * 2048  # 4,096 bytes
    assert server.request("PUT", "/v1/items", {"items": [{"id": ok, "vector": v}]}).status == 200
    assert server.request("GET", path(ok)).json["id"] == ok
    assert_error(server.request("PUT", "/v1/items", {"items": [{"id": ok + "e", "vector": v}]}), 400, "invalid_id")
    assert_error(server.request("PUT", "/v1/items", {"items": [{"id": "x" * 4097, "vector": v}]}), 400, "invalid_id")


def test_delete_the_same_id_twice_in_one_request(serve):
    server = serve()
    a = server.request("POST", "/v1/items:delete", {"ids": ["sku-3", "sku-3"]})
    assert a.status == 200, a
    assert a.json["deleted"] == 1 and a.json["count"] == support.ROWS - 1, a
    assert_error(server.request("GET", "/v1/items/sku-3"), 404, "unknown_id")


def test_ids_with_slashes_and_percent(serve):
    server = serve()
    v = support.query_vector(1)
    ids = ["a/b", "a%2Fb", "50%", "?x=1", "#h", " sp ", "../x", ".", "..", "+plus+", "🙂"]
    a = server.request("PUT", "/v1/items", {"items": [{"id": i, "vector": v} for i in ids]})
    assert a.status == 200, a
    for i in ids:
        got = server.request("GET", path(i))
        assert got.status == 200 and got.json["id"] == i, (i, got)
    for i in ids:
        assert server.request("DELETE", path(i)).json["deleted"] == 1, i
