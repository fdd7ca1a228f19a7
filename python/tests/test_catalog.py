"""Catalogs: groups built from one trained model, committed atomically, searched as one."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import hashidx
from hashidx import catalog as catalogs
from conftest import ROWS, exact


def make_catalog(root, data, model, bounds, attributes=None) -> int:
    """Groups of rows bounds[g]..bounds[g+1] with global row ids, committed as one generation."""
    generation = catalogs.next_generation(root)
    (root / "groups").mkdir(exist_ok=True)
    groups = []
    for g in range(len(bounds) - 1):
        lo, hi = bounds[g], bounds[g + 1]
        relative = f"groups/g{g}-{generation}.hidx"
        hashidx.build(root / relative, data[lo:hi], ids=[str(r) for r in range(lo, hi)],
                      attributes=attributes[lo:hi] if attributes else None, model_from=model).close()
        groups.append(catalogs.Group(f"g{g}", relative, hi - lo))
    return catalogs.commit(root, model=os.path.basename(model), groups=groups, dimension=data.shape[1])


@pytest.fixture(scope="module")
def shared(tmp_path_factory, data, attributes):
    root = tmp_path_factory.mktemp("catalog") / "shop.catalog"
    root.mkdir()
    model = root / "model-1.hidx"
    hashidx.build(model, data[::4], partitions=300).close()   # trained on a sample
    make_catalog(root, data, model, [0, 7000, 15000, ROWS], attributes)
    whole = tmp_path_factory.mktemp("whole") / "whole.hidx"
    hashidx.build(whole, data, attributes=attributes, model_from=model).close()
    return root, whole


def test_exhaustive_search_is_the_whole_index_answer(shared, queries):
    root, whole = shared
    with catalogs.Catalog(root) as catalog, hashidx.open(whole) as index:
        assert len(catalog) == ROWS and catalog.generation == 1 and len(catalog.indexes) == 3
        every = {"probes": 300, "candidates": ROWS}
        ids, scores = catalog.search(queries[:30], k=10, **every)
        rows, whole_scores = index.search_rows(queries[:30], k=10, **every)
        assert [[int(i) for i in row] for row in ids] == rows.tolist()
        assert np.array_equal(scores, whole_scores)
        one_ids, one_scores = catalog.search(queries[0], k=10, **every)
        assert one_ids.tolist() == ids[0].tolist() and np.array_equal(one_scores, scores[0])


def test_recall_at_other_settings_matches_the_whole_index(shared, data, queries):
    root, whole = shared
    truth, _ = exact(data, queries, 10)
    with catalogs.Catalog(root) as catalog, hashidx.open(whole) as index:
        for probes, candidates in [(8, 100), (32, 200)]:
            ids, _ = catalog.search(queries, k=10, probes=probes, candidates=candidates)
            rows, _ = index.search_rows(queries, k=10, probes=probes, candidates=candidates)
            got = np.mean([len({int(i) for i in f} & set(t)) / 10 for f, t in zip(ids, truth)])
            want = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(rows, truth)])
            # Each group keeps its own best candidates: the merge sees at least the whole
            # index's, so it is never much worse (and usually a little better).
            assert got >= want - 0.01, (probes, candidates, got, want)


def test_filters_and_groups_are_ordinary_indexes(shared, queries, attributes):
    root, _ = shared
    with catalogs.Catalog(root) as catalog:
        ids, _ = catalog.search(queries[:5], k=10, where='colour = "red"')
        assert all(attributes[int(i)]["colour"] == "red" for row in ids for i in row)
        manifest = catalogs.read_manifest(root)
        with hashidx.open(root / manifest["groups"][1]["path"]) as group:
            assert len(group) == 8000 and group.row("7000") == 0


def test_a_new_generation_is_seen_whole_or_not_at_all(tmp_path, data):
    root = tmp_path / "c"
    root.mkdir()
    model = root / "model-1.hidx"
    hashidx.build(model, data[:3000], partitions=0).close()
    make_catalog(root, data[:4000], model, [0, 2000, 4000])
    old = catalogs.Catalog(root)
    # The next generation's groups are written before CURRENT moves: a reader opening now
    # still gets the old catalog.
    (root / "groups").mkdir(exist_ok=True)
    hashidx.build(root / "groups/g0-2.hidx", data[:100], ids=[str(i) for i in range(100)], model_from=model).close()
    with catalogs.Catalog(root) as during:
        assert during.generation == 1 and len(during) == 4000
    make_catalog(root, data[:6000], model, [0, 3000, 6000])
    assert old.generation == 1 and len(old) == 4000            # an open catalog keeps its snapshot
    with old.reopen() as new:
        assert new.generation == 2 and len(new) == 6000 and len(new.indexes) == 2
    old.close()
    assert (root / "CURRENT").read_text().strip() == "catalog-2.json"


def test_bad_catalogs_raise(tmp_path):
    with pytest.raises(hashidx.NotAnIndexError):
        catalogs.Catalog(tmp_path)
    (tmp_path / "CURRENT").write_text("catalog-1.json\n")
    (tmp_path / "catalog-1.json").write_text("{not json")
    with pytest.raises(hashidx.CorruptIndexError):
        catalogs.Catalog(tmp_path)
    (tmp_path / "catalog-1.json").write_text(json.dumps({"format": "hashidx-catalog", "version": 1, "generation": 1,
                                                         "groups": [{"name": "x", "path": "../../etc", "rows": 1}]}))
    with pytest.raises(hashidx.CorruptIndexError):
        catalogs.Catalog(tmp_path)
    (tmp_path / "CURRENT").write_text("../secret.json\n")
    with pytest.raises(hashidx.CorruptIndexError):
        catalogs.Catalog(tmp_path)


def test_merge_keeps_one_index_order():
    ids = [np.array([["a", "b"]], dtype=object), np.array([["c", None]], dtype=object)]
    scores = [np.array([[0.9, 0.5]], np.float32), np.array([[0.9, -np.inf]], np.float32)]
    top_ids, top_scores = catalogs.merge(ids, scores, 3)
    assert top_ids.tolist() == [["a", "c", "b"]]   # the tie at 0.9 goes to the earlier group
    assert top_scores.tolist() == [[pytest.approx(0.9), pytest.approx(0.9), 0.5]]
