/// The learned hash function: `code bit j = 1  ⇔  ⟨w_j, x − μ⟩ > t_j` for a unit vector `x`.
///
/// `μ` is the mean of the (unit-normalised) training sample, `w_j` row `j` of the
/// projection, `t_j` bit `j`'s threshold. Bit `j` is stored in 64-bit word `j / 64`
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

    /// Per-bit offsets `t_j + ⟨w_j, μ⟩`, so that encoding is one projection and a compare.
    private let offsets: [Float]
    /// The projection transposed (`dimension × bits`), so that encoding runs over
    /// contiguous bits with SIMD.
    private let projectionT: [Float]

    /// The number of 64-bit words in one code.
    public var words: Int { bits / 64 }

    /// Creates a model from its parts (as read from an index or produced by training).
    public init(dimension: Int, bits: Int, scheme: Scheme, mean: [Float], projection: [Float], thresholds: [Float]) throws(HashIdxError) {
        guard dimension > 0 else { throw .invalidArgument(name: "dimension", reason: "must be positive") }
        guard bits > 0, bits % 64 == 0 else {
            throw .invalidArgument(name: "bits", reason: "must be a positive multiple of 64, got \(bits)")
        }
        guard mean.count == dimension, projection.count == bits * dimension, thresholds.count == bits else {
            throw .invalidArgument(name: "model", reason: "parts do not match dimension \(dimension) and bits \(bits)")
        }
        guard mean.allSatisfy(\.isFinite), projection.allSatisfy(\.isFinite), thresholds.allSatisfy(\.isFinite) else {
            throw .invalidArgument(name: "model", reason: "contains NaN or infinite values")
        }
        self.dimension = dimension
        self.bits = bits
        self.scheme = scheme
        self.mean = mean
        self.projection = projection
        self.thresholds = thresholds
        var offsets = [Float](repeating: 0, count: bits)
        projection.withUnsafeBufferPointer { w in
            mean.withUnsafeBufferPointer { m in
                for j in 0..<bits {
                    offsets[j] = thresholds[j] + Vectors.dot(w.baseAddress! + j * dimension, m.baseAddress!, count: dimension)
                }
            }
        }
        // Margins of unit vectors stay finite: |w·x| ≤ ‖w‖ for every projection row w.
        for j in 0..<bits {
            let norm2 = projection.withUnsafeBufferPointer { w in
                Vectors.dot(w.baseAddress! + j * dimension, w.baseAddress! + j * dimension, count: dimension)
            }
            guard norm2.isFinite, offsets[j].isFinite, (norm2.squareRoot() + abs(offsets[j])).isFinite else {
                throw .invalidArgument(name: "model", reason: "values too large: projection row \(j) overflows single precision")
            }
        }
        self.offsets = offsets
        var t = [Float](repeating: 0, count: bits * dimension)
        for j in 0..<bits { for i in 0..<dimension { t[i * bits + j] = projection[j * dimension + i] } }
        self.projectionT = t
    }

    /// Models are equal when they encode alike: the same dimension, bits, scheme, mean,
    /// projection and thresholds.
    public static func == (a: HashModel, b: HashModel) -> Bool {
        a.dimension == b.dimension && a.bits == b.bits && a.scheme == b.scheme && a.mean == b.mean
            && a.projection == b.projection && a.thresholds == b.thresholds
    }

    /// Writes the margins `y_j = ⟨w_j, x⟩ − (t_j + ⟨w_j, μ⟩) = ⟨w_j, x − μ⟩ − t_j` of the unit
    /// vector `x` (`dimension` floats) to `margins` (`bits` floats): bit `j` of its code is 1
    /// exactly when `y_j > 0`.
    ///
    /// Computes `Wx` as a sum of scaled columns (`y += x_i · Wᵀ[i]`), 64 bits at a time, in a
    /// fixed order, so the same `x` always gives the same margins and the same code.
    public func project(_ x: UnsafeBufferPointer<Float>, into margins: UnsafeMutableBufferPointer<Float>) {
        precondition(x.count >= dimension && margins.count >= bits)
        projectionT.withUnsafeBufferPointer { wt in
            offsets.withUnsafeBufferPointer { off in
                let w = UnsafeRawPointer(wt.baseAddress!)
                let o = UnsafeRawPointer(off.baseAddress!)
                let m = UnsafeMutableRawPointer(margins.baseAddress!)
                // 64 outputs at a time (eight SIMD8 accumulators, kept in registers), reading
                // each row of Wᵀ contiguously; every output is the same chain of multiplies
                // and adds over i = 0, 1, … whatever the blocking.
                for j0 in stride(from: 0, to: bits, by: 64) {
                    var y0 = SIMD8<Float>(), y1 = y0, y2 = y0, y3 = y0, y4 = y0, y5 = y0, y6 = y0, y7 = y0
                    for i in 0..<dimension {
                        let xi = SIMD8<Float>(repeating: x[i])
                        let row = (i * bits + j0) * 4
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
