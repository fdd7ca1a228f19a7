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
        /// Mean recall@k: |results ∩ true top-k| / k (with labels and a ground truth narrower
        /// than `k`: recall at the ground truth's depth, ``Report/recallDepth``).
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
        /// With labels: the mean average precision of the `k` results (mAP@k), relevance
        /// being "shares a label with the query" (see ``Evaluation/averagePrecision(_:)``),
        /// and the precision of the first 10 results.
        public var meanAveragePrecision: Double?, precisionAt10: Double?
        /// Mean recall@10 against the ground truth (at most `k`): |first 10 results ∩ true
        /// top 10| / 10.
        public var recallAt10: Double
    }

    /// Labels of the indexed rows and of the queries, for label-based relevance: a result
    /// is relevant to a query when they share a label (by name).
    public struct LabelRelevance: Sendable {
        /// Labels of the index's rows (row numbers).
        public var rows: RowLabels
        /// Labels of the queries, in query order.
        public var queries: RowLabels
        /// Creates the pair.
        public init(rows: RowLabels, queries: RowLabels) {
            self.rows = rows
            self.queries = queries
        }
    }

    /// The average precision of one ranking: `(1/R) Σ_{i: ranked[i] relevant} P@(i+1)`, `R`
    /// the relevant items in the ranking; 0 when none is (the DeepHash convention for
    /// mAP@k, as DPSH, HashNet and CSQ report it).
    public static func averagePrecision(_ relevant: [Bool]) -> Double {
        var hits = 0
        var sum = 0.0
        for (i, r) in relevant.enumerated() where r {
            hits += 1
            sum += Double(hits) / Double(i + 1)
        }
        return hits == 0 ? 0 : sum / Double(hits)
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
        /// The depth of ``Point/recall``: `k`, or fewer when the ground truth holds fewer.
        public var recallDepth: Int
        /// The ranking evaluated (the index's unless one was asked for).
        public var rerank: Rerank
        /// One point per candidate setting, in the order given.
        public var points: [Point]
    }

    /// Opens the index at `indexPath` and evaluates it on `queries` against `groundTruth`.
    ///
    /// The first 200 queries are run once, untimed, before the measurements, so that the
    /// memory-mapped index is in the page cache.
    /// Every pair of `candidates` and `probes` values is one setting (`nil`: the index's one,
    /// ``Index/defaultCandidates`` and ``Index/defaultProbes``). `progress` hears the
    /// queries answered (``WorkProgress/Phase/searching``, over all settings).
    public static func run(indexPath: String, queries: any VectorSource, groundTruth: GroundTruthFile, k: Int,
                           candidates: [Int]?, probes: [Int]? = nil,
                           shortlistFactor: Int = SearchOptions.defaultShortlistFactor,
                           threads: Int? = nil, filter: Filter? = nil, labels: LabelRelevance? = nil,
                           rerank: Rerank? = nil, blendWeight: Float? = nil,
                           progress: (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> Report {
        if let probes, probes.isEmpty || !probes.allSatisfy({ $0 > 0 }) {
            throw .invalidArgument(name: "probes", reason: "every value must be positive")
        }
        guard k > 0 else { throw .invalidArgument(name: "k", reason: "must be positive, got \(k)") }
        if let candidates, candidates.isEmpty || !candidates.allSatisfy({ $0 > 0 }) {
            throw .invalidArgument(name: "candidates", reason: "every value must be positive")
        }
        if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
        guard groundTruth.count >= queries.count else {
            throw .malformedInput(path: groundTruth.path, reason: "has \(groundTruth.count) rows but there are \(queries.count) queries")
        }
        if let labels {
            guard labels.queries.count >= queries.count else {
                throw .invalidArgument(name: "query-labels", reason: "has labels for \(labels.queries.count) queries but there are \(queries.count)")
            }
        }
        // With labels, mAP is over the k results and recall over what the ground truth holds.
        guard groundTruth.columns >= k || (labels != nil && groundTruth.columns >= min(k, 10)) else {
            throw .malformedInput(path: groundTruth.path, reason: "has \(groundTruth.columns) neighbours per query, fewer than k = \(k)")
        }
        let t0 = System.monotonicSeconds()
        let index = try Index(path: indexPath)
        let openMs = (System.monotonicSeconds() - t0) * 1000
        // Values not given are the index's (tuned by a build with a target recall, else the defaults).
        let probes = probes ?? [index.defaultProbes]
        let candidates = candidates ?? [index.defaultCandidates]
        if let labels, labels.rows.count != index.rowCount {
            throw .invalidArgument(name: "labels", reason: "has labels for \(labels.rows.count) rows but the index has \(index.rowCount) rows; give one line per row of the index")
        }
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
        for q in rows.prefix(200) {
            _ = try index.search(q, options: SearchOptions(k: k, candidates: candidates.max()!, probes: probes.max()!, filter: filter,
                                                           rerank: rerank, blendWeight: blendWeight))
        }
        var points: [Point] = []
        let settings = index.partitionCount == 0 ? candidates.map { (probes[0], $0) } : probes.flatMap { p in candidates.map { (p, $0) } }
        // With a filter the ground truth may end in −1 (fewer matches than k): recall counts
        // the true neighbours there are.
        let depth = min(k, groundTruth.columns)
        let truths = (0..<n).map { Set(groundTruth.row($0).prefix(depth).filter { $0 >= 0 }) }
        let relevant = max(1, truths.reduce(0) { $0 + $1.count })
        let depth10 = min(10, depth)
        let truths10 = (0..<n).map { Set(groundTruth.row($0).prefix(depth10).filter { $0 >= 0 }) }
        let relevant10 = max(1, truths10.reduce(0) { $0 + $1.count })
        let nameMap = labels.map { $0.rows.nameMap(from: $0.queries) }
        let total = settings.count * n
        for (s, (p, c)) in settings.enumerated() {
            progress(WorkProgress(phase: .searching, done: s * n, total: total))
            let options = SearchOptions(k: k, candidates: c, probes: p, shortlistFactor: shortlistFactor, filter: filter,
                                        rerank: rerank, blendWeight: blendWeight)
            try options.validate()
            var latencies: [Double] = []
            latencies.reserveCapacity(n)
            var found = 0, candidateFound = 0, found10 = 0
            var apSum = 0.0, precisionSum = 0.0, labelled = 0
            let start = System.monotonicSeconds()
            for (i, q) in rows.enumerated() {
                if i & 1023 == 1023 { progress(WorkProgress(phase: .searching, done: s * n + i, total: total)) }
                let t = System.monotonicSeconds()
                let hits = try index.search(q, options: options)
                latencies.append(System.monotonicSeconds() - t)
                let truth = truths[i]
                found += hits.prefix(k).filter { truth.contains($0.row) }.count
                found10 += hits.prefix(10).filter { truths10[i].contains($0.row) }.count
                if let labels, let nameMap, labels.queries.isLabelled(i) {
                    let relevance = hits.prefix(k).map { labels.rows.sharesLabel($0.row, with: labels.queries, row: i, nameMap: nameMap) }
                    apSum += averagePrecision(relevance)
                    precisionSum += Double(relevance.prefix(10).filter { $0 }.count) / 10
                    labelled += 1
                }
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
                                planMicroseconds: planMicroseconds,
                                meanAveragePrecision: labels == nil ? nil : apSum / Double(max(1, labelled)),
                                precisionAt10: labels == nil ? nil : precisionSum / Double(max(1, labelled)),
                                recallAt10: Double(found10) / Double(relevant10)))
        }
        progress(WorkProgress(phase: .searching, done: total, total: total))
        return Report(openMilliseconds: openMs, peakRSSBytes: peakResidentBytes(), rows: index.count,
                      dimension: index.dimension, bits: index.bits, queries: n, k: k, threads: workers,
                      recallDepth: depth, rerank: rerank ?? index.rerank, points: points)
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
