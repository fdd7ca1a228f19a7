"""Schemathesis hooks for the contract run (test_contract.py), loaded with SCHEMATHESIS_HOOKS=st_hooks.

The document (docs/openapi.json) cannot state the rules that depend on the index; the harness
writes them into a patched copy (test_contract.py) where JSON Schema can say them, and here
where it cannot:

- `format: hashidx-filter` (`where`): a strategy of valid filters (docs/FILTERS.md) over the
  index's attributes and their types, read from `GET /v1/info` ($HASHIDX_INFO).
- PUT /v1/items: two items with the same id (`duplicate_id`), ids over 4,096 UTF-8 bytes
  (`invalid_id`) and attribute names the index does not have yet (a new name is a new column,
  typed by its first value) are rules JSON Schema cannot express (uniqueness by a key; length
  in bytes; state): such bodies are not sent. Nor are items whose vector's length (norm) is
  beyond a 32-bit float: the index stores the norm as one (`invalid_argument`), and a norm is
  not a per-component rule.
"""

from __future__ import annotations

import json
import math
import os
import struct

import schemathesis
from hypothesis import strategies as st

INFO = json.loads(open(os.environ["HASHIDX_INFO"]).read())
ATTRIBUTES: dict[str, str] = INFO["attributes"]  # name -> "string" | "list of strings" | "float" | "integer" | "boolean"


def keyword(word: str) -> st.SearchStrategy[str]:
    """A keyword in any case (keywords are case-insensitive)."""
    return st.sampled_from([word, word.upper(), word.capitalize()])


strings = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8).map(json.dumps)
integers = st.integers(-(2**53), 2**53).map(str)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda x: json.dumps(x))
numbers = st.one_of(integers, floats)
booleans = st.sampled_from(["true", "false", "TRUE", "False"])


def literal_for(kind: str) -> st.SearchStrategy[str]:
    return {"string": strings, "list of strings": strings, "float": numbers, "integer": numbers, "boolean": booleans}.get(kind, strings)


def leaf_for(name: str, kind: str) -> st.SearchStrategy[str]:
    value = literal_for(kind)
    listing = st.lists(value, min_size=1, max_size=4).map(lambda vs: "(" + ", ".join(vs) + ")")
    options = [
        st.tuples(keyword("is"), keyword("null")).map(lambda t: f"{name} {t[0]} {t[1]}"),
        st.tuples(keyword("is"), keyword("not"), keyword("null")).map(lambda t: f"{name} {t[0]} {t[1]} {t[2]}"),
    ]
    if kind in ("string", "boolean", "float", "integer"):
        options.append(st.tuples(st.sampled_from(["=", "!="]), value).map(lambda t: f"{name} {t[0]} {t[1]}"))
    if kind in ("float", "integer"):
        options.append(st.tuples(st.sampled_from(["<", "<=", ">", ">="]), value).map(lambda t: f"{name} {t[0]} {t[1]}"))
    if kind in ("string", "list of strings", "float", "integer"):
        options.append(st.tuples(keyword("in"), listing).map(lambda t: f"{name} {t[0]} {t[1]}"))
        options.append(st.tuples(keyword("not"), keyword("in"), listing).map(lambda t: f"{name} {t[0]} {t[1]} {t[2]}"))
    if kind == "list of strings":
        options.append(st.tuples(keyword("contains"), value).map(lambda t: f"{name} {t[0]} {t[1]}"))
    if kind == "boolean":
        options.append(st.just(name))
    return st.one_of(options)


LEAVES = st.one_of([leaf_for(n, k) for n, k in sorted(ATTRIBUTES.items())]) if ATTRIBUTES else st.nothing()


def combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(keyword("not"), inner).map(lambda t: f"{t[0]} {t[1]}"),
        st.tuples(inner, keyword("and"), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(inner, keyword("or"), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda f: f"({f})"),
    )


FILTERS = st.recursive(LEAVES, combine, max_leaves=6)

schemathesis.openapi.format("hashidx-filter", FILTERS)


FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # the smallest value that rounds to infinity


def norm_fits_float32(vector: list) -> bool:
    """Whether the vector's length, as the server computes it (squares of its 32-bit values, in
    double precision), is a finite, non-zero 32-bit float."""
    try:
        values = [struct.unpack("<f", struct.pack("<f", float(x)))[0] for x in vector]
    except (TypeError, ValueError, OverflowError):
        return True  # not a vector of float32 values: the server refuses it for that
    norm = math.sqrt(math.fsum(x * x for x in values))
    return 2.0**-150 < norm < FLOAT32_OVERFLOW


@schemathesis.hook("filter_case").apply_to(method="PUT", path="/v1/items")
def no_duplicate_or_overlong_ids_or_new_attributes(ctx, case) -> bool:
    """(filter_case rather than filter_body: the coverage phase applies only case hooks.)"""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return True
    items = [item for item in body["items"] if isinstance(item, dict)]
    ids = [item["id"] for item in items if isinstance(item.get("id"), str)]
    if len(set(ids)) != len(ids):
        return False
    if any(len(i.encode("utf-8", "surrogatepass")) > 4096 for i in ids):
        return False
    if any(isinstance(item.get("vector"), list) and not norm_fits_float32(item["vector"]) for item in items):
        return False
    # A new attribute name adds a column whose type the first value fixes: whether a later
    # request is valid then depends on the requests before it, which no schema can say.
    return not any(isinstance(item.get("attributes"), dict) and set(item["attributes"]) - set(ATTRIBUTES)
                   for item in items)
