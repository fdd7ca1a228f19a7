#!/usr/bin/env python3
"""A catalog of G groups against one index, both from one trained model: recall@10 and
queries per second at the same settings (issue 26's check: equal recall within ±0.002).

    python Benchmarks/scale/groups_recall.py DATA_DIR [--groups 4] [--queries N] [--out DIR]

DATA_DIR holds base.npy, queries.npy, gt.npy (../shared/datasets/glove50.py). Needs
`pip install ./python`. The model is trained on 100,000 rows (as a distributed build
does), partitions about 2√n; the groups are consecutive rows, built with that model; the
catalog is searched in-process (the merge the Ray router runs), one query at a time.
"""
import argparse
import math
import os
import tempfile
import time

import numpy as np

import hashidx
from hashidx import catalog as catalogs

SETTINGS = [(16, 100), (32, 200), (64, 300), (128, 500), (256, 1000)]


def recall(found, gt):
    return float(np.mean([len({int(i) for i in f} & set(g[:10].tolist())) / 10 for f, g in zip(found, gt)]))


def merge_all(catalog, q, probes, candidates):
    """The catalog's answer with every group re-ranking all `candidates` (no split)."""
    per_group = [ix.search(q, 10, probes=probes, candidates=candidates) for ix in catalog.indexes]
    return catalogs.merge([r[0] for r in per_group], [r[1] for r in per_group], 10)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--out", default=tempfile.gettempdir())
    a = ap.parse_args()
    base = np.load(os.path.join(a.data, "base.npy")).astype(np.float32)
    queries = np.load(os.path.join(a.data, "queries.npy"))[:a.queries].astype(np.float32)
    gt = np.load(os.path.join(a.data, "gt.npy"))[:a.queries]
    n = len(base)
    root = os.path.join(a.out, "groups.catalog")
    os.makedirs(os.path.join(root, "groups"), exist_ok=True)
    rng = np.random.default_rng(1)
    sample = base[np.sort(rng.choice(n, min(n, 100_000), replace=False))]
    model = os.path.join(root, "model-1.hidx")
    hashidx.build(model, sample, partitions=int(round(2 * math.sqrt(n)))).close()
    bounds = [n * g // a.groups for g in range(a.groups + 1)]
    groups = []
    t = time.perf_counter()
    for g in range(a.groups):
        lo, hi = bounds[g], bounds[g + 1]
        hashidx.build(os.path.join(root, f"groups/g{g}.hidx"), base[lo:hi], ids=[str(r) for r in range(lo, hi)],
                      model_from=model).close()
        groups.append(catalogs.Group(f"g{g}", f"groups/g{g}.hidx", hi - lo))
    groups_s = time.perf_counter() - t
    catalogs.commit(root, model="model-1.hidx", groups=groups, dimension=base.shape[1])
    t = time.perf_counter()
    whole = hashidx.build(os.path.join(a.out, "whole.hidx"), base, model_from=model)
    whole_s = time.perf_counter() - t
    catalog = catalogs.Catalog(root)
    print(f"{a.data}: {n} × {base.shape[1]}, {a.groups} groups (built one after another in {groups_s:.1f} s), "
          f"one index with the same model ({whole_s:.1f} s), {len(queries)} queries")
    print("| probes | candidates | one index recall@10 | catalog recall@10 (each group: its share) | Δ | each group: all candidates | Δ | one index QPS | catalog QPS (in-process merge) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for probes, candidates in SETTINGS:
        t = time.perf_counter()
        rows = [whole.search_rows(q, 10, probes=probes, candidates=candidates)[0] for q in queries]
        whole_qps = len(queries) / (time.perf_counter() - t)
        t = time.perf_counter()
        ids = [catalog.search(q, 10, probes=probes, candidates=candidates)[0] for q in queries]
        catalog_qps = len(queries) / (time.perf_counter() - t)
        every = [merge_all(catalog, q, probes, candidates) for q in queries]
        r1, r2, r3 = recall(rows, gt), recall(ids, gt), recall(every, gt)
        print(f"| {probes} | {candidates} | {r1:.4f} | {r2:.4f} | {r2 - r1:+.4f} | {r3:.4f} | {r3 - r1:+.4f} "
              f"| {whole_qps:,.0f} | {catalog_qps:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
