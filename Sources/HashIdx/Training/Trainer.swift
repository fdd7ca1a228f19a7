/// Trains a ``HashModel`` on a sample of a ``VectorSource``.
///
/// - bits ≤ dimension: mean-centring, PCA to `bits` components, ITQ rotation
///   (Gong & Lazebnik 2011): alternately fix the codes `B = sign(V R)` and solve the
///   orthogonal Procrustes problem for `R`.
/// - bits > dimension: mean-centring and a random tight frame
///   (see ``HashModel/Scheme/centredRandomFrame``).
enum Trainer {
    /// ITQ runs on at most this many sampled rows; more changes the rotation little and
    /// costs linear time. Measured on Fashion-MNIST (784-d, 256 bits, 2,000 queries, plain
    /// Hamming R10@100 / R10@1000): 50,000 rows 0.9068 / 0.9973, 20,000 rows 0.9069 / 0.9967,
    /// 10,000 rows 0.9054 / 0.9967; 20,000 rows train in half the time of 50,000.
    static let itqRows = 20_000

    /// The supervised head reads at least this many principal components (all of them when
    /// the dimension is smaller, `bits` when that is larger). Measured on Fashion-MNIST at 64
    /// bits: 64 components gave mAP@1000 0.854, 128 gave 0.874.
    static let headComponents = 128

    /// Trains the hash function on a sample of `source`; `onEpoch` hears each epoch of a
    /// supervised head as it ends (epochs done, of all).
    static func train(source: any VectorSource, options: TrainingOptions,
                      onEpoch: (Int, Int) -> Void = { _, _ in }) throws(HashIdxError) -> HashModel {
        try options.validate()
        try validateSupervision(options, rows: source.count)
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
        var principal: [Double] = []   // principal directions (rows), when computed
        if bits <= d {
            scheme = .pcaITQ
            var cov = LinearAlgebra.gram(x, rows: s, d: d)
            for i in 0..<(d * d) { cov[i] /= Double(max(s - 1, 1)) }
            let (_, pcs) = LinearAlgebra.symmetricEigen(cov, n: d)   // rows: principal directions
            principal = pcs
            let p = Array(pcs[0..<(bits * d)])                      // bits × d
            let r = itq(x: x, rows: itqSample, d: d, basis: p, m: bits, iterations: options.iterations, rng: &rng)
            projection = LinearAlgebra.multiply(LinearAlgebra.transpose(r, r: bits, c: bits), p, r: bits, k: bits, c: d)
        } else {
            scheme = .centredRandomFrame
            var g = (0..<(bits * d)).map { _ in rng.nextGaussian() }    // bits × d
            LinearAlgebra.orthonormalizeColumns(&g, rows: bits, columns: d)
            projection = g
        }
        var projectionF = projection.map { Float($0) }
        var trainedScheme = scheme
        var hidden: HiddenLayer? = nil
        if let supervision = options.supervision, options.supervisionWeight > 0 {
            // The head trains on the labelled sample, or on the rows the pairs name.
            var headRows = rows
            if case .pairs(let pairs) = supervision {
                headRows = Array(Set(pairs.first).union(pairs.second)).sorted()
                x = try source.unitRows(headRows)
                for i in 0..<headRows.count { for j in 0..<d { x[i * d + j] -= meanF[j] } }
            }
            // The head reads the top `r` principal components (the input space itself for a
            // random frame): training costs grow with r, not d.
            let r = principal.isEmpty ? d : min(d, headComponents)
            var basis = [Float](repeating: 0, count: r * d)
            if principal.isEmpty {
                for i in 0..<d { basis[i * d + i] = 1 }
            } else {
                for i in 0..<(r * d) { basis[i] = Float(principal[i]) }
            }
            let head = trainHead(x: x, rows: headRows, d: d, bits: bits, w0: projectionF, basis: basis, r: r,
                                 supervision: supervision, weight: options.supervisionWeight, epochs: options.epochs,
                                 twoLayer: options.head == .twoLayer, rng: &rng, onEpoch: onEpoch)
            projectionF = head.projection
            hidden = head.hidden
            trainedScheme = .supervised
        }
        return try HashModel(dimension: d, bits: bits, scheme: trainedScheme, mean: meanF,
                             projection: projectionF,
                             thresholds: [Float](repeating: 0, count: bits), hidden: hidden)
    }

    /// Throws when the supervision in `options` does not fit an input of `rows` rows.
    static func validateSupervision(_ options: TrainingOptions, rows: Int) throws(HashIdxError) {
        switch options.supervision {
        case nil: return
        case .labels(let labels):
            guard labels.count == rows else {
                throw .invalidArgument(name: "labels", reason: "there are labels for \(labels.count) rows but \(rows) vectors; give one line per row (an empty line for a row without labels)")
            }
            let classes = labels.classCount
            guard classes >= 2 else {
                throw .invalidArgument(name: "labels", reason: classes == 0 ? "no row has a label" : "every labelled row has the same single label '\(labels.names.first ?? "")'; supervision needs at least two classes")
            }
        case .pairs(let pairs):
            try pairs.validate(rows: rows, source: "pairs")
        }
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
}
