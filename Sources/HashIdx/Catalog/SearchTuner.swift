import Dispatch

/// Chooses the cheapest search settings that reach a target recall@10 on an index's own
/// data (``BuildOptions/targetRecall``): a sample of the indexed rows is searched for as
/// queries, each leaving itself out (as "more like this" does), against their exact
/// neighbours among the other rows.
///
/// For each candidate count of a ladder (ascending), the fewest probes that reach the target
/// are found by bisection (recall grows with probes; the probes needed shrink as candidates
/// grow, so each bisection starts below the previous answer), and the setting of least
/// estimated cost wins. The cost model counts a scanned code as 1 and a re-ranked candidate as
/// a cache miss plus its vector's bytes, as a query's profile splits them
/// (Benchmarks/results/query-profile.md). Recall is counted in integers over the sample, so the choice is the
/// same for any thread count.
struct SearchTuner {
    /// Rows searched for as queries (at most the index's rows).
    static let sampleQueries = 300
    /// The depth of the recall tuned for.
    static let k = 10
    /// Candidate counts tried.
    static let candidateLadder = [10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000]
    /// Seed salt of the query sample.
    static let seedSalt: UInt64 = 0x7475_6E69_6E67_0001

    let searcher: Searcher
    let target: Double
    let threads: Int
    /// The sampled rows and their unit vectors (`queries.count × dimension`).
    private let rows: [Int]
    private let queries: [Float]
    /// Each sampled row's exact top `k` among the other rows.
    private let truth: [Set<Int>]

    /// Samples the queries from `source` (the rows the searcher indexes, in row order) and
    /// finds their exact neighbours.
    init(searcher: Searcher, source: any VectorSource, target: Double, seed: UInt64, threads: Int?) throws(HashIdxError) {
        self.searcher = searcher
        self.target = target
        self.threads = threads ?? System.processorCount
        var rng = SplitMix64(seed: seed ^ Self.seedSalt)
        let rows = Trainer.sampleRows(count: source.count, sample: min(source.count, Self.sampleQueries), rng: &rng)
        let queries = try source.unitRows(rows)
        let exact = try ExactSearch.topK(base: source, queries: try InMemoryVectors(values: queries, dimension: source.dimension),
                                         k: Self.k + 1, threads: threads)
        self.rows = rows
        self.queries = queries
        truth = zip(rows, exact).map { row, found in Set(found.filter { $0 != row }.prefix(Self.k)) }
    }

    /// Hits of the true top 10 among the results of every sampled query with `probes` and
    /// `candidates`, summed (an integer, whatever the threads).
    func hits(probes: Int, candidates: Int) -> Int {
        let options = SearchOptions(k: Self.k, candidates: candidates, probes: probes)
        let d = searcher.dimension
        let total = Locked(0)
        let next = Locked(0)
        let tasks = rows.count
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, tasks))) { _ in
            var mine = 0
            while true {
                let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                if i >= tasks { break }
                let q = Array(queries[(i * d)..<((i + 1) * d)])
                // (A search of the index's own vector cannot fail: its options were checked.)
                let found = (try? searcher.search(unit: q, options: options, filter: RowFilter(excluding: [rows[i]]))) ?? []
                mine += found.filter { truth[i].contains($0.row) }.count
            }
            total.withLock { $0 += mine }
        }
        return total.withLock { $0 }
    }

    /// The recall@10 of `hits`.
    func recall(_ hits: Int) -> Double {
        let relevant = truth.reduce(0) { $0 + $1.count }
        return relevant == 0 ? 1 : Double(hits) / Double(relevant)
    }

    /// The estimated cost of one query with `probes` and `candidates`, in scanned codes: the
    /// codes of the probed lists (their mean size over the sample's nearest lists) and each
    /// candidate as a cache miss (30 codes' worth) plus its vector's bytes (32 a code).
    func cost(probes: Int, candidates: Int, scanned: [Double]) -> Double {
        let vectorBytes = Double(searcher.dimension * searcher.manifest.vectorType.size)
        let scan = scanned.isEmpty ? Double(searcher.count) : scanned[min(probes, scanned.count) - 1]
        return scan + Double(max(candidates, Self.k)) * (30 + vectorBytes / 32)
    }

    /// The mean number of rows in the `p` lists nearest to the sampled queries, for every
    /// `p` up to the partition count (empty without partitions).
    func scannedRows() -> [Double] {
        guard let partitions = searcher.partitions else { return [] }
        var sizes = [Int](repeating: 0, count: partitions.count)
        for shard in searcher.shards {
            guard let offsets = shard.partitionOffsets else { continue }
            for p in 0..<partitions.count { sizes[p] += offsets[p + 1] - offsets[p] }
        }
        var sums = [Double](repeating: 0, count: partitions.count)
        var scores = [Float](repeating: 0, count: partitions.scratchSize())
        let d = searcher.dimension
        for i in 0..<rows.count {
            let order = queries.withUnsafeBufferPointer { qb in
                scores.withUnsafeMutableBufferPointer { s -> [Int] in
                    partitions.scores(qb.baseAddress! + i * d, into: s.baseAddress!)
                    return (0..<partitions.count).sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
                }
            }
            var running = 0
            for (j, p) in order.enumerated() { running += sizes[p]; sums[j] += Double(running) }
        }
        return sums.map { $0 / Double(max(1, rows.count)) }
    }

    /// The cheapest setting reaching the target, or the most thorough one tried when none
    /// does. `progress` hears the settings evaluated and a bound on how many will be.
    func tune(progress: (_ done: Int, _ bound: Int) -> Void = { _, _ in }) -> TunedSearch {
        let partitionCount = searcher.partitions?.count ?? 0
        // Probes tried: 1, 2, 3, 4, 6, 8, 12, … (about √2 apart), up to every partition.
        var probeLadder: [Int] = [1]
        if partitionCount > 1 {
            var p = 2
            while p < partitionCount {
                probeLadder.append(p)
                if p * 3 / 2 < partitionCount && p >= 2 { probeLadder.append(p * 3 / 2) }
                p *= 2
            }
            probeLadder.append(partitionCount)
            probeLadder = Array(Set(probeLadder)).sorted()
        }
        let scanned = scannedRows()
        let candidates = Self.candidateLadder.filter { $0 < searcher.count } + [min(searcher.count, Self.candidateLadder.last!)]
        var evaluated = 0
        var bisections = 1
        while 1 << bisections < probeLadder.count { bisections += 1 }
        let bound = candidates.count * (bisections + 1)
        var cache: [Int: Int] = [:]   // probes index × 1_000_000 + candidates → hits
        func hits(_ pi: Int, _ c: Int) -> Int {
            let key = pi * 1_000_000 + c
            if let h = cache[key] { return h }
            let h = self.hits(probes: probeLadder[pi], candidates: c)
            cache[key] = h
            evaluated += 1
            progress(evaluated, max(bound, evaluated))
            return h
        }
        var best: (cost: Double, probes: Int, candidates: Int, hits: Int)? = nil
        var most: (probes: Int, candidates: Int, hits: Int) = (probeLadder.last!, candidates.last!, -1)
        var upper = probeLadder.count - 1   // the probes needed never grow with candidates
        for c in Array(Set(candidates)).sorted() {
            if let b = best, cost(probes: probeLadder[0], candidates: c, scanned: scanned) >= b.cost { break }
            let top = hits(upper, c)
            if top > most.hits { most = (probeLadder[upper], c, top) }
            guard recall(top) >= target else { continue }
            // The fewest probes in 0…upper that reach the target.
            var lo = 0, hi = upper, hiHits = top
            while lo < hi {
                let mid = (lo + hi) / 2
                let h = hits(mid, c)
                if recall(h) >= target { hi = mid; hiHits = h } else { lo = mid + 1 }
            }
            upper = hi
            let c0 = cost(probes: probeLadder[hi], candidates: c, scanned: scanned)
            if best == nil || c0 < best!.cost { best = (c0, probeLadder[hi], c, hiHits) }
        }
        let chosen = best.map { ($0.probes, $0.candidates, $0.hits) } ?? (most.probes, most.candidates, max(0, most.hits))
        return TunedSearch(probes: chosen.0, candidates: chosen.1, targetRecall: target, measuredRecall: recall(chosen.2),
                           sampleQueries: rows.count)
    }
}
