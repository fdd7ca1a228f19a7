import Dispatch

/// Spherical k-means: the partitions (inverted lists) of an index.
///
/// Rows and centroids are unit vectors; a row belongs to the centroid with the highest dot
/// product. Each round assigns every row to its nearest centroid (on all threads, through
/// ``CentroidScorer``), then sets each centroid to the normalised sum of its rows.
enum SphericalKMeans {
    /// Trains `k` centroids on the unit rows `x` (`n × d`, row-major) with `iterations` rounds
    /// on `threads` threads, starting from `k` distinct random rows. An empty list restarts
    /// at a random row. Deterministic for a generator state.
    static func train(_ x: [Float], n: Int, d: Int, k: Int, iterations: Int, threads: Int,
                      rng: inout SplitMix64) -> Centroids {
        precondition(k >= 1 && k <= n)
        let start = Trainer.sampleRows(count: n, sample: k, rng: &rng)
        var c = [Float](repeating: 0, count: k * d)
        for (j, r) in start.enumerated() { for i in 0..<d { c[j * d + i] = x[r * d + i] } }
        var centroids = Centroids(rows: c, count: k, dimension: d)
        for _ in 0..<iterations {
            let assignment = CentroidScorer(centroids).assign(x, n: n, threads: threads)
            var sums = [Double](repeating: 0, count: k * d)
            var sizes = [Int](repeating: 0, count: k)
            for r in 0..<n {
                let a = assignment[r]
                sizes[a] += 1
                for i in 0..<d { sums[a * d + i] += Double(x[r * d + i]) }
            }
            for j in 0..<k {
                var norm = 0.0
                for i in 0..<d { norm += sums[j * d + i] * sums[j * d + i] }
                norm = norm.squareRoot()
                if sizes[j] == 0 || norm == 0 {
                    let r = Int(rng.next() % UInt64(n))
                    for i in 0..<d { c[j * d + i] = x[r * d + i] }
                } else {
                    for i in 0..<d { c[j * d + i] = Float(sums[j * d + i] / norm) }
                }
            }
            centroids = Centroids(rows: c, count: k, dimension: d)
        }
        return centroids
    }
}

extension CentroidScorer {
    /// The nearest centroid of every unit row of `x` (`n × dimension`), on `threads` threads.
    func assign(_ x: [Float], n: Int, threads: Int) -> [Int] {
        var out = [Int](repeating: 0, count: n)
        let chunk = 1024
        let chunks = (n + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        out.withUnsafeMutableBufferPointer { o in
            x.withUnsafeBufferPointer { xb in
                let op = SharedMutablePointer(o.baseAddress!), xp = SharedPointer(xb.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchSize(rows: Self.batch))
                    defer { scratch.deallocate() }
                    var ch = worker
                    while ch < chunks {
                        let lo = ch * chunk
                        nearest(xp.base + lo * dimension, rows: min(n, lo + chunk) - lo, into: op.base + lo, scratch: scratch)
                        ch += workers
                    }
                }
            }
        }
        return out
    }
}
