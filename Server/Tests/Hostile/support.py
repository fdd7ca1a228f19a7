"""Helpers of the hostile-client suite: test data, the index, a real `hashidx serve` process,
raw HTTP over sockets, and the server's resident memory.

Everything talks to 127.0.0.1 only. Every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import select
import signal
import sys
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TOKEN = "hostile-test-token-5f2c8a1e9b7d4e63"
ROWS = 2000
DIM = 16
CATEGORIES = ["c0", "c1", "c2", "c3", "c4"]
TAGS = ["a", "b", "c", "d"]


NOTES: list[str] = []


def note(text: str) -> None:
    """A measurement worth seeing when the tests pass (printed in the summary at the end)."""
    print(text)
    NOTES.append(text)


def binary() -> str:
    """The `hashidx` under test: $HASHIDX_BIN, else Server/.build/debug/hashidx (its `serve`
    runs the hashidx-serve beside it, or $HASHIDX_SERVE)."""
    path = os.environ.get("HASHIDX_BIN") or str(REPO / "Server" / ".build" / "debug" / "hashidx")
    return str(Path(path).resolve())


def time_factor() -> float:
    """How much longer than a release build CPU-bound work may take: $HASHIDX_TIME_FACTOR, else
    6 for a binary under a `debug` folder (an unoptimised build), else 1. Timeouts the server
    enforces (header, body, idle) are never scaled."""
    if os.environ.get("HASHIDX_TIME_FACTOR"):
        return float(os.environ["HASHIDX_TIME_FACTOR"])
    return 6.0 if "/debug/" in binary() else 1.0


# MARK: Data


def write_npy(path: Path, rows: list[list[float]]) -> None:
    """A float32 C-order .npy (format 1.0), written by hand."""
    n, d = len(rows), len(rows[0])
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1"))
        f.write(struct.pack("<%df" % (n * d), *[x for row in rows for x in row]))


def dataset(rows: int = ROWS, dim: int = DIM, seed: int = 7) -> tuple[list[list[float]], list[str], list[dict]]:
    """Clustered vectors (8 centres), ids `sku-0`…, attributes of every type."""
    rng = random.Random(seed)
    centres = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(8)]
    vectors, ids, attrs = [], [], []
    for i in range(rows):
        c = centres[i % 8]
        vectors.append([x + rng.gauss(0, 0.15) for x in c])
        ids.append(f"sku-{i}")
        attrs.append({
            "category": CATEGORIES[i % len(CATEGORIES)],
            "price": round(rng.uniform(1, 100), 2) + 0.25,  # always a fraction: a float column
            "in_stock": i % 3 != 0,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 3))),
        })
    return vectors, ids, attrs


def build_index(directory: Path, *, rows: int = ROWS, dim: int = DIM, extra: list[str] = ()) -> Path:
    """`hashidx build` of `dataset()` into directory/index.hidx."""
    directory.mkdir(parents=True, exist_ok=True)
    vectors, ids, attrs = dataset(rows, dim)
    write_npy(directory / "vectors.npy", vectors)
    (directory / "ids.txt").write_text("\n".join(ids) + "\n")
    (directory / "attrs.jsonl").write_text("".join(json.dumps(a) + "\n" for a in attrs))
    out = directory / "index.hidx"
    cmd = [binary(), "build", str(directory / "vectors.npy"), "--ids", str(directory / "ids.txt"),
           "--attributes", str(directory / "attrs.jsonl"), "-o", str(out), "--bits", "64",
           "--partitions", "8", "--threads", "2", *extra]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"hashidx build failed ({r.returncode}): {r.stderr[-2000:]}")
    return out


def unit(v: list[float]) -> list[float]:
    n = sum(x * x for x in v) ** 0.5
    return [x / n for x in v]


def query_vector(i: int = 1) -> list[float]:
    return dataset(rows=i + 1)[0][i]


# MARK: The server


def _die_with_parent() -> None:
    """In the server's process before exec: on Linux, it gets SIGKILL when pytest dies, so that a
    killed or interrupted run leaves no server behind (fixtures stop them otherwise)."""
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Server:
    """`hashidx serve INDEX --port 0 --threads 2 ARGS…` on 127.0.0.1, until `stop()`."""

    index: Path
    args: list[str] = field(default_factory=list)
    token: str | None = None
    token_mode: int = 0o600
    workdir: Path | None = None

    def __post_init__(self):
        self.workdir = self.workdir or self.index.parent
        cmd = [binary(), "serve", str(self.index), "--host", "127.0.0.1", "--port", "0", "--threads", "2", *self.args]
        if self.token is not None:
            self.token_file = self.workdir / "token"
            self.token_file.write_text(self.token + "\n")
            os.chmod(self.token_file, self.token_mode)
            cmd += ["--token-file", str(self.token_file)]
        self.stdout_path = self.workdir / f"serve-{id(self)}.out"
        self.stderr_path = self.workdir / f"serve-{id(self)}.err"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        self.port = self._wait_for_port(30)
        self.host = "127.0.0.1"
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout_path.read_text(errors="replace")
            m = re.search(r"listening on http://[^:]+:(\d+)", text)
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"hashidx serve exited {self.proc.returncode}: {self.stderr()[-3000:]}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"hashidx serve printed no port in {timeout} s: {self.stderr()[-3000:]}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        """VmRSS of the server process, in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
        self._err.close()
        return self.proc.returncode

    # MARK: Requests

    def auth(self, token: str | None = "default") -> dict:
        t = self.token if token == "default" else token
        return {"Authorization": f"Bearer {t}"} if t else {}

    def request(self, method: str, path: str, body=None, *, token: str | None = "default",
                headers: dict | None = None, timeout: float = 30) -> "Answer":
        """One request on a fresh connection (http.client: the path is sent as given)."""
        h = {**self.auth(token), **(headers or {})}
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, payload)
        finally:
            conn.close()

    def healthy(self, timeout: float = 5) -> bool:
        try:
            return self.request("GET", "/healthz", token=None, timeout=timeout).status == 200
        except OSError:
            return False

    def connect(self, timeout: float = 10) -> socket.socket:
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        try:
            return self.json["error"]["code"]
        except Exception:
            return None

    @property
    def message(self) -> str:
        try:
            return self.json["error"]["message"]
        except Exception:
            return ""

    def __repr__(self):
        body = self.body[:600]
        return f"Answer({self.status}, {self.headers.get('content-type')!r}, {body!r}{'…' if len(self.body) > 600 else ''})"


def assert_error(answer: Answer, status: int | tuple, code: str | tuple | None = None) -> dict:
    """`answer` is a JSON error with this status (one of) and code (one of)."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert answer.status in statuses, answer
    assert answer.headers.get("content-type", "").split(";")[0].strip() == "application/json", answer
    body = answer.json
    assert set(body) == {"error"} and isinstance(body["error"], dict), answer
    assert isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str), answer
    if code is not None:
        codes = code if isinstance(code, tuple) else (code,)
        assert body["error"]["code"] in codes, answer
    return body["error"]


# MARK: Raw HTTP


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


def parse_response(data: bytes, head_only: bool = False) -> tuple[RawResponse | None, bytes]:
    """The first response in `data` (None when it is incomplete) and the bytes after it."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, data
    lines = data[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
    if not m:
        raise ValueError(f"not an HTTP response: {data[:200]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    rest = data[end + 4:]
    status = int(m.group(1))
    if head_only or status in (204, 304) or 100 <= status < 200:
        return RawResponse(status, m.group(2), headers, b""), rest
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            nl = rest.find(b"\r\n")
            if nl < 0:
                return None, data
            size = int(rest[:nl].split(b";")[0], 16)
            if len(rest) < nl + 2 + size + 2:
                return None, data
            body += rest[nl + 2:nl + 2 + size]
            rest = rest[nl + 2 + size + 2:]
            if size == 0:
                return RawResponse(status, m.group(2), headers, body), rest
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(rest) < n:
            return None, data
        return RawResponse(status, m.group(2), headers, rest[:n]), rest[n:]
    return RawResponse(status, m.group(2), headers, rest), b""


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool, float]:
    """Reads until the peer closes (or resets) or `timeout` passes: (bytes, closed, seconds)."""
    start = time.monotonic()
    deadline = start + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False, time.monotonic() - start
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, True, time.monotonic() - start
        if not chunk:
            return data, True, time.monotonic() - start
        data += chunk


def read_response(sock: socket.socket, timeout: float, head_only: bool = False) -> RawResponse | None:
    """One response from `sock` (None when none came within `timeout` or the peer closed first)."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        resp, _ = parse_response(data, head_only)
        if resp is not None:
            return resp
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            if not data:
                return None
            try:
                return parse_response(data, head_only)[0]
            except ValueError:
                return None
        data += chunk


def raw_exchange(port: int, data: bytes, *, timeout: float = 10, head_only: bool = False,
                 shut_write: bool = False) -> tuple[RawResponse | None, bytes]:
    """Sends `data` on a fresh connection and reads until the server closes: (first response, all bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        everything, _, _ = read_until_closed(s, timeout)
    finally:
        s.close()
    if not everything:
        return None, everything
    resp, _ = parse_response(everything, head_only)
    return resp, everything


def raw_request(method: str, target: str, *, headers: dict | None = None, body: bytes | None = None,
                close: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/json")
        h.setdefault("Content-Length", str(len(body)))
    if close:
        h.setdefault("Connection", "close")
    lines += [f"{k}: {v}" for k, v in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")


# MARK: Memory


class RSSSampler:
    """Samples the server's VmRSS every `interval` seconds in a thread; `peak_kb` is the largest seen."""

    def __init__(self, server: Server, interval: float = 0.02):
        self.server = server
        self.interval = interval
        self.peak_kb = server.rss_kb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.server.rss_kb())
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def mb(kb: int) -> float:
    return kb / 1024


def float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def float32_ulp(x: float) -> float:
    """The distance from float32 `x` to the next float32 away from zero."""
    bits = struct.unpack("<I", struct.pack("<f", abs(x)))[0]
    nxt = struct.unpack("<f", struct.pack("<I", bits + 1))[0]
    return nxt - abs(x)
