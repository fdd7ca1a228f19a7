import CHashIdxKernels

/// The learned hash function: `code bit j = 1  ⇔  ⟨w_j, x − μ⟩ > t_j` for a unit vector `x`,
/// or, for a two-layer supervised head, `⟨w_j, relu(V (x − μ) + c)⟩ > t_j`.
///
/// `μ` is the mean of the (unit-normalised) training sample, `w_j` row `j` of the
/// projection, `t_j` bit `j`'s threshold, `V` and `c` the ``HiddenLayer``. Bit `j` is stored in 64-bit word `j / 64`
/// at bit position `j % 64` (least significant first). The same input always produces
/// the same code: encoding is one fixed sequence of `Float` operations.
public struct HashModel: Sendable, Equatable {
    /// How the projection was trained.
    public enum Scheme: UInt32, Sendable, CustomStringConvertible {
        /// Mean-centring, PCA to `bits` components, then an ITQ rotation (bits ≤ dimension).
        case pcaITQ = 1
        /// Mean-centring, then a random projection whose `bits` rows form a tight frame (its
        /// `dimension` columns are orthonormal), for bits > dimension. Measured on GloVe-50 at
        /// 64, 128 and 256 bits, this finds as many true neighbours as FAISS's random
        /// rotation + trained thresholds, while an ITQ rotation on the first `dimension` bits
        /// or ITQ on the lifted space find fewer (see README, "Hashing").
        case centredRandomFrame = 2
        /// One of the two above, then fine-tuned on the catalog's labels or pairs (the
        /// supervised head, `Trainer+Supervised`; ``TrainingInfo/supervision`` says how).
        case supervised = 3

        /// The scheme's name, as `hashidx info` prints it.
        public var description: String {
            switch self {
            case .pcaITQ: return "PCA + ITQ"
            case .centredRandomFrame: return "mean-centred random tight frame"
            case .supervised: return "supervised linear head (from PCA + ITQ or a random frame)"
            }
        }
    }

    /// The input dimension.
    public let dimension: Int
    /// The code length in bits (a multiple of 64).
    public let bits: Int
    /// The training scheme.
    public let scheme: Scheme
    /// The mean `μ` of the unit-normalised training sample (`dimension` floats).
    public let mean: [Float]
    /// The projection, row-major `bits × dimension`.
    public let projection: [Float]
    /// Per-bit thresholds `t_j` (`bits` floats).
    public let thresholds: [Float]
    /// The hidden layer of a two-layer head (`nil`: the model is linear). With it, the
    /// projection is `bits × hidden.units` and applies to the hidden layer's output.
    public let hidden: HiddenLayer?

    /// Per-bit offsets `t_j + ⟨w_j, μ⟩` (linear) or `t_j` (two-layer), so that encoding is
    /// one projection and a compare.
    private let offsets: [Float]
    /// The projection transposed (`inputs × bits`), so that encoding runs over contiguous
    /// bits with SIMD.
    private let projectionT: [Float]
    /// The hidden layer transposed (`dimension × units`) and its offsets `⟨v_k, μ⟩ − c_k`.
    private let hiddenT: [Float]
    private let hiddenOffsets: [Float]

    /// The inputs of the projection: `dimension`, or the hidden units.
    public var projectionInputs: Int { hidden?.units ?? dimension }

    /// The number of 64-bit words in one code.
    public var words: Int { bits / 64 }

    /// Creates a model from its parts (as read from an index or produced by training).
    public init(dimension: Int, bits: Int, scheme: Scheme, mean: [Float], projection: [Float], thresholds: [Float],
                hidden: HiddenLayer? = nil) throws(HashIdxError) {
        guard dimension > 0 else { throw .invalidArgument(name: "dimension", reason: "must be positive") }
        guard bits > 0, bits % 64 == 0 else {
            throw .invalidArgument(name: "bits", reason: "must be a positive multiple of 64, got \(bits)")
        }
        let inputs = hidden?.units ?? dimension
        guard mean.count == dimension, projection.count == bits * inputs, thresholds.count == bits else {
            throw .invalidArgument(name: "model", reason: "parts do not match dimension \(dimension) and bits \(bits)")
        }
        if let hidden {
            guard hidden.units > 0, hidden.units % 64 == 0, hidden.weights.count == hidden.units * dimension,
                  hidden.bias.count == hidden.units else {
                throw .invalidArgument(name: "model", reason: "the hidden layer does not match dimension \(dimension) (units must be a positive multiple of 64)")
            }
        }
        guard mean.allSatisfy(\.isFinite), projection.allSatisfy(\.isFinite), thresholds.allSatisfy(\.isFinite),
              hidden.map({ $0.weights.allSatisfy(\.isFinite) && $0.bias.allSatisfy(\.isFinite) }) ?? true else {
            throw .invalidArgument(name: "model", reason: "contains NaN or infinite values")
        }
        self.dimension = dimension
        self.bits = bits
        self.scheme = scheme
        self.mean = mean
        self.projection = projection
        self.thresholds = thresholds
        self.hidden = hidden
        // Offsets of the layer applied to x: `⟨row, μ⟩ − bias` (hidden) or `⟨w_j, μ⟩ + t_j` (linear).
        func offsets(_ rows: [Float], count: Int, minus bias: [Float]) -> [Float] {
            rows.withUnsafeBufferPointer { w in
                mean.withUnsafeBufferPointer { m in
                    (0..<count).map { Vectors.dot(w.baseAddress! + $0 * dimension, m.baseAddress!, count: dimension) - bias[$0] }
                }
            }
        }
        // Every layer's outputs for a unit vector stay finite: |v·x| ≤ ‖v‖ for each row v,
        // then |Σ w a| ≤ Σ |w| · max|a|.
        func bound(_ rows: [Float], count: Int, width: Int, offsets: [Float], inputBound: Float) -> [Float]? {
            var out: [Float] = []
            for j in 0..<count {
                var sum: Float = 0
                for i in 0..<width { sum += abs(rows[j * width + i]) }
                let b = sum * inputBound + abs(offsets[j])
                guard b.isFinite else { return nil }
                out.append(b)
            }
            return out
        }
        if let hidden {
            let hOffsets = offsets(hidden.weights, count: hidden.units, minus: hidden.bias)
            guard let hb = bound(hidden.weights, count: hidden.units, width: dimension, offsets: hOffsets, inputBound: 2),
                  bound(projection, count: bits, width: inputs, offsets: thresholds, inputBound: hb.max() ?? 0) != nil else {
                throw .invalidArgument(name: "model", reason: "values too large: the two-layer head overflows single precision")
            }
            self.hiddenOffsets = hOffsets
            self.hiddenT = Self.transposed(hidden.weights, rows: hidden.units, columns: dimension)
            self.offsets = thresholds
        } else {
            let o = offsets(projection, count: bits, minus: thresholds.map { -$0 })
            guard bound(projection, count: bits, width: dimension, offsets: o, inputBound: 2) != nil else {
                throw .invalidArgument(name: "model", reason: "values too large: a projection row overflows single precision")
            }
            self.offsets = o
            self.hiddenT = []
            self.hiddenOffsets = []
        }
        self.projectionT = Self.transposed(projection, rows: bits, columns: inputs)
    }

    /// The `columns × rows` transpose of a row-major `rows × columns` matrix.
    private static func transposed(_ a: [Float], rows: Int, columns: Int) -> [Float] {
        var t = [Float](repeating: 0, count: rows * columns)
        for j in 0..<rows { for i in 0..<columns { t[i * rows + j] = a[j * columns + i] } }
        return t
    }

    /// Models are equal when they encode alike: the same dimension, bits, scheme, mean,
    /// projection and thresholds.
    public static func == (a: HashModel, b: HashModel) -> Bool {
        a.dimension == b.dimension && a.bits == b.bits && a.scheme == b.scheme && a.mean == b.mean
            && a.projection == b.projection && a.thresholds == b.thresholds && a.hidden == b.hidden
    }

    /// Writes the margins `y_j = ⟨w_j, x⟩ − (t_j + ⟨w_j, μ⟩) = ⟨w_j, x − μ⟩ − t_j` of the unit
    /// vector `x` (`dimension` floats) to `margins` (`bits` floats): bit `j` of its code is 1
    /// exactly when `y_j > 0`. With a hidden layer, `y_j = ⟨w_j, relu(V (x − μ) + c)⟩ − t_j`.
    ///
    /// A fixed sequence of `Float` operations, so the same `x` always gives the same margins
    /// and the same code.
    public func project(_ x: UnsafeBufferPointer<Float>, into margins: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count >= dimension && margins.count >= bits)
        guard let hidden else {
            Self.affine(x.baseAddress!, inputs: dimension, transposed: projectionT, offsets: offsets, outputs: bits,
                        into: margins.baseAddress!)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: hidden.units) { a in
            Self.affine(x.baseAddress!, inputs: dimension, transposed: hiddenT, offsets: hiddenOffsets, outputs: hidden.units,
                        into: a.baseAddress!)
            for k in 0..<hidden.units { a[k] = max(a[k], 0) }
            Self.affine(a.baseAddress!, inputs: hidden.units, transposed: projectionT, offsets: offsets, outputs: bits,
                        into: margins.baseAddress!)
        }
    }

    /// `out = Wx − offsets` for the `outputs × inputs` matrix `W` given transposed
    /// (`inputs × outputs`); `outputs` a multiple of 64.
    ///
    /// Computes `Wx` as a sum of scaled columns (`y += x_i · Wᵀ[i]`), 64 outputs at a time, in
    /// a fixed order, so the same `x` always gives the same result.
    private static func affine(_ x: UnsafePointer<Float>, inputs: Int, transposed: [Float], offsets: [Float], outputs: Int,
                               into out: UnsafeMutablePointer<Float>) {
        transposed.withUnsafeBufferPointer { wt in
            offsets.withUnsafeBufferPointer { off in
                let w = UnsafeRawPointer(wt.baseAddress!)
                let o = UnsafeRawPointer(off.baseAddress!)
                let m = UnsafeMutableRawPointer(out)
                // 64 outputs at a time (eight SIMD8 accumulators, kept in registers), reading
                // each row of Wᵀ contiguously; every output is the same chain of multiplies
                // and adds over i = 0, 1, … whatever the blocking.
                for j0 in stride(from: 0, to: outputs, by: 64) {
                    var y0 = SIMD8<Float>(), y1 = y0, y2 = y0, y3 = y0, y4 = y0, y5 = y0, y6 = y0, y7 = y0
                    for i in 0..<inputs {
                        let xi = SIMD8<Float>(repeating: x[i])
                        let row = (i * outputs + j0) * 4
                        y0 += xi * w.loadUnaligned(fromByteOffset: row, as: SIMD8<Float>.self)
                        y1 += xi * w.loadUnaligned(fromByteOffset: row + 32, as: SIMD8<Float>.self)
                        y2 += xi * w.loadUnaligned(fromByteOffset: row + 64, as: SIMD8<Float>.self)
                        y3 += xi * w.loadUnaligned(fromByteOffset: row + 96, as: SIMD8<Float>.self)
                        y4 += xi * w.loadUnaligned(fromByteOffset: row + 128, as: SIMD8<Float>.self)
                        y5 += xi * w.loadUnaligned(fromByteOffset: row + 160, as: SIMD8<Float>.self)
                        y6 += xi * w.loadUnaligned(fromByteOffset: row + 192, as: SIMD8<Float>.self)
                        y7 += xi * w.loadUnaligned(fromByteOffset: row + 224, as: SIMD8<Float>.self)
                    }
                    for (k, y) in [y0, y1, y2, y3, y4, y5, y6, y7].enumerated() {
                        let at = (j0 + 8 * k) * 4
                        m.storeBytes(of: y - o.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self), toByteOffset: at, as: SIMD8<Float>.self)
                    }
                }
            }
        }
    }

    /// `P x` (no mean, no thresholds) for `count` row-major rows `x` of `dimension` floats,
    /// written row-major (`count × bits`) to `out`; a linear model only. For approximations
    /// (``ProjectedCentroids``): its rounding differs from ``project(_:into:)``'s.
    func applyProjection(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(hidden == nil)
        projectionT.withUnsafeBufferPointer { t in hidx_dot_transposed(x, count, dimension, t.baseAddress!, bits, out) }
    }

    /// The code whose bit `j` is 1 exactly when `margins[j] > 0`, written to `code` (`words` words).
    public func code(fromMargins margins: UnsafeBufferPointer<Float>, into code: UnsafeMutableBufferPointer<UInt64>) {
        precondition(margins.count >= bits && code.count >= words)
        for word in 0..<words {
            var v: UInt64 = 0
            for b in 0..<64 where margins[word * 64 + b] > 0 { v |= 1 << UInt64(b) }
            code[word] = v
        }
    }

    /// Encodes the unit vector `x` (`dimension` floats) into `code` (`words` words): the signs
    /// of ``project(_:into:)``. (For finite `y` and `t`, `y − t > 0` exactly when `y > t`.)
    public func encode(_ x: UnsafeBufferPointer<Float>, into code: UnsafeMutableBufferPointer<UInt64>) {
        precondition(x.count >= dimension && code.count >= words)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: bits) { m in
            project(x, into: m)
            self.code(fromMargins: UnsafeBufferPointer(m), into: code)
        }
    }

    /// The margins of the unit vector `x` (see ``project(_:into:)``).
    public func margins(_ x: [Float]) -> [Float] {
        [Float](unsafeUninitializedCapacity: bits) { b, n in
            x.withUnsafeBufferPointer { project($0, into: b) }
            n = bits
        }
    }

    /// The code of the unit vector `x`.
    public func encode(_ x: [Float]) -> [UInt64] {
        var code = [UInt64](repeating: 0, count: words)
        x.withUnsafeBufferPointer { xb in
            code.withUnsafeMutableBufferPointer { encode(xb, into: $0) }
        }
        return code
    }
}

/// The hidden layer of a two-layer hash head: `a = relu(V (x − μ) + c)`.
public struct HiddenLayer: Sendable, Equatable {
    /// `V`: `units` rows of `dimension` floats (row-major).
    public let weights: [Float]
    /// `c`: one bias per unit.
    public let bias: [Float]
    /// The number of units (a multiple of 64).
    public var units: Int { bias.count }

    /// Creates a layer from its weights (`units × dimension`, row-major) and biases.
    public init(weights: [Float], bias: [Float]) {
        self.weights = weights
        self.bias = bias
    }
}
