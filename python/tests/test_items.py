"""Items, info and the index's life cycle through Python."""
from __future__ import annotations

import numpy as np
import pytest

import hashidx
from conftest import DIM, ROWS


def test_info(index):
    info = index.info
    assert info["count"] == ROWS and info["dimension"] == DIM and info["bits"] == 256
    assert info["string_ids"] is True and info["attributes"] == {"colour": "string", "price": "integer", "tags": "tags"}
    assert len(index) == ROWS and index.dimension == DIM and index.string_ids
    # A fresh build: its lists as balanced as when fitted, nothing drifted, no arena (one shard).
    assert info["partitions"] > 0 and 1 <= info["list_balance"] < 3
    assert info["list_balance_at_fit"] == pytest.approx(info["list_balance"], rel=1e-4)
    assert info["drift"] is None and info["growth"] == 1.0 and info["partition_arena_bytes"] == 0


def test_items(index, data, attributes):
    item = index.get("sku-5")
    assert item.id == "sku-5"
    assert np.allclose(item.vector, data[5], atol=2e-3 * np.linalg.norm(data[5]))
    assert item.attributes["colour"] == attributes[5]["colour"] and item.attributes["price"] == attributes[5]["price"]
    assert item.attributes.get("tags", []) == attributes[5]["tags"]
    assert index.attributes("sku-6")["tags"] == ["even"]
    assert index.attributes("sku-4", fields=["price"]) == {"price": 4}
    assert index.row("sku-77") == 77
    assert "sku-1" in index and "nope" not in index


def test_unknown_ids_raise_key_errors(index):
    with pytest.raises(hashidx.UnknownIDError) as raised:
        index.get("nope")
    assert isinstance(raised.value, KeyError) and "nope" in str(raised.value)
    with pytest.raises(KeyError):
        index.search_by_id("nope")


def test_a_closed_index_raises(index_path, queries):
    index = hashidx.open(index_path)
    index.close()
    index.close()   # twice is fine
    assert index.closed
    for call in (lambda: index.search(queries[0]), lambda: index.get("sku-1"), lambda: index.info, index.reopen):
        with pytest.raises(hashidx.ClosedError):
            call()


def test_close_waits_for_searches_on_other_threads(index_path, queries):
    import threading
    index = hashidx.open(index_path)
    done = []

    def search() -> None:
        try:
            for _ in range(200):
                index.search(queries, k=10)
        except hashidx.ClosedError:
            pass
        done.append(True)

    t = threading.Thread(target=search)
    t.start()
    index.close()
    t.join()
    assert done == [True]


def test_row_number_ids(tmp_path, data):
    with hashidx.build(tmp_path / "rows.hidx", data[:500], partitions=0, float32_vectors=True) as index:
        assert not index.string_ids
        assert np.array_equal(index.vector(3), data[3]) or np.allclose(index.vector(3), data[3], rtol=1e-6)
        assert index.attributes(3) == {}
        ids, _ = index.search(data[3], k=1)
        assert ids.tolist() == [3]


def test_supervised_build_from_labels(tmp_path, data):
    labels = np.arange(2000) % 60
    labels[::7] = -1
    with hashidx.build(tmp_path / "labels.hidx", data[:2000], labels=labels, bits=64) as index:
        assert index.info["rerank"] == "blend"
    with hashidx.build(tmp_path / "tags.hidx", data[:100], labels=[["a", "b"] if i % 2 else "c" for i in range(100)],
                       bits=64) as index:
        assert len(index) == 100


def test_target_recall_tunes_the_defaults(tmp_path, data):
    with hashidx.build(tmp_path / "tuned.hidx", data, ids=None, target_recall=0.9) as index:
        assert index.build_summary.tuned_probes is not None
        assert index.info["default_probes"] == index.build_summary.tuned_probes
        assert index.info["tuned"]["target_recall"] == 0.9


def test_help_reads_well():
    assert "NumPy" in hashidx.__doc__
    assert "Returns ``(ids, scores)``" in hashidx.Index.search.__doc__
    assert hashidx.__version__.count(".") == 2
