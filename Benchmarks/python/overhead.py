#!/usr/bin/env python3
"""What answering through Python costs: the same index, queries and setting served one
query at a time on one thread by `hashidx eval` (in-process Swift) and by the Python package,
alternately, best of --runs each.

    python Benchmarks/python/overhead.py INDEX QUERIES.npy GT.npy [--hashidx BIN] [--runs 5]
                                         [--probes P --candidates C]

Without --probes/--candidates both use the index's defaults (tuned by `build
--target-recall`, else 128/200). Needs `pip install ./python`; BIN defaults to
.build/release/hashidx.
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np

import hashidx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index")
    ap.add_argument("queries")
    ap.add_argument("gt")
    ap.add_argument("--hashidx", default=os.path.join(ROOT, ".build", "release", "hashidx"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--probes", type=int)
    ap.add_argument("--candidates", type=int)
    a = ap.parse_args()
    index = hashidx.open(a.index)
    q = np.load(a.queries).astype(np.float32)
    gt = np.load(a.gt)[:, :10]
    setting = []
    if a.probes:
        setting += ["--probes", str(a.probes)]
    if a.candidates:
        setting += ["--candidates", str(a.candidates)]
    best_swift = best_python = 0.0
    recall_swift = recall_python = 0.0
    for _ in range(a.runs):
        out = subprocess.run([a.hashidx, "eval", a.index, "--queries", a.queries, "--ground-truth", a.gt, "--k", "10",
                              "--threads", "1", "--format", "json"] + setting, check=True, capture_output=True,
                             text=True).stdout
        point = json.loads(out)["settings"][0]
        best_swift = max(best_swift, point["qps"])
        recall_swift = point["recall"]
        for v in q[:200]:   # warm-up, as eval does
            index.search_rows(v, 10, probes=a.probes, candidates=a.candidates)
        found = []
        t = time.perf_counter()
        for v in q:
            found.append(index.search_rows(v, 10, probes=a.probes, candidates=a.candidates)[0])
        best_python = max(best_python, len(q) / (time.perf_counter() - t))
        recall_python = float(np.mean([len(set(f) & set(g)) / 10 for f, g in zip(found, gt)]))
    info = index.info
    print(f"{a.index}: {info['count']} × {info['dimension']}, probes {a.probes or info['default_probes']}, "
          f"candidates {a.candidates or info['default_candidates']}, {len(q)} queries, best of {a.runs}")
    print(f"  in-process (hashidx eval): {best_swift:9,.0f} QPS  recall@10 {recall_swift:.4f}")
    print(f"  through Python:            {best_python:9,.0f} QPS  recall@10 {recall_python:.4f}")
    print(f"  Python ÷ in-process:       {best_python / best_swift:9.3f}")


if __name__ == "__main__":
    main()
