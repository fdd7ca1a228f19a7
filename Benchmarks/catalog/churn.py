"""A long churn run: an index built on the rows of half of the data set's k-means clusters,
then --rounds rounds of "insert 5 % (rows of the other clusters: clusters appear), delete
5 % at random", each through `hashidx add` / `hashidx delete` with the default merge policy
(or --no-maintain). After every round, the churned index and a fresh build of the same live
rows answer the same queries at their default settings: recall@10 (by ids) and
single-thread QPS (best of 3 `hashidx eval` runs), and the ratios.

    python3 Benchmarks/catalog/churn.py /work/data/glove --rounds 20 --queries 2000
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import catalog as bench  # noqa: E402  (run, write_rows, exact_gt, evaluate_by_id)


def shape(index: str) -> tuple[str, str, str]:
    """The index's partitions, shards and list balance, as `hashidx info` shows them."""
    out, _ = bench.run("info", index)
    p, s = re.search(r"partitions:\s+(\d+)", out), re.search(r"shards:\s+(\d+)", out)
    b = re.search(r"list balance:\s+([\d.]+)", out)
    return (p.group(1) if p else "?"), (s.group(1) if s else "?"), (b.group(1) if b else "?")


def recall_by_id(index: str, queries: str, gt_ids: list[list[str]]) -> float:
    """Recall@10 of `index` at its default settings, by ids."""
    out, _ = bench.run("query", index, "--queries", queries, "--k", "10", "--threads", "1", "--format", "jsonl")
    found = sum(len({r["id"] for r in json.loads(line)["results"]} & set(truth))
                for line, truth in zip(out.splitlines(), gt_ids))
    return found / (10 * len(gt_ids))


def paired_qps(indexes: list[str], queries: str, work: str, runs: int) -> list[float]:
    """Single-thread QPS of each of `indexes` at its default settings: the best of `runs`
    `hashidx eval` runs, the indexes taking turns."""
    placeholder = os.path.join(work, "placeholder-gt.npy")
    np.save(placeholder, np.zeros((len(np.load(queries)), 10), dtype=np.int64))
    best = [0.0] * len(indexes)
    for _ in range(runs):
        for i, index in enumerate(indexes):
            out, _ = bench.run("eval", index, "--queries", queries, "--ground-truth", placeholder, "--threads", "1",
                               "--format", "json")
            best[i] = max(best[i], json.loads(out)["settings"][0]["qps"])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5, help="QPS: best of this many runs of each index")
    parser.add_argument("--no-maintain", action="store_true", help="adds and deletes with --no-maintain")
    parser.add_argument("--keep", metavar="DIR", help="copy the churned index of every round to DIR/round-N.hidx")
    args = parser.parse_args()
    base = np.load(os.path.join(args.data, "base.npy"))
    n = len(base)
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    queries = np.load(os.path.join(args.data, "queries.npy"))[:args.queries].astype(np.float32)
    qunit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    rng = np.random.default_rng(17)
    # 20 k-means clusters; the index starts with the rows of every other one (by size).
    k = 20
    c, assign = bench.kmeans_clusters(unit, k, rng)
    seen = set(np.argsort(np.bincount(assign, minlength=k))[::2].tolist())
    inside = np.isin(assign, list(seen))
    initial, pool = rng.permutation(np.nonzero(inside)[0]), rng.permutation(np.nonzero(~inside)[0])
    work = tempfile.mkdtemp(prefix="hashidx-churn-")
    flags = ["--no-maintain"] if args.no_maintain else []
    try:
        qpath = os.path.join(work, "q.npy")
        np.save(qpath, queries)
        idx = os.path.join(work, "churned.hidx")
        npy, txt = bench.write_rows(os.path.join(work, "initial"), base, initial)
        bench.run("build", npy, "--ids", txt, "-o", idx)
        live = set(initial.tolist())
        step = len(initial) // 20
        print(f"# Churn on {os.path.basename(os.path.abspath(args.data))}: {args.rounds} rounds of +5 % (new clusters) / "
              f"−5 % (random){' with --no-maintain' if args.no_maintain else ''}\n")
        print(f"Start: {len(initial):,} rows of {len(seen)} of {k} k-means clusters; each round adds {step:,} rows of the "
              f"other clusters and deletes {step:,} live rows at random. Default search settings; {args.queries} queries; QPS best of {args.runs} runs, "
              f"the two indexes in turn.\n")
        print("| round | live | new-cluster rows | partitions (churned / fresh) | list balance (churned / fresh) | "
              "shards (churned) | recall churned | recall fresh | QPS churned | QPS fresh | recall ÷ | QPS ÷ |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
        ratios = []
        for r in range(args.rounds):
            new = pool[r * step:(r + 1) * step]
            if len(new) < step:
                print(f"(the pool of new-cluster rows ran out after {r} rounds)")
                break
            npy, txt = bench.write_rows(os.path.join(work, "add"), base, new)
            bench.run("add", idx, npy, "--ids", txt, *flags)
            live.update(new.tolist())
            gone = rng.choice(np.array(sorted(live)), step, replace=False)
            with open(os.path.join(work, "gone.txt"), "w") as f:
                f.write("".join(f"w{g}\n" for g in gone))
            bench.run("delete", idx, "--ids", os.path.join(work, "gone.txt"), *flags)
            live.difference_update(gone.tolist())
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                shutil.copytree(idx, os.path.join(args.keep, f"round-{r + 1}.hidx"), dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("LOCK"))
                np.save(os.path.join(args.keep, f"round-{r + 1}-live.npy"), np.array(sorted(live)))
            rows = np.array(sorted(live))
            fresh = os.path.join(work, "fresh.hidx")
            shutil.rmtree(fresh, ignore_errors=True)
            npy, txt = bench.write_rows(os.path.join(work, "live"), base, rows)
            bench.run("build", npy, "--ids", txt, "-o", fresh)
            gt_ids = [[f"w{b}" for b in row] for row in rows[bench.exact_gt(unit, rows, qunit)]]
            rc, rf = recall_by_id(idx, qpath, gt_ids), recall_by_id(fresh, qpath, gt_ids)
            qc, qf = paired_qps([idx, fresh], qpath, work, args.runs)
            outside = int(np.sum(~inside[rows]))
            (pc, sc, bc), (pf, _, bf) = shape(idx), shape(fresh)
            print(f"| {r + 1} | {len(rows):,} | {outside / len(rows):.0%} | {pc} / {pf} | {bc} / {bf} | {sc} | "
                  f"{rc:.4f} | {rf:.4f} | {qc:,.0f} | {qf:,.0f} | {rc / rf:.3f} | {qc / qf:.2f} |", flush=True)
            ratios.append((rc / rf, qc / qf, int(sc) if sc.isdigit() else 0))
        if ratios:
            q = [x[1] for x in ratios]
            print(f"\nQPS ÷ fresh: mean {np.mean(q):.2f} (min {min(q):.2f}, max {max(q):.2f}); shards on average "
                  f"{np.mean([x[2] for x in ratios]):.1f}; recall ÷ fresh ≥ {min(x[0] for x in ratios):.3f}.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
