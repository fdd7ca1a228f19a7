import Dispatch
import Synchronization

/// Exact cosine nearest neighbours by brute force, on all cores: the ground truth that
/// approximate search is measured against.
public enum ExactSearch {
    /// Queries per tile and base rows per chunk: a chunk of base rows stays in cache while
    /// a tile of queries is scored against it.
    static let queryTile = 32
    static let baseChunk = 1024

    /// For each row of `queries`, the rows of `base` with the `k` highest cosine
    /// similarities, best first (ties: lower row first); all of `base`'s rows when it has
    /// fewer than `k`.
    ///
    /// Candidates are screened with `Float` dot products and the best `k + 32` of each query
    /// re-scored in `Double`, so the order is that of the exact cosine, not of rounding.
    ///
    /// - Throws: on a dimension mismatch, on NaN/∞ or all-zero rows, or for `k ≤ 0`.
    public static func topK(base: any VectorSource, queries: any VectorSource, k: Int,
                            threads: Int? = nil,
                            progress: @escaping @Sendable (Int) -> Void = { _ in }) throws(HashIdxError) -> [[Int]] {
        guard k > 0 else { throw .invalidArgument(name: "k", reason: "must be positive, got \(k)") }
        guard base.dimension == queries.dimension else {
            throw .dimensionMismatch(expected: base.dimension, actual: queries.dimension, source: queries.name)
        }
        if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
        let d = base.dimension
        let b = try base.unitRows()
        let q = try queries.unitRows()
        let nb = base.count, nq = queries.count
        let keep = k >= nb ? nb : min(nb, k + 32)     // (k may be as large as Int.max)
        let tiles = (nq + queryTile - 1) / queryTile
        let workers = max(1, min(threads ?? System.processorCount, tiles))
        let results = Locked<[[Int]]>(Array(repeating: [], count: nq))
        let next = Atomic<Int>(0)
        let done = ProgressTally(progress)
        b.withUnsafeBufferPointer { bBuffer in
            q.withUnsafeBufferPointer { qBuffer in
                let bp = SharedPointer(bBuffer.baseAddress!), qp = SharedPointer(qBuffer.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let tile = next.add(1, ordering: .relaxed).oldValue
                        if tile >= tiles { break }
                        let q0 = tile * queryTile, q1 = min(nq, q0 + queryTile)
                        var heaps = (q0..<q1).map { _ in BoundedHeap(capacity: keep) }
                        var c0 = 0
                        while c0 < nb {
                            let c1 = min(nb, c0 + baseChunk)
                            for qi in q0..<q1 {
                                let qv = qp.base + qi * d
                                for r in c0..<c1 {
                                    heaps[qi - q0].offer(row: r, score: Kernels.dot(qv, bp.base + r * d, count: d))
                                }
                            }
                            c0 = c1
                        }
                        for qi in q0..<q1 {
                            // Exact order: rescore the survivors in Double.
                            let qv = qp.base + qi * d
                            var exact = heaps[qi - q0].rows.map { r -> (Int, Double) in
                                var s = 0.0
                                let bv = bp.base + r * d
                                for j in 0..<d { s += Double(qv[j]) * Double(bv[j]) }
                                return (r, s)
                            }
                            exact.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                            let top = exact.prefix(k).map(\.0)
                            results.withLock { $0[qi] = top }
                        }
                        done.add(q1 - q0)
                    }
                }
            }
        }
        return results.withLock { $0 }
    }
}

/// The `capacity` highest-scoring rows offered so far (a min-heap on score, then on -row).
struct BoundedHeap {
    private var scores: [Float] = []
    private(set) var rows: [Int] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        scores.reserveCapacity(capacity)
        rows.reserveCapacity(capacity)
    }

    /// `a` ranks below `b`: lower score, or equal score and higher row.
    @inline(__always)
    private func below(_ i: Int, _ j: Int) -> Bool {
        scores[i] < scores[j] || (scores[i] == scores[j] && rows[i] > rows[j])
    }

    @inline(__always)
    mutating func offer(row: Int, score: Float) {
        if rows.count < capacity {
            scores.append(score); rows.append(row)
            var i = rows.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if below(i, p) { scores.swapAt(i, p); rows.swapAt(i, p); i = p } else { break }
            }
            return
        }
        // Replace the root when the new row ranks above it (rows arrive in increasing order,
        // so an equal score never displaces an earlier row).
        guard score > scores[0] else { return }
        scores[0] = score; rows[0] = row
        var i = 0
        let n = rows.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && below(l, m) { m = l }
            if r < n && below(r, m) { m = r }
            if m == i { break }
            scores.swapAt(i, m); rows.swapAt(i, m); i = m
        }
    }

    /// Whether a row with `score` offered now (after every row offered so far, all lower)
    /// would be kept.
    @inline(__always)
    func accepts(_ score: Float) -> Bool { rows.count < capacity || score > scores[0] }

    /// The kept rows and scores, best first (ties: lower row first).
    func sorted() -> [(row: Int, score: Float)] {
        zip(rows, scores).map { (row: $0, score: $1) }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
    }
}
