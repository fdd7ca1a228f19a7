/// Spherical k-means: the partitions (inverted lists) of an index.
///
/// Rows and centroids are unit vectors; a row belongs to the centroid with the highest dot
/// product. Each round assigns every row to its nearest centroid (the scores are a matrix
/// product, ``assign(_:n:to:into:)``), then sets each centroid to the normalised sum of its
/// rows. A query later finds its nearest centroids with ``CentroidScorer``.
enum SphericalKMeans {
    /// Trains `k` centroids on the unit rows `x` (`n × d`, row-major) with `iterations` rounds,
    /// starting from `k` distinct random rows. An empty list restarts at a random row.
    /// Deterministic for a generator state (and, through BLAS, a CPU family).
    static func train(_ x: [Float], n: Int, d: Int, k: Int, iterations: Int,
                      rng: inout SplitMix64) -> Centroids {
        precondition(k >= 1 && k <= n)
        let start = Trainer.sampleRows(count: n, sample: k, rng: &rng)
        var c = [Float](repeating: 0, count: k * d)
        for (j, r) in start.enumerated() { for i in 0..<d { c[j * d + i] = x[r * d + i] } }
        var centroids = Centroids(rows: c, count: k, dimension: d)
        for _ in 0..<iterations {
            var assignment = [Int](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xb in
                assignment.withUnsafeMutableBufferPointer { assign(xb.baseAddress!, n: n, to: centroids, into: $0.baseAddress!) }
            }
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

extension SphericalKMeans {
    /// Rows scored per BLAS call by ``assign(_:n:to:into:)``.
    static let assignBlock = 2048

    /// The nearest centroid of each of the `n` unit rows at `x` (row-major, `dimension`
    /// floats each), written to `out` (lowest index on ties). The scores are one
    /// single-precision matrix product per block of rows (BLAS, on its own threads).
    static func assign(_ x: UnsafePointer<Float>, n: Int, to centroids: Centroids, into out: UnsafeMutablePointer<Int>,
                       scores best: UnsafeMutablePointer<Float>? = nil) {
        let k = centroids.count, d = centroids.dimension
        let bestScores = best
        var scores = [Float](repeating: 0, count: min(n, assignBlock) * k)
        centroids.rows.withUnsafeBufferPointer { c in
            scores.withUnsafeMutableBufferPointer { s in
                var lo = 0
                while lo < n {
                    let rows = min(assignBlock, n - lo)
                    LinearAlgebra.multiplyF(x + lo * d, c.baseAddress!, into: s.baseAddress!, m: rows, k: d, n: k, transposeB: true)
                    for r in 0..<rows {
                        let row = s.baseAddress! + r * k
                        var best = 0
                        var bestScore = row[0]
                        for j in 1..<k where row[j] > bestScore { best = j; bestScore = row[j] }
                        out[lo + r] = best
                        bestScores?[lo + r] = bestScore
                    }
                    lo += rows
                }
            }
        }
    }
}
