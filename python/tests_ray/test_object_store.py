"""Indexes and catalogs on an S3-compatible object store (SeaweedFS on loopback): published,
fetched into a node's cache, verified by their checksums before use, refused when they do
not match; a distributed build onto the store; the service reading from it and writing to
it, with a writer that loses its disk and starts again from the store."""
from __future__ import annotations

import os
import shutil
import time
import uuid

import numpy as np
import pytest

import hashidx
import hashidx.ray
from hashidx import catalog as catalogs
from hashidx import storage

from conftest import BUCKET, s3_filesystem


@pytest.fixture()
def store(object_store):
    """A fresh prefix of the bucket."""
    return storage.ObjectStore(f"s3://{BUCKET}/t-{uuid.uuid4().hex[:10]}", filesystem=object_store)


@pytest.fixture(scope="module")
def small(words, tmp_path_factory):
    """An index over 6,000 words with ids, built locally."""
    vectors, names = words
    path = tmp_path_factory.mktemp("small") / "words.hidx"
    hashidx.build(path, vectors[:6000], ids=names[:6000], attributes=[{"length": len(w)} for w in names[:6000]]).close()
    return path


class Counting:
    """Counts ObjectStore downloads and uploads (by object name) while it is active."""

    def __init__(self, monkeypatch):
        self.downloads, self.uploads = [], []
        download, upload = storage.ObjectStore.download, storage.ObjectStore.upload
        monkeypatch.setattr(storage.ObjectStore, "download",
                            lambda s, name, path, size: (self.downloads.append(name), download(s, name, path, size))[1])
        monkeypatch.setattr(storage.ObjectStore, "upload",
                            lambda s, path, name: (self.uploads.append(name), upload(s, path, name))[1])


def test_a_published_index_opens_from_the_cache_with_the_same_answers(store, small, words, tmp_path, monkeypatch):
    vectors, _ = words
    counting = Counting(monkeypatch)
    manifest = storage.publish(small, store)
    local_files = {n for n in os.listdir(small) if storage.generation_of(n) is not None}
    assert set(counting.uploads) == local_files and manifest in local_files
    assert store.read("CURRENT", 256) == f"{manifest}\n".encode()

    cache = storage.IndexCache(tmp_path / "cache")
    with cache.open(store) as copy, hashidx.open(small) as original:
        assert sorted(counting.downloads) == sorted(local_files)
        assert copy.path.startswith(str(tmp_path / "cache")) and os.path.basename(copy.path) == manifest
        q = vectors[6000:6050]
        assert all(np.array_equal(a, b) for a, b in zip(copy.search(q, k=10), original.search(q, k=10)))
        assert copy.attributes("king") == {"length": 4}
    # Opened again: the node holds that generation, nothing is downloaded.
    counting.downloads.clear()
    with cache.open(store) as again:
        assert counting.downloads == [] and len(again) == 6000


def test_a_commit_is_published_and_fetched_as_its_new_files_only(store, small, words, tmp_path, monkeypatch):
    vectors, names = words
    work = tmp_path / "work.hidx"
    shutil.copytree(small, work)
    present: dict = {}
    storage.publish(work, store, present=present)
    cache = storage.IndexCache(tmp_path / "cache")
    first = cache.open(store)
    old_files = set(os.listdir(first.path))

    with hashidx.Writer(work) as w:   # one commit: a new shard and manifest
        w.add(vectors[6000:6100], ids=names[6000:6100])
    counting = Counting(monkeypatch)
    manifest = storage.publish(work, store, present=present)
    new_files = {n for n in os.listdir(work) if storage.generation_of(n) == storage.generation_of(manifest)}
    assert set(counting.uploads) == new_files and len(new_files) >= 2   # the new shard and manifest, nothing else

    follower = storage.Follower(store, cache, refresh_s=3600)
    assert len(follower.index) == 6100 and counting.downloads.count(manifest) == 1
    assert set(counting.downloads) == new_files
    assert not os.path.exists(first.path)                  # the older copy is gone from the cache …
    assert len(first.search(vectors[:3], k=5)[0]) == 3     # … and the index open on it still answers
    first.close()

    # The follower moves only when asked to (refresh_s) or told of a newer manifest.
    with hashidx.Writer(work) as w:
        w.delete(["king"])
    newest = storage.publish(work, store, present=present)
    assert "king" in follower.refresh()                    # not yet: checked within refresh_s
    assert "king" not in follower.refresh(at_least=newest) and follower.manifest == newest
    follower.close()


def test_a_corrupt_or_cut_object_is_refused_and_nothing_of_it_is_used(store, small, tmp_path, monkeypatch):
    storage.publish(small, store)
    shard = max((n for n in store.list() if n.endswith(".hidx")), key=lambda n: store.list()[n])
    size = store.list()[shard]
    original = store.read(shard, size)
    cache = storage.IndexCache(tmp_path / "cache")
    # A byte flipped in each of several places of the stored shard: never used.
    for fraction in (0.3, 0.5, 0.7):
        data = bytearray(original)
        data[int(size * fraction)] ^= 0x41
        store.write(shard, bytes(data))
        with pytest.raises(hashidx.CorruptIndexError, match=store.url):
            cache.open(store)
        entry = cache.entry(store)
        assert not [n for n in os.listdir(entry) if n.startswith("MANIFEST-") or n.startswith(".partial")]
    # A transfer cut short (the object shorter than listed).
    store.write(shard, original)
    listing = storage.ObjectStore.list
    monkeypatch.setattr(storage.ObjectStore, "list", lambda s: {n: z + (1 if n == shard else 0) for n, z in listing(s).items()})
    with pytest.raises(hashidx.CorruptIndexError, match="transfer was cut"):
        cache.open(store)
    monkeypatch.undo()
    with cache.open(store) as index:   # the intact object: fetched, verified, used
        assert len(index) == 6000


def test_store_errors_say_what_is_wrong(store, object_store, tmp_path):
    import pyarrow.fs
    cache = storage.IndexCache(tmp_path / "cache")
    with pytest.raises(hashidx.NotAnIndexError, match="no CURRENT"):
        cache.open(store)
    store.write("CURRENT", b"../../etc/passwd\n")
    with pytest.raises(hashidx.CorruptIndexError, match="not a manifest"):
        cache.open(store)
    store.write("CURRENT", b"x" * 10_000)
    with pytest.raises(hashidx.CorruptIndexError, match="larger than"):
        cache.open(store)
    store.write("CURRENT", b"MANIFEST-000009\n")
    with pytest.raises(hashidx.CorruptIndexError, match="does not hold"):
        cache.open(store)
    nobody = s3_filesystem(port=30999, connect_timeout=1, request_timeout=2,
                           retry_strategy=pyarrow.fs.AwsStandardS3RetryStrategy(max_attempts=1))
    with pytest.raises(hashidx.StorageError, match="s3://hashidx/x"):
        cache.open(storage.ObjectStore("s3://hashidx/x", filesystem=nobody))
    for bad in ["s3://", "no-scheme/path"]:
        with pytest.raises(hashidx.InvalidArgumentError):
            storage.ObjectStore(bad, filesystem=object_store)
    with pytest.raises(hashidx.InvalidArgumentError):
        store.child("../escape")
    with pytest.raises(hashidx.InvalidArgumentError):
        storage.IndexCache(tmp_path / "c2", max_bytes=0)


def test_the_cache_stays_within_its_bound(object_store, small, words, tmp_path):
    vectors, _ = words
    a = storage.ObjectStore(f"s3://{BUCKET}/bound-a-{uuid.uuid4().hex[:6]}", filesystem=object_store)
    b = storage.ObjectStore(f"s3://{BUCKET}/bound-b-{uuid.uuid4().hex[:6]}", filesystem=object_store)
    storage.publish(small, a)
    storage.publish(small, b)
    size = sum(os.path.getsize(small / n) for n in os.listdir(small) if storage.generation_of(n) is not None)
    with pytest.raises(hashidx.StorageError, match="max_bytes"):
        storage.IndexCache(tmp_path / "tiny", max_bytes=size // 2).open(a)
    cache = storage.IndexCache(tmp_path / "one", max_bytes=size + size // 2)   # room for one copy
    first = cache.open(a)
    second = cache.open(b)                                 # evicts a's copy …
    assert not os.path.exists(cache.entry(a)) and os.path.exists(second.path)
    assert len(first.search(vectors[:2], k=3)[0]) == 2     # … while a's open index still answers
    first.close()
    second.close()


def test_a_distributed_build_onto_the_store_answers_as_one_index(cluster, object_store, words, tmp_path):
    vectors, _ = words
    np.save(tmp_path / "words.npy", vectors)
    url = f"s3://{BUCKET}/catalogs/{uuid.uuid4().hex[:8]}"
    cache_dir = str(tmp_path / "cache")
    catalog = hashidx.ray.build(str(tmp_path / "words.npy"), url, catalog_filesystem=object_store, groups=3, sample_size=8_000,
                                partitions=150, cache_dir=cache_dir)
    assert len(catalog) == len(vectors) and catalog.path == url
    root = storage.ObjectStore(url, filesystem=object_store)
    manifest = catalogs.read_manifest(root)
    assert manifest["generation"] == 1 and {"CURRENT", "catalog-1.json"} <= set(root.list())
    for g in manifest["groups"]:                           # each group an ordinary index in the store
        assert storage.read_current(root.child(g["path"])).startswith("MANIFEST-")
    # One index over all rows with the catalog's model: the same answers.
    model = storage.IndexCache(cache_dir).open(root.child(manifest["model"]))
    whole = hashidx.build(tmp_path / "whole.hidx", vectors, model_from=model.path)
    queries = vectors[::131][:100] + 0.01
    every = {"probes": 150, "candidates": len(vectors)}
    ids, scores = catalog.search(queries, k=10, **every)
    rows, whole_scores = whole.search_rows(queries, k=10, **every)
    assert [[int(i) for i in r] for r in ids] == rows.tolist() and np.array_equal(scores, whole_scores)
    # Another node (another cache) opens the same catalog from the store.
    with catalogs.Catalog(url, filesystem=object_store, cache=storage.IndexCache(tmp_path / "other-node")) as other:
        again, _ = other.search(queries, k=10, **every)
        assert np.array_equal(again, ids)
    for ix in (catalog, model, whole):
        ix.close()


@pytest.fixture(scope="module")
def served_from_store(cluster, object_store, words, tmp_path_factory):
    """A writable catalog of 4 groups in the store, served under /store; the replicas'
    node cache in one folder (the test's nodes share a disk)."""
    from ray import serve
    from test_service import PORT
    vectors, names = words
    root = tmp_path_factory.mktemp("store-served")
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.table({"word": names, "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()),
                                                                                       vectors.shape[1])})
    pq.write_table(table, root / "words.parquet", row_group_size=2000)
    url = f"s3://{BUCKET}/served-{uuid.uuid4().hex[:8]}"
    cache_dir = str(root / "cache")
    catalog = hashidx.ray.build(str(root / "words.parquet"), url, catalog_filesystem=object_store, id_column="word",
                                groups=4,
                                sample_size=8_000, partitions=200, cache_dir=cache_dir)
    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    hashidx.ray.serve(url, filesystem=object_store, cache_dir=cache_dir, name="store", route_prefix="/store",
                      replicas=2, deadline_s=10.0, group_cpus=0, writable=True)
    yield catalog, url, cache_dir
    serve.delete("store")
    catalog.close()


def test_the_service_reads_and_writes_the_store(served_from_store, object_store, words, tmp_path):
    import ray
    from test_service import call
    catalog, url, cache_dir = served_from_store
    vectors, names = words
    for w in ("king", "paris", "river"):
        q = vectors[names.index(w)] + 0.01
        status, answer = call("POST", "/store/v1/search", {"vector": q.tolist(), "k": 10, "probes": 32, "candidates": 200},
                              token=None)
        assert status == 200 and "partial" not in answer
        ids, scores = catalog.search(q.astype(np.float32), k=10, probes=32, candidates=200)
        assert [h["id"] for h in answer["results"]] == ids.tolist()

    # A write is acknowledged once in the store. The router replica that took it asks the
    # groups for at least that generation; the other sees it within refresh_s (1 s).
    rng = np.random.default_rng(5)
    written = {f"new-{n}": rng.normal(size=vectors.shape[1]).astype(np.float32) for n in range(6)}
    lags = []
    for id, v in list(written.items())[:3]:
        status, answer = call("PUT", "/store/v1/items", {"items": [{"id": id, "vector": v.tolist()}]}, token=None)
        acknowledged = time.monotonic()
        assert status == 200 and answer["upserted"] == 1, answer
        while True:
            status, answer = call("POST", "/store/v1/search", {"vector": v.tolist(), "k": 1}, token=None)
            assert status == 200
            if answer["results"][0]["id"] == id:
                break
            assert time.monotonic() - acknowledged < 10, f"{id} not visible 10 s after its acknowledgement"
            time.sleep(0.05)
        lags.append(time.monotonic() - acknowledged)
    print(f"acknowledged writes visible after {', '.join(f'{x:.2f}' for x in lags)} s")

    # Every writer replica dies and the node's disk with it (the whole cache): the writers
    # Serve starts again fetch their group from the store, and nothing acknowledged is lost.
    for name in [a for a in ray.util.list_named_actors(all_namespaces=True) if "store" in a["name"] and "writer" in a["name"]]:
        ray.kill(ray.get_actor(name["name"], namespace=name["namespace"]), no_restart=True)
    shutil.rmtree(cache_dir, ignore_errors=True)
    for id, v in list(written.items())[3:]:
        status, answer = call("PUT", "/store/v1/items", {"items": [{"id": id, "vector": v.tolist()}]}, token=None,
                              timeout=120)
        assert status == 200, answer
    for id, v in written.items():
        status, item = call("GET", f"/store/v1/items/{id}?vector=true", token=None)
        assert status == 200 and np.allclose(item["vector"], v, atol=2e-3 * np.linalg.norm(v)), id
    # A node that never served it (a fresh cache) finds all of them in the store.
    with catalogs.Catalog(url, filesystem=object_store, cache=storage.IndexCache(tmp_path / "fresh")) as fresh:
        for id, v in written.items():
            assert fresh.search(v, k=1)[0][0] == id
