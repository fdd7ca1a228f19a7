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
MAX_EXAMPLES = int(os.environ.get("HASHIDX_ST_EXAMPLES", "25"))
# Flags of the contract server: `--max-batch-results` ≥ `--max-batch` × `--max-k`, so that the
# bound on the sum of k (which JSON Schema cannot state) follows from the per-field bounds the
# document states; an answer of 8 × 2,000 results with every attribute is far below
# --max-answer-bytes (which no schema can state either).
SERVER_FLAGS = ["--max-batch", "8", "--max-k", "2500", "--max-batch-results", "20000", "--max-items", "20",
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
    return doc


def fields_schema(info: dict) -> dict:
    names = sorted(info["attributes"])
    return {"anyOf": [
        {"type": "array", "items": {"type": "string", "enum": ["*"]}, "minItems": 1, "maxItems": 1},
        {"type": "array", "items": {"type": "string", "enum": names}},
    ]}


def fields_pattern(info: dict) -> str:
    name = "(?:" + "|".join(re.escape(n) for n in sorted(info["attributes"])) + ")"
    return rf"^(?:\*|{name}(?:,{name})*)$"


def attributes_schema(info: dict) -> dict:
    kinds = {
        "string": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "float": {"type": "number", "minimum": -1.7976931348623157e308, "maximum": 1.7976931348623157e308},
        "integer": {"type": "integer", "minimum": -(2**53), "maximum": 2**53},
        "boolean": {"type": "boolean"},
    }
    props = {}
    for name, kind in info["attributes"].items():
        props[name] = {**kinds[kind], "nullable": True}
    return {"type": "object", "properties": props, "additionalProperties": False}


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
           "--request-timeout", "20", "--suppress-health-check", "all",
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
    print(f"schemathesis exit {r.returncode} in {took:.0f} s (full output: .build/schemathesis-last.txt)")
    assert r.returncode == 0, f"schemathesis found failures (exit {r.returncode}); see the output above"
