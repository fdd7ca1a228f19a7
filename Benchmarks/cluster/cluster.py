#!/usr/bin/env python3
"""Clustering a catalog: `hashidx cluster` against scikit-learn's KMeans, on labelled data.

    python3 Benchmarks/cluster/cluster.py DATA_DIR [--ks 10,20,50] [--runs 3] [--seed S]
                                          [--threads T] [--out FILE] [--work DIR]
                                          [--hashidx-binary PATH] [--skip-ninit10] [--ninit10-runs N]

DATA_DIR holds base.npy (float rows) and base_labels.npy (an integer class per row), e.g.
Fashion-MNIST from ../shared/datasets/fashion.py (60,000 × 784, ten classes). Needs numpy
and scikit-learn (`pip install scikit-learn`). Steps:

  1. `hashidx build base.npy -o WORK/index.hidx` with the defaults (the build is timed but
     is not part of the clustering times); ids are row numbers, so each JSON line's id is
     the row of its label.
  2. For each k of --ks and each run r (seed S + r):
       hashidx            `hashidx cluster INDEX --clusters k --seed S+r --output … --summary …`
                          with its default start (auto: the index's partitions when there are
                          at least 8 per cluster, which the defaults' 490 partitions give up to
                          k = 61), and again with `--start kmeans++`
       sklearn n_init=1   KMeans(n_clusters=k, n_init=1, random_state=S+r) on the
                          L2-normalised rows; n_init="auto" (the default since 1.4) is one
                          run for init="k-means++", so this is also the default
       sklearn n_init=10  the same with n_init=10 (the default before 1.4), in the first
                          --ninit10-runs runs only (default 1: it takes ten times as long),
                          unless --skip-ninit10
     hashidx's time is the whole process (open the index, read and decode its 60,000
     stored vectors, seed, k-means, write 60,000 JSON lines and the summary), and, from the
     summary, the k-means part alone (seeding + rounds). scikit-learn's time is `fit`
     alone (the rows are already in memory and normalised). Both use every core (hashidx:
     its threads plus OpenBLAS's; scikit-learn: OpenMP through threadpoolctl).
  3. Per run: purity (each cluster counted as its most common label), normalised mutual
     information (sklearn.metrics, arithmetic mean), and the mean cosine of the rows to
     their cluster's normalised mean (the spherical k-means objective, computed the same
     way for every system from its labels). The table gives the median and best over the
     runs of each; times best and median.

It writes --out (default Benchmarks/results/cluster-<data>.md): command, machine, load,
the table, and every run. Timings on a shared 2-core machine are noisy; the load average
at the start and end of the run is recorded.
"""
import argparse, datetime, json, os, platform, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

try:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score
    import sklearn
except ImportError as e:  # pragma: no cover
    raise SystemExit(f"cluster.py needs numpy and scikit-learn ({e}); pip install scikit-learn")


def purity(found, labels):
    k = int(found.max()) + 1
    table = np.zeros((k, int(labels.max()) + 1), dtype=np.int64)
    np.add.at(table, (found, labels), 1)
    return float(table.max(axis=1).sum()) / len(labels)


def mean_cosine(X, found):
    """Mean cosine of the unit rows X to the normalised mean of their cluster."""
    k = int(found.max()) + 1
    sums = np.zeros((k, X.shape[1]), dtype=np.float64)
    np.add.at(sums, found, X)
    norms = np.linalg.norm(sums, axis=1)
    # Σ_i x_i · s_c / |s_c| = Σ_c |s_c|
    return float(norms.sum()) / len(found)


def scores(X, found, labels):
    return {"purity": purity(found, labels),
            "nmi": float(normalized_mutual_info_score(labels, found)),
            "cos": mean_cosine(X, found)}


def run_hashidx(binary, index, k, seed, work, start=None, threads=None):
    out, summary = os.path.join(work, "clusters.jsonl"), os.path.join(work, "summary.json")
    cmd = [binary, "cluster", index, "--clusters", str(k), "--seed", str(seed), "--output", out, "--summary", summary]
    if start:
        cmd += ["--start", start]
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    with open(summary) as f:
        s = json.load(f)
    n = s["items"]
    found = np.empty(n, dtype=np.int64)
    with open(out) as f:
        for line in f:
            o = json.loads(line)
            found[int(o["id"])] = o["cluster"]
    return found, {"wall": wall, "kmeans": s["clusterSeconds"], "read": s["readSeconds"],
                   "rounds": s["rounds"], "converged": s["converged"], "start": s["start"]}


def run_sklearn(X, k, seed, n_init):
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    t0 = time.perf_counter()
    km.fit(X)
    t = time.perf_counter() - t0
    return km.labels_.astype(np.int64), {"wall": t, "kmeans": t, "rounds": int(km.n_iter_), "converged": None, "start": "k-means++"}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; `{platform.platform()}`"


def commit():
    def git(*args):
        return subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        if git("status", "--porcelain", "--untracked-files=no"):
            head += " + uncommitted changes (of the tree, not necessarily of hashidx cluster)"
        return head
    except Exception:
        return "unknown"


def fmt(v, digits=3):
    return f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--ks", default="10,20,50")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="hashidx --threads (default: all cores)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default="/tmp/hashidx-cluster")
    ap.add_argument("--hashidx-binary", default=os.path.join(ROOT, ".build", "release", "hashidx"))
    ap.add_argument("--skip-ninit10", action="store_true")
    ap.add_argument("--ninit10-runs", type=int, default=1, help="runs of sklearn n_init=10 per k (it takes 10× as long)")
    args = ap.parse_args()

    name = os.path.basename(os.path.normpath(args.data))
    out = args.out or os.path.join(ROOT, "Benchmarks", "results", f"cluster-{name}.md")
    os.makedirs(args.work, exist_ok=True)
    labels = np.load(os.path.join(args.data, "base_labels.npy")).astype(np.int64)
    base_path = os.path.join(args.data, "base.npy")
    X = np.load(base_path).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    ks = [int(v) for v in args.ks.split(",")]
    load_start = os.getloadavg()

    index = os.path.join(args.work, "index.hidx")
    t0 = time.perf_counter()
    subprocess.run([args.hashidx_binary, "build", base_path, "-o", index], check=True, capture_output=True, text=True)
    build_s = time.perf_counter() - t0
    info = subprocess.run([args.hashidx_binary, "info", index], check=True, capture_output=True, text=True).stdout
    partitions = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.strip().startswith("partitions")), "?")
    print(f"built {index} in {build_s:.1f} s (partitions: {partitions})", file=sys.stderr)

    systems = [("hashidx (auto start)", lambda k, s: run_hashidx(args.hashidx_binary, index, k, s, args.work, None, args.threads)),
               ("hashidx --start kmeans++", lambda k, s: run_hashidx(args.hashidx_binary, index, k, s, args.work, "kmeans++", args.threads)),
               ("sklearn n_init=1 (= default)", lambda k, s: run_sklearn(X, k, s, 1))]
    if not args.skip_ninit10:
        systems.append(("sklearn n_init=10", lambda k, s: run_sklearn(X, k, s, 10)))

    rows = []      # (k, system, run, seed, scores, timing)
    for k in ks:
        for r in range(args.runs):
            seed = args.seed + r
            for sysname, fn in systems:
                if sysname == "sklearn n_init=10" and r >= args.ninit10_runs:
                    continue
                found, t = fn(k, seed)
                sc = scores(X, found, labels)
                rows.append((k, sysname, r, seed, sc, t))
                print(f"k={k} {sysname} seed={seed}: purity {sc['purity']:.4f} NMI {sc['nmi']:.4f} cos {sc['cos']:.4f} "
                      f"{t['wall']:.2f} s (k-means {t['kmeans']:.2f} s, {t['rounds']} rounds, start {t['start']})", file=sys.stderr)
    load_end = os.getloadavg()

    L = []
    L.append(f"# {name}: hashidx cluster and scikit-learn KMeans\n")
    L.append(f"- data set: `{name}` (`{args.data}`): {X.shape[0]:,} × {X.shape[1]} rows, {len(set(labels.tolist()))} labelled classes; "
             f"clusters compared with the labels")
    L.append(f"- machine: {machine()}")
    L.append(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; commit `{commit()}`; scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    L.append(f"- load average (1/5/15 min) at start {'/'.join(f'{v:.2f}' for v in load_start)}, at end {'/'.join(f'{v:.2f}' for v in load_end)}: "
             "the machine is shared, so times are noisy")
    L.append(f"- index: `hashidx build base.npy` with the defaults ({build_s:.1f} s; partitions: {partitions}); float16 stored vectors")
    cmd = "python3 Benchmarks/cluster/cluster.py " + " ".join(sys.argv[1:])
    L.append(f"- command: `{cmd}`")
    L.append(f"- runs: {args.runs} per k and system (sklearn n_init=10: {args.ninit10_runs}), seeds {args.seed}…{args.seed + args.runs - 1} "
             "(the same seeds for every system)\n")
    L.append("Quality: median (best) over the runs. purity: each cluster counted as its most common label. "
             "NMI: normalised mutual information with the labels. mean cos: mean cosine of each row to its cluster's "
             "normalised mean, the spherical k-means objective (higher is tighter), computed alike for every system. "
             "Time: best / median seconds. hashidx *process* = the whole `hashidx cluster` run (open the index, read and "
             "decode the stored vectors, seed, k-means, write the JSON lines and summary); *k-means* = seeding plus rounds "
             "(from its summary). scikit-learn = `fit` on the rows already in memory and normalised.\n")
    L.append("| k | system | purity | NMI | mean cos | rounds | time k-means s | time process s |")
    L.append("|---|---|---|---|---|---|---|---|")
    for k in ks:
        for sysname, _ in systems:
            rs = [x for x in rows if x[0] == k and x[1] == sysname]
            def q(key):
                vals = [x[4][key] for x in rs]
                return f"{statistics.median(vals):.4f} ({max(vals):.4f})"
            km = [x[5]["kmeans"] for x in rs]
            wall = [x[5]["wall"] for x in rs]
            rounds = "/".join(str(x[5]["rounds"]) for x in rs)
            process = f"{min(wall):.2f} / {statistics.median(wall):.2f}" if sysname.startswith("hashidx") else "–"
            L.append(f"| {k} | {sysname} | {q('purity')} | {q('nmi')} | {q('cos')} | {rounds} | "
                     f"{min(km):.2f} / {statistics.median(km):.2f} | {process} |")
    L.append("\n## Every run\n")
    L.append("| k | system | seed | start | purity | NMI | mean cos | rounds | converged | k-means s | read s | process s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k, sysname, r, seed, sc, t in rows:
        L.append(f"| {k} | {sysname} | {seed} | {t['start']} | {sc['purity']:.4f} | {sc['nmi']:.4f} | {sc['cos']:.4f} | {t['rounds']} | "
                 f"{'' if t['converged'] is None else t['converged']} | {t['kmeans']:.2f} | {t.get('read', 0):.2f} | "
                 f"{t['wall']:.2f} |" if sysname.startswith("hashidx") else
                 f"| {k} | {sysname} | {seed} | {t['start']} | {sc['purity']:.4f} | {sc['nmi']:.4f} | {sc['cos']:.4f} | {t['rounds']} | "
                 f"| {t['kmeans']:.2f} | – | – |")
    with open(out, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
