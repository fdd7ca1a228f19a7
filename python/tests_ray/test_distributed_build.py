"""hashidx.ray.build on a three-node Ray cluster: parallel tasks write the groups of a
catalog from one model, and the catalog answers as one index built with that model."""
from __future__ import annotations

import json

import numpy as np
import pytest

import hashidx
import hashidx.ray
from hashidx import catalog as catalogs


def exact(base, queries, k):
    b = base / np.linalg.norm(base, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    return np.argsort(-(q @ b.T), axis=1, kind="stable")[:, :k]


def test_a_catalog_from_npy_answers_as_one_index(cluster, words, tmp_path):
    vectors, _ = words
    np.save(tmp_path / "part0.npy", vectors[:12_000])
    np.save(tmp_path / "part1.npy", vectors[12_000:])
    catalog = hashidx.ray.build([str(tmp_path / "part0.npy"), str(tmp_path / "part1.npy")], tmp_path / "words.catalog",
                                groups=4, sample_size=8_000, partitions=200)
    assert len(catalog) == len(vectors) and len(catalog.indexes) == 4 and catalog.generation == 1
    manifest = catalogs.read_manifest(tmp_path / "words.catalog")
    assert [g["rows"] for g in manifest["groups"]] == [5000, 5000, 5000, 5000]
    # The groups were written by tasks spread over the nodes: each is an ordinary index.
    with hashidx.open(tmp_path / "words.catalog" / manifest["groups"][2]["path"]) as group:
        assert group.row("10000") == 0 and group.info["partitions"] == 200

    # One index over all the rows with the same model: the same answers.
    whole = hashidx.build(tmp_path / "whole.hidx", vectors, model_from=tmp_path / "words.catalog" / manifest["model"])
    queries = vectors[::97][:120] + 0.01
    every = {"probes": 200, "candidates": len(vectors)}
    ids, scores = catalog.search(queries, k=10, **every)
    rows, whole_scores = whole.search_rows(queries, k=10, **every)
    assert [[int(i) for i in r] for r in ids] == rows.tolist() and np.array_equal(scores, whole_scores)
    truth = exact(vectors, queries, 10)
    for probes, candidates in [(16, 100), (64, 200)]:
        ids, _ = catalog.search(queries, k=10, probes=probes, candidates=candidates)
        rows, _ = whole.search_rows(queries, k=10, probes=probes, candidates=candidates)
        got = np.mean([len({int(i) for i in f} & set(t)) / 10 for f, t in zip(ids, truth)])
        want = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(rows, truth)])
        assert got >= want - 0.01, (probes, candidates, got, want)
    catalog.close()
    whole.close()


def test_a_catalog_from_parquet_with_ids_and_attributes(cluster, words, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    vectors, names = words
    table = pa.table({"word": names[:6000], "length": [len(w) for w in names[:6000]],
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors[:6000].ravel()), vectors.shape[1])})
    pq.write_table(table, tmp_path / "words.parquet", row_group_size=1000)
    catalog = hashidx.ray.build(str(tmp_path / "words.parquet"), tmp_path / "w.catalog", column="embedding",
                                id_column="word", attribute_columns=["length"], groups=3)
    ids, scores = catalog.search(vectors[names.index("king")], k=4)
    assert ids[0] == "king" and "queen" in ids.tolist()
    ids, _ = catalog.search(vectors[names.index("king")], k=5, where="length = 5")
    assert all(len(i) == 5 for i in ids) and "queen" in ids.tolist()
    # A second build commits a second generation; the open catalog keeps the first.
    again = hashidx.ray.build(str(tmp_path / "words.parquet"), tmp_path / "w.catalog", column="embedding",
                              id_column="word", groups=2)
    assert again.generation == 2 and len(again.indexes) == 2 and catalog.generation == 1
    assert json.loads((tmp_path / "w.catalog" / "catalog-2.json").read_text())["id_column"] == "word"
    again.close()
    catalog.close()
