#!/usr/bin/env python3
"""hashidx against the engines users would pick instead, on one data set, in one run.

    python3 Benchmarks/compare/compare.py DATA_DIR [--queries N] [--runs N] [--only a,b]
                                          [--hashidx-sweep P:C,C;P:C,...] [--out DIR]

DATA_DIR holds base.npy (float rows), queries.npy and gt.npy (int row numbers of the exact
cosine neighbours, best first), e.g. from ../shared/datasets/glove50.py. The script makes a
virtual environment (Benchmarks/compare/.venv) with numpy, faiss-cpu, hnswlib, usearch, annoy
and matplotlib on first use, builds hashidx in release mode, and then, for every system:

  * builds the index in a subprocess (wall time; index bytes on disk),
  * serves it from a fresh subprocess: load, then queries one at a time on one thread for
    each search setting (recall@10, queries per second), and the process's peak resident
    memory over loading and all its queries.

Systems (--only takes a comma-separated subset; default all):
  hashidx       `hashidx build` with its defaults (float16 vectors today)
  hashidx-f32   `hashidx build --vector-type float32` (exact re-rank scores)
  hashidx-py    the `hashidx` index and sweep again, served through the Python package
                (python/, installed into the venv) one query at a time, as the peers are: the
                in-process figure (`hashidx eval`) and the through-Python one side by side
  scann         ScaNN 1.4 (PyPI `scann`, no TensorFlow): tree of ~2√n leaves, anisotropic AH
                (2 dims per block, threshold 0.2), exact reorder: ann-benchmarks' shape
  faiss-rabitq  FAISS IVF (~4√n lists) with RaBitQ codes scanned by FastScan + IndexRefineFlat
  faiss-hnsw, faiss-ivf, faiss-lsh, faiss-itq, hnswlib, usearch, annoy

The report divides hashidx's QPS by the best HNSW, by the best of its own kind (ScaNN,
IVF-RaBitQ) and by the best of all four, at each target recall.

--runs N (default 3): every point is the best of N runs, as ann-benchmarks does. The whole
search sweep is served N times (peers: N passes in the same serving process; hashidx: N
rounds of `hashidx eval` processes) and each setting keeps its highest QPS. Recall is
deterministic; if it differs between runs the fastest run's recall is kept and the table
says so.

hashidx's sweep climbs a ladder of (probes, candidates) settings, from probes 4 and 50
candidates up to probes 512 and 2,000 candidates (default shortlist factor), and stops after
the first rung (one probes value) that reaches recall@10 0.995: Fashion-MNIST stops at
probes 32–64, GloVe-50 climbs to probes 512 (0.99 needs probes 256). Probes are capped at the index's
partition count; an index without partitions sweeps candidates only. --hashidx-sweep
replaces the ladder with a fixed list, e.g. "16:100,200;64:200,500" (probes:candidates,…;
no early stop).

It writes OUT/compare-<data>.md and OUT/compare-<data>.png (recall@10 against queries per
second, log scale, each system's Pareto frontier, as ann-benchmarks draws it). OUT defaults
to Benchmarks/results. The Markdown has every system's QPS at recall@10 = 0.90, 0.95 and
0.99, interpolated linearly in recall between the two points of its Pareto frontier that
bracket the target ("–": the curve never reaches it; no extrapolation), the ratio of each
hashidx variant to the best HNSW (faiss-hnsw, hnswlib) at each target, and every measured
point. Machines are noisy: compare ratios from one run.

Smoke test (a few minutes): compare.py DATA --queries 300 --only hashidx,hnswlib --runs 2
"""
import argparse, datetime, json, os, platform, resource, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv")
PACKAGES = ["numpy", "faiss-cpu", "hnswlib", "usearch", "annoy", "scann", "matplotlib"]
SYSTEMS = ["hashidx", "hashidx-py", "hashidx-f32", "scann", "faiss-rabitq", "faiss-hnsw", "faiss-ivf", "faiss-lsh", "faiss-itq",
           "hnswlib", "usearch", "annoy"]
K = 10
HNSW = ("faiss-hnsw", "hnswlib")          # "best HNSW" of the ratio table
PEERS_OF_OUR_KIND = ("scann", "faiss-rabitq")   # partitions + quantised codes + exact re-rank
# ScaNN's (leaves_to_search, pre_reorder_num_neighbors) pairs: the shape of ann-benchmarks'
# ScaNN configuration, leaves capped at the tree's.
SCANN_SWEEP = [(4, 30), (8, 30), (15, 60), (30, 120), (50, 80), (75, 110), (110, 120), (150, 200),
               (220, 500), (400, 300), (800, 1000)]
# FAISS IVF-RaBitQ FastScan + exact refine: (nprobe, k_factor) pairs.
RABITQ_SWEEP = [(4, 4), (8, 4), (16, 4), (16, 10), (32, 4), (32, 10), (64, 10), (128, 10), (256, 20)]
TARGETS = (0.90, 0.95, 0.99)             # recall@10 at which QPS is interpolated
# hashidx's default sweep: rungs of (probes, candidates), cheapest first; the sweep stops
# after the first rung whose best recall@10 reaches STOP_RECALL.
HASHIDX_LADDER = [(4, [50, 100]), (8, [50, 100, 200]), (16, [100, 200, 300]), (32, [100, 200, 300, 500]),
                  (64, [200, 300, 500, 1000]), (128, [300, 500, 1000]), (256, [500, 1000, 2000]),
                  (512, [1000, 2000])]
STOP_RECALL = 0.995


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
        elif name == "faiss-rabitq":
            # IVF with RaBitQ 1-bit codes scanned by FastScan (4-bit look-up tables in
            # registers), the exact float vectors re-ranking the best k × k_factor; as many
            # lists as FAISS's guideline of about 4√n (capped by 39 training rows a list).
            nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))
            base = faiss.index_factory(d, f"IVF{nlist},RaBitQfs", faiss.METRIC_INNER_PRODUCT)
            base.train(B)
            ix = faiss.IndexRefineFlat(base); ix.add(B)
        secs = time.perf_counter() - t
        faiss.write_index(ix, index_path)
    elif name == "scann":
        # ann-benchmarks' ScaNN shape: a tree of about 2√n leaves, anisotropic AH codes
        # (2 dimensions per block, threshold 0.2), exact re-ordering.
        import scann
        leaves = max(1, min(int(2 * np.sqrt(n)), n // 40))
        ix = (scann.scann_ops_pybind.builder(B, K, "dot_product")
              .tree(num_leaves=leaves, num_leaves_to_search=min(leaves, 100), training_sample_size=min(n, 250_000))
              .score_ah(2, anisotropic_quantization_threshold=0.2)
              .reorder(100)
              .build())
        secs = time.perf_counter() - t
        os.makedirs(index_path, exist_ok=True)
        ix.serialize(index_path)
        with open(os.path.join(index_path, "leaves.txt"), "w") as f:
            f.write(str(leaves))
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


def peer_serve(name, index_path, queries_path, gt_path, nq, dim, runs, sweep_json="[]"):
    """Loads the saved index and runs the whole sweep `runs` times (`sweep_json`: hashidx-py's
    [[probes, candidates], …]).

    Returns (one list of rows per run, peak RSS bytes)."""
    import numpy as np
    Q = load_unit(queries_path, nq)
    gt = np.load(gt_path)[:nq]
    if name.startswith("faiss"):
        import faiss
        faiss.omp_set_num_threads(1)
        ix = faiss.read_index(index_path)
        if name == "faiss-hnsw":
            knob, values = (lambda v: setattr(ix.hnsw, "efSearch", v)), [16, 32, 64, 128, 256]
        elif name == "faiss-rabitq":
            ivf = faiss.extract_index_ivf(ix.base_index)

            def knob(v):
                ivf.nprobe, ix.k_factor = v
            values = [(p, kf) for p, kf in RABITQ_SWEEP if p <= ivf.nlist]
        elif name == "faiss-ivf":
            knob, values = (lambda v: setattr(ix, "nprobe", v)), [8, 16, 32, 64, 128, 256]
        else:
            knob, values = (lambda v: setattr(ix, "k_factor", v)), [5, 10, 20, 50, 100, 200]
        search = lambda q: ix.search(q[None], K)[1][0]
    elif name == "scann":
        import scann
        ix = scann.scann_ops_pybind.load_searcher(index_path)
        with open(os.path.join(index_path, "leaves.txt")) as f:
            leaves = int(f.read())
        state = {"leaves": 1, "reorder": 30}

        def knob(v):
            state["leaves"], state["reorder"] = v
        values = [(min(l, leaves), r) for l, r in SCANN_SWEEP if l <= leaves] or [(leaves, 1000)]
        search = lambda q: ix.search(q, final_num_neighbors=K, pre_reorder_num_neighbors=state["reorder"],
                                     leaves_to_search=state["leaves"])[0]
    elif name == "hashidx-py":
        import hashidx
        ix = hashidx.open(index_path)
        state = {"probes": None, "candidates": None}

        def knob(v):
            state["probes"], state["candidates"] = (v[0] or None), v[1]
        values = [tuple(v) for v in json.loads(sweep_json)]
        search = lambda q: ix.search_rows(q, K, probes=state["probes"], candidates=state["candidates"])[0]
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
    all_runs = []
    for _ in range(runs):            # the whole sweep once per run, as ann-benchmarks repeats it
        rows = []
        for v in values:
            knob(v)
            found = []
            t = time.perf_counter()
            for q in Q:
                found.append(search(q))
            qps = len(Q) / (time.perf_counter() - t)
            rec = float(np.mean([len(set(map(int, f[:K])) & set(map(int, g[:K]))) / K for f, g in zip(found, gt)]))
            if name == "hashidx-py":
                label = f"P={v[0]},C={v[1]}" if v[0] else f"C={v[1]}"
            else:
                label = ":".join(map(str, v)) if isinstance(v, tuple) else str(v)
            rows.append({"knob": label, "recall": rec, "qps": qps})
        all_runs.append(rows)
    return all_runs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def best_of_runs(all_runs):
    """One row per setting (in first-run order): the highest QPS of the runs, with that run's
    recall; `qps_runs` keeps every run's QPS and `recall_note` says when recall differed."""
    order, by_knob = [], {}
    for rows in all_runs:
        for row in rows:
            if row["knob"] not in by_knob:
                order.append(row["knob"]); by_knob[row["knob"]] = []
            by_knob[row["knob"]].append(row)
    out = []
    for knob in order:
        rs = by_knob[knob]
        best = max(rs, key=lambda r: r["qps"])
        recalls = [r["recall"] for r in rs]
        note = ""
        if max(recalls) - min(recalls) > 1e-9:
            note = (f"recall differed between runs ({min(recalls):.4f}–{max(recalls):.4f}); "
                    f"the fastest run's {best['recall']:.4f} kept")
        out.append({"knob": knob, "recall": best["recall"], "qps": best["qps"],
                    "qps_runs": [r["qps"] for r in rs], "recall_note": note})
    return out


# ---------------------------------------------------------------- hashidx

def hashidx_binary():
    subprocess.run(["swift", "build", "-c", "release", "--product", "hashidx"], cwd=ROOT, check=True,
                   stdout=sys.stderr)
    return os.path.join(ROOT, ".build", "release", "hashidx")


def hashidx_info(exe, index):
    """Partition count (0: none) and stored vector type, from `hashidx info`."""
    text = subprocess.run([exe, "info", index], check=True, capture_output=True, text=True).stdout
    fields = {}
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    part = fields.get("partitions", "none")
    return (int(part) if part.isdigit() else 0), fields.get("vector type", "?")


def parse_sweep(text):
    """"16:100,200;64:200,500" -> [(16, [100, 200]), (64, [200, 500])]."""
    rungs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            probes, cands = part.split(":")
            rungs.append((int(probes), [int(c) for c in cands.split(",") if c.strip()]))
        except ValueError:
            raise SystemExit(f"--hashidx-sweep: '{part}' is not PROBES:CANDIDATES,CANDIDATES,…")
        if rungs[-1][0] <= 0 or not rungs[-1][1] or min(rungs[-1][1]) <= 0:
            raise SystemExit(f"--hashidx-sweep: '{part}' needs positive probes and candidates")
    if not rungs:
        raise SystemExit("--hashidx-sweep: give at least one PROBES:CANDIDATES rung")
    return rungs


def hashidx_rungs(ladder, partitions):
    """The ladder as this index can run it: probes capped at the partition count (the capped
    rung is the last); without partitions, one rung with every candidate count."""
    if partitions == 0:
        return [(1, sorted({c for _, cs in ladder for c in cs}))]
    rungs = []
    for probes, cands in ladder:
        rungs.append((min(probes, partitions), cands))
        if probes >= partitions:
            break
    return rungs


def run_hashidx(exe, name, data, tmp, nq, runs, sweep=None):
    """Builds hashidx (`name`: hashidx = defaults, hashidx-f32 = --vector-type float32) and
    serves its sweep `runs` times, each rung in a fresh `hashidx eval` process."""
    extra = {"hashidx": [], "hashidx-f32": ["--vector-type", "float32"]}[name]
    index = os.path.join(tmp, f"{name}.hidx")
    t = time.perf_counter()
    subprocess.run([exe, "build", os.path.join(data, "base.npy"), "-o", index] + extra, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    build_s = time.perf_counter() - t
    partitions, vector_type = hashidx_info(exe, index)
    rungs = hashidx_rungs(sweep or HASHIDX_LADDER, partitions)
    all_runs, rss, bits = [], 0, "?"
    for run in range(runs):
        rows = []
        for i, (probes, cands) in enumerate(rungs):
            out = subprocess.run([exe, "eval", index, "--queries", os.path.join(data, "queries.npy"),
                                  "--ground-truth", os.path.join(data, "gt.npy"), "--k", str(K), "--limit", str(nq),
                                  "--candidates", ",".join(map(str, cands)), "--probes", str(probes),
                                  "--threads", "1", "--format", "json"],
                                 check=True, capture_output=True, text=True).stdout
            report = json.loads(out)
            bits, rss = report["bits"], max(rss, report["peak_rss_bytes"])
            got = [{"knob": f"P={s['probes']},C={s['candidates']}" if partitions else f"C={s['candidates']}",
                    "recall": s["recall"], "qps": s["qps"]} for s in report["settings"]]
            rows += got
            if run == 0 and sweep is None and max(g["recall"] for g in got) >= STOP_RECALL:
                rungs = rungs[:i + 1]          # later runs serve the same rungs
                break
        all_runs.append(rows)
    how = "defaults" if name == "hashidx" else "--vector-type float32"
    sweep_text = "; ".join(f"P={p}: C={','.join(map(str, c))}" if partitions else f"C={','.join(map(str, c))}"
                           for p, c in rungs)
    return {"name": name, "system": f"hashidx build ({how}): {bits} bits, {vector_type} vectors, "
                                    f"{partitions or 'no'} partitions",
            "build_s": build_s, "bytes": dir_bytes(index), "rss": rss, "rows": best_of_runs(all_runs),
            "sweep": sweep_text, "index": index, "settings": [(p if partitions else 0, c) for p, cs in rungs for c in cs]}


def run_hashidx_python(built, data, nq, dim, runs):
    """Serves the index and the settings of the in-process `hashidx` run (`built`) through
    the Python package, in a fresh process, one query at a time on one thread."""
    me = [sys.executable, os.path.abspath(__file__)]
    s = subprocess.run(me + ["--child-serve", "hashidx-py", built["index"], os.path.join(data, "queries.npy"),
                             os.path.join(data, "gt.npy"), str(nq), str(dim), str(runs), json.dumps(built["settings"])],
                       check=True, capture_output=True, text=True)
    served = json.loads(s.stdout)
    return {"name": "hashidx-py", "system": built["system"] + "; served through Python (`import hashidx`)",
            "build_s": built["build_s"], "bytes": built["bytes"], "rss": served["rss"],
            "rows": best_of_runs(served["runs"]), "sweep": built["sweep"] + " (the same settings)"}


def dir_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path)


LABELS = {"faiss-hnsw": "FAISS HNSW32,Flat (efConstruction 100)", "faiss-ivf": "FAISS IVF-Flat (4√n lists)",
          "faiss-lsh": "FAISS LSH256 (rot+thr) + RefineFlat", "faiss-itq": "FAISS ITQ + RefineFlat",
          "hnswlib": "hnswlib M16 (ef_construction 200)", "usearch": "USearch HNSW f32 (M16)",
          "annoy": "Annoy 50 trees",
          "scann": "ScaNN tree (2√n leaves) + AH (2 dims/block, anisotropic 0.2) + exact reorder",
          "faiss-rabitq": "FAISS IVF-RaBitQ FastScan (4√n lists) + RefineFlat"}
KNOBS = {"faiss-hnsw": "efSearch", "faiss-ivf": "nprobe", "faiss-lsh": "k_factor", "faiss-itq": "k_factor",
         "hnswlib": "ef", "usearch": "expansion_search", "annoy": "search_k",
         "scann": "leaves:reorder", "faiss-rabitq": "nprobe:k_factor"}


def run_peer(name, data, tmp, nq, dim, runs):
    index = os.path.join(tmp, name + ".idx")
    me = [sys.executable, os.path.abspath(__file__)]
    b = subprocess.run(me + ["--child-build", name, os.path.join(data, "base.npy"), index],
                       check=True, capture_output=True, text=True)
    build_s = json.loads(b.stdout)["build_s"]
    s = subprocess.run(me + ["--child-serve", name, index, os.path.join(data, "queries.npy"),
                             os.path.join(data, "gt.npy"), str(nq), str(dim), str(runs)],
                       check=True, capture_output=True, text=True)
    served = json.loads(s.stdout)
    rows = best_of_runs(served["runs"])
    return {"name": name, "system": LABELS[name], "build_s": build_s, "bytes": dir_bytes(index),
            "rss": served["rss"], "rows": rows,
            "sweep": f"{KNOBS[name]} " + ",".join(r["knob"] for r in rows)}


# ---------------------------------------------------------------- QPS at equal recall

def pareto(rows):
    """The Pareto frontier, by recall: a point stays unless another has at least its recall and
    at least its QPS (of two points with equal recall the faster stays). QPS falls as recall
    rises along it."""
    keep, best = [], -1.0
    for r in sorted(rows, key=lambda r: (-r["recall"], -r["qps"])):
        if r["qps"] > best:
            keep.append(r); best = r["qps"]
    return sorted(keep, key=lambda r: r["recall"])


def qps_at(front, target):
    """QPS at recall `target` on a frontier from pareto(), interpolated linearly in recall
    between the two frontier points that bracket it. None when the frontier never reaches the
    target (no extrapolation). When even the fastest frontier point is above the target the
    value is that point's QPS, a lower bound ("bound": True)."""
    if not front or front[-1]["recall"] < target:
        return None
    if front[0]["recall"] >= target:
        return {"qps": front[0]["qps"], "bound": front[0]["recall"] > target, "lo": front[0], "hi": front[0]}
    for lo, hi in zip(front, front[1:]):
        if lo["recall"] <= target <= hi["recall"]:
            f = (target - lo["recall"]) / (hi["recall"] - lo["recall"])
            return {"qps": lo["qps"] + f * (hi["qps"] - lo["qps"]), "bound": False, "lo": lo, "hi": hi}


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
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; `{platform.platform()}`"


def commit():
    def git(*args):
        return subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
    except Exception:
        return "unknown"
    try:
        if git("status", "--porcelain", "--untracked-files=no"):
            head += " + uncommitted changes"
    except Exception:
        pass
    return head


def ratio_table(title, present, group, variants, at, cols, rule):
    """Markdown lines: each hashidx variant's QPS ÷ the fastest of `present` at each target."""
    lines = ["", f"## hashidx ÷ {title} at equal recall", ""]
    if not present:
        return lines + [f"None of {', '.join(group)} in this run."]
    lines += [f"The faster of {', '.join(present)} at each target (its QPS in brackets).", "",
              f"| hashidx variant | {cols} |", rule]
    for v in variants:
        cells = []
        for t in TARGETS:
            mine = at[v][t]
            peers = [(at[n][t], n) for n in present if at[n][t] is not None]
            if mine is None:
                cells.append("– (hashidx never reaches it)")
                continue
            if not peers:
                cells.append("– (no peer reaches it)")
                continue
            best, who = max(peers, key=lambda p: p[0]["qps"])
            if mine["bound"] and best["bound"]:
                cells.append(f"? (both above target; {who} ≥ {best['qps']:,.0f})")
                continue
            sign = "≥ " if mine["bound"] else "≤ " if best["bound"] else ""
            cells.append(f"{sign}{mine['qps'] / best['qps']:.2f}× ({who} {fmt_qps(best)})")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    return lines


def fmt_qps(v):
    return "–" if v is None else ("≥ " if v["bound"] else "") + f"{v['qps']:,.0f}"


def write_report(results, data, nq, out_dir, shape, runs, command):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    tag = os.path.basename(os.path.normpath(data))
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = now.date().isoformat()
    head = commit()
    fronts = {r["name"]: pareto(r["rows"]) for r in results}
    at = {r["name"]: {t: qps_at(fronts[r["name"]], t) for t in TARGETS} for r in results}
    cols = " | ".join(f"{t:.2f}" for t in TARGETS)
    rule = "|---" * (len(TARGETS) + 1) + "|"
    lines = [f"# {tag}: hashidx and its peers", "",
             f"- data set: `{tag}` (`{data}`): base {shape[0]:,} × {shape[1]}, {nq:,} queries, "
             f"recall@{K} against exact cosine ground truth",
             f"- machine: {machine()}",
             f"- date: {now.strftime('%Y-%m-%d %H:%M')} UTC; commit `{head}`",
             f"- runs: every point is the best of {runs} run{'s' if runs != 1 else ''} of the whole sweep "
             "(highest QPS per setting, as ann-benchmarks does)",
             "- queries one at a time on one thread; builds use all cores; serve RSS = peak resident memory of "
             "the serving process(es): load the saved index, then run every query of every setting",
             f"- command: `{command}`", "",
             f"## QPS at recall@{K} = …", "",
             "Each system's Pareto frontier (a point is dropped when another has at least its recall and at "
             "least its QPS), QPS interpolated linearly in recall between the two frontier points that bracket "
             "the target. –: the frontier never reaches the target (no extrapolation); ≥: even the fastest "
             "measured setting is above the target, so its QPS is a lower bound.", "",
             f"| system | {cols} |", rule]
    for r in results:
        lines.append(f"| {r['name']} | " + " | ".join(fmt_qps(at[r['name']][t]) for t in TARGETS) + " |")
    variants = [r["name"] for r in results if r["name"].startswith("hashidx")]
    for title, group in (("best HNSW", HNSW), ("best of its own kind (ScaNN, FAISS IVF-RaBitQ)", PEERS_OF_OUR_KIND),
                         ("best of HNSW, ScaNN and IVF-RaBitQ (issue 24's target: ≥ 1.5×)", HNSW + PEERS_OF_OUR_KIND)):
        if variants:
            lines += ratio_table(title, [n for n in group if n in at], group, variants, at, cols, rule)
    lines += ["", "## Systems", "",
              "| system | what it runs | build s | index bytes | index MiB | serve RSS MiB | sweep |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['system']} | {r['build_s']:.1f} | {r['bytes']:,} | "
                     f"{r['bytes'] / 2**20:.1f} | {r['rss'] / 2**20:.0f} | {r['sweep']} |")
    lines += ["", "## Interpolation brackets", "",
              "The frontier points each interpolated value lies between (setting: recall@10, QPS).", "",
              f"| system | {cols} |", rule]
    for r in results:
        cells = []
        for t in TARGETS:
            v = at[r["name"]][t]
            pt = lambda p: f"{p['knob']} ({p['recall']:.4f}, {p['qps']:,.0f})"
            cells.append("–" if v is None else pt(v["lo"]) if v["lo"] is v["hi"] else f"{pt(v['lo'])} – {pt(v['hi'])}")
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    lines += ["", "## Every setting", "",
              f"QPS = best of {runs} run{'s' if runs != 1 else ''}; • = on the system's Pareto frontier.", "",
              f"| system | setting | recall@{K} | QPS | frontier | QPS of each run | note |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        on = {id(p) for p in fronts[r["name"]]}
        for row in r["rows"]:
            lines.append(f"| {r['name']} | {row['knob']} | {row['recall']:.4f} | {row['qps']:,.0f} | "
                         f"{'•' if id(row) in on else ''} | {' / '.join(f'{q:,.0f}' for q in row['qps_runs'])} | "
                         f"{row['recall_note']} |")
    md = os.path.join(out_dir, f"compare-{tag}.md")
    png = os.path.join(out_dir, f"compare-{tag}.png")
    lines += ["", f"![recall vs QPS](compare-{tag}.png)", ""]
    with open(md, "w") as f:
        f.write("\n".join(lines))
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for r in results:
        front = fronts[r["name"]]
        line, = ax.plot([p["recall"] for p in front], [p["qps"] for p in front], marker="o", label=r["name"],
                        linewidth=2.5 if r["name"].startswith("hashidx") else 1.2)
        off = [p for p in r["rows"] if all(p is not q for q in front)]
        ax.scatter([p["recall"] for p in off], [p["qps"] for p in off], s=10, color=line.get_color(), alpha=0.35)
    for t in TARGETS:
        ax.axvline(t, color="grey", linestyle=":", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel(f"recall@{K}")
    ax.set_ylabel(f"queries per second (1 thread, best of {runs}, log scale)")
    ax.set_title(f"{tag}: {shape[0]:,} × {shape[1]}, {nq:,} queries ({stamp}, {head})", fontsize=10)
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
        runs, rss = peer_serve(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7]),
                               int(sys.argv[8]), *sys.argv[9:10])
        print(json.dumps({"runs": runs, "rss": rss}))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3, help="serve every sweep N times, keep each setting's best QPS")
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--hashidx-sweep", default="",
                    help="fixed hashidx sweep PROBES:C,C;PROBES:C,… instead of the ladder (no early stop)")
    ap.add_argument("--out", default=os.path.join(ROOT, "Benchmarks", "results"))
    a = ap.parse_args()
    if a.runs < 1:
        sys.exit("--runs must be at least 1")
    names = [s.strip() for s in (a.only.split(",") if a.only else SYSTEMS) if s.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        hint = " (hashidx-f16 is now plain `hashidx`: float16 is the default)" if "hashidx-f16" in unknown else ""
        sys.exit(f"unknown system(s) {', '.join(unknown)}{hint}; choose from {','.join(SYSTEMS)}")
    sweep = parse_sweep(a.hashidx_sweep) if a.hashidx_sweep else None
    for f in ("base.npy", "queries.npy", "gt.npy"):
        if not os.path.exists(os.path.join(a.data, f)):
            sys.exit(f"{a.data}: no {f} (make one with ../shared/datasets/glove50.py DIR)")
    if "hashidx-py" in names and ("hashidx" not in names or names.index("hashidx") > names.index("hashidx-py")):
        sys.exit("hashidx-py serves the index of the `hashidx` run: list hashidx before it (--only hashidx,hashidx-py)")
    ensure_venv()
    if "hashidx-py" in names:   # the package of this checkout (builds libHashIdxC in release)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", os.path.join(ROOT, "python")], check=True)
    import numpy as np
    shape = np.load(os.path.join(a.data, "base.npy"), mmap_mode="r").shape
    nq = min(a.queries, np.load(os.path.join(a.data, "queries.npy"), mmap_mode="r").shape[0])
    command = f"python3 Benchmarks/compare/compare.py {a.data} --queries {nq} --runs {a.runs}"
    if a.only:
        command += f" --only {','.join(names)}"
    if a.hashidx_sweep:
        command += f" --hashidx-sweep '{a.hashidx_sweep}'"
    exe = hashidx_binary() if any(n.startswith("hashidx") for n in names) else None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"{name}…", file=sys.stderr, flush=True)
            if name == "hashidx-py":
                r = run_hashidx_python(next(x for x in results if x["name"] == "hashidx"), a.data, nq, shape[1], a.runs)
            elif name.startswith("hashidx"):
                r = run_hashidx(exe, name, a.data, tmp, nq, a.runs, sweep)
            else:
                r = run_peer(name, a.data, tmp, nq, shape[1], a.runs)
            for row in r["rows"]:
                print(f"  {name:12s} {row['knob']:>14s} R@10 {row['recall']:.4f} QPS {row['qps']:8.0f}"
                      f"  (runs: {' '.join(f'{q:.0f}' for q in row['qps_runs'])})", file=sys.stderr, flush=True)
            results.append(r)
            for f in os.listdir(tmp):
                if f == "hashidx.hidx" and "hashidx-py" in names and name != "hashidx-py":
                    continue   # served again through Python
                p = os.path.join(tmp, f)
                shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
    write_report(results, a.data, nq, a.out, shape, a.runs, command)


if __name__ == "__main__":
    main()
