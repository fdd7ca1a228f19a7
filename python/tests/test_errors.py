"""Every bad input raises a Python exception with the library's message; none crashes."""
from __future__ import annotations

import numpy as np
import pytest

import hashidx
from conftest import DIM


@pytest.mark.parametrize("query, error", [
    (np.zeros(DIM, np.float32), hashidx.ZeroVectorError),
    (np.full(DIM, np.nan, np.float32), hashidx.NonFiniteError),
    (np.full(DIM, np.inf), hashidx.NonFiniteError),
    (np.ones(DIM + 1, np.float32), hashidx.DimensionError),
    (np.ones((2, 3, DIM), np.float32), hashidx.InvalidArgumentError),
    (np.ones(DIM, np.complex64), hashidx.InvalidArgumentError),
    (np.array(["a"] * DIM), hashidx.InvalidArgumentError),
    (np.ones((1, 0), np.float32), hashidx.InvalidArgumentError),
    ([[1.0, 2.0], [3.0]], hashidx.InvalidArgumentError),
])
def test_bad_queries(index, query, error):
    with pytest.raises(error) as raised:
        index.search(query)
    assert str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("options", [
    {"k": 0}, {"k": -1}, {"k": 2.5}, {"probes": 0}, {"probes": -3}, {"candidates": "many"}, {"shortlist": 10_000},
    {"rerank": "magic"}, {"blend_weight": 2.0}, {"blend_weight": "half"}, {"threads": 0},
])
def test_bad_options(index, queries, options):
    with pytest.raises(hashidx.InvalidArgumentError):
        index.search(queries[0], **options)


@pytest.mark.parametrize("where", ['colour = ', 'weight > 3', 'price = "cheap"', "(" * 100 + "price > 1" + ")" * 100, "x\x00"])
def test_bad_filters(index, queries, where):
    with pytest.raises((hashidx.InvalidFilterError, hashidx.InvalidArgumentError)) as raised:
        index.search(queries[0], where=where)
    assert str(raised.value)


def test_bad_paths(tmp_path):
    with pytest.raises(hashidx.NotAnIndexError):
        hashidx.open(tmp_path)
    with pytest.raises(hashidx.HashIdxError):
        hashidx.open(tmp_path / "missing")
    with pytest.raises(hashidx.HashIdxError):
        hashidx.Writer(tmp_path / "missing")


@pytest.mark.parametrize("kwargs, error", [
    ({"ids": ["a", "a"]}, hashidx.DuplicateIDError),
    ({"ids": ["a"]}, hashidx.InvalidArgumentError),
    ({"ids": ["a", "b\nc"]}, hashidx.InvalidIDError),
    ({"ids": ["a", ""]}, hashidx.InvalidIDError),
    ({"ids": ["a", "x" * 5000]}, hashidx.InvalidIDError),
    ({"ids": "ab"}, hashidx.InvalidArgumentError),
    ({"attributes": [{"a": {"nested": 1}}, {}]}, hashidx.InvalidAttributesError),
    ({"attributes": [{"a": 1}, {"a": "text"}]}, hashidx.InvalidAttributesError),
    ({"attributes": [{"a": float("nan")}, {}]}, hashidx.InvalidAttributesError),
    ({"attributes": [{"a": object()}, {}]}, hashidx.InvalidAttributesError),
    ({"attributes": [{}]}, hashidx.InvalidAttributesError),
    ({"labels": [1]}, hashidx.InvalidArgumentError),
    ({"bits": 100}, hashidx.InvalidArgumentError),
    ({"partitions": -2}, hashidx.InvalidArgumentError),
    ({"target_recall": 1.5}, hashidx.InvalidArgumentError),
])
def test_bad_builds(tmp_path, kwargs, error):
    with pytest.raises(error):
        hashidx.build(tmp_path / "bad.hidx", np.eye(2, 8, dtype=np.float32) + 0.1, **kwargs)


def test_bad_build_vectors(tmp_path):
    for vectors, error in [(np.zeros((0, 8), np.float32), hashidx.EmptyInputError),
                           (np.ones(8, np.float32), hashidx.InvalidArgumentError),
                           (np.zeros((3, 8), np.float32), hashidx.ZeroVectorError),
                           (np.full((3, 8), np.nan), hashidx.NonFiniteError)]:
        with pytest.raises(error):
            hashidx.build(tmp_path / "bad.hidx", vectors)


def test_many_calls_do_not_grow_memory(index, queries):
    """100,000 calls, searches and failing calls mixed: the resident set stays bounded."""
    def rss_mib() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    bad = np.zeros(DIM, np.float32)
    for i in range(5_000):   # warm up: caches, allocator arenas
        index.search(queries[i % 200], k=10, probes=4, candidates=20)
    before = rss_mib()
    for i in range(100_000):
        if i % 10 == 0:
            try:
                index.search(bad)
            except hashidx.ZeroVectorError:
                pass
        elif i % 10 == 1:
            try:
                index.get("nope")
            except KeyError:
                pass
        else:
            index.search(queries[i % 200], k=10, probes=4, candidates=20)
    grown = rss_mib() - before
    assert grown < 16, f"resident set grew {grown:.1f} MiB over 100,000 calls"


def test_bad_models_to_build_from(tmp_path, index_path):
    with pytest.raises(hashidx.NotAnIndexError):
        hashidx.build(tmp_path / "x.hidx", np.ones((3, DIM), np.float32), model_from=tmp_path)
    with pytest.raises(hashidx.DimensionError):
        hashidx.build(tmp_path / "x.hidx", np.ones((3, DIM + 2), np.float32), model_from=index_path)
