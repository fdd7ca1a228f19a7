#!/usr/bin/env python3
"""Synthetic clustered embeddings for scale tests, written in chunks (fixed seed).

    python3 Benchmarks/synthetic.py OUT_DIR [--rows 10000000] [--dim 96] [--queries 1000]
                                            [--clusters 20000] [--noise 0.06] [--seed 20261127]

Writes OUT_DIR/base.fbin (uint32 rows, uint32 dim, float32 rows) and OUT_DIR/queries.fbin.
Rows are drawn around `clusters` random centres with cluster sizes that follow a Zipf-like
law (some topics are popular), plus isotropic noise, so the data has the uneven density of
real embeddings. Memory stays at one chunk (1M rows) whatever --rows is. Exact ground truth:

    hashidx groundtruth OUT_DIR/base.fbin OUT_DIR/queries.fbin --k 100 -o OUT_DIR/gt.npy
"""
import argparse, os, struct
import numpy as np


def write(path, rows, dim, rng, centres, weights, noise, chunk=1_000_000):
    with open(path, "wb") as f:
        f.write(struct.pack("<II", rows, dim))
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            which = rng.choice(len(centres), size=n, p=weights)
            x = centres[which] + noise * rng.standard_normal((n, dim), dtype=np.float32)
            f.write(np.ascontiguousarray(x, dtype="<f4").tobytes())
            done += n
            print(f"{path}: {done:,}/{rows:,} rows", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--dim", type=int, default=96)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--clusters", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--noise", type=float, default=0.06,
                    help="per-dimension standard deviation around a unit centre (0.06 at 96-d: noise norm ~0.6)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    centres = rng.standard_normal((a.clusters, a.dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, a.clusters + 1) ** 0.7
    weights /= weights.sum()
    write(os.path.join(a.out, "base.fbin"), a.rows, a.dim, rng, centres, weights, a.noise)
    write(os.path.join(a.out, "queries.fbin"), a.queries, a.dim, np.random.default_rng(a.seed + 1), centres, weights, a.noise)


if __name__ == "__main__":
    main()
