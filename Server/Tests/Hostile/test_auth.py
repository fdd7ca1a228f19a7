"""1. The token is checked on the route that runs: deny by default, whatever the path's spelling."""

from __future__ import annotations

import base64
import json

import pytest

import support
from support import TOKEN, assert_error, raw_exchange, raw_request

OPEN = {"/healthz", "/readyz"}
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
ITEM = "sku-5"
INTRUDER = "intruder-1"


def documented_routes() -> list[tuple[str, str]]:
    """(METHOD, template) of every operation in docs/openapi.json."""
    doc = json.loads((support.REPO / "docs" / "openapi.json").read_text())
    return sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item if m != "parameters")


def attack_body(template: str) -> bytes:
    """A body that would change or reveal something if the route ran without the token."""
    v = support.query_vector(3)
    return json.dumps({
        "/v1/items": {"items": [{"id": INTRUDER, "vector": v}]},
        "/v1/items:delete": {"ids": [ITEM]},
        "/v1/search": {"id": ITEM},
        "/v1/search/batch": {"queries": [{"id": ITEM}]},
    }.get(template, {})).encode()


def spellings(path: str) -> list[str]:
    """The path as sent, and ways to spell it that a router might take for the same route."""
    segments = path.strip("/").split("/")
    out = [path, "/" + path, path + "/", path.upper(), path + "?a=b", "http://127.0.0.1" + path, "http://other" + path]
    for i in range(1, len(segments)):  # at each inner slash
        head, tail = "/" + "/".join(segments[:i]), "/".join(segments[i:])
        out += [f"{head}//{tail}", f"{head}/./{tail}", f"{head}/x/../{tail}", f"{head}/x/%2E%2E/{tail}",
                f"{head}/%2e/{tail}", f"{head}%2F{tail}", f"{head}%2f{tail}", f"{head}\\{tail}"]
    out += ["/./" + path.lstrip("/"), "/x/../" + path.lstrip("/")]
    for i, seg in enumerate(segments):  # a percent-encoded letter in each segment
        j = next((k for k, c in enumerate(seg) if c.isalpha()), None)
        if j is not None:
            enc = seg[:j] + "%%%02X" % ord(seg[j]) + seg[j + 1:]
            out.append("/" + "/".join(segments[:i] + [enc] + segments[i + 1:]))
    for c in ":-":
        if c in path:
            out.append(path.replace(c, "%%%02X" % ord(c)))
    return list(dict.fromkeys(out))


def bad_credentials() -> dict[str, dict]:
    return {
        "none": {},
        "wrong token": {"Authorization": "Bearer wrong-" + TOKEN},
        "token prefix": {"Authorization": "Bearer " + TOKEN[:-1]},
        "basic": {"Authorization": "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()},
        "no scheme": {"Authorization": TOKEN},
    }


def test_no_route_runs_without_the_token(serve):
    server = serve(token=TOKEN)
    checked = 0
    problems: list[str] = []
    for template in sorted({p for _, p in documented_routes()}):
        path = template.replace("{id}", ITEM)
        body = attack_body(template)
        for spelled in spellings(path):
            for method in METHODS:
                for name, headers in bad_credentials().items():
                    data = raw_request(method, spelled, headers=headers,
                                       body=body if method in ("POST", "PUT", "PATCH") else None)
                    resp, raw = raw_exchange(server.port, data, head_only=method == "HEAD", timeout=10)
                    checked += 1
                    where = f"{method} {spelled} ({name})"
                    if resp is None:
                        problems.append(f"{where}: no answer ({raw[:100]!r})")
                        continue
                    if b"hashidx_http_requests_total" in raw:
                        problems.append(f"{where}: the metrics text came back without the token")
                    health = template in OPEN and method in ("GET", "HEAD")
                    if resp.status == 200 and health:
                        continue
                    if resp.status == 400 and "\\" in spelled:  # not a valid request target
                        continue
                    if resp.status not in (401, 404, 405):
                        problems.append(f"{where}: {resp.status} {resp.body[:200]!r}")
                        continue
                    if resp.status == 401 and resp.headers.get("www-authenticate", "").split(" ")[0].lower() != "bearer":
                        problems.append(f"{where}: 401 without WWW-Authenticate: Bearer ({resp.headers})")
                    if method != "HEAD":
                        if resp.headers.get("content-type", "").split(";")[0] != "application/json":
                            problems.append(f"{where}: {resp.status} not JSON: {resp.headers.get('content-type')}")
                        else:
                            try:
                                assert set(json.loads(resp.body)) == {"error"}
                            except Exception:
                                problems.append(f"{where}: {resp.status} body is not an error: {resp.body[:200]!r}")
    support.note(f"{checked} unauthenticated requests")
    assert not problems, f"{len(problems)} of {checked} requests went wrong:\n" + "\n".join(problems[:60])
    # Nothing changed: the item is still there, no item was added, nothing was deleted.
    assert server.request("GET", f"/v1/items/{ITEM}").status == 200
    assert server.request("GET", f"/v1/items/{INTRUDER}").status == 404
    assert server.request("GET", "/readyz", token=None).json["items"] == support.ROWS


def canonical_calls() -> list[tuple[str, str, object]]:
    v = support.query_vector(2)
    return [
        ("GET", "/healthz", None), ("GET", "/readyz", None), ("GET", "/metrics", None), ("GET", "/v1/info", None),
        ("POST", "/v1/search", {"vector": v, "k": 3}),
        ("POST", "/v1/search/batch", {"queries": [{"id": "sku-1"}, {"vector": v}], "k": 2}),
        ("GET", "/v1/items/sku-7", None),
        ("PUT", "/v1/items", {"items": [{"id": "new-1", "vector": v}]}),
        ("DELETE", "/v1/items/new-1", None),
        ("POST", "/v1/items:delete", {"ids": ["sku-9", "nope"], "ignore_missing": True}),
    ]


def test_every_documented_operation_is_covered():
    documented = set(documented_routes())
    called = set()
    for method, path, _ in canonical_calls():
        called.add((method, "/v1/items/{id}" if path.startswith("/v1/items/") else path))
    assert called == documented


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_right_token_works_on_every_route(serve, scheme):
    server = serve(token=TOKEN)
    for method, path, body in canonical_calls():
        a = server.request(method, path, body, token=None, headers={"Authorization": f"{scheme} {TOKEN}"})
        assert a.status == 200, (method, path, a)
        if path == "/metrics":
            assert b"hashidx_http_requests_total" in a.body
    assert server.request("GET", "/v1/items/sku-9").status == 404


def test_health_and_readiness_need_no_token(serve):
    server = serve(token=TOKEN)
    assert server.request("GET", "/healthz", token=None).json == {"status": "ok"}
    ready = server.request("GET", "/readyz", token=None).json
    assert ready["status"] == "ready" and ready["items"] == support.ROWS
    a = server.request("GET", "/metrics", token=None)
    assert_error(a, 401, "unauthorized")
    assert a.headers.get("www-authenticate", "").startswith("Bearer")
    assert b"hashidx_" not in a.body


def test_items_delete_is_an_item_id_now(serve):
    """`POST /v1/items:delete` replaced `POST /v1/items/delete`: `/v1/items/delete` names the item `delete`."""
    server = serve(token=TOKEN)
    assert_error(server.request("GET", "/v1/items/delete"), 404, "unknown_id")
    a = server.request("POST", "/v1/items/delete", {"ids": ["sku-1"]})
    assert_error(a, 405, "method_not_allowed")
    assert {m.strip() for m in a.headers.get("allow", "").split(",")} == {"GET", "DELETE"}
    assert server.request("GET", "/v1/items/sku-1").status == 200
    v = support.query_vector(4)
    assert server.request("PUT", "/v1/items", {"items": [{"id": "delete", "vector": v}]}).status == 200
    assert server.request("GET", "/v1/items/delete").json["id"] == "delete"
    assert server.request("DELETE", "/v1/items/delete").json["deleted"] == 1
    a = server.request("GET", "/v1/items:delete")
    assert_error(a, 405, "method_not_allowed")
    assert a.headers.get("allow") == "POST"
