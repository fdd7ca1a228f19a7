#!/usr/bin/env python3
"""Load test of `hashidx serve` on loopback with wrk, against the library in process.

    python3 Benchmarks/server/load.py DATA_DIR [--duration 20] [--runs 3] [--connections 64]

DATA_DIR holds GloVe-50 from ../shared/datasets/glove50.py (base.npy, queries.npy, gt.npy).
Steps, all on this machine, one after the other:
  1. builds the index once (release `hashidx`, ids = row numbers) in --work;
  2. for --threads 1 and 2: starts `hashidx serve --threads T` and runs
     `wrk -t1 -c64 -d…s --latency` with POST /v1/search bodies cycling over 2,000 GloVe
     queries (k 10, default probes/candidates), best of --runs; checks the server's results
     against the ground truth (recall@10 over HTTP) and that every answer is 200;
  3. the same queries in process: `hashidx eval --threads T` (one query at a time on one
     thread, and the batch on T threads), best of --runs;
  4. with 2 threads, the same wrk load while a writer upserts 1,000 items per second
     (10 requests of 100 items each second, new ids), once per --buffer-items value, --runs
     times each: errors, write latency, and the search p99 against the read-only run.
Prints a Markdown report (also to FILE with --out; Benchmarks/results/server-glove.md keeps the
runs so far as sections). Needs wrk (Debian: apt-get install wrk) and the
release server package, hashidx beside hashidx-serve (what `hashidx serve` runs):
    swift build -c release --package-path Server
    swift build -c release --package-path Server --product hashidx
"""
import argparse, http.client, json, os, re, shutil, signal, subprocess, sys, threading, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "Server/.build/release/hashidx")

WRK_SCRIPT = r"""
local bodies = {}
local n = 0
init = function(args)
  for line in io.lines(args[1]) do n = n + 1; bodies[n] = line end
  counter = tonumber(args[2] or "0")
end
request = function()
  counter = (counter % n) + 1
  return wrk.format("POST", "/v1/search", {["Content-Type"] = "application/json"}, bodies[counter])
end
"""

def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)

def start_server(index, threads, extra=()):
    p = subprocess.Popen([BIN, "serve", index, "--port", "0", "--threads", str(threads), *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill(); sys.exit(f"server did not start: {line}")
    return p, int(m.group(1))

def stop_server(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)

def post(port, path, body, method="POST"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data

def parse_duration(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[u]

def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def wrk(port, bodies, duration, connections, pid=None):
    before = cpu_seconds(pid) if pid else 0
    t0 = os.times()
    out = sh(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", WRK_LUA,
              f"http://127.0.0.1:{port}", "--", bodies, "0"]).stdout
    qps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    t1 = os.times()
    server_cpu = cpu_seconds(pid) - before if pid else 0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"qps": qps, "p50": parse_duration(lat["50"]), "p99": parse_duration(lat["99"]),
            "server_cpu_us": server_cpu / requests * 1e6 if pid else float("nan"),
            "wrk_cores": (t1.children_user + t1.children_system - t0.children_user - t0.children_system) / duration,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "", "raw": out}

class Writer(threading.Thread):
    """Upserts `rate` items per second in requests of `batch` items, new ids each time, open loop:
    a request leaves every batch/rate seconds whether or not the previous ones were answered
    (at most 32 in flight), as independent clients would send them."""
    def __init__(self, port, vectors, rate=1000, batch=100):
        super().__init__(daemon=True)
        self.port, self.vectors, self.rate, self.batch = port, vectors, rate, batch
        self.stop = threading.Event()
        self.latencies, self.errors, self.items, self.sent = [], [], 0, 0
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(32)
    def send(self, i):
        rows = [(i + j) % len(self.vectors) for j in range(self.batch)]
        body = json.dumps({"items": [{"id": f"load-{i + j}", "vector": [round(float(x), 5) for x in self.vectors[r]],
                                      "attributes": {"price": float(j)}} for j, r in enumerate(rows)]})
        t = time.monotonic()
        try:
            status, data = post(self.port, "/v1/items", body, method="PUT")
            error = None if status == 200 else f"{status} {data[:200]!r}"
        except Exception as e:
            error = repr(e)
        with self.lock:
            self.latencies.append(time.monotonic() - t)
            if error: self.errors.append(error)
            else: self.items += self.batch
        self.slots.release()
    def run(self):
        interval = self.batch / self.rate
        next_at = time.monotonic()
        i = 0
        threads = []
        while not self.stop.is_set():
            if not self.slots.acquire(timeout=5):
                self.errors.append("more than 32 writes in flight"); continue
            t = threading.Thread(target=self.send, args=(i,), daemon=True)
            t.start(); threads.append(t)
            self.sent += 1
            i += self.batch
            next_at += interval
            time.sleep(max(0, next_at - time.monotonic()))
        for t in threads: t.join()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--work", default="/tmp/hashidx-serve-bench")
    ap.add_argument("--out", metavar="FILE", help="also write the report to FILE (it is printed either way)")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--buffer-items", type=int, nargs="+", default=[4096, 0],
                    help="the writer scenario once per value of `hashidx serve --buffer-items` (0: a shard per group commit)")
    ap.add_argument("--only-writes", action="store_true",
                    help="skip the in-process and 1-thread runs: the 2-thread read-only baseline and the writer scenarios only")
    args = ap.parse_args()
    global WRK_LUA
    os.makedirs(args.work, exist_ok=True)
    WRK_LUA = os.path.join(args.work, "search.lua")
    open(WRK_LUA, "w").write(WRK_SCRIPT)
    queries = np.load(os.path.join(args.data, "queries.npy"))[: args.queries].astype(np.float32)
    gt = np.load(os.path.join(args.data, "gt.npy"))[: args.queries, :10]
    np.save(os.path.join(args.work, "queries.npy"), queries)
    np.save(os.path.join(args.work, "gt.npy"), gt)
    bodies = os.path.join(args.work, "bodies.jsonl")
    with open(bodies, "w") as f:
        for q in queries:
            f.write(json.dumps({"vector": [float(x) for x in q], "k": 10}) + "\n")
    index = os.path.join(args.work, "glove.hidx")
    if not os.path.exists(os.path.join(index, "CURRENT")):
        # String ids (the row numbers as text), so that the writer can upsert new ids.
        n = np.load(os.path.join(args.data, "base.npy"), mmap_mode="r").shape[0]
        ids = os.path.join(args.work, "ids.txt")
        with open(ids, "w") as f: f.write("".join(f"{i}\n" for i in range(n)))
        t = time.time()
        sh([BIN, "build", os.path.join(args.data, "base.npy"), "--ids", ids, "-o", index])
        print(f"built {index} in {time.time() - t:.0f} s", file=sys.stderr)
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    rows = []

    # The library in process, same queries.
    inproc = {}
    for threads in (() if args.only_writes else (1, 2)):
        best = None
        for _ in range(args.runs):
            out = json.loads(sh([BIN, "eval", index, "--queries", os.path.join(args.work, "queries.npy"), "--ground-truth",
                                 os.path.join(args.work, "gt.npy"), "--k", "10", "--threads", str(threads), "--format", "json"]).stdout)
            r = out["settings"][0]
            key = "qps" if threads == 1 else "batch_qps"
            if best is None or r[key] > best[key]: best = r
        inproc[threads] = best
        print(f"in process, {threads} thread(s): {best}", file=sys.stderr)

    # Over HTTP.
    http = {}
    for threads in ((2,) if args.only_writes else (1, 2)):
        p, port = start_server(index, threads)
        try:
            # Same answers as the library: recall@10 over HTTP on 500 queries.
            hits = 0
            for i, q in enumerate(queries[:500]):
                status, data = post(port, "/v1/search", json.dumps({"vector": [float(x) for x in q], "k": 10}))
                assert status == 200, data
                ids = [int(r["id"]) for r in json.loads(data)["results"]]
                hits += len(set(ids) & set(gt[i].tolist()))
            recall = hits / (500 * 10)
            wrk(port, bodies, 3, args.connections)  # warm-up
            best = None
            for _ in range(args.runs):
                r = wrk(port, bodies, args.duration, args.connections, pid=p.pid)
                if best is None or r["qps"] > best["qps"]: best = r
            best["recall"] = recall
            http[threads] = best
            print(f"HTTP, {threads} thread(s): {best['qps']:.0f} QPS p50 {best['p50']:.2f} ms p99 {best['p99']:.2f} ms recall {recall:.3f}", file=sys.stderr)
        finally:
            stop_server(p)

    # With a writer at 1,000 items/s (2 threads), per --buffer-items, --runs times each. A copy
    # of the index each run, so that runs start equal.
    base = np.load(os.path.join(args.data, "base.npy"), mmap_mode="r")
    vectors = np.asarray(base[:20000], dtype=np.float32)
    write_runs = {}
    for kib in args.buffer_items:
        for run in range(args.runs):
            copy = os.path.join(args.work, "glove-writes.hidx")
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(index, copy)
            p, port = start_server(copy, 2, ["--buffer-items", str(kib)])
            try:
                writer = Writer(port, vectors)
                writer.start()
                time.sleep(2)
                loaded = wrk(port, bodies, args.duration, args.connections, pid=p.pid)
                writer.stop.set(); writer.join()
                status, data = post(port, "/v1/info", None, method="GET")
                info = json.loads(data)
            finally:
                stop_server(p)
            shards = len([f for f in os.listdir(copy) if f.endswith(".hidx")])
            lat = sorted(writer.latencies)
            r = {"search": loaded, "info": info, "shards": shards, "writes": len(lat), "errors": writer.errors,
                 "items": writer.items, "seconds": writer.sent * writer.batch / writer.rate,
                 "wp50": lat[len(lat) // 2] * 1e3 if lat else float("nan"),
                 "wp99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3 if lat else float("nan"),
                 "wmax": lat[-1] * 1e3 if lat else float("nan")}
            write_runs.setdefault(kib, []).append(r)
            print(f"writer, --buffer-items {kib}, run {run + 1}: search {loaded['qps']:.0f} QPS p99 {loaded['p99']:.2f} ms; "
                  f"writes p50 {r['wp50']:.1f} p99 {r['wp99']:.1f} max {r['wmax']:.1f} ms; {shards} shard files", file=sys.stderr)

    def ratio(a, b): return a / b if b else float("nan")
    lines = [
        "# `hashidx serve` under load: GloVe-50, loopback",
        "",
        f"`python3 Benchmarks/server/load.py {args.data} --duration {args.duration} --runs {args.runs} --connections {args.connections} "
        f"--buffer-items {' '.join(map(str, args.buffer_items))}{' --only-writes' if args.only_writes else ''}` "
        f"on commit `{commit}`; {os.cpu_count()} cores (the load generator shares them with the server).",
        "",
        f"GloVe-50 (390,000 × 50, cosine), index at the defaults of `hashidx build` (ids: the row numbers as strings); {args.queries:,} queries of `queries.npy` as "
        f"`POST /v1/search` bodies (`{{\"vector\": [...], \"k\": 10}}`, default probes 128 / candidates 200), cycled by "
        f"`wrk -t1 -c{args.connections} -d{args.duration}s --latency` (one wrk thread, {args.connections} connections); best of {args.runs} runs "
        f"after a 3 s warm-up. In process: `hashidx eval --threads T` on the same queries (one query at a time on one thread; "
        f"the batch on T threads), best of {args.runs}.",
        "",
        "| server threads | HTTP QPS | p50 ms | p99 ms | non-2xx | recall@10 over HTTP | in-process QPS (same threads) | HTTP ÷ in process | server CPU µs / request | in-process CPU µs / query | HTTP share of server CPU | wrk's cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in ([] if args.only_writes else (1, 2)):
        h, i = http[t], inproc[t]
        ref = i["qps"] if t == 1 else i["batch_qps"]
        # CPU time per query in process: one thread one query at a time, or T threads busy on the batch.
        per_query = 1e6 / i["qps"] if t == 1 else t * 1e6 / i["batch_qps"]
        lines.append(f"| {t} | {h['qps']:,.0f} | {h['p50']:.2f} | {h['p99']:.2f} | {h['non2xx']} | {h['recall']:.3f} | "
                     f"{ref:,.0f} ({'one at a time' if t == 1 else 'batch, 2 threads'}; recall {i['recall']:.3f}) | {ratio(h['qps'], ref):.2f} | "
                     f"{h['server_cpu_us']:.0f} | {per_query:.0f} | {1 - per_query / h['server_cpu_us']:.0%} | {h['wrk_cores']:.2f} |")
    if args.only_writes:
        lines.append(f"| 2 | {http[2]['qps']:,.0f} | {http[2]['p50']:.2f} | {http[2]['p99']:.2f} | {http[2]['non2xx']} | {http[2]['recall']:.3f} | "
                     "(--only-writes: not run) | | | | | |")
    lines += [
        "",
        "Server CPU µs / request: the server process's user + system CPU time during the run ÷ requests answered "
        "(`/proc/PID/stat`); in-process CPU µs / query: 1 ÷ the one-thread QPS of `hashidx eval` (1 thread), 2 ÷ its "
        "2-thread batch QPS (2 threads, both cores busy as in the server run). wrk's cores: its user + system CPU "
        "÷ the run's seconds.",
    ]
    lines += [
        "",
        "## With a writer upserting 1,000 items per second (2 server threads)",
        "",
        f"The same wrk load for {args.duration} s while writers send `PUT /v1/items` with 100 new items every 0.1 s, open loop "
        f"(each request on its own connection, whether or not the previous ones were answered; GloVe vectors, one float "
        f"attribute each); each answer arrives after its group commit. `--buffer-items 0`: every group commit writes a shard "
        f"(the behaviour before the write log); otherwise group commits append to the write log and a shard is written "
        f"once the buffer holds that many items (a flusher thread, beside the group commits). {args.runs} runs of each, every run on a fresh copy of the index; "
        f"the read-only baseline is the 2-thread run above, in the same session.",
        "",
        "| --buffer-items | run | search QPS | search p50 ms | search p99 ms | p99 ÷ read-only | search non-2xx | write requests | write errors | write p50 ms | write p99 ms | write max ms | shard files after | items after (generation) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| read-only | | {http[2]['qps']:,.0f} | {http[2]['p50']:.2f} | {http[2]['p99']:.2f} | 1 | {http[2]['non2xx']} | – | – | – | – | – | – | 390,000 |",
    ]
    for kib, runs in write_runs.items():
        for n, r in enumerate(runs):
            l = r["search"]
            lines.append(f"| {kib} | {n + 1} | {l['qps']:,.0f} | {l['p50']:.2f} | {l['p99']:.2f} | {ratio(l['p99'], http[2]['p99']):.2f} | "
                         f"{l['non2xx']} | {r['writes']} | {len(r['errors'])} | {r['wp50']:.1f} | {r['wp99']:.1f} | {r['wmax']:.0f} | "
                         f"{r['shards']} | {r['info']['items']:,} ({r['info']['generation']}) |")
    errors = [e for runs in write_runs.values() for r in runs for e in r["errors"]]
    lines += ["", f"Write errors: {errors[:3] if errors else 'none'}."]
    # (Printed; written to a file only with --out: Benchmarks/results/server-glove.md keeps
    # earlier runs as sections, which one run's report would overwrite.)
    if args.out:
        open(args.out, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
