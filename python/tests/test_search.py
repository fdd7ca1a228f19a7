"""Searches through Python: recall against NumPy's brute force, batches equal to single
queries, every input dtype and layout, threads, and the CLI's answers for the same index."""
from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import hashidx
from conftest import DIM, ROOT, ROWS, exact


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def test_recall_at_the_defaults_against_brute_force(index, data, queries):
    rows, scores = index.search_rows(queries, k=10)
    truth, true_scores = exact(data, queries, 10)
    assert rows.shape == (200, 10) and scores.shape == (200, 10)
    assert rows.dtype == np.int64 and scores.dtype == np.float32
    assert recall(rows, truth) >= 0.9
    # Scores are the cosines of the rows returned (float16 vectors: to about 1e-3), best first.
    b = data / np.linalg.norm(data, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    assert np.allclose(scores, np.einsum("qd,qkd->qk", q, b[rows]), atol=2e-3)
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_every_partition_and_every_row_gives_the_exact_answer(index, data, queries):
    partitions = index.info["partitions"]
    rows, scores = index.search_rows(queries[:20], k=5, probes=partitions, candidates=ROWS)
    truth, true_scores = exact(data, queries[:20], 5)
    assert recall(rows, truth) >= 0.99
    assert np.allclose(scores, true_scores, atol=2e-3)


def test_string_ids_match_rows(index, ids, queries):
    found, scores = index.search(queries[:3], k=4)
    rows, scores2 = index.search_rows(queries[:3], k=4)
    assert found.dtype == object and found.shape == (3, 4)
    assert [[ids[r] for r in row] for row in rows] == found.tolist()
    assert np.array_equal(scores, scores2)


def test_a_batch_equals_its_queries_one_by_one(index, queries):
    rows, scores = index.search_rows(queries[:50], k=10, threads=2)
    for i in range(50):
        r, s = index.search_rows(queries[i], k=10)
        assert r.shape == (10,)
        assert np.array_equal(r, rows[i]) and np.array_equal(s, scores[i])


@pytest.mark.parametrize("convert", [
    lambda q: q.astype(np.float64),
    lambda q: np.asfortranarray(q),
    lambda q: np.repeat(q, 2, axis=1)[:, ::2],              # a strided view
    lambda q: q.astype(">f4"),                             # big-endian
    lambda q: q.tolist(),                                  # plain lists
], ids=["float64", "fortran", "strided", "big-endian", "list"])
def test_every_input_layout_gives_the_same_answers(index, queries, convert):
    rows, scores = index.search_rows(queries[:10], k=10)
    rows2, scores2 = index.search_rows(convert(queries[:10]), k=10)
    assert np.array_equal(rows, rows2)
    assert np.allclose(scores, scores2, atol=1e-6)


def test_float16_queries(index, queries):
    rows, _ = index.search_rows(queries[:10].astype(np.float16), k=10)
    exact_rows, _ = index.search_rows(queries[:10].astype(np.float16).astype(np.float32), k=10)
    assert np.array_equal(rows, exact_rows)


def test_threads_searching_one_index_get_the_serial_answers(index, queries):
    expected = [index.search_rows(q, k=10) for q in queries]
    failures: list[str] = []

    def worker(offset: int) -> None:
        for i in range(offset, len(queries), 4):
            r, s = index.search_rows(queries[i], k=10)
            if not (np.array_equal(r, expected[i][0]) and np.array_equal(s, expected[i][1])):
                failures.append(f"query {i}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_fewer_items_than_k(tmp_path, data):
    with hashidx.build(tmp_path / "small.hidx", data[:7]) as small:
        rows, scores = small.search_rows(data[0], k=10)
        assert sorted(rows[:7]) == list(range(7))
        assert list(rows[7:]) == [-1, -1, -1] and np.all(np.isneginf(scores[7:]))
        ids, _ = small.search(data[0], k=10)
        assert ids.dtype == np.int64   # row-number ids come back as numbers


def test_filters(index, queries, attributes):
    ids, scores = index.search(queries[:20], k=10, where='colour = "green" AND price < 50')
    for row in ids:
        for id in row:
            a = attributes[int(id.split("-")[1])]
            assert a["colour"] == "green" and a["price"] < 50
    ids, _ = index.search(queries[0], k=5, where='tags contains "even"')
    assert all(int(i.split("-")[1]) % 2 == 0 for i in ids)


def test_search_by_id_leaves_the_item_out(index, data):
    ids, scores = index.search_by_id("sku-42", k=5)
    assert "sku-42" not in ids.tolist() and len(ids) == 5
    # The best other item: the second of the exact answer (the first is the item itself).
    assert scores[0] == pytest.approx(exact(data, data[42:43], 2)[1][0][1], abs=2e-3)


def cli() -> Path | None:
    given = os.environ.get("HASHIDX_CLI")
    if given:
        return Path(given)
    built = ROOT / ".build" / "release" / "hashidx"
    return built if built.is_file() else None


@pytest.mark.skipif(cli() is None, reason="no hashidx CLI built (set HASHIDX_CLI or swift build -c release)")
def test_the_cli_gives_the_same_ids_and_scores(index_path, queries, tmp_path):
    np.save(tmp_path / "q.npy", queries[:25])
    out = subprocess.run([str(cli()), "query", str(index_path), "--queries", str(tmp_path / "q.npy"), "--k", "10",
                          "--probes", "16", "--candidates", "300", "--format", "jsonl"],
                         check=True, capture_output=True, text=True).stdout
    with hashidx.open(index_path) as index:
        ids, scores = index.search(queries[:25], k=10, probes=16, candidates=300)
    for i, line in enumerate(out.splitlines()):
        results = json.loads(line)["results"]
        assert [r["id"] for r in results] == ids[i].tolist()
        assert np.array_equal(np.array([r["score"] for r in results], dtype=np.float32), scores[i])
