#!/usr/bin/env python3
"""hashidx against the engines users would pick instead, on one data set, in one run.

    python3 Benchmarks/compare/compare.py DATA_DIR [--queries N] [--only a,b] [--out DIR]

DATA_DIR holds base.npy (float rows), queries.npy and gt.npy (int row numbers of the exact
cosine neighbours, best first), e.g. from ../shared/datasets/glove50.py. The script makes a
virtual environment (Benchmarks/compare/.venv) with numpy, faiss-cpu, hnswlib, usearch, annoy
and matplotlib on first use, builds hashidx in release mode, and then, for every system:

  * builds the index in a subprocess (wall time; index bytes on disk),
  * serves it from a fresh subprocess: load, then queries one at a time on one thread for
    each search setting (recall@10, queries per second), and the process's peak resident
    memory over loading and all its queries.

It writes OUT/compare-<data>.md (a table) and OUT/compare-<data>.png (recall@10 against
queries per second, log scale, one line per system, as ann-benchmarks draws it). OUT
defaults to Benchmarks/results. Machines are noisy: compare ratios from one run.
"""
import argparse, datetime, json, os, platform, resource, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv")
PACKAGES = ["numpy", "faiss-cpu", "hnswlib", "usearch", "annoy", "matplotlib"]
SYSTEMS = ["hashidx", "hashidx-f16", "faiss-hnsw", "faiss-ivf", "faiss-lsh", "faiss-itq", "hnswlib", "usearch", "annoy"]
K = 10


def ensure_venv():
    """Re-executes this script inside the benchmark venv, creating it if needed."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        print(f"creating {VENV} and installing {' '.join(PACKAGES)}…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q"] + PACKAGES, check=True)
    os.execv(py, [py] + sys.argv)


# ---------------------------------------------------------------- peers (run in subprocesses)

def load_unit(path, limit=None):
    import numpy as np
    x = np.load(path)
    if limit:
        x = x[:limit]
    x = x.astype(np.float32)
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def peer_build(name, base_path, index_path):
    """Builds peer `name` over base.npy and saves it to index_path. Returns build seconds."""
    import numpy as np
    B = load_unit(base_path)
    n, d = B.shape
    t = time.perf_counter()
    if name.startswith("faiss"):
        import faiss
        faiss.omp_set_num_threads(os.cpu_count())
        if name == "faiss-hnsw":
            ix = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
            ix.hnsw.efConstruction = 100
            ix.add(B)
        elif name == "faiss-ivf":
            nlist = int(4 * np.sqrt(n))
            ix = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            ix.train(B); ix.add(B)
        elif name == "faiss-lsh":
            base = faiss.IndexLSH(d, 256, True, True); base.train(B)
            ix = faiss.IndexRefineFlat(base); ix.add(B)
        elif name == "faiss-itq":
            bits = max(8, min(d, 256) // 8 * 8)
            base = faiss.index_factory(d, f"ITQ{bits},LSH"); base.train(B)
            ix = faiss.IndexRefineFlat(base); ix.add(B)
        secs = time.perf_counter() - t
        faiss.write_index(ix, index_path)
    elif name == "hnswlib":
        import hnswlib
        ix = hnswlib.Index(space="ip", dim=d)
        ix.init_index(max_elements=n, M=16, ef_construction=200)
        ix.set_num_threads(os.cpu_count()); ix.add_items(B)
        secs = time.perf_counter() - t
        ix.save_index(index_path)
    elif name == "usearch":
        from usearch.index import Index
        ix = Index(ndim=d, metric="cos", dtype="f32", connectivity=16)
        ix.add(np.arange(n), B, threads=os.cpu_count())
        secs = time.perf_counter() - t
        ix.save(index_path)
    elif name == "annoy":
        from annoy import AnnoyIndex
        ix = AnnoyIndex(d, "angular")
        for i, v in enumerate(B):
            ix.add_item(i, v)
        ix.build(50, n_jobs=os.cpu_count())
        secs = time.perf_counter() - t
        ix.save(index_path)
    else:
        raise SystemExit(f"unknown system {name}")
    return secs


def peer_serve(name, index_path, queries_path, gt_path, nq, dim):
    """Loads the saved index and runs every setting. Returns (rows, peak RSS bytes)."""
    import numpy as np
    Q = load_unit(queries_path, nq)
    gt = np.load(gt_path)[:nq]
    if name.startswith("faiss"):
        import faiss
        faiss.omp_set_num_threads(1)
        ix = faiss.read_index(index_path)
        if name == "faiss-hnsw":
            knob, values = (lambda v: setattr(ix.hnsw, "efSearch", v)), [16, 32, 64, 128, 256]
        elif name == "faiss-ivf":
            knob, values = (lambda v: setattr(ix, "nprobe", v)), [8, 16, 32, 64, 128, 256]
        else:
            knob, values = (lambda v: setattr(ix, "k_factor", v)), [5, 10, 20, 50, 100, 200]
        search = lambda q: ix.search(q[None], K)[1][0]
    elif name == "hnswlib":
        import hnswlib
        ix = hnswlib.Index(space="ip", dim=dim); ix.load_index(index_path); ix.set_num_threads(1)
        knob, values = ix.set_ef, [10, 20, 40, 80, 160, 320]
        search = lambda q: ix.knn_query(q, k=K)[0][0]
    elif name == "usearch":
        from usearch.index import Index
        ix = Index.restore(index_path)
        knob, values = (lambda v: setattr(ix, "expansion_search", v)), [16, 32, 64, 128, 256]
        search = lambda q: ix.search(q, K, threads=1).keys
    elif name == "annoy":
        from annoy import AnnoyIndex
        ix = AnnoyIndex(dim, "angular"); ix.load(index_path)
        state = {"sk": 1000}
        knob, values = (lambda v: state.__setitem__("sk", v)), [1000, 5000, 20000, 50000]
        search = lambda q: ix.get_nns_by_vector(q, K, search_k=state["sk"])
    rows = []
    for v in values:
        knob(v)
        found = []
        t = time.perf_counter()
        for q in Q:
            found.append(search(q))
        qps = len(Q) / (time.perf_counter() - t)
        rec = float(np.mean([len(set(map(int, f[:K])) & set(map(int, g[:K]))) / K for f, g in zip(found, gt)]))
        rows.append({"knob": str(v), "recall": rec, "qps": qps})
    return rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------- hashidx

def hashidx_binary():
    subprocess.run(["swift", "build", "-c", "release", "--product", "hashidx"], cwd=ROOT, check=True,
                   stdout=sys.stderr)
    return os.path.join(ROOT, ".build", "release", "hashidx")


def run_hashidx(data, tmp, nq, vector_type="float32"):
    exe = hashidx_binary()
    index = os.path.join(tmp, f"hashidx-{vector_type}.hidx")
    t = time.perf_counter()
    subprocess.run([exe, "build", os.path.join(data, "base.npy"), "-o", index, "--vector-type", vector_type], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    build_s = time.perf_counter() - t
    out = subprocess.run([exe, "eval", index, "--queries", os.path.join(data, "queries.npy"),
                          "--ground-truth", os.path.join(data, "gt.npy"), "--k", str(K), "--limit", str(nq),
                          "--candidates", "100,150,200,300,500", "--probes", "32,48,64,96,128,256", "--threads", "1",
                          "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    settings = pareto(report["settings"])
    rows = [{"knob": f"P={s['probes']},C={s['candidates']}", "recall": s["recall"], "qps": s["qps"]} for s in settings]
    suffix = "" if vector_type == "float32" else f", {vector_type} vectors"
    return {"system": f"hashidx ({report['bits']} bits{suffix})", "build_s": build_s, "bytes": dir_bytes(index),
            "rss": report["peak_rss_bytes"], "rows": rows}


def pareto(settings):
    """The settings no other setting beats on both recall and speed, by recall."""
    keep = [s for s in settings
            if not any(o["recall"] >= s["recall"] and o["qps"] > s["qps"] for o in settings if o is not s)]
    return sorted(keep, key=lambda s: s["recall"])


def dir_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


LABELS = {"faiss-hnsw": "FAISS HNSW32,Flat", "faiss-ivf": "FAISS IVF-Flat (4√n lists)",
          "faiss-lsh": "FAISS LSH256 (rot+thr) + RefineFlat", "faiss-itq": "FAISS ITQ + RefineFlat",
          "hnswlib": "hnswlib M16", "usearch": "USearch HNSW f32 (M16)", "annoy": "Annoy 50 trees"}


def run_peer(name, data, tmp, nq, dim):
    index = os.path.join(tmp, name + ".idx")
    me = [sys.executable, os.path.abspath(__file__)]
    b = subprocess.run(me + ["--child-build", name, os.path.join(data, "base.npy"), index],
                       check=True, capture_output=True, text=True)
    build_s = json.loads(b.stdout)["build_s"]
    s = subprocess.run(me + ["--child-serve", name, index, os.path.join(data, "queries.npy"),
                             os.path.join(data, "gt.npy"), str(nq), str(dim)],
                       check=True, capture_output=True, text=True)
    served = json.loads(s.stdout)
    return {"system": LABELS[name], "build_s": build_s, "bytes": dir_bytes(index), "rss": served["rss"],
            "rows": served["rows"]}


# ---------------------------------------------------------------- report

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
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.machine()}"


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:
        return "unknown"


def write_report(results, data, nq, out_dir, shape):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    tag = os.path.basename(os.path.normpath(data))
    stamp = datetime.date.today().isoformat()
    lines = [f"# {tag}: hashidx and its peers", "",
             f"- data: `{data}`: base {shape[0]:,} × {shape[1]}, {nq:,} queries, recall@{K} against exact cosine ground truth",
             f"- date {stamp}, commit `{commit()}`, machine: {machine()}",
             "- queries one at a time on one thread; builds use all cores; serve RSS = peak resident memory of a fresh",
             "  process that loads the saved index and runs all of its queries",
             f"- command: `python3 Benchmarks/compare/compare.py {data} --queries {nq}`", "",
             "| system | setting | recall@10 | QPS | build s | index MiB | serve RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        for row in r["rows"]:
            lines.append(f"| {r['system']} | {row['knob']} | {row['recall']:.3f} | {row['qps']:,.0f} | "
                         f"{r['build_s']:.1f} | {r['bytes'] / 2**20:.1f} | {r['rss'] / 2**20:.0f} |")
    lines += ["", "## Best QPS at a recall of at least…", "", "| system | ≥ 0.90 | ≥ 0.95 | ≥ 0.99 |", "|---|---|---|---|"]
    for r in results:
        cells = []
        for target in (0.90, 0.95, 0.99):
            ok = [row["qps"] for row in r["rows"] if row["recall"] >= target]
            cells.append(f"{max(ok):,.0f}" if ok else "–")
        lines.append(f"| {r['system']} | " + " | ".join(cells) + " |")
    md = os.path.join(out_dir, f"compare-{tag}.md")
    png = os.path.join(out_dir, f"compare-{tag}.png")
    lines += ["", f"![recall vs QPS](compare-{tag}.png)", ""]
    with open(md, "w") as f:
        f.write("\n".join(lines))
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for r in results:
        pts = sorted((row["recall"], row["qps"]) for row in r["rows"])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=r["system"],
                linewidth=2.5 if r["system"].startswith("hashidx") else 1.2)
    ax.set_yscale("log")
    ax.set_xlabel(f"recall@{K}")
    ax.set_ylabel("queries per second (1 thread, log scale)")
    ax.set_title(f"{tag}: {shape[0]:,} × {shape[1]}, {nq:,} queries ({stamp}, {commit()})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"wrote {md} and {png}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child-build":
        print(json.dumps({"build_s": peer_build(sys.argv[2], sys.argv[3], sys.argv[4])}))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-serve":
        rows, rss = peer_serve(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7]))
        print(json.dumps({"rows": rows, "rss": rss}))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--out", default=os.path.join(ROOT, "Benchmarks", "results"))
    a = ap.parse_args()
    for f in ("base.npy", "queries.npy", "gt.npy"):
        if not os.path.exists(os.path.join(a.data, f)):
            sys.exit(f"{a.data}: no {f} (make one with ../shared/datasets/glove50.py DIR)")
    ensure_venv()
    import numpy as np
    shape = np.load(os.path.join(a.data, "base.npy"), mmap_mode="r").shape
    nq = min(a.queries, np.load(os.path.join(a.data, "queries.npy"), mmap_mode="r").shape[0])
    names = [s for s in (a.only.split(",") if a.only else SYSTEMS) if s]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"{name}…", file=sys.stderr, flush=True)
            if name == "hashidx":
                r = run_hashidx(a.data, tmp, nq)
            elif name == "hashidx-f16":
                r = run_hashidx(a.data, tmp, nq, "float16")
            else:
                r = run_peer(name, a.data, tmp, nq, shape[1])
            for row in r["rows"]:
                print(f"  {r['system']:38s} {row['knob']:>7s} R@10 {row['recall']:.3f} QPS {row['qps']:8.0f}",
                      file=sys.stderr, flush=True)
            results.append(r)
            shutil.rmtree(os.path.join(tmp, "hashidx.hidx"), ignore_errors=True)
            for f in os.listdir(tmp):
                p = os.path.join(tmp, f)
                if os.path.isfile(p):
                    os.remove(p)
    write_report(results, a.data, nq, a.out, shape)


if __name__ == "__main__":
    main()
