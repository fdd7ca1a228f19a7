import CHashIdxKernels
import Dispatch

/// Spherical k-means: the partitions (inverted lists) of an index.
///
/// Rows and centroids are unit vectors; a row belongs to the centroid with the highest dot
/// product (the nearest by cosine). Centroids are stored transposed (`dimension × count`)
/// so that scoring one row against every centroid is a SIMD sweep over the centroids.
struct Centroids: Sendable, Equatable {
    /// Number of centroids.
    let count: Int
    let dimension: Int
    /// Row-major `count × dimension` unit vectors (the stored form).
    let rows: [Float]
    /// The same, transposed and padded with zero columns to `stride` (a multiple of 64), the
    /// layout of `hidx_dot_transposed`.
    private let transposed: [Float]
    let stride: Int
    /// Rows scored together by ``nearest(_:rows:into:scratch:)``.
    static let batch = 8

    init(rows: [Float], count: Int, dimension: Int) {
        self.count = count
        self.dimension = dimension
        self.rows = rows
        stride = (count + 63) / 64 * 64
        var t = [Float](repeating: 0, count: dimension * stride)
        for c in 0..<count { for i in 0..<dimension { t[i * stride + c] = rows[c * dimension + i] } }
        transposed = t
    }

    static func == (a: Centroids, b: Centroids) -> Bool { a.count == b.count && a.dimension == b.dimension && a.rows == b.rows }

    /// Floats of scratch space that scoring needs: `rows` × ``stride``.
    func scratchSize(rows: Int = 1) -> Int { rows * stride }

    /// Dot products of `x` with every centroid, written to `scores` (≥ ``scratchSize(rows:)`` floats).
    func scores(_ x: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
        transposed.withUnsafeBufferPointer { t in hidx_dot_transposed(x, 1, dimension, t.baseAddress!, stride, scores) }
    }

    /// The centroid nearest to `x` (lowest index on ties). `scratch` holds ≥ ``scratchSize(rows:)`` floats.
    func nearest(_ x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Int {
        var best = 0
        nearest(x, rows: 1, into: &best, scratch: scratch)
        return best
    }

    /// The nearest centroid of each of the `rows` unit rows at `x` (row-major), written to
    /// `out` (lowest index on ties). Rows are scored ``batch`` at a time, so that the
    /// centroids are read once per batch; `scratch` holds ≥ `scratchSize(rows: batch)` floats.
    func nearest(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Int>, scratch: UnsafeMutablePointer<Float>) {
        transposed.withUnsafeBufferPointer { t in
            var r = 0
            while r < rows {
                let n = min(Self.batch, rows - r)
                hidx_dot_transposed(x + r * dimension, n, dimension, t.baseAddress!, stride, scratch)
                for j in 0..<n {
                    let s = scratch + j * stride
                    var best = 0
                    var bestScore = s[0]
                    for c in 1..<count where s[c] > bestScore { best = c; bestScore = s[c] }
                    out[r + j] = best
                }
                r += n
            }
        }
    }

    /// The `n` centroids nearest to `x`, in ascending index order (ties at the cut: lower
    /// index). `scratch` holds ≥ ``scratchSize(rows:)`` floats.
    func nearest(_ x: UnsafePointer<Float>, n: Int, scratch: UnsafeMutablePointer<Float>) -> [Int] {
        scores(x, into: scratch)
        let n = min(n, count)
        if n == count { return Array(0..<count) }
        let picked = [UInt32](unsafeUninitializedCapacity: n) { b, written in
            written = hidx_select_largest_f32(scratch, count, n, b.baseAddress!)
        }
        return picked.map { Int($0) }
    }

    /// Trains `k` centroids on the unit rows `x` (`n × d`, row-major) with `iterations` rounds of
    /// spherical k-means on `threads` threads, starting from `k` distinct random rows.
    static func train(_ x: [Float], n: Int, d: Int, k: Int, iterations: Int, threads: Int,
                      rng: inout SplitMix64) -> Centroids {
        precondition(k >= 1 && k <= n)
        let start = Trainer.sampleRows(count: n, sample: k, rng: &rng)
        var c = [Float](repeating: 0, count: k * d)
        for (j, r) in start.enumerated() { for i in 0..<d { c[j * d + i] = x[r * d + i] } }
        var centroids = Centroids(rows: c, count: k, dimension: d)
        for _ in 0..<iterations {
            let assignment = centroids.assign(x, n: n, threads: threads)
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
                    // An empty list restarts at a random row.
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

    /// The nearest centroid of every unit row of `x` (`n × dimension`), on `threads` threads.
    func assign(_ x: [Float], n: Int, threads: Int) -> [Int] {
        var out = [Int](repeating: 0, count: n)
        let chunk = 1024
        let chunks = (n + chunk - 1) / chunk
        out.withUnsafeMutableBufferPointer { o in
            x.withUnsafeBufferPointer { xb in
                let op = SharedMutablePointer(o.baseAddress!), xp = SharedPointer(xb.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunks))) { worker in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchSize(rows: Self.batch))
                    defer { scratch.deallocate() }
                    var ch = worker
                    while ch < chunks {
                        let lo = ch * chunk
                        nearest(xp.base + lo * dimension, rows: min(n, lo + chunk) - lo, into: op.base + lo, scratch: scratch)
                        ch += max(1, min(threads, chunks))
                    }
                }
            }
        }
        return out
    }
}

/// A pointer that worker threads write through at disjoint indices.
struct SharedMutablePointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}
