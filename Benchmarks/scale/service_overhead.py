#!/usr/bin/env python3
"""What the Ray Serve router costs per query: one catalog searched (a) in-process, group by
group and merged, (b) through the router over HTTP (fan-out to every group's deployment,
merge, JSON), against (c) one index with the same model, in-process. One client, one query
at a time, on a three-node Ray cluster on this machine.

    bash -c 'unshare --net bash -c "ip link set lo up && RAY_TMPDIR=/tmp/hxb \\
        .build-python/venv-ray/bin/python Benchmarks/scale/service_overhead.py Data/glove-20k.npy --groups 4"'

Needs the venv of scripts/ray-tests.sh (Ray 2.60 and the package).
"""
import argparse
import json
import os
import tempfile
import time
import urllib.request

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vectors")
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--port", type=int, default=8124)
    a = ap.parse_args()
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster
    import hashidx
    import hashidx.ray
    from hashidx import catalog as catalogs

    node = {"num_cpus": 1, "object_store_memory": 256 * 2**20, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(**node)
    ray.init(address=cluster.address, log_to_driver=False)
    vectors = np.load(a.vectors).astype(np.float32)
    work = tempfile.mkdtemp()
    catalog = hashidx.ray.build(a.vectors, os.path.join(work, "c.catalog"), groups=a.groups)
    model = os.path.join(work, "c.catalog", catalogs.read_manifest(os.path.join(work, "c.catalog"))["model"])
    whole = hashidx.build(os.path.join(work, "whole.hidx"), vectors, model_from=model)
    serve.start(http_options={"host": "127.0.0.1", "port": a.port})
    hashidx.ray.serve(os.path.join(work, "c.catalog"), replicas=2, group_cpus=0)
    rng = np.random.default_rng(3)
    queries = vectors[rng.choice(len(vectors), a.queries, replace=False)] + 0.01

    def http(q):
        body = json.dumps({"vector": q.tolist(), "k": 10}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{a.port}/v1/search", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    for q in queries[:50]:
        http(q)
    timings = {}
    for name, call in [("one index, in-process", lambda q: whole.search(q, 10)),
                       (f"catalog of {a.groups} groups, in-process merge", lambda q: catalog.search(q, 10)),
                       (f"catalog of {a.groups} groups, through the Ray Serve router (HTTP)", http)]:
        latencies = []
        for q in queries:
            t = time.perf_counter()
            call(q)
            latencies.append(time.perf_counter() - t)
        latencies.sort()
        timings[name] = latencies
        print(f"{name:60s} mean {np.mean(latencies) * 1e3:7.2f} ms  p50 {latencies[len(latencies) // 2] * 1e3:7.2f} ms"
              f"  p99 {latencies[int(len(latencies) * 0.99)] * 1e3:7.2f} ms", flush=True)
    serve.shutdown()
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main()
