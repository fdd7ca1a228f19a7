#!/usr/bin/env python3
"""Do Python threads scale through the hashidx package (the GIL released in every call)?

    python Benchmarks/python/threads.py INDEX QUERIES.npy [--queries N] [--probes P] [--candidates C]

Needs `pip install ./python`. Serves N queries one at a time from 1, 2, … (up to the cores)
Python threads sharing one Index, and as one batch call (`threads=` the cores); prints
queries per second, the best of 3 runs each.
"""
import argparse
import os
import threading
import time

import numpy as np

import hashidx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index")
    ap.add_argument("queries")
    ap.add_argument("--queries", dest="n", type=int, default=10_000)
    ap.add_argument("--probes", type=int)
    ap.add_argument("--candidates", type=int)
    a = ap.parse_args()
    index = hashidx.open(a.index)
    q = np.load(a.queries)[:a.n].astype(np.float32)
    cores = os.cpu_count() or 1

    def one_at_a_time(threads: int) -> float:
        def work(part: np.ndarray) -> None:
            for v in part:
                index.search_rows(v, 10, probes=a.probes, candidates=a.candidates)
        parts = np.array_split(q, threads)
        pool = [threading.Thread(target=work, args=(p,)) for p in parts]
        t = time.perf_counter()
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        return len(q) / (time.perf_counter() - t)

    print(f"{a.index}: {len(index)} items, {len(q)} queries, probes {a.probes or 'default'}, "
          f"candidates {a.candidates or 'default'}, {cores} cores")
    for threads in range(1, cores + 1):
        best = max(one_at_a_time(threads) for _ in range(3))
        print(f"  {threads} Python thread(s), one query per call: {best:10,.0f} QPS")
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        index.search_rows(q, 10, probes=a.probes, candidates=a.candidates, threads=cores)
        best = max(best, len(q) / (time.perf_counter() - t))
    print(f"  one batch call on {cores} threads:         {best:10,.0f} QPS")


if __name__ == "__main__":
    main()
