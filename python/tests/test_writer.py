"""The writer through Python: round trips, the context manager, the lock, compaction."""
from __future__ import annotations

import numpy as np
import pytest

import hashidx
from conftest import clustered


@pytest.fixture()
def path(tmp_path):
    data = clustered(3000, 16, seed=3)
    hashidx.build(tmp_path / "w.hidx", data, ids=[f"i{n}" for n in range(3000)],
                  attributes=[{"n": n} for n in range(3000)]).close()
    return tmp_path / "w.hidx"


def test_add_upsert_delete_commit_round_trip(path):
    new = clustered(10, 16, seed=9)
    with hashidx.open(path) as before:
        with before.writer() as w:
            w.add(new[:5], ids=[f"new{n}" for n in range(5)], attributes=[{"n": 10_000 + n} for n in range(5)])
            w.upsert(new[5:6], ids=["i0"], attributes=[{"n": -1}])
            assert w.delete(["i1", "ghost"], ignore_missing=True) == 1
            assert w.has_changes
        # The snapshot is unchanged; a reopened one sees every change.
        assert len(before) == 3000 and "new0" not in before
        with before.reopen() as after:
            assert len(after) == 3000 + 5 - 1
            assert after.attributes("new3") == {"n": 10_003} and after.attributes("i0") == {"n": -1}
            assert "i1" not in after
            assert np.allclose(after.vector("i0"), new[5], atol=2e-3 * np.linalg.norm(new[5]))
            ids, _ = after.search(new[2], k=1)
            assert ids.tolist() == ["new2"]


def test_an_exception_rolls_back(path):
    with pytest.raises(RuntimeError):
        with hashidx.Writer(path) as w:
            w.delete(["i5"])
            raise RuntimeError("boom")
    with hashidx.open(path) as index:
        assert "i5" in index
    with hashidx.Writer(path) as w:   # the lock was released
        assert not w.has_changes


def test_one_writer_at_a_time_and_close_refuses_pending_changes(path):
    w = hashidx.Writer(path)
    with pytest.raises(hashidx.IndexIOError) as raised:
        hashidx.Writer(path)
    assert isinstance(raised.value, OSError)
    w.delete(["i2"])
    with pytest.raises(hashidx.PendingChangesError):
        w.close()
    with pytest.raises(hashidx.PendingChangesError):
        w.compact()
    w.rollback()
    w.close()
    with pytest.raises(hashidx.ClosedError):
        w.delete(["i3"])
    hashidx.Writer(path).close()


def test_write_errors(path):
    with hashidx.Writer(path) as w:
        with pytest.raises(hashidx.IDExistsError):
            w.add(np.ones((1, 16), np.float32), ids=["i7"])
        with pytest.raises(hashidx.UnknownIDError):
            w.delete(["ghost"])
        with pytest.raises(hashidx.DimensionError):
            w.add(np.ones((1, 15), np.float32), ids=["x"])
        with pytest.raises(hashidx.NonFiniteError):
            w.add(np.full((1, 16), np.nan, np.float32), ids=["x"])
        with pytest.raises(hashidx.InvalidArgumentError):
            w.add(np.ones((2, 16), np.float32), ids=["x"])
        with pytest.raises(hashidx.InvalidAttributesError):
            w.add(np.ones((1, 16), np.float32), ids=["x"], attributes=[{"n": "text"}])   # n is an integer attribute
        assert not w.has_changes


def test_compaction_keeps_every_live_item(path):
    with hashidx.Writer(path) as w:
        w.delete([f"i{n}" for n in range(0, 3000, 3)])
    with hashidx.Writer(path) as w:
        w.compact()
    with hashidx.open(path) as index:
        assert len(index) == 2000 and index.info["shards"] == 1
        assert "i3" not in index and index.attributes("i4") == {"n": 4}


def test_log_commits_are_seen_by_readers_and_flushed_beside_other_writes(path):
    import threading
    new = clustered(2000, 16, seed=11)
    w = hashidx.Writer(path)
    try:
        w.add(new[:1500], ids=[f"log{n}" for n in range(1500)], attributes=[{"n": -n} for n in range(1500)])
        w.delete(["i7"])
        summary = w.commit(durability="log")
        assert summary.count == 3000 + 1500 - 1
        with hashidx.open(path) as reader:   # a reader replays the log
            info = reader.info
            assert info["buffered"] == 1500 and info["log_bytes"] > 1500 * 16 * 4
            assert len(reader) == 4499 and "log42" in reader and "i7" not in reader
            assert reader.attributes("log42") == {"n": -42}
            ids, _ = reader.search(new[42], k=1)
            assert ids.tolist() == ["log42"]
            generation = info["generation"]
        # A flush on one thread while another goes on committing to the log.
        flushed = []
        t = threading.Thread(target=lambda: flushed.append(w.flush()))
        t.start()
        for n in range(1500, 2000):
            w.add(new[n:n + 1], ids=[f"log{n}"])
            w.commit(durability="log")
        t.join()
        assert flushed[0] is not None and flushed[0].generation == generation + 1
        with hashidx.open(path) as reader:
            assert len(reader) == 3000 + 2000 - 1
            assert reader.info["generation"] == generation + 1 and reader.info["buffered"] < 500 + 1
            assert all(f"log{n}" in reader for n in (0, 1499, 1500, 1999))
        w.flush()                     # what came during the flush, if anything
        assert w.flush() is None      # nothing left
        with pytest.raises(hashidx.InvalidArgumentError):
            w.commit(durability="later")
    finally:
        w.close()
    with hashidx.open(path) as reader:
        assert len(reader) == 4999 and reader.info["buffered"] == 0
