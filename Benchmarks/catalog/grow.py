"""Indexes that grew or shrank, against a fresh build of the same rows, at equal recall@10
(each index's recall/QPS curve over a probes × candidates sweep, its upper envelope
interpolated at the target recalls):

- grow: built on half of the rows and grown by adds (in --batches commits) to all of them,
  with the partitions fitted again by the merge policy (the default) and without
  (`--no-maintain`), against a full build;
- shrink: a full build (ids: the row numbers as text) with a random half deleted by one
  `hashidx delete` — no explicit compaction, only the merge policy's — against a fresh
  build of the live rows (in the same order, so with the same row numbers).

    python3 Benchmarks/catalog/grow.py /work/data/glove --queries 2000 --batches 10 --runs 3
    python3 Benchmarks/catalog/grow.py /work/data/glove --only grow --ids --no-baseline   # rebalanced

DATA_DIR holds base.npy, queries.npy and gt.npy (exact top-k row numbers of base), as
../shared/datasets/*.py write them. Single-thread QPS from `hashidx eval`; every setting is
the best of --runs evaluations, the indexes taking turns.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HASHIDX = os.environ.get("HASHIDX", os.path.join(ROOT, ".build", "release", "hashidx"))
PROBES = [8, 12, 16, 24, 32, 48, 64, 96, 128, 192]
CANDIDATES = [50, 100, 200, 400]
TARGETS = [0.90, 0.95, 0.99]


def run(*args: str) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run([HASHIDX, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hashidx {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout, time.perf_counter() - start


def sweep(index: str, queries: str, gt: str) -> list[dict]:
    """One `hashidx eval` over the probes × candidates grid, single-threaded."""
    out, _ = run("eval", index, "--queries", queries, "--ground-truth", gt, "--k", "10",
                 "--probes", ",".join(map(str, PROBES)), "--candidates", ",".join(map(str, CANDIDATES)),
                 "--threads", "1", "--format", "json")
    return json.loads(out)["settings"]


def recall_by_id(index: str, queries: str, gt_ids: list[set[str]], probes: int, candidates: int) -> float:
    """Recall@10 by ids at one setting (`hashidx query`): rebalancing writes the rows that
    change lists anew, under new row numbers, so rows cannot be compared."""
    text, _ = run("query", index, "--queries", queries, "--k", "10", "--probes", str(probes),
                  "--candidates", str(candidates), "--threads", "1", "--format", "jsonl")
    found = sum(len({r["id"] for r in json.loads(line)["results"]} & truth)
                for line, truth in zip(text.splitlines(), gt_ids))
    return found / (10 * len(gt_ids))


def curves(indexes: list[str], queries: str, gt: str, runs: int, work: str,
           ids: bool) -> dict[str, list[tuple[float, float, int, int]]]:
    """(recall, qps, probes, candidates) per setting of each index: the best QPS of `runs`
    sweeps, the indexes taking turns (so that a slow moment of the machine does not fall on
    one index alone). With `ids`, recall is counted by ids (items named w<row>) and the
    sweeps run against a placeholder ground truth."""
    if ids:
        gt_ids = [{f"w{r}" for r in row} for row in np.load(gt)]
        placeholder = os.path.join(work, "placeholder-gt.npy")
        np.save(placeholder, np.zeros((len(gt_ids), 10), dtype=np.int64))
        recall = {(i, p, c): recall_by_id(i, queries, gt_ids, p, c) for i in indexes for p in PROBES for c in CANDIDATES}
    best: dict = {}
    for _ in range(runs):
        for index in indexes:
            for s in sweep(index, queries, placeholder if ids else gt):
                key = (index, s["probes"], s["candidates"])
                r = recall[key] if ids else s["recall"]
                if key not in best or s["qps"] > best[key][1]:
                    best[key] = (r, s["qps"], s["probes"], s["candidates"])
    return {i: sorted(v for k, v in best.items() if k[0] == i) for i in indexes}


def qps_at(points: list, target: float) -> float | None:
    """QPS at `target` recall on the upper envelope (the fastest setting at or above each
    recall), interpolated linearly in recall between the two envelope points around it."""
    envelope = []
    for recall, qps, *_ in sorted(points, key=lambda p: -p[0]):
        if not envelope or qps > envelope[-1][1]:
            envelope.append((recall, qps))
    envelope.reverse()   # ascending recall, descending qps
    for (r0, q0), (r1, q1) in zip(envelope, envelope[1:]):
        if r0 <= target <= r1:
            return q0 + (q1 - q0) * (target - r0) / (r1 - r0) if r1 > r0 else max(q0, q1)
    above = [q for r, q in envelope if r >= target]
    return max(above) if above else None


def info(index: str) -> dict:
    out, _ = run("info", index)
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in fields.items()}


def report(title: str, rows: list, q: str, gt: str, args: argparse.Namespace, work: str) -> None:
    """Prints the table of `rows` (name, seconds, index path); ratios to the first. With
    `--ids`, recall is counted by ids (`work` holds the placeholder ground truth)."""
    found = curves([path for _, _, path in rows], q, gt, args.runs, work, args.ids)
    reference = [qps_at(found[rows[0][2]], t) for t in TARGETS]
    print(f"## {title}: {args.queries} queries, best of {args.runs} (interleaved)\n")
    print("| index | seconds | partitions | shards | " + " | ".join(f"QPS @ {t}" for t in TARGETS) + " | "
          + " | ".join(f"÷ first @ {t}" for t in TARGETS) + " |")
    print("|---|---|---|---|" + "---|" * (2 * len(TARGETS)))
    for name, seconds, path in rows:
        i = info(path)
        at = [qps_at(found[path], t) for t in TARGETS]
        ratios = [f"{a / f:.2f}" if a and f else "–" for a, f in zip(at, reference)]
        print(f"| {name} | {seconds:.1f} | {i.get('partitions')} | {i.get('shards')} | "
              + " | ".join(f"{a:,.0f}" if a else "–" for a in at) + " | " + " | ".join(ratios) + " |")
    print(flush=True)


def grow(base: np.ndarray, args: argparse.Namespace, work: str, q: str, gt: str) -> None:
    half = len(base) // 2
    np.save(os.path.join(work, "half.npy"), np.ascontiguousarray(base[:half]))
    np.save(os.path.join(work, "rest.npy"), np.ascontiguousarray(base[half:]))
    batch = str(-(-(len(base) - half) // args.batches))
    # With --ids the items are named w<row>: string ids, so the merge policy rebalances the
    # lists a bounded step at a time (without, row-number ids get whole refits).
    ids = {}
    if args.ids:
        for name, rows_of in [("half", range(half)), ("rest", range(half, len(base))), ("all", range(len(base)))]:
            ids[name] = os.path.join(work, f"{name}.txt")
            with open(ids[name], "w") as f:
                f.write("".join(f"w{r}\n" for r in rows_of))
    def named(part: str) -> list[str]:
        return ["--ids", ids[part]] if args.ids else []
    full = os.path.join(work, "full.hidx")
    _, t = run("build", os.path.join(args.data, "base.npy"), *named("all"), "-o", full)
    rows = [("full build", t, full)]
    for name, flags in [("50 % + adds, partitions maintained", []), ("50 % + adds, --no-maintain", ["--no-maintain"])]:
        if args.no_baseline and flags:
            continue
        path = os.path.join(work, f"grown-{len(rows)}.hidx")
        _, t0 = run("build", os.path.join(work, "half.npy"), *named("half"), "-o", path)
        out, t1 = run("add", path, os.path.join(work, "rest.npy"), *named("rest"), "--commit-every", batch, *flags)
        fitted = [line.strip() for line in out.splitlines() if "partitions maintained" in line]
        rows.append((name + (f" ({fitted[0].split(': ', 1)[1]})" if fitted else ""), t0 + t1, path))
    report(f"Grow 50 % → 100 % in {args.batches} commits{' (string ids: rebalanced list by list)' if args.ids else ''}",
           rows, q, gt, args, work)


def shrink(base: np.ndarray, args: argparse.Namespace, work: str, q: str) -> None:
    rng = np.random.default_rng(3)
    live = np.sort(rng.choice(len(base), len(base) // 2, replace=False))
    gone = np.setdiff1d(np.arange(len(base)), live)
    np.save(os.path.join(work, "live.npy"), np.ascontiguousarray(base[live]))
    with open(os.path.join(work, "ids.txt"), "w") as f:
        f.write("\n".join(map(str, range(len(base)))) + "\n")
    with open(os.path.join(work, "gone.txt"), "w") as f:
        f.write("\n".join(map(str, gone)) + "\n")
    unit = base[live] / np.linalg.norm(base[live], axis=1, keepdims=True)
    queries = np.load(q)
    qu = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    gt = os.path.join(work, "gt-live.npy")   # row numbers among the live rows
    np.save(gt, np.argsort(-(qu @ unit.T), axis=1)[:, :10].astype(np.int64))
    fresh = os.path.join(work, "fresh-live.hidx")
    _, t = run("build", os.path.join(work, "live.npy"), "-o", fresh)
    shrunk = os.path.join(work, "deleted.hidx")
    _, t0 = run("build", os.path.join(args.data, "base.npy"), "--ids", os.path.join(work, "ids.txt"), "-o", shrunk)
    _, t1 = run("delete", shrunk, "--ids", os.path.join(work, "gone.txt"))
    report("Delete a random 50 % (no explicit compaction)",
           [("fresh build of the live rows", t, fresh), ("full build, then `hashidx delete` of half", t0 + t1, shrunk)],
           q, gt, args, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["grow", "shrink"], help="run one of the two scenarios")
    parser.add_argument("--ids", action="store_true",
                        help="grow: items with string ids (the merge policy then rebalances lists a bounded step at a "
                             "time; recall by ids)")
    parser.add_argument("--no-baseline", action="store_true", help="grow: leave out the --no-maintain index")
    args = parser.parse_args()
    base = np.load(os.path.join(args.data, "base.npy"), mmap_mode="r")
    work = tempfile.mkdtemp(prefix="hashidx-grow-")
    try:
        q, gt = os.path.join(work, "q.npy"), os.path.join(work, "gt.npy")
        np.save(q, np.load(os.path.join(args.data, "queries.npy"))[:args.queries])
        np.save(gt, np.load(os.path.join(args.data, "gt.npy"))[:args.queries, :10])
        print(f"# {os.path.basename(os.path.abspath(args.data))} ({len(base):,} × {base.shape[1]}): grown and shrunk "
              f"indexes against fresh builds\n")
        if args.only in (None, "grow"):
            grow(base, args, work, q, gt)
        if args.only in (None, "shrink"):
            shrink(base, args, work, q)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
