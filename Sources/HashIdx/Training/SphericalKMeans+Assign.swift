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
