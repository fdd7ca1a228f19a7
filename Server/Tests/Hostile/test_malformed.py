"""4. Oversized, truncated and malformed requests: a 4xx JSON error (or a close), never a 5xx."""

from __future__ import annotations

import json

import pytest

import support
from support import raw_exchange

LIMIT = 1000


def assert_json_error(resp, statuses, codes, raw=b""):
    assert resp is not None, f"no answer: {raw[:200]!r}"
    assert resp.status in statuses, f"{resp.status} {resp.body[:300]!r}"
    assert resp.headers.get("content-type", "").split(";")[0] == "application/json", resp.headers
    error = json.loads(resp.body)["error"]
    assert error["code"] in codes, error
    return error


def test_content_length_above_the_limit(serve):
    server = serve("--max-body-bytes", str(LIMIT))
    head = (b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\nConnection: close\r\n\r\n")
    # The answer comes without the body being sent.
    s = server.connect()
    s.sendall(head + b'{"id": ')
    resp = support.read_response(s, 5)
    s.close()
    error = assert_json_error(resp, (413,), ("payload_too_large",))
    assert "--max-body-bytes" in error["message"]
    for route, method in (("/v1/items", "PUT"), ("/v1/items:delete", "POST"), ("/v1/search/batch", "POST")):
        a = server.request(method, route, b" " * (LIMIT + 1))
        support.assert_error(a, 413, "payload_too_large")
    assert server.healthy()


def test_chunked_body_above_the_limit(serve):
    server = serve("--max-body-bytes", str(LIMIT))
    chunk = b" " * 600
    data = (b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for _ in range(4):
        data += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    data += b"0\r\n\r\n"
    resp, raw = raw_exchange(server.port, data)
    assert_json_error(resp, (413,), ("payload_too_large",), raw)
    # within the limit, chunked works
    body = json.dumps({"id": "sku-1", "k": 2}).encode()
    data = (b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    resp, raw = raw_exchange(server.port, data)
    assert resp is not None and resp.status == 200, raw[:300]
    assert server.healthy()


def test_truncated_body(serve):
    server = serve()
    data = (b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"id": "sku-1", "k"')
    resp, raw = raw_exchange(server.port, data, shut_write=True, timeout=15)
    print(f"truncated body: {raw[:200]!r}")
    if resp is not None:  # an answer: a 4xx JSON error; or just a close
        assert_json_error(resp, tuple(range(400, 500)), ("malformed_request", "request_timeout"), raw)
    assert server.healthy()


def test_bad_chunk_size(serve):
    server = serve()
    data = (b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n")
    resp, raw = raw_exchange(server.port, data, timeout=15)
    assert_json_error(resp, (400,), ("malformed_request",), raw)
    assert server.healthy()


@pytest.mark.parametrize("line", [b"GARBAGE", b"GET", b"GET /healthz", b"GET /healthz HTTP/9.9", b"\x00\x01\x02",
                                  b"GET /healthz HTTP/1.1 extra"])
def test_malformed_request_line(serve, line):
    server = serve()
    resp, raw = raw_exchange(server.port, line + b"\r\n\r\n")
    print(f"{line!r}: {raw[:200]!r}")
    assert_json_error(resp, (400, 505), ("malformed_request",), raw)
    assert server.healthy()


def test_malformed_headers(serve):
    server = serve()
    for head in (b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n",
                 b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                 b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"):
        resp, raw = raw_exchange(server.port, head)
        print(f"{head!r}: {raw[:200]!r}")
        assert_json_error(resp, (400,), ("malformed_request",), raw)
    assert server.healthy()


def test_oversized_headers(serve):
    server = serve()
    data = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\nConnection: close\r\n\r\n"
    resp, raw = raw_exchange(server.port, data)
    assert_json_error(resp, (431, 400), ("headers_too_large", "malformed_request"), raw)
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000)) + b"\r\n"
    resp, raw = raw_exchange(server.port, many)
    assert_json_error(resp, (431, 400), ("headers_too_large", "malformed_request"), raw)
    assert server.healthy()


def test_never_a_server_error(serve):
    """Assorted junk on every route: 4xx JSON (or a close), never 5xx, and the server lives."""
    server = serve("--max-body-bytes", str(LIMIT))
    junk = [b"", b"null", b"[]", b"{}", b"\xff\xfe", b'{"id": "\xff"}', b'{"id": "\\ud800"}', b'{"vector": [1e999]}',
            b'{"vector": [-0.0]}', b'{"queries": [null]}', b'{"items": [{}]}', b'{"ids": [1]}', b'"' * 999]
    routes = [("POST", "/v1/search"), ("POST", "/v1/search/batch"), ("PUT", "/v1/items"), ("POST", "/v1/items:delete")]
    for method, route in routes:
        for body in junk:
            a = server.request(method, route, body)
            assert 400 <= a.status < 500, (method, route, body, a)
            support.assert_error(a, a.status)
    for path in ("/v1/items/%FF", "/v1/items/%", "/v1/items/%zz", "/v1/items/%C3", "/v1/items/%00"):
        for method in ("GET", "DELETE"):
            a = server.request(method, path)
            assert 400 <= a.status < 500, (method, path, a)
            support.assert_error(a, a.status)
    assert server.healthy()
