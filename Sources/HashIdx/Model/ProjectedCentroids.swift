import CHashIdxKernels

/// Partition centroids scored in the projected space of a PCA + ITQ model, for the probes of
/// a query: `bits` multiply-adds a centroid instead of `dimension`.
///
/// The rows `w_j` of such a projection `P` are orthonormal, so for a unit query `q` and a
/// centroid `c`, `q·c = (Pq)·(Pc) + q⊥·c⊥` (`⊥`: the part outside the span of the rows).
/// With `q = μ + r` (`μ` the model's mean), `q⊥·c⊥ = μ⊥·c⊥ + r⊥·c⊥`; the first term depends
/// on `c` alone and `r⊥` is what PCA left out of the centred data: small. The query's
/// margins are `y = P(q − μ) − t`, so `Pq = y + t + Pμ`, and
///
///     q·c ≈ y·(Pc) + b_c,   b_c = t·(Pc) + μ·c
///
/// (the `Pμ` terms cancel against `μ⊥·c⊥ = μ·c − (Pμ)·(Pc)`). The margins come with the
/// query's code for free, so a query scores `count × bits` instead of `count × dimension`.
///
/// Measured on Fashion-MNIST (784-d, 256 bits, 490 partitions): 1.42–1.46× QPS at the same
/// recall (Benchmarks/results/query-profile.md).
struct ProjectedCentroids: Sendable {
    /// The projected centroids `Pc`, transposed (`bits × stride`, zero-padded columns).
    private let transposed: [Float]
    /// `b_c` of every centroid (`stride` floats, zero-padded).
    private let bias: [Float]
    private let bits: Int
    private let stride: Int

    /// The projected form of `centroids` for `model`, or `nil` where it does not pay or
    /// does not hold: a model that is not PCA + ITQ (rows not orthonormal), a two-layer
    /// head, or one whose bits are not fewer than its dimensions.
    init?(_ centroids: Centroids, model: HashModel, stride: Int) {
        guard model.scheme == .pcaITQ, model.hidden == nil, model.bits < model.dimension,
              centroids.dimension == model.dimension, centroids.count > 0 else { return nil }
        let count = centroids.count, bits = model.bits, d = model.dimension
        var pc = [Float](repeating: 0, count: count * bits)
        centroids.rows.withUnsafeBufferPointer { rows in
            pc.withUnsafeMutableBufferPointer { model.applyProjection(rows.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        var t = [Float](repeating: 0, count: bits * stride)
        var b = [Float](repeating: 0, count: stride)
        for c in 0..<count {
            var sum = 0.0
            for j in 0..<bits {
                let v = pc[c * bits + j]
                t[j * stride + c] = v
                sum += Double(model.thresholds[j]) * Double(v)
            }
            for i in 0..<d { sum += Double(model.mean[i]) * Double(centroids.rows[c * d + i]) }
            b[c] = Float(sum)
        }
        transposed = t
        bias = b
        self.bits = bits
        self.stride = stride
    }

    /// The approximate score `y·(Pc) + b_c` of every centroid for a query with margins `y`
    /// (`bits` floats), written to `scores` (`stride` floats).
    func scores(margins y: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
        transposed.withUnsafeBufferPointer { t in hidx_dot_transposed(y, 1, bits, t.baseAddress!, stride, scores) }
        bias.withUnsafeBufferPointer { b in for c in 0..<stride { scores[c] += b[c] } }
    }
}
