/// Options for training the hash function.
public struct TrainingOptions: Sendable, Equatable {
    /// The code length in bits: a positive multiple of 64.
    public var bits: Int
    /// Rows sampled from the input to train on (all rows when the input is smaller).
    public var sampleSize: Int
    /// ITQ iterations (alternating code and rotation updates).
    public var iterations: Int
    /// Seed of the sample and of the random rotations: the same seed, input and options
    /// give the same model.
    public var seed: UInt64

    /// The default code length, chosen by measurement on GloVe-50 (see README).
    public static let defaultBits = 256
    /// The default training sample.
    public static let defaultSampleSize = 100_000

    /// Creates training options.
    public init(bits: Int = TrainingOptions.defaultBits, sampleSize: Int = TrainingOptions.defaultSampleSize,
                iterations: Int = 50, seed: UInt64 = 0x68_6173_6869_6478) {
        self.bits = bits
        self.sampleSize = sampleSize
        self.iterations = iterations
        self.seed = seed
    }

    /// Throws when an option is out of range.
    func validate() throws(HashIdxError) {
        guard bits > 0, bits % 64 == 0 else {
            throw .invalidArgument(name: "bits", reason: "must be a positive multiple of 64 (64, 128, 256, …), got \(bits)")
        }
        guard bits <= 4096 else { throw .invalidArgument(name: "bits", reason: "at most 4096, got \(bits)") }
        guard sampleSize > 0 else { throw .invalidArgument(name: "train-sample", reason: "must be positive, got \(sampleSize)") }
        guard iterations >= 0, iterations <= 10_000 else {
            throw .invalidArgument(name: "iterations", reason: "must be 0…10000, got \(iterations)")
        }
    }
}

/// Trains a ``HashModel`` on a sample of a ``VectorSource``.
///
/// - bits ≤ dimension: mean-centring, PCA to `bits` components, ITQ rotation
///   (Gong & Lazebnik 2011): alternately fix the codes `B = sign(V R)` and solve the
///   orthogonal Procrustes problem for `R`.
/// - bits > dimension: mean-centring and a random tight frame
///   (see ``HashModel/Scheme/centredRandomFrame``).
enum Trainer {
    /// ITQ runs on at most this many sampled rows; more changes the rotation little and
    /// costs linear time.
    static let itqRows = 50_000

    static func train(source: any VectorSource, options: TrainingOptions) throws(HashIdxError) -> HashModel {
        try options.validate()
        let d = source.dimension
        let bits = options.bits
        var rng = SplitMix64(seed: options.seed)
        let rows = sampleRows(count: source.count, sample: options.sampleSize, rng: &rng)
        let s = rows.count

        // Unit-normalised sample, row-major s × d.
        var x = try source.unitRows(rows)

        // Mean and covariance in Double.
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<s { for j in 0..<d { mean[j] += Double(x[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(s) }
        let meanF = mean.map { Float($0) }
        for i in 0..<s { for j in 0..<d { x[i * d + j] -= meanF[j] } }
        var projection: [Double]   // bits × d
        let scheme: HashModel.Scheme
        let itqSample = min(s, itqRows)
        if bits <= d {
            scheme = .pcaITQ
            var cov = [Double](repeating: 0, count: d * d)
            x.withUnsafeBufferPointer { xb in
                var rowD = [Double](repeating: 0, count: d)
                for i in 0..<s {
                    for j in 0..<d { rowD[j] = Double(xb[i * d + j]) }
                    for a in 0..<d {
                        let va = rowD[a]
                        for b in a..<d { cov[a * d + b] += va * rowD[b] }
                    }
                }
            }
            for a in 0..<d { for b in a..<d { cov[a * d + b] /= Double(max(s - 1, 1)); cov[b * d + a] = cov[a * d + b] } }
            let (_, pcs) = LinearAlgebra.symmetricEigen(cov, n: d)   // rows: principal directions
            let p = Array(pcs[0..<(bits * d)])                      // bits × d
            let r = itq(x: x, rows: itqSample, d: d, basis: p, m: bits, iterations: options.iterations, rng: &rng)
            projection = LinearAlgebra.multiply(LinearAlgebra.transpose(r, r: bits, c: bits), p, r: bits, k: bits, c: d)
        } else {
            scheme = .centredRandomFrame
            var g = (0..<(bits * d)).map { _ in rng.nextGaussian() }    // bits × d
            LinearAlgebra.orthonormalizeColumns(&g, rows: bits, columns: d)
            projection = g
        }
        return try HashModel(dimension: d, bits: bits, scheme: scheme, mean: meanF,
                             projection: projection.map { Float($0) },
                             thresholds: [Float](repeating: 0, count: bits))
    }

    /// Sorted, distinct row numbers: all rows, or `sample` of them drawn uniformly.
    static func sampleRows(count: Int, sample: Int, rng: inout SplitMix64) -> [Int] {
        if sample >= count { return Array(0..<count) }
        // Floyd's algorithm: `sample` distinct values from 0..<count.
        var chosen = Set<Int>(minimumCapacity: sample)
        for j in (count - sample)..<count {
            let t = Int(rng.next() % UInt64(j + 1))
            if !chosen.insert(t).inserted { chosen.insert(j) }
        }
        return chosen.sorted()
    }

    /// The ITQ rotation `R` (`m × m`, row-major) for the centred rows of `x` projected on
    /// the `m` rows of `basis` (`m × d`): minimises `‖sign(V R) − V R‖` with `V = X basisᵀ`.
    static func itq(x: [Float], rows: Int, d: Int, basis: [Double], m: Int, iterations: Int,
                    rng: inout SplitMix64) -> [Double] {
        // V = X basisᵀ (rows × m), in Float for speed.
        let basisF = basis.map { Float($0) }
        var v = [Float](repeating: 0, count: rows * m)
        x.withUnsafeBufferPointer { xb in
            basisF.withUnsafeBufferPointer { bb in
                for i in 0..<rows {
                    for j in 0..<m {
                        v[i * m + j] = Vectors.dot(xb.baseAddress! + i * d, bb.baseAddress! + j * d, count: d)
                    }
                }
            }
        }
        var r = LinearAlgebra.randomOrthogonal(n: m, using: &rng)
        if iterations == 0 { return r }
        var rF = [Float](repeating: 0, count: m * m)
        var vr = [Float](repeating: 0, count: m)
        for _ in 0..<iterations {
            for i in 0..<(m * m) { rF[i] = Float(r[i]) }
            // M = Bᵀ V with B = sign(V R): accumulate row by row.
            var acc = [Double](repeating: 0, count: m * m)
            var mRows = [Float](repeating: 0, count: m * m)
            v.withUnsafeBufferPointer { vb in
                rF.withUnsafeBufferPointer { rb in
                    mRows.withUnsafeMutableBufferPointer { mb in
                        var chunk = 0
                        for i in 0..<rows {
                            let vi = vb.baseAddress! + i * m
                            for j in 0..<m { vr[j] = 0 }
                            for t in 0..<m {
                                let a = vi[t]
                                let rt = rb.baseAddress! + t * m
                                for j in 0..<m { vr[j] += a * rt[j] }
                            }
                            // mRows[j][t] += b_j * v_t
                            for j in 0..<m {
                                let sgn: Float = vr[j] >= 0 ? 1 : -1
                                let mj = mb.baseAddress! + j * m
                                for t in 0..<m { mj[t] += sgn * vi[t] }
                            }
                            chunk += 1
                            if chunk == 1024 {
                                for k in 0..<(m * m) { acc[k] += Double(mb[k]); mb[k] = 0 }
                                chunk = 0
                            }
                        }
                        for k in 0..<(m * m) { acc[k] += Double(mb[k]); mb[k] = 0 }
                    }
                }
            }
            // acc = Bᵀ V (m × m). Procrustes: R = argmax tr(Rᵀ Vᵀ B) = polar factor of Vᵀ B.
            r = LinearAlgebra.nearestOrthogonal(LinearAlgebra.transpose(acc, r: m, c: m), n: m)
        }
        return r
    }
}
