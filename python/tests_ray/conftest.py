"""A real multi-node Ray cluster for the distributed tests: a head and two worker nodes
(separate raylets and object stores, as `ray start` makes them), on 127.0.0.1.

scripts/ray-tests.sh runs these tests inside a network namespace of their own (`unshare
--net`, loopback up), so the cluster, its clients and every byte between them stay on
loopback; the fixture refuses to start a cluster outside one (HASHIDX_RAY_NETNS=1 says
the script made it).
"""
from __future__ import annotations

import os
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
    node = {"num_cpus": 1, "object_store_memory": 128 * 2**20, "node_ip_address": "127.0.0.1"}
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
