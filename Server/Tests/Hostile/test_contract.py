"""8. The contract: schemathesis (every check) against a live server with a token, from
docs/openapi.json with the index-dependent facts filled in from `GET /v1/info`."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import support
from support import TOKEN

SEED = 20240611
MAX_EXAMPLES = int(os.environ.get("HASHIDX_ST_EXAMPLES", "30"))
# Flags of the contract server, chosen so that rules JSON Schema cannot state follow from the
# ones it can: `--max-batch-results` = `--max-batch` × `--max-k` (the bound on the sum of k);
# `--max-k` well below the index's 2,000 items (k above the items returns them all, a large answer); an
# answer of 8 × 1,000 results with every attribute far below --max-answer-bytes.
SERVER_FLAGS = ["--max-batch", "8", "--max-k", "1000", "--max-batch-results", "8000", "--max-items", "20",
                "--max-body-bytes", "1048576"]


def patched_document(info: dict, url: str) -> dict:
    """docs/openapi.json with what GET /v1/info says about this index and server."""
    doc = json.loads((support.REPO / "docs" / "openapi.json").read_text())
    doc["servers"] = [{"url": url}]
    schemas = doc["components"]["schemas"]
    limits = info["limits"]
    dim = info["dimension"]
    schemas["Vector"]["minItems"] = schemas["Vector"]["maxItems"] = dim
    for name in ("SearchRequest", "BatchSearchRequest"):
        props = schemas[name]["properties"]
        props["k"]["maximum"] = limits["max_k"]
        props["probes"]["maximum"] = limits["max_probes"]
        props["candidates"]["maximum"] = limits["max_candidates"]
        props["fields"] = fields_schema(info)
    schemas["BatchSearchRequest"]["properties"]["queries"]["maxItems"] = limits["max_batch"]
    schemas["UpsertRequest"]["properties"]["items"]["maxItems"] = limits["max_items"]
    schemas["DeleteRequest"]["properties"]["ids"]["maxItems"] = limits["max_items"]
    schemas["AttributesInput"] = attributes_schema(info)
    get = doc["paths"]["/v1/items/{id}"]["get"]
    for p in get["parameters"]:
        if p["name"] == "fields":
            p["schema"] = {"type": "string", "pattern": fields_pattern(info)}
    add_examples(doc, dim)
    return doc


def add_examples(doc: dict, dim: int) -> None:
    """Examples on the index's own items (random ids seldom name one), for the examples phase."""
    v = [round(x, 6) for x in support.query_vector(3)[:dim]]
    bodies = {
        ("/v1/search", "post"): {"id": "sku-1", "k": 5, "where": "price < 50 and in_stock", "fields": ["price", "tags"]},
        ("/v1/search/batch", "post"): {"queries": [{"id": "sku-2"}, {"vector": v, "where": 'tags contains "a"'}],
                                       "k": 3, "fields": ["*"]},
        ("/v1/items", "put"): {"items": [{"id": "example-1", "vector": v,
                                          "attributes": {"category": "c9", "price": 12.5, "in_stock": True, "tags": ["x"]}}]},
        ("/v1/items:delete", "post"): {"ids": ["sku-10", "sku-10", "absent"], "ignore_missing": True},
    }
    for (path, method), body in bodies.items():
        doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"] = body
    item = doc["paths"]["/v1/items/{id}"]
    item["parameters"][0]["example"] = "sku-11"


def fields_schema(info: dict) -> dict:
    """`["*"]`, or names of the index's attributes (`["*", "price"]` is refused); null: absent."""
    names = sorted(info["attributes"])
    return {"type": "array", "nullable": True, "items": {"type": "string", "enum": ["*", *names]},
            "anyOf": [{"maxItems": 1}, {"items": {"enum": names}}]}


def fields_pattern(info: dict) -> str:
    """The `fields` query values the server takes: names of the index's attributes separated by
    commas (empty names ignored), or `*` alone. (The server also drops spaces; the pattern has
    none, since clients encode a space in a query as `+`, which the server does not decode.)"""
    name = "(?:" + "|".join(re.escape(n) for n in sorted(info["attributes"])) + ")"
    return rf"^(?:{name}?(?:,{name}?)*|,*\*,*)$"


def attributes_schema(info: dict) -> dict:
    kinds = {
        "string": {"type": "string"},
        "list of strings": {"type": "array", "items": {"type": "string"}},
        "float": {"type": "number", "minimum": -1.7976931348623157e308, "maximum": 1.7976931348623157e308},
        "integer": {"type": "integer", "minimum": -(2**53), "maximum": 2**53},
        "boolean": {"type": "boolean"},
    }
    props = {}
    for name, kind in info["attributes"].items():
        props[name] = {**kinds[kind], "nullable": True}
    return {"type": "object", "nullable": True, "properties": props, "additionalProperties": False}


def test_schemathesis(serve, tmp_path: Path):
    server = serve(*SERVER_FLAGS, token=TOKEN)
    info = server.request("GET", "/v1/info").json
    (tmp_path / "info.json").write_text(json.dumps(info))
    doc = patched_document(info, server.url)
    spec = tmp_path / "openapi.patched.json"
    spec.write_text(json.dumps(doc, indent=2))
    st = Path(sys.executable).parent / "schemathesis"
    cmd = [str(st), "run", str(spec), "--url", server.url,
           "--header", f"Authorization: Bearer {TOKEN}",
           "--checks", "all",
           "--phases", "examples,coverage,fuzzing,stateful",
           "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
           "--workers", "1", "--generation-database", "none", "--no-color",
           "--request-timeout", "20",
           "--report", "junit", "--report-dir", str(tmp_path / "report")]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "st_hooks", "HASHIDX_INFO": str(tmp_path / "info.json"),
           "PYTHONPATH": str(Path(__file__).resolve().parent) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "NO_COLOR": "1", "COLUMNS": "160"}
    print("schemathesis:", " ".join(c if "Bearer" not in c else "'Authorization: Bearer …'" for c in cmd[1:]))
    start = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    took = time.monotonic() - start
    out = r.stdout + r.stderr
    (support.REPO / ".build").mkdir(exist_ok=True)
    (support.REPO / ".build" / "schemathesis-last.txt").write_text(out)
    print(out[-6000:])
    support.note(f"schemathesis exit {r.returncode} in {took:.0f} s (full output: .build/schemathesis-last.txt)")
    assert r.returncode == 0, f"schemathesis found failures (exit {r.returncode}); see the output above"
