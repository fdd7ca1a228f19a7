"""3. Slow clients: idle, header and body timeouts; slowloris; the connection limit."""

from __future__ import annotations

import json
import select
import socket
import time

import support
from support import read_response, read_until_closed

HEADER, BODY, IDLE = 2, 2, 3
SLACK = 3
TIMEOUTS = ("--header-timeout", str(HEADER), "--body-timeout", str(BODY), "--idle-timeout", str(IDLE))


def expect_timeout_close(sock: socket.socket, limit: float, what: str, allow_408: bool = True) -> float:
    """Waits for the server to close `sock` within `limit` seconds; what it sent before must be
    nothing or a 408 `request_timeout` JSON error. Returns the seconds it took."""
    data, closed, took = read_until_closed(sock, limit + 5)
    support.note(f"{what}: closed after {took:.2f} s, {'408 first' if data.startswith(b'HTTP/1.1 408') else f'{len(data)} bytes first'}")
    assert closed, f"{what}: still open after {took:.1f} s"
    assert took <= limit, f"{what}: closed after {took:.1f} s, limit {limit} s"
    if data:
        assert allow_408, f"{what}: unexpected answer {data[:300]!r}"
        resp, _ = support.parse_response(data)
        assert resp is not None and resp.status == 408, f"{what}: {data[:300]!r}"
        assert resp.headers.get("content-type", "").startswith("application/json")
        assert resp.json["error"]["code"] == "request_timeout", data
    return took


def test_idle_connection_is_closed(serve):
    server = serve(*TIMEOUTS)
    s = server.connect()
    expect_timeout_close(s, IDLE + SLACK, "a connection that never sent a byte")
    s.close()
    # and after an answered request, kept alive
    s = server.connect()
    s.sendall(support.raw_request("GET", "/healthz", close=False))
    resp = read_response(s, 5)
    assert resp is not None and resp.status == 200
    expect_timeout_close(s, IDLE + SLACK, "a kept-alive connection after one request", allow_408=False)
    s.close()


def test_answered_before_its_body_the_connection_still_times_out(serve):
    """A request answered before its body is read (401: no token) must not leave the connection
    without deadlines: the body still has --body-timeout, and once it is in, the idle timeout
    applies again."""
    server = serve(*TIMEOUTS, token="the-token")
    # The body never finishes: closed at the body timeout, after the 401 (no 408 on top).
    s = server.connect()
    s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\": ")
    resp = read_response(s, 5)
    assert resp is not None and resp.status == 401, resp
    data, closed, took = read_until_closed(s, BODY + SLACK + 5)
    support.note(f"401 before its body, body never finished: closed={closed} after {took:.2f} s more")
    assert closed and took <= BODY + SLACK, f"closed={closed} after {took:.1f} s"
    assert not data.startswith(b"HTTP/1.1 408"), "no second answer to an answered request"
    s.close()
    # The body finishes late but in time, then nothing: closed at the idle timeout.
    s = server.connect()
    s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n{\"id\": ")
    resp = read_response(s, 5)
    assert resp is not None and resp.status == 401, resp
    time.sleep(0.5)
    s.sendall(b'"sku-1"}')
    expect_timeout_close(s, IDLE + SLACK, "401 before its body, then idle", allow_408=False)
    s.close()
    assert server.healthy()


def test_half_sent_headers(serve):
    server = serve(*TIMEOUTS)
    s = server.connect()
    s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\n")
    expect_timeout_close(s, HEADER + SLACK, "headers sent half")
    s.close()
    assert server.healthy()


def test_headers_a_byte_a_second(serve):
    server = serve(*TIMEOUTS)
    s = server.connect()
    text = b"POST /v1/search HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    start = time.monotonic()
    for b in text:
        try:
            s.sendall(bytes([b]))
        except OSError:
            break
        readable, _, _ = select.select([s], [], [], 1.0)
        if readable or time.monotonic() - start > HEADER + SLACK + 2:
            break
    data, closed, _ = read_until_closed(s, max(0.5, HEADER + SLACK + 2 - (time.monotonic() - start)))
    took = time.monotonic() - start
    support.note(f"headers at a byte a second: closed={closed} {took:.2f} s after the first byte, "
                 f"{'408 first' if data.startswith(b'HTTP/1.1 408') else repr(data[:60])}")
    assert closed and took <= HEADER + SLACK, f"closed={closed} after {took:.1f} s"
    if data:
        resp, _ = support.parse_response(data)
        assert resp is not None and resp.status == 408 and resp.json["error"]["code"] == "request_timeout", data
    s.close()
    assert server.healthy()


def test_body_shorter_than_its_length(serve):
    server = serve(*TIMEOUTS)
    s = server.connect()
    s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
              + b'{"id": "sku-1", "k"')
    start = time.monotonic()
    data, closed, took = read_until_closed(s, BODY + SLACK + 5)
    support.note(f"body 20 of 100 bytes: closed={closed} after {took:.2f} s, {data[:40]!r}")
    resp, _ = support.parse_response(data)
    assert resp is not None, f"no answer: {data!r}"
    assert resp.status == 408 and resp.json["error"]["code"] == "request_timeout", data
    assert closed and took <= BODY + SLACK, f"closed={closed} after {took:.1f} s"
    s.close()
    assert server.healthy()


def test_slowloris(serve):
    server = serve(*TIMEOUTS)
    socks = []
    for i in range(100):
        s = server.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-" + str(i).encode() + b": ")
        socks.append(s)
    start = time.monotonic()
    # A normal search on a fresh connection while all of them are open.
    t = time.monotonic()
    a = server.request("POST", "/v1/search", {"id": "sku-3", "k": 5}, timeout=10)
    support.note(f"search with 100 slow connections open: {a.status} in {time.monotonic() - t:.3f} s")
    assert a.status == 200, a
    assert len(a.json["results"]) == 5
    # Keep dribbling a byte now and then; all must be closed by the header timeout.
    open_ = set(range(100))
    deadline = start + HEADER + SLACK + 2
    last_drip = 0.0
    while open_ and time.monotonic() < deadline:
        if time.monotonic() - last_drip > 0.5:
            last_drip = time.monotonic()
            for i in list(open_):
                try:
                    socks[i].sendall(b"a")
                except OSError:
                    pass
        r, _, _ = select.select([socks[i] for i in open_], [], [], 0.1)
        for s in r:
            i = socks.index(s)
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                open_.discard(i)
            else:
                # a 408 may precede the close
                assert chunk.startswith(b"HTTP/1.1 408"), chunk[:200]
    took = time.monotonic() - start
    support.note(f"slowloris: {100 - len(open_)} of 100 closed within {took:.2f} s")
    for s in socks:
        s.close()
    assert not open_, f"{len(open_)} of 100 slow connections still open {took:.1f} s after they started"
    assert server.healthy()


def _open_idle(server, n):
    socks = []
    for _ in range(n):
        s = server.connect()
        s.sendall(support.raw_request("GET", "/healthz", close=False))
        resp = read_response(s, 5)
        assert resp is not None and resp.status == 200
        socks.append(s)
    return socks


def test_connection_limit_waits_for_a_free_slot(serve):
    server = serve("--max-connections", "8", "--idle-timeout", "30")
    socks = _open_idle(server, 8)
    ninth = server.connect()
    ninth.sendall(support.raw_request("GET", "/readyz", close=False))
    early = read_response(ninth, 1.5)
    assert early is None, f"the 9th connection was answered while 8 were open: {early}"
    socks.pop().close()
    t = time.monotonic()
    resp = read_response(ninth, 5)
    support.note(f"9th connection answered {time.monotonic() - t:.2f} s after one of the 8 closed")
    assert resp is not None and resp.status == 200, resp
    assert json.loads(resp.body)["status"] == "ready"
    for s in socks + [ninth]:
        s.close()


def test_connection_limit_frees_slots_at_the_idle_timeout(serve):
    server = serve("--max-connections", "8", *TIMEOUTS)
    socks = _open_idle(server, 8)
    ninth = server.connect()
    t = time.monotonic()
    ninth.sendall(support.raw_request("GET", "/readyz", close=False))
    resp = read_response(ninth, IDLE + SLACK + 2)
    support.note(f"9th connection answered after {time.monotonic() - t:.2f} s")
    assert resp is not None and resp.status == 200, resp
    for s in socks + [ninth]:
        s.close()
