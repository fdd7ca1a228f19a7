#!/usr/bin/env python3
"""Filtered search: hashidx `--where` against FAISS and hnswlib with ID selectors, per selectivity.

    python3 Benchmarks/filters/filters.py DATA_DIR [--queries N] [--runs N] [--only a,b]
                                          [--out DIR] [--work DIR] [--limit ROWS] [--seed S]
                                          [--hnswlib-queries N] [--point-cap S] [--repeat-below S]
                                          [--hashidx-binary PATH]

DATA_DIR holds base.npy (float rows) and queries.npy, and, optionally, gt.npy (exact cosine
neighbours of the unfiltered search, best first), e.g. from ../shared/datasets/glove50.py.
The script runs in Benchmarks/compare's virtual environment (compare.py makes it: numpy,
faiss-cpu, hnswlib, matplotlib) and reuses compare.py's peer builds, Pareto frontier and
interpolation. Steps:

  1. Attributes: attributes.py's synthetic catalog (category over 1,000 Zipf-like values,
     price 0.00–99.99, in_stock 70 %, 1–4 of 100 Zipf-like tags), fixed --seed (7), one
     JSON line per base row, written once to the work dir and reused, then read back into
     numpy columns.
  2. Filters, with constants chosen from the realised data so that they select about
     50 %, 10 %, 1 %, 0.1 % and 0.01 % of the rows (price < 50; the tag nearest 10 %; the
     categories nearest 1 %, 0.1 %, 0.01 %), a two-key AND near 1 % (a tag and price < 20)
     and a range plus a flag (price in [20, 30) and in_stock), plus the unfiltered search.
  3. Exact filtered ground truth per filter: cosine top-10 among the rows the filter keeps
     (numpy, blocked products), int32 .npy in the work dir; a filter with m < 10 matches
     pads its rows with -1 and recall counts against the m true matches. The unfiltered
     truth is DATA_DIR/gt.npy when there is one (and no --limit), else computed likewise.
  4. Systems (--only takes a comma-separated subset; default all), each built once and
     searched under every filter, one query at a time on one thread:
       hashidx     `hashidx build base.npy --attributes attrs.jsonl`, then per filter
                   `hashidx eval --where EXPR` once at its default settings and once over
                   probes 64,128,256 × candidates 100,200,500
       faiss-hnsw  compare.py's HNSW32,Flat, SearchParametersHNSW(sel=IDSelectorBitmap,
                   efSearch) over efSearch 16…1024
       faiss-ivf   compare.py's IVF-Flat (4√n lists), SearchParametersIVF(sel=…, nprobe)
                   over nprobe 4…2048 (capped at the list count)
       hnswlib     compare.py's hnswlib M16 with knn_query(filter=Python callback), ef
                   16, 64, 256, on the first --hnswlib-queries (200) queries only: the
                   callback runs in Python for every visited node
     A peer's sweep stops after the first setting that reaches recall@10 0.995 or whose
     pass takes longer than --point-cap seconds (30); hashidx runs its whole fixed sweep.

--runs N (default 3): every point is the best of N passes (highest QPS), as in compare.py;
passes longer than --repeat-below seconds (10) are not repeated. Filtered QPS is compared
at recall@10 = 0.90, 0.95 and 0.99 on each system's Pareto frontier (compare.pareto and
compare.qps_at: linear interpolation between the bracketing frontier points, no
extrapolation); a system that never reaches 0.95 shows the best recall it reached.

It writes OUT/filters-<data>.md (command, machine, filters with their realised
selectivity, hashidx's recall and QPS at its defaults, every system's QPS at recall 0.95
or its best recall, hashidx ÷ best FAISS, then 0.90 and 0.99, systems, every point) and
OUT/filters-<data>.png (QPS at recall 0.95 against selectivity, log x; recall at hashidx's
defaults). OUT defaults to Benchmarks/results, the work dir to /tmp/hashidx-filters.

Smoke test (peers only, about a minute):
  filters.py /work/data/glove --limit 20000 --queries 200 --runs 1 --only faiss-hnsw,faiss-ivf,hnswlib
Full run (GloVe-50, 2 cores: about 20 minutes, estimated from the builds in compare-glove.md):
  filters.py /work/data/glove --queries 2000 --runs 3
"""
import argparse, datetime, json, os, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "compare"))
sys.path.insert(0, HERE)
import compare  # noqa: E402  (stdlib only at import time; numpy after ensure_venv)

SYSTEMS = ["hashidx", "faiss-hnsw", "faiss-ivf", "hnswlib"]
FAISS = ("faiss-hnsw", "faiss-ivf")
COMPOUND = ("and1", "rangeflag")           # plotted as separate markers, off the lines
K = compare.K
TARGETS = compare.TARGETS
MAIN = 0.95                                # the table's headline recall
STOP_RECALL = compare.STOP_RECALL          # a peer sweep stops after reaching this
SWEEPS = {"faiss-hnsw": [16, 32, 64, 128, 256, 512, 1024],
          "faiss-ivf": [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
          "hnswlib": [16, 64, 256]}
HASHIDX_PROBES = [64, 128, 256]
HASHIDX_CANDIDATES = [100, 200, 500]
WORK = "/tmp/hashidx-filters"


# ---------------------------------------------------------------- filters and ground truth

def nearest(counts, target):
    """Index of the count nearest `target` (the first on ties)."""
    import numpy as np
    return int(np.argmin(np.abs(np.asarray(counts, dtype=np.float64) - target)))


def make_filters(cols):
    """(id, label, hashidx expression or None, numpy mask, target selectivity) for every
    filter, the unfiltered search first; constants come from the realised attributes."""
    import numpy as np
    import attributes as A
    n = len(cols["price"])
    price, stock, tags, cat = cols["price"], cols["in_stock"], cols["tags"], cols["category"]
    cat_counts = np.bincount(cat, minlength=A.CATEGORIES)
    tag_counts = tags.sum(axis=0)
    t10 = nearest(tag_counts, 0.10 * n)
    cheap = price < 20
    and_counts = (tags & cheap[:, None]).sum(axis=0)
    and_counts[t10] = -n                     # another tag than the 10 % filter's
    t_and = nearest(and_counts, 0.01 * n)
    out = [("all", "unfiltered", None, np.ones(n, dtype=bool), 1.0),
           ("price50", "price < 50", "price < 50", price < 50, 0.50)]
    out.append(("tag10", "tag ≈ 10 %", f'tags contains "{A.tag_name(t10)}"', tags[:, t10], 0.10))
    for pct, tid in ((1, "cat1"), (0.1, "cat0.1"), (0.01, "cat0.01")):
        c = nearest(cat_counts, pct / 100 * n)
        out.append((tid, f"category ≈ {pct:g} %", f'category = "{A.category_name(c)}"', cat == c, pct / 100))
    out.append(("and1", "tag AND price ≈ 1 %", f'tags contains "{A.tag_name(t_and)}" and price < 20',
                tags[:, t_and] & cheap, 0.01))
    out.append(("rangeflag", "price range AND in_stock", "price >= 20 and price < 30 and in_stock",
                (price >= 20) & (price < 30) & stock, 0.10 * 0.7))
    return [{"id": i, "label": lab, "expr": e, "mask": m, "target": t, "count": int(m.sum()),
             "selectivity": float(m.mean())} for i, lab, e, m, t in out]


def filtered_truth(B, Q, mask, k):
    """Exact top-k by inner product among the rows where `mask` holds, best first: int32,
    len(Q) × k, rows padded with -1 when fewer than k rows match."""
    import numpy as np
    idx = np.flatnonzero(mask)
    out = np.full((len(Q), k), -1, dtype=np.int32)
    kk = min(k, len(idx))
    if kk == 0:
        return out
    Bf = B if len(idx) == len(B) else B[idx]
    step = max(1, (1 << 25) // len(idx))     # ≤ 32 Mi scores (128 MiB) per block
    for s in range(0, len(Q), step):
        S = Q[s:s + step] @ Bf.T
        top = np.argpartition(-S, kk - 1, axis=1)[:, :kk] if kk < len(idx) else np.tile(np.arange(kk), (len(S), 1))
        order = np.argsort(-np.take_along_axis(S, top, axis=1), axis=1, kind="stable")
        out[s:s + len(S), :kk] = idx[np.take_along_axis(top, order, axis=1)]
    return out


def recall_of(found, truth, m):
    """Mean |found[:K] ∩ true matches| / m, m = the true matches per row (min(K, count))."""
    if m == 0:
        return 1.0
    hits = sum(len({int(x) for x in f[:K]} & {int(x) for x in g[:m]}) for f, g in zip(found, truth))
    return hits / (len(truth) * m)


# ---------------------------------------------------------------- peers

def open_peer(name, base_path, work, dim):
    """Builds peer `name` with compare.peer_build (all cores), loads it for one-thread
    search. Returns (index, build seconds)."""
    path = os.path.join(work, name + ".idx")
    secs = compare.peer_build(name, base_path, path)
    if name.startswith("faiss"):
        import faiss
        faiss.omp_set_num_threads(1)
        ix = faiss.read_index(path)
    else:
        import hnswlib
        ix = hnswlib.Index(space="ip", dim=dim)
        ix.load_index(path)
        ix.set_num_threads(1)
    os.remove(path)
    return ix, secs


def peer_settings(name, ix, f):
    """(knob values, setting) for filter f: setting(v) applies knob value v and returns the
    one-query search function (query → ids, -1 for none)."""
    import numpy as np
    everything = f["count"] == len(f["mask"])
    if name.startswith("faiss"):
        import faiss
        sel = None if everything else faiss.IDSelectorBitmap(np.packbits(f["mask"], bitorder="little"))
        if name == "faiss-hnsw":
            values, make = SWEEPS[name], lambda v: faiss.SearchParametersHNSW(efSearch=v)
        else:
            values = sorted({min(v, ix.nlist) for v in SWEEPS[name]})
            make = lambda v: faiss.SearchParametersIVF(nprobe=v)

        def setting(v):
            params = make(v)
            if sel is not None:
                params.sel = sel
            return lambda q: ix.search(q[None], K, params=params)[1][0]
        return values, setting
    allowed = None if everything else f["mask"].tolist().__getitem__
    k = min(K, f["count"])

    def setting(v):
        ix.set_ef(v)

        def search(q):
            try:
                return ix.knn_query(q, k=k, filter=allowed)[0][0]
            except RuntimeError:          # fewer than k reachable matches
                return []
        return search
    return SWEEPS[name], setting


def serve_peer(name, ix, filters, Q, truths, runs, cap, repeat_below):
    """Every filter's sweep, `runs` times. The first run fixes each filter's settings (stop
    at STOP_RECALL or after a pass over `cap` s); later runs repeat the passes shorter than
    `repeat_below` s. Returns per filter id: (compare.best_of_runs rows, note)."""
    passes = {f["id"]: [[] for _ in range(runs)] for f in filters}
    chosen, secs_of, notes = {}, {}, {}
    for run in range(runs):
        for f in filters:
            values, setting = peer_settings(name, ix, f)
            truth, m = truths[f["id"]], min(K, f["count"])
            for v in (values if run == 0 else chosen[f["id"]]):
                if run > 0 and secs_of[(f["id"], v)] > repeat_below:
                    continue
                search = setting(v)
                t = time.perf_counter()
                found = [search(q) for q in Q]
                secs = time.perf_counter() - t
                row = {"knob": str(v), "recall": recall_of(found, truth, m), "qps": len(Q) / secs}
                passes[f["id"]][run].append(row)
                print(f"  {name:10s} {f['id']:9s} {v:>5} R@10 {row['recall']:.4f} QPS {row['qps']:8.0f}"
                      f"  ({secs:.1f} s)", file=sys.stderr, flush=True)
                if run == 0:
                    chosen.setdefault(f["id"], []).append(v)
                    secs_of[(f["id"], v)] = secs
                    if row["recall"] >= STOP_RECALL:
                        break
                    if secs > cap and v != values[-1]:
                        notes[f["id"]] = f"sweep cut after {v}: one pass took {secs:.0f} s (> {cap:g} s)"
                        break
    out = {}
    for f in filters:
        long = [str(v) for v in chosen[f["id"]] if secs_of[(f["id"], v)] > repeat_below]
        note = notes.get(f["id"], "")
        if long and runs > 1:
            note = (note + "; " if note else "") + f"measured once (pass > {repeat_below:g} s): {','.join(long)}"
        out[f["id"]] = (compare.best_of_runs([r for r in passes[f["id"]] if r]), note)
    return out


# ---------------------------------------------------------------- hashidx

def run_cli(cmd):
    """Runs a hashidx command; its stdout, or exit with the command and its error."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}\nfailed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def hashidx_eval(exe, index, queries, truth, nq, expr, extra):
    """One `hashidx eval` process; its JSON report."""
    return json.loads(run_cli([exe, "eval", index, "--queries", queries, "--ground-truth", truth, "--k", str(K),
                               "--limit", str(nq), "--threads", "1", "--format", "json"]
                              + (["--where", expr] if expr else []) + extra))


def serve_hashidx(exe, base_path, attrs, work, queries, filters, truth_paths, nq, runs):
    """Builds hashidx with the attributes, then per filter and run: one eval at the
    binary's defaults, one over the probes × candidates sweep."""
    index = os.path.join(work, "hashidx.hidx")
    if os.path.isdir(index):
        shutil.rmtree(index)
    elif os.path.exists(index):
        os.remove(index)
    t = time.perf_counter()
    run_cli([exe, "build", base_path, "-o", index, "--attributes", attrs])
    build_s = time.perf_counter() - t
    partitions, vector_type = compare.hashidx_info(exe, index)
    probes = sorted({min(p, partitions) for p in HASHIDX_PROBES}) if partitions else [HASHIDX_PROBES[0]]
    sweep = ["--probes", ",".join(map(str, probes)), "--candidates", ",".join(map(str, HASHIDX_CANDIDATES))]
    knob = (lambda s: f"P={s['probes']},C={s['candidates']}") if partitions else (lambda s: f"C={s['candidates']}")
    default_runs = {f["id"]: [] for f in filters}
    sweep_runs = {f["id"]: [] for f in filters}
    bits, serve_s = "?", 0.0
    for _ in range(runs):
        for f in filters:
            for extra, into in (([], default_runs), (sweep, sweep_runs)):
                t = time.perf_counter()
                report = hashidx_eval(exe, index, queries, truth_paths[f["id"]], nq, f["expr"], extra)
                serve_s += time.perf_counter() - t
                bits = report["bits"]
                rows = [{"knob": knob(s) + (" (default)" if not extra else ""), "recall": s["recall"],
                         "qps": s["qps"]} for s in report["settings"]]
                into[f["id"]].append(rows)
                for r in rows:
                    print(f"  hashidx    {f['id']:9s} {r['knob']:>22s} R@10 {r['recall']:.4f} QPS {r['qps']:8.0f}",
                          file=sys.stderr, flush=True)
    per_filter = {}
    for f in filters:
        default = compare.best_of_runs(default_runs[f["id"]])
        per_filter[f["id"]] = (default + compare.best_of_runs(sweep_runs[f["id"]]), "", default)
    system = (f"hashidx build --attributes: {bits} bits, {vector_type} vectors, {partitions or 'no'} partitions")
    sweep_text = (f"defaults; probes {','.join(map(str, probes))} × " if partitions else "defaults; ") + \
        f"candidates {','.join(map(str, HASHIDX_CANDIDATES))}"
    return {"name": "hashidx", "system": system, "build_s": build_s, "serve_s": serve_s, "sweep": sweep_text,
            "per_filter": per_filter}


# ---------------------------------------------------------------- report

def cell_at(rows, target):
    """QPS at `target` on the frontier of rows (compare.qps_at), or None."""
    return compare.qps_at(compare.pareto(rows), target)


def main_cell(rows, target):
    v = cell_at(rows, target)
    if v is not None:
        return compare.fmt_qps(v)
    if not rows:
        return "not run"
    best = max(rows, key=lambda r: (r["recall"], r["qps"]))
    return f"– (max R {best['recall']:.3f} at {best['qps']:,.0f} QPS)"


def ratio_cell(mine, peers):
    """hashidx ÷ the fastest peer at one target; peers = [(name, qps_at result or None)]."""
    reached = [(v, n) for n, v in peers if v is not None]
    if not peers:
        return "no FAISS run"
    if mine is None:
        return "– (hashidx below target)"
    if not reached:
        return "only hashidx reaches it"
    best, who = max(reached, key=lambda p: p[0]["qps"])
    if mine["bound"] and best["bound"]:
        return f"? (both above target; {who} ≥ {best['qps']:,.0f})"
    sign = "≥ " if mine["bound"] else "≤ " if best["bound"] else ""
    return f"{sign}{mine['qps'] / best['qps']:.2f}× ({who})"


def write_report(results, filters, data, shape, nq, hnsw_nq, runs, out_dir, command, notes):
    tag = os.path.basename(os.path.normpath(data))
    head, now = compare.commit(), datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(out_dir, exist_ok=True)
    by = {r["name"]: r for r in results}
    names = [r["name"] for r in results]
    peers_run = [n for n in FAISS if n in by]
    qcount = lambda n: hnsw_nq if n == "hnswlib" else nq
    lines = [f"# {tag}: filtered search, hashidx and its peers", "",
             f"- data set: `{tag}` (`{data}`): base {shape[0]:,} × {shape[1]}, {nq:,} queries "
             f"(hnswlib: the first {hnsw_nq:,}), recall@{K} against exact cosine ground truth among the rows "
             "each filter keeps",
             f"- attributes: `Benchmarks/filters/attributes.py` (seed {notes['seed']}): category (1,000 values, "
             "Zipf-like), price (0.00–99.99), in_stock (70 %), tags (1–4 of 100, Zipf-like)",
             f"- machine: {compare.machine()}",
             f"- date: {now.strftime('%Y-%m-%d %H:%M')} UTC; commit `{head}`; total {notes['total_s']:.0f} s",
             f"- runs: every point is the best of {runs} pass{'es' if runs != 1 else ''} (highest QPS); passes "
             f"over {notes['repeat_below']:g} s are measured once; a peer sweep stops at recall {STOP_RECALL} or "
             f"after a pass over {notes['cap']:g} s",
             "- queries one at a time on one thread; builds use all cores",
             f"- command: `{command}`", "",
             "## Filters", "",
             "Constants chosen from the realised attributes: the tag or category whose row count is nearest the "
             "target.", "",
             "| filter | hashidx expression | rows | selectivity | target |", "|---|---|---|---|---|"]
    for f in filters:
        short = f" (fewer than {K}: recall against the {f['count']} matches)" if f["count"] < K else ""
        lines.append(f"| {f['label']} | {'`' + f['expr'] + '`' if f['expr'] else '—'} | {f['count']:,}{short} | "
                     f"{100 * f['selectivity']:.4g} % | {100 * f['target']:.4g} % |")
    cols = names
    lines += ["", f"## QPS at recall@{K} = {MAIN:.2f}", "",
              "Each system's Pareto frontier over all its settings under that filter (hashidx: its defaults and "
              "the probes × candidates sweep), QPS interpolated linearly in recall between the frontier points "
              "that bracket the target; ≥: even the fastest setting is above it (a lower bound); – (max R at Q): "
              "never reached, with the best recall and its QPS. hashidx ÷ best FAISS: against the faster of "
              f"{' and '.join(FAISS)} at {MAIN}.", ""]
    has_h = "hashidx" in by
    hdr = (["filter", "selectivity"] + (["hashidx default recall", "hashidx default QPS"] if has_h else [])
           + [n + (" ¹" if n == "hnswlib" else "") for n in cols] + (["hashidx ÷ best FAISS"] if has_h else []))
    lines += ["| " + " | ".join(hdr) + " |", "|---" * len(hdr) + "|"]
    for f in filters:
        cells = [f["label"], f"{100 * f['selectivity']:.4g} %"]
        if has_h:
            d = by["hashidx"]["per_filter"][f["id"]][2]
            cells += [f"{d[0]['recall']:.4f} ({d[0]['knob'].replace(' (default)', '')})", f"{d[0]['qps']:,.0f}"]
        cells += [main_cell(by[n]["per_filter"][f["id"]][0], MAIN) for n in cols]
        if has_h:
            mine = cell_at(by["hashidx"]["per_filter"][f["id"]][0], MAIN)
            cells.append(ratio_cell(mine, [(n, cell_at(by[n]["per_filter"][f["id"]][0], MAIN)) for n in peers_run]))
        lines.append("| " + " | ".join(cells) + " |")
    if "hnswlib" in by:
        lines += ["", f"¹ hnswlib: the first {hnsw_nq:,} queries only; its filter is a Python callback, run for "
                  "every node the search visits, so its QPS mostly measures Python calls."]
    if has_h:
        d = by["hashidx"]["per_filter"]["all"][2][0]
        lines += ["", f"Reference: hashidx unfiltered at its defaults ({d['knob'].replace(' (default)', '')}): "
                  f"recall@{K} {d['recall']:.4f}, {d['qps']:,.0f} QPS."]
    for t in (x for x in TARGETS if x != MAIN):
        lines += ["", f"## QPS at recall@{K} = {t:.2f}", "", "| filter | " + " | ".join(cols) + " |",
                  "|---" * (len(cols) + 1) + "|"]
        for f in filters:
            lines.append(f"| {f['label']} | " + " | ".join(main_cell(by[n]["per_filter"][f["id"]][0], t) for n in cols)
                         + " |")
    lines += ["", "## Systems", "", "| system | what it runs | queries | build s | search s | sweep |",
              "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['system']} | {qcount(r['name']):,} | {r['build_s']:.1f} | "
                     f"{r['serve_s']:.0f} | {r['sweep']} |")
    lines += ["", "## Every setting", "", "QPS = best of the passes; • = on the Pareto frontier of that filter.", "",
              f"| filter | system | setting | recall@{K} | QPS | frontier | QPS of each pass | note |",
              "|---|---|---|---|---|---|---|---|"]
    for f in filters:
        for r in results:
            rows, note, _ = r["per_filter"][f["id"]]
            on = {id(p) for p in compare.pareto(rows)}
            for i, row in enumerate(rows):
                text = "; ".join(x for x in (row["recall_note"], note if i == 0 else "") if x)
                lines.append(f"| {f['label']} | {r['name']} | {row['knob']} | {row['recall']:.4f} | {row['qps']:,.0f} | "
                             f"{'•' if id(row) in on else ''} | {' / '.join(f'{q:,.0f}' for q in row['qps_runs'])} | "
                             f"{text} |")
    md = os.path.join(out_dir, f"filters-{tag}.md")
    png = os.path.join(out_dir, f"filters-{tag}.png")
    lines += ["", f"![QPS at recall {MAIN} against selectivity](filters-{tag}.png)", ""]
    with open(md, "w") as fh:
        fh.write("\n".join(lines))
    plot(results, filters, png, f"{tag}: {shape[0]:,} × {shape[1]}, {nq:,} queries ({now.date().isoformat()}, {head})")
    print(f"wrote {md} and {png}")


def plot(results, filters, png, title):
    """QPS at recall MAIN against selectivity, and the recall reached, one line per system."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    has_h = any(r["name"] == "hashidx" for r in results)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5))
    order = sorted(filters, key=lambda f: f["selectivity"])
    for r in results:
        qps, rec = [], []                    # (selectivity, value, compound filter?)
        for f in order:
            rows = r["per_filter"][f["id"]][0]
            v = cell_at(rows, MAIN)
            compound = f["id"] in COMPOUND
            if v is not None:
                qps.append((f["selectivity"], v["qps"], compound))
            rec.append((f["selectivity"], r["per_filter"][f["id"]][2][0]["recall"] if r["name"] == "hashidx"
                        else max(p["recall"] for p in rows), compound))
        wide = 2.5 if r["name"] == "hashidx" else 1.2
        color = None
        for axis, pts, label in ((ax, qps, r["name"]), (bx, rec, "hashidx at defaults" if r["name"] == "hashidx"
                                                        else f"{r['name']}: best of its sweep")):
            line, = axis.plot([p[0] for p in pts if not p[2]], [p[1] for p in pts if not p[2]], marker="o",
                              linewidth=wide, label=label, color=color)
            color = line.get_color()
            axis.scatter([p[0] for p in pts if p[2]], [p[1] for p in pts if p[2]], marker="s", s=45,
                         facecolors="none", edgecolors=color)
    if has_h:
        d = next(r for r in results if r["name"] == "hashidx")["per_filter"]["all"][2][0]
        ax.axhline(d["qps"], color="grey", linestyle="--", linewidth=0.8,
                   label=f"hashidx unfiltered, defaults (R@{K} {d['recall']:.3f})")
    for a_ in (ax, bx):
        a_.set_xscale("log")
        a_.set_xlabel("selectivity (fraction of rows the filter keeps, log scale)")
        a_.grid(True, which="both", alpha=0.3)
        a_.legend(fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel(f"queries per second at recall@{K} = {MAIN} (1 thread, log)")
    ax.set_title(title, fontsize=10)
    bx.set_ylabel(f"recall@{K}")
    bx.set_ylim(0, 1.02)
    bx.set_title("recall reached: hashidx at its defaults, peers at their best setting\n"
                 "(lines: one-key filters; open squares: the AND and range + flag filters)", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- main

def count_lines(path):
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3, help="passes per point; each keeps its best QPS")
    ap.add_argument("--only", default="", help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--out", default=os.path.join(ROOT, "Benchmarks", "results"))
    ap.add_argument("--work", default=WORK, help="attributes, ground truth and indexes (default %(default)s)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first ROWS base rows (smoke tests)")
    ap.add_argument("--seed", type=int, default=7, help="attributes.py seed")
    ap.add_argument("--hnswlib-queries", type=int, default=200, help="queries for hnswlib (slow Python filter)")
    ap.add_argument("--point-cap", type=float, default=30.0, help="stop a peer sweep after a pass longer than this (s)")
    ap.add_argument("--repeat-below", type=float, default=10.0, help="repeat only passes shorter than this (s)")
    ap.add_argument("--hashidx-binary", default="", help="use this hashidx binary instead of building release")
    a = ap.parse_args()
    if a.runs < 1 or a.queries < 1 or a.hnswlib_queries < 1 or a.limit < 0:
        sys.exit("--runs, --queries and --hnswlib-queries must be positive, --limit not negative")
    names = [s.strip() for s in (a.only.split(",") if a.only else SYSTEMS) if s.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        sys.exit(f"unknown system(s) {', '.join(unknown)}; choose from {','.join(SYSTEMS)}")
    for fname in ("base.npy", "queries.npy"):
        if not os.path.exists(os.path.join(a.data, fname)):
            sys.exit(f"{a.data}: no {fname} (make one with ../shared/datasets/glove50.py DIR)")
    compare.ensure_venv()
    import numpy as np
    import attributes
    t_start = time.perf_counter()
    os.makedirs(a.work, exist_ok=True)
    base_path = os.path.join(a.data, "base.npy")
    shape = np.load(base_path, mmap_mode="r").shape
    if a.limit and a.limit < shape[0]:
        shape = (a.limit, shape[1])
        base_path = os.path.join(a.work, f"base-{a.limit}.npy")
        np.save(base_path, np.load(os.path.join(a.data, "base.npy"), mmap_mode="r")[:a.limit])
    n = shape[0]
    queries = os.path.join(a.data, "queries.npy")
    nq = min(a.queries, np.load(queries, mmap_mode="r").shape[0])
    hnsw_nq = min(a.hnswlib_queries, nq)
    command = f"python3 Benchmarks/filters/filters.py {a.data} --queries {nq} --runs {a.runs}"
    if a.only:
        command += f" --only {','.join(names)}"
    for flag in ("limit", "seed", "hnswlib_queries", "point_cap", "repeat_below"):
        if getattr(a, flag) != ap.get_default(flag):
            command += f" --{flag.replace('_', '-')} {getattr(a, flag):g}"

    attrs = os.path.join(a.work, f"attrs-{n}-seed{a.seed}.jsonl")
    if not (os.path.exists(attrs) and count_lines(attrs) == n):
        print(f"attributes → {attrs}", file=sys.stderr, flush=True)
        attributes.write_jsonl(attributes.generate(n, a.seed), attrs + ".part")
        os.replace(attrs + ".part", attrs)
    cols = attributes.read_jsonl(attrs)
    filters = make_filters(cols)
    print(f"{n:,} rows; filters:", file=sys.stderr)
    for f in filters:
        print(f"  {f['id']:9s} {f['count']:8,d} rows {100 * f['selectivity']:8.4f} % (target {100 * f['target']:g} %)"
              f"  {f['expr'] or '(none)'}", file=sys.stderr, flush=True)
    empty = [f["id"] for f in filters if f["count"] == 0]
    if empty:
        sys.exit(f"filters {', '.join(empty)} match no rows; use more rows")

    B = compare.load_unit(base_path)
    Q = compare.load_unit(queries, nq)
    truths, truth_paths = {}, {}
    gt_file = os.path.join(a.data, "gt.npy")
    for f in filters:
        t = time.perf_counter()
        truth = filtered_truth(B, Q, f["mask"], K)
        path = os.path.join(a.work, f"gt-{f['id']}-{n}-{nq}.npy")
        if f["id"] == "all" and not a.limit and os.path.exists(gt_file):
            given = np.load(gt_file, mmap_mode="r")
            if given.shape[0] >= nq and given.shape[1] >= K:
                agree = np.mean([len(set(x) & set(y)) / K for x, y in zip(truth, given[:nq, :K])])
                print(f"  unfiltered: using {gt_file} (computed truth agrees on {100 * agree:.2f} % of neighbours)",
                      file=sys.stderr)
                truth = np.ascontiguousarray(given[:nq, :K], dtype=np.int32)
        np.save(path, truth)
        truths[f["id"]], truth_paths[f["id"]] = truth, path
        print(f"  ground truth {f['id']:9s} {time.perf_counter() - t:5.1f} s → {path}", file=sys.stderr, flush=True)

    results = []
    for name in names:
        print(f"{name}…", file=sys.stderr, flush=True)
        if name == "hashidx":
            exe = a.hashidx_binary or compare.hashidx_binary()
            results.append(serve_hashidx(exe, base_path, attrs, a.work, queries, filters, truth_paths, nq, a.runs))
            continue
        ix, build_s = open_peer(name, base_path, a.work, shape[1])
        qn = hnsw_nq if name == "hnswlib" else nq
        t = time.perf_counter()
        served = serve_peer(name, ix, filters, Q[:qn], {k: v[:qn] for k, v in truths.items()}, a.runs,
                            a.point_cap, a.repeat_below)
        serve_s = time.perf_counter() - t
        sweep = f"{compare.KNOBS[name]} " + ",".join(map(str, SWEEPS[name]))
        if name == "faiss-ivf":
            sweep += f" (capped at its {ix.nlist:,} lists)"
        del ix
        results.append({"name": name, "system": compare.LABELS[name], "build_s": build_s, "serve_s": serve_s,
                        "sweep": sweep,
                        "per_filter": {fid: (rows, note, None) for fid, (rows, note) in served.items()}})
    notes = {"seed": a.seed, "cap": a.point_cap, "repeat_below": a.repeat_below,
             "total_s": time.perf_counter() - t_start}
    write_report(results, filters, a.data, shape, nq, hnsw_nq, a.runs, a.out, command, notes)


if __name__ == "__main__":
    main()
