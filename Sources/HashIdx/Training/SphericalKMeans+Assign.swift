extension SphericalKMeans {
    /// Rows a caller reads and normalises per ``assign(_:n:to:into:scores:)`` call
    /// (`Build/Partitioning`); the call scores them a tile at a time.
    static let assignBlock = 2048
    /// Rows (``assignTileRows``) and centroids (``assignTile``) scored per BLAS call: their scores (512 KiB) stay in the L2 cache
    /// while each row's best is taken, however many centroids there are. Measured on 1M × 96
    /// rows against 6,325 centroids (`hashidx build --partitions 6325`, partitioning): the
    /// whole score matrix of 2,048 rows (52 MB) at once took 59.8 s, this 256 × 512 tiling
    /// with an eight-lane maximum 34.9 s (the same partitions).
    static let assignTileRows = 256
    static let assignTile = 512

    /// The nearest centroid of each of the `n` unit rows at `x` (row-major, `dimension`
    /// floats each), written to `out` (lowest index on ties). The scores are single-precision
    /// matrix products (BLAS, on its own threads) of a block of rows against a tile of
    /// centroids at a time; each row keeps its best as the tiles go by.
    static func assign(_ x: UnsafePointer<Float>, n: Int, to centroids: Centroids, into out: UnsafeMutablePointer<Int>,
                       scores best: UnsafeMutablePointer<Float>? = nil) {
        let k = centroids.count, d = centroids.dimension
        let tile = min(k, assignTile)
        var scores = [Float](repeating: 0, count: min(n, assignTileRows) * tile)
        var bestScore = [Float](repeating: 0, count: min(n, assignTileRows))
        centroids.rows.withUnsafeBufferPointer { c in
            scores.withUnsafeMutableBufferPointer { s in
                bestScore.withUnsafeMutableBufferPointer { bs in
                    var lo = 0
                    while lo < n {
                        let rows = min(assignTileRows, n - lo)
                        var first = 0
                        while first < k {
                            let width = min(tile, k - first)
                            LinearAlgebra.multiplyF(x + lo * d, c.baseAddress! + first * d, into: s.baseAddress!,
                                                    m: rows, k: d, n: width, transposeB: true)
                            for r in 0..<rows {
                                let (j, v) = firstMaximum(s.baseAddress! + r * width, count: width)
                                // A later tile wins only with a strictly higher score: ties go to
                                // the lower index.
                                if first == 0 || v > bs[r] { bs[r] = v; out[lo + r] = first + j }
                            }
                            first += width
                        }
                        if let best { (best + lo).update(from: bs.baseAddress!, count: rows) }
                        lo += rows
                    }
                }
            }
        }
    }

    /// The index of the first largest of `count` (≥ 1) finite floats at `v`, and that value:
    /// the maximum eight lanes at a time, then the first element equal to it.
    @inline(__always)
    static func firstMaximum(_ v: UnsafePointer<Float>, count: Int) -> (index: Int, value: Float) {
        var m = v[0]
        var j = 0
        if count >= 8 {
            var lanes = SIMD8<Float>(repeating: v[0])
            let raw = UnsafeRawPointer(v)
            while j + 8 <= count {
                let next = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                lanes.replace(with: next, where: next .> lanes)
                j += 8
            }
            m = lanes.max()
        }
        while j < count { if v[j] > m { m = v[j] }; j += 1 }
        var i = 0
        while v[i] != m { i += 1 }
        return (i, m)
    }
}
