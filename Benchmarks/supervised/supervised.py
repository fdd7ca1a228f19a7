#!/usr/bin/env python3
"""Supervised hashing from labels (issue 14): hashidx's supervised codes against its unsupervised
codes and CCA-ITQ, on a labelled data set.

    python3 Benchmarks/supervised/supervised.py DATA_DIR [--bits 64,128,256] [--runs 3] [--limit 2000]
            [--modes cosine,learned,blend] [--build-args "..."] [--probes P] [--out FILE]
            [--work DIR] [--hashidx-binary PATH] [--skip-unseen] [--skip-pairs] [--skip-cca]

DATA_DIR holds base.npy, queries.npy, base_labels.npy, query_labels.npy (integer classes) and
gt.npy (exact cosine top-100 row numbers), e.g. Fashion-MNIST from ../shared/datasets/fashion.py;
an optional classes.txt (one class name per line) names the classes in the text label files.
Needs numpy (and prototype.py beside this file, for CCA-ITQ and the exact ground truth).

For each --bits B:
  unsupervised  `hashidx build base.npy -o U --bits B`                  (timed, best of --runs)
  supervised    `hashidx build base.npy -o S --bits B --labels base_labels.npy [--build-args]`
                                                                         (timed, best of --runs)
  CCA-ITQ       numpy (prototype.cca_itq): hashidx cannot load an external projection, so its codes
                are ranked in numpy exactly as hashidx ranks (Hamming top --candidates over all rows,
                then re-sorted by cosine / learned score / blend; no partitions, i.e. every row scanned)
  unseen        the classes 0..4 are known, 5..9 new: `hashidx build ... --labels known.txt` where
                known.txt names the class of the rows of classes 0-4 and is empty for the others
                (unlabelled rows), then `hashidx delete --ids DELETED --no-merge` of the rows of
                classes 0-4; the queries are the first --limit queries of classes 5-9 and the ground
                truth is their exact cosine top-100 among the kept rows (row numbers of base.npy;
                --no-merge keeps the row numbers). The unsupervised index gets the same deletion
                (a copy of U), CCA-ITQ is fitted with the labels of classes 0-4 only.
  pairs (64)    `hashidx build ... --pairs pairs.txt`, 200,000 pairs sampled from the labels
                (55% similar: half drawn within the class of the first row, half at random)
Every index is evaluated in each --modes ranking with
  `hashidx eval IDX --queries Q --ground-truth GT --k 1000 --candidates 1000 --probes P
   --labels base_labels.npy --query-labels QL --rerank MODE --limit N --format json`
(P = every partition of the index, read from `hashidx info`, unless --probes). Reported: mAP@1000
("map", same-label relevance, DeepHash convention), precision@10 (same label) and recall@10
against the cosine ground truth. Build s: the whole `hashidx build` process, best of --runs.

It writes --out (default Benchmarks/results/supervised-<data>.md).
"""
import argparse, datetime, json, os, platform, shutil, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np
import prototype as proto


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
            head += " + uncommitted changes"
        return head
    except Exception:
        return "unknown"


class Hashidx:
    def __init__(self, binary, log):
        self.binary, self.log = binary, log

    def run(self, *args):
        cmd = [self.binary] + [str(a) for a in args]
        print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
        self.log.append(" ".join(cmd))
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
        return p.stdout

    def build(self, vectors, out, bits, extra, runs):
        """Best wall time of `runs` builds (the last one stays), and the build's own `seconds:`."""
        best, own = None, None
        for _ in range(runs):
            t = time.perf_counter()
            text = self.run("build", vectors, "-o", out, "--bits", bits, *extra)
            wall = time.perf_counter() - t
            s = next((float(l.split(":", 1)[1]) for l in text.splitlines() if l.strip().startswith("seconds:")), None)
            if best is None or wall < best:
                best, own = wall, s
        return best, own

    def info(self, index):
        text = self.run("info", index)
        out = {}
        for line in text.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k.strip()] = v.strip()
        return out

    def eval(self, index, queries, gt, labels, qlabels, mode, probes, limit, k=1000, candidates=1000):
        args = ["eval", index, "--queries", queries, "--ground-truth", gt, "--k", k, "--candidates", candidates,
                "--probes", probes, "--labels", labels, "--query-labels", qlabels, "--format", "json"]
        if mode:
            args += ["--rerank", mode]
        if limit:
            args += ["--limit", limit]
        j = json.loads(self.run(*args))
        s = j["settings"][0]
        r10 = s.get("recall_at_10")
        if r10 is None:   # an older binary: recall@10 from a k=10 run
            j10 = json.loads(self.run(*[a if a != k else 10 for a in args]))
            r10 = j10["settings"][0]["recall"]
        return {"map": s.get("map"), "p10": s.get("precision_at_10"), "r10": r10, "ranked_by": j.get("rerank", mode)}


def write_label_text(path, y, names, known):
    with open(path, "w") as f:
        for v in y:
            f.write((names[v] if known(v) else "") + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--bits", default="64,128,256")
    ap.add_argument("--runs", type=int, default=3, help="timed builds per index (best is reported)")
    ap.add_argument("--limit", type=int, default=2000, help="queries (the first N; unseen: the first N of classes 5-9)")
    ap.add_argument("--modes", default="cosine,learned,blend")
    ap.add_argument("--build-args", default="", help="extra arguments of the supervised builds, e.g. '--epochs 20'")
    ap.add_argument("--blend-weight", type=float, default=0.5,
                    help="weight of the learned score in the numpy CCA-ITQ blend (hashidx uses its index's)")
    ap.add_argument("--probes", type=int, default=None, help="default: every partition of the index")
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--skip-unseen", action="store_true")
    ap.add_argument("--skip-pairs", action="store_true")
    ap.add_argument("--skip-cca", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--work", default="/tmp/hashidx-supervised")
    ap.add_argument("--hashidx-binary", default=os.path.join(ROOT, ".build", "release", "hashidx"))
    a = ap.parse_args()

    name = os.path.basename(os.path.normpath(a.data))
    out = a.out or os.path.join(ROOT, "Benchmarks", "results", f"supervised-{name}.md")
    os.makedirs(a.work, exist_ok=True)
    D = lambda f: os.path.join(a.data, f)
    W = lambda f: os.path.join(a.work, f)
    log = []
    hx = Hashidx(a.hashidx_binary, log)
    modes = [m for m in a.modes.split(",") if m]
    bits_list = [int(b) for b in a.bits.split(",")]
    extra = a.build_args.split()
    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)

    X, Q, y, yq, gt = proto.load(a.data)
    names = [str(c) for c in range(int(y.max()) + 1)]
    if os.path.exists(D("classes.txt")):
        names = [l.strip() or str(i) for i, l in enumerate(open(D("classes.txt")).read().splitlines())]
    nq = min(a.limit or len(Q), len(Q))

    # unseen protocol files: labels of classes 0-4 only, rows of 0-4 deleted, queries of 5-9
    known = lambda v: v < 5
    keep = np.where(y >= 5)[0]
    qk = np.where(yq >= 5)[0][:nq]
    if not a.skip_unseen:
        write_label_text(W("known.txt"), y, names, known)
        with open(W("deleted.txt"), "w") as f:
            f.write("".join(f"{i}\n" for i in np.where(y < 5)[0]))
        np.save(W("unseen_queries.npy"), np.load(D("queries.npy"))[qk])
        np.save(W("unseen_query_labels.npy"), yq[qk])
        gtk = keep[proto.exact_gt(Q[qk], X[keep], 100)]
        np.save(W("unseen_gt.npy"), gtk.astype(np.int64))
    if not a.skip_pairs:
        pa, pb, ps = proto.sample_pairs(y, a.pairs)
        with open(W("pairs.txt"), "w") as f:
            f.write("".join(f"{i} {j} {int(s)}\n" for i, j, s in zip(pa, pb, ps)))

    base, labels, queries, qlabels = D("base.npy"), D("base_labels.npy"), D("queries.npy"), D("query_labels.npy")
    protocols = {"all": (queries, D("gt.npy"), qlabels, nq)}
    if not a.skip_unseen:
        protocols["unseen"] = (W("unseen_queries.npy"), W("unseen_gt.npy"), W("unseen_query_labels.npy"), None)

    rows = []   # dict(bits, method, protocol, rerank, map, p10, r10, build)

    def evaluate(index, bits, method, protocol, build_s, probes):
        qf, gf, qlf, lim = protocols[protocol]
        for mode in modes:
            try:
                r = hx.eval(index, qf, gf, labels, qlf, mode, probes, lim)
            except RuntimeError as e:
                print(f"  {method} {protocol} {mode}: {e}", file=sys.stderr)
                r = {"map": None, "p10": None, "r10": None, "error": str(e).splitlines()[-1][:120]}
            rows.append(dict(bits=bits, method=method, protocol=protocol, rerank=mode, build=build_s, **r))
            print(f"  {bits} {method} {protocol} {mode}: {r}", file=sys.stderr, flush=True)

    def all_probes(index):
        if a.probes:
            return a.probes
        p = hx.info(index).get("partitions", "0")
        try:
            return max(1, int(p.split()[0]))
        except ValueError:
            return 1

    for bits in bits_list:
        U, S, SU = W(f"u{bits}.hidx"), W(f"s{bits}.hidx"), W(f"su{bits}.hidx")
        ub, _ = hx.build(base, U, bits, [], a.runs)
        evaluate(U, bits, "unsupervised", "all", ub, all_probes(U))
        sb, _ = hx.build(base, S, bits, ["--labels", labels] + extra, a.runs)
        evaluate(S, bits, "supervised", "all", sb, all_probes(S))
        if not a.skip_unseen:
            UU = W(f"uu{bits}.hidx")
            shutil.rmtree(UU, ignore_errors=True)
            shutil.copytree(U, UU)
            hx.run("delete", UU, "--ids", W("deleted.txt"), "--no-merge")
            evaluate(UU, bits, "unsupervised", "unseen", ub, all_probes(UU))
            sub, _ = hx.build(base, SU, bits, ["--labels", W("known.txt")] + extra, 1)
            hx.run("delete", SU, "--ids", W("deleted.txt"), "--no-merge")
            evaluate(SU, bits, "supervised", "unseen", sub, all_probes(SU))
        if bits == 64 and not a.skip_pairs:
            P = W(f"p{bits}.hidx")
            pb_, _ = hx.build(base, P, bits, ["--pairs", W("pairs.txt")] + extra, a.runs)
            evaluate(P, bits, f"supervised, {a.pairs // 1000}k pairs", "all", pb_, all_probes(P))
        if not a.skip_cca:
            alpha = 1 - a.blend_weight
            for protocol in protocols:
                if protocol == "all":
                    Wc, mu, _ = proto.cca_itq(X, y, bits)
                    res = proto.evaluate(Wc, mu, X, Q[:nq], y, yq[:nq], gt[:nq, :10], blend=(alpha,))
                else:
                    Wc, mu, _ = proto.cca_itq(X, np.where(known(y), y, -1), bits)
                    gk = np.load(W("unseen_gt.npy"))
                    # rank among the kept rows; map kept positions back to row numbers for R@10
                    res = proto.evaluate(Wc, mu, X[keep], Q[qk], y[keep], yq[qk],
                                         np.searchsorted(keep, gk[:, :10]), blend=(alpha,))
                for mode in modes:
                    r = res.get(mode)
                    if r:
                        rows.append(dict(bits=bits, method="CCA-ITQ (numpy)", protocol=protocol, rerank=mode, build=None,
                                         map=r["map"], p10=r["p10"], r10=r["r10"]))
        write_report(a, out, name, X, y, rows, log, load_start, started, nq, len(qk), modes, bits_list)
    print(f"wrote {out}", file=sys.stderr)


def f3(v):
    return "–" if v is None else f"{v:.3f}"


def write_report(a, out, name, X, y, rows, log, load_start, started, nq, nqk, modes, bits_list):
    L = [f"# {name}: supervised hashing from labels\n"]
    L.append(f"- data set: `{name}` (`{a.data}`): {X.shape[0]:,} × {X.shape[1]} rows, {len(set(y.tolist()))} labelled classes; "
             f"queries: the first {nq:,} of queries.npy (unseen protocol: the first {nqk:,} of classes 5–9)")
    L.append(f"- machine: {machine()}")
    L.append(f"- date: {started:%Y-%m-%d %H:%M} UTC; commit `{commit()}`; numpy {np.__version__}")
    L.append(f"- load average (1/5/15 min) at start {'/'.join(f'{v:.2f}' for v in load_start)}, at end "
             f"{'/'.join(f'{v:.2f}' for v in os.getloadavg())}: the machine is shared, so build times are noisy")
    L.append(f"- command: `python3 Benchmarks/supervised/supervised.py {' '.join(sys.argv[1:])}`")
    L.append(f"- supervised builds: `hashidx build base.npy -o DIR --bits B --labels base_labels.npy"
             f"{(' ' + a.build_args) if a.build_args else ''}` (the CLI's defaults otherwise)")
    L.append("- evaluation: `hashidx eval DIR --k 1000 --candidates 1000 --probes <all partitions> --labels --query-labels "
             "--rerank MODE --format json`; CCA-ITQ ranked in numpy the same way over every row "
             f"(blend: {1 - a.blend_weight:g}·cosine + {a.blend_weight:g}·learned score / Σ|tanh h_q|)\n")
    L.append("mAP@1000: same-label relevance, AP over the top 1,000 (mean precision at the relevant positions, 0 for a "
             "query with none), mean over the queries. P@10: share of the top 10 with the query's label. R@10: the "
             "top 10 against the exact cosine top 10. all: every class labelled, retrieval among all rows. unseen: "
             "labels of classes 0–4 only (rows of 5–9 unlabelled), rows of classes 0–4 then deleted, queries of "
             "classes 5–9. Build s: the whole `hashidx build` process, best of "
             f"{a.runs} (the unseen supervised build: one run).\n")
    L.append("| bits | method | protocol | rerank | mAP@1000 | P@10 | R@10 | build s |")
    L.append("|---|---|---|---|---|---|---|---|")
    order = {"unsupervised": 0, "CCA-ITQ (numpy)": 1, "supervised": 2}
    for r in sorted(rows, key=lambda r: (r["bits"], r["protocol"] != "all", order.get(r["method"], 3), r["method"],
                                           modes.index(r["rerank"]) if r["rerank"] in modes else 9)):
        L.append(f"| {r['bits']} | {r['method']} | {r['protocol']} | {r['rerank']} | {f3(r['map'])} | {f3(r['p10'])} | "
                 f"{f3(r['r10'])} | {'–' if r['build'] is None else format(r['build'], '.2f')} |")
    errors = [r for r in rows if r.get("error")]
    if errors:
        L.append("\nFailed evaluations: " + "; ".join(f"{r['bits']} {r['method']} {r['protocol']} {r['rerank']}: "
                                                    f"{r['error']}" for r in errors))
    L.append("\n<details><summary>hashidx commands</summary>\n\n```")
    L.extend(log)
    L.append("```\n</details>")
    with open(out, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
