#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Measures an index the way ann-benchmarks does: recall against ground truth, queries per
/// second one query at a time on one thread, batch throughput on several threads, latency
/// percentiles.
public enum Evaluation {
    /// The measurements of one search setting.
    public struct Point: Sendable {
        /// Candidates re-ranked.
        public var candidates: Int
        /// Partitions probed (ignored by an index without partitions).
        public var probes: Int
        /// Mean recall@k: |results ∩ true top-k| / k.
        public var recall: Double
        /// Mean fraction of the true top-k among the candidates that reach the exact re-rank.
        public var candidateRecall: Double
        /// Queries per second, one thread, one query at a time.
        public var qps: Double
        /// Queries per second of a batch search on `threads` threads.
        public var batchQPS: Double
        /// Latency percentiles of the one-at-a-time queries, in milliseconds.
        public var p50ms: Double, p95ms: Double, p99ms: Double
        /// With a filter: the plan it took (`"matching rows"` or `"nearest partitions"`), and
        /// the microseconds a query spends compiling the filter for the index and planning
        /// (part of every query's time above).
        public var plan: String?, planMicroseconds: Double?
    }

    /// A whole evaluation.
    public struct Report: Sendable {
        /// Milliseconds to open the index.
        public var openMilliseconds: Double
        /// Peak resident memory of the process, bytes.
        public var peakRSSBytes: Int
        /// Rows, dimension and bits of the index.
        public var rows: Int, dimension: Int, bits: Int
        /// Queries evaluated, k, and the threads of the batch measurement.
        public var queries: Int, k: Int, threads: Int
        /// One point per candidate setting, in the order given.
        public var points: [Point]
    }

    /// Opens the index at `indexPath` and evaluates it on `queries` against `groundTruth`.
    ///
    /// The first 200 queries are run once, untimed, before the measurements, so that the
    /// memory-mapped index is in the page cache.
    /// Every pair of `candidates` and `probes` values is one setting.
    public static func run(indexPath: String, queries: any VectorSource, groundTruth: GroundTruthFile, k: Int,
                           candidates: [Int], probes: [Int] = [SearchOptions.defaultProbes],
                           shortlistFactor: Int = SearchOptions.defaultShortlistFactor,
                           threads: Int? = nil, filter: Filter? = nil) throws(HashIdxError) -> Report {
        guard !probes.isEmpty, probes.allSatisfy({ $0 > 0 }) else {
            throw .invalidArgument(name: "probes", reason: "every value must be positive")
        }
        guard k > 0 else { throw .invalidArgument(name: "k", reason: "must be positive, got \(k)") }
        guard !candidates.isEmpty, candidates.allSatisfy({ $0 > 0 }) else {
            throw .invalidArgument(name: "candidates", reason: "every value must be positive")
        }
        if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
        guard groundTruth.count >= queries.count else {
            throw .malformedInput(path: groundTruth.path, reason: "has \(groundTruth.count) rows but there are \(queries.count) queries")
        }
        guard groundTruth.columns >= k else {
            throw .malformedInput(path: groundTruth.path, reason: "has \(groundTruth.columns) neighbours per query, fewer than k = \(k)")
        }
        let t0 = System.monotonicSeconds()
        let index = try Index(path: indexPath)
        let openMs = (System.monotonicSeconds() - t0) * 1000
        guard queries.dimension == index.dimension else {
            throw .dimensionMismatch(expected: index.dimension, actual: queries.dimension, source: queries.name)
        }
        for r in 0..<groundTruth.count * groundTruth.columns where groundTruth.neighbours[r] >= index.rowCount {
            throw .malformedInput(path: groundTruth.path, reason: "neighbour \(groundTruth.neighbours[r]) is not a row of the index (\(index.rowCount) rows)")
        }
        // Queries into memory first, so reading them is not timed.
        let n = queries.count
        let d = queries.dimension
        var rows: [[Float]] = []
        rows.reserveCapacity(n)
        for i in 0..<n {
            var v = [Float](repeating: 0, count: d)
            v.withUnsafeMutableBufferPointer { queries.copyRow(i, into: $0) }
            rows.append(v)
        }
        let inMemory = try InMemoryVectors(values: rows.flatMap { $0 }, dimension: d, name: queries.name)
        let workers = threads ?? System.processorCount
        // Warm-up, untimed: the first queries fault the mapped pages in (peers that read
        // their index into memory at load time start warm too).
        for q in rows.prefix(200) { _ = try index.search(q, options: SearchOptions(k: k, candidates: candidates.max()!, probes: probes.max()!, filter: filter)) }
        var points: [Point] = []
        let settings = index.partitionCount == 0 ? candidates.map { (probes[0], $0) } : probes.flatMap { p in candidates.map { (p, $0) } }
        // With a filter the ground truth may end in −1 (fewer matches than k): recall counts
        // the true neighbours there are.
        let truths = (0..<n).map { Set(groundTruth.row($0).prefix(k).filter { $0 >= 0 }) }
        let relevant = max(1, truths.reduce(0) { $0 + $1.count })
        for (p, c) in settings {
            let options = SearchOptions(k: k, candidates: c, probes: p, shortlistFactor: shortlistFactor, filter: filter)
            try options.validate()
            var latencies: [Double] = []
            latencies.reserveCapacity(n)
            var found = 0, candidateFound = 0
            let start = System.monotonicSeconds()
            for (i, q) in rows.enumerated() {
                let t = System.monotonicSeconds()
                let hits = try index.search(q, options: options)
                latencies.append(System.monotonicSeconds() - t)
                let truth = truths[i]
                found += hits.prefix(k).filter { truth.contains($0.row) }.count
            }
            let elapsed = System.monotonicSeconds() - start
            for (i, q) in rows.enumerated() {
                let truth = truths[i]
                candidateFound += try index.candidates(for: q, options: options).filter { truth.contains($0) }.count
            }
            let b0 = System.monotonicSeconds()
            _ = try index.search(batch: inMemory, options: options, threads: workers)
            let batchElapsed = System.monotonicSeconds() - b0
            latencies.sort()
            // The planner's own cost: compile and plan, timed alone over many repetitions.
            var plan: String? = nil, planMicroseconds: Double? = nil
            if let filter {
                let reps = 2_000
                var chosen = Searcher.FilterPlan.matchingRows
                let p0 = System.monotonicSeconds()
                for _ in 0..<reps {
                    let compiled = try CompiledFilter(filter, schema: index.searcher.attributeSchema, shards: index.searcher.shards)
                    chosen = index.searcher.plan(compiled, options: options)
                }
                planMicroseconds = (System.monotonicSeconds() - p0) / Double(reps) * 1e6
                plan = chosen == .matchingRows ? "matching rows" : "nearest partitions"
            }
            func pct(_ p: Double) -> Double { latencies[min(n - 1, Int((p * Double(n)).rounded(.up)) - 1)] * 1000 }
            points.append(Point(candidates: c, probes: p, recall: Double(found) / Double(relevant),
                                candidateRecall: Double(candidateFound) / Double(relevant),
                                qps: Double(n) / elapsed, batchQPS: Double(n) / batchElapsed,
                                p50ms: pct(0.50), p95ms: pct(0.95), p99ms: pct(0.99), plan: plan,
                                planMicroseconds: planMicroseconds))
        }
        return Report(openMilliseconds: openMs, peakRSSBytes: peakResidentBytes(), rows: index.count,
                      dimension: index.dimension, bits: index.bits, queries: n, k: k, threads: workers, points: points)
    }

    /// The process's peak resident set size in bytes.
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #endif
    }
}
