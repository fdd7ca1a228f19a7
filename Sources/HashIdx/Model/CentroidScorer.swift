import CHashIdxKernels

/// Scores a query against every centroid at once: the partitions it probes. (Builds assign
/// rows in blocks through BLAS: `SphericalKMeans.assign`.)
///
/// The centroids are kept transposed (`dimension × stride`, zero columns padding `count` to
/// `stride`, a multiple of 64), the layout of `hidx_dot_transposed`: scoring one row is a
/// SIMD sweep over the centroids, and every CPU gets bit-identical scores.
///
/// A query's probes can be scored in the model's projected space instead
/// (``ProjectedCentroids``), from the margins the query needs anyway.
struct CentroidScorer: Sendable {
    /// The centroids scored against.
    let centroids: Centroids
    /// Columns of the transposed layout: `count` rounded up to a multiple of 64.
    let stride: Int
    private let transposed: [Float]
    /// The centroids in the projected space of a PCA model with fewer bits than dimensions
    /// (`nil` for other models): what ``nearest(_:margins:n:scratch:)`` scores.
    let projected: ProjectedCentroids?

    var count: Int { centroids.count }
    var dimension: Int { centroids.dimension }

    /// A scorer of `centroids`; with `model`, probes are scored in its projected space where
    /// that is cheaper and the projection keeps the geometry (``ProjectedCentroids``).
    init(_ centroids: Centroids, model: HashModel? = nil) {
        self.centroids = centroids
        let count = centroids.count, dimension = centroids.dimension
        stride = (count + 63) / 64 * 64
        var t = [Float](repeating: 0, count: dimension * stride)
        for c in 0..<count { for i in 0..<dimension { t[i * stride + c] = centroids.rows[c * dimension + i] } }
        transposed = t
        let stride = stride
        projected = model.flatMap { ProjectedCentroids(centroids, model: $0, stride: stride) }
    }

    /// Floats of scratch space that scoring `rows` rows needs: `rows` × ``stride``.
    func scratchSize(rows: Int = 1) -> Int { rows * stride }

    /// Dot products of `x` with every centroid, written to `scores` (≥ ``scratchSize(rows:)`` floats).
    func scores(_ x: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
        transposed.withUnsafeBufferPointer { t in hidx_dot_transposed(x, 1, dimension, t.baseAddress!, stride, scores) }
    }

    /// The centroid nearest to `x` (lowest index on ties). `scratch` holds ≥ ``scratchSize(rows:)`` floats.
    func nearest(_ x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Int {
        scores(x, into: scratch)
        var best = 0
        var bestScore = scratch[0]
        for c in 1..<count where scratch[c] > bestScore { best = c; bestScore = scratch[c] }
        return best
    }

    /// The `n` centroids nearest to the unit vector `x`, in ascending index order (ties at the
    /// cut: lower index), scored exactly or, with ``projected``, from `x`'s `margins` (the
    /// model's ``HashModel/project(_:into:)``). `scratch` holds ≥ ``scratchSize(rows:)``
    /// floats and keeps the scores.
    func nearest(_ x: UnsafePointer<Float>, margins: UnsafePointer<Float>, n: Int,
                 scratch: UnsafeMutablePointer<Float>) -> [Int] {
        if let projected { projected.scores(margins: margins, into: scratch) } else { scores(x, into: scratch) }
        return largest(n, of: scratch)
    }

    /// The `n` centroids nearest to `x` by exact score, in ascending index order (ties at
    /// the cut: lower index). `scratch` holds ≥ ``scratchSize(rows:)`` floats.
    func nearest(_ x: UnsafePointer<Float>, n: Int, scratch: UnsafeMutablePointer<Float>) -> [Int] {
        scores(x, into: scratch)
        return largest(n, of: scratch)
    }

    private func largest(_ n: Int, of scratch: UnsafeMutablePointer<Float>) -> [Int] {
        let n = min(n, count)
        if n == count { return Array(0..<count) }
        let picked = [UInt32](unsafeUninitializedCapacity: n) { b, written in
            written = hidx_select_largest_f32(scratch, count, n, b.baseAddress!)
        }
        return picked.map { Int($0) }
    }
}
