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

        public var description: String {
            switch self {
            case .pcaITQ: return "PCA + ITQ"
            case .centredRandomFrame: return "mean-centred random tight frame"
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

    public static func == (a: HashModel, b: HashModel) -> Bool {
        a.dimension == b.dimension && a.bits == b.bits && a.scheme == b.scheme && a.mean == b.mean
            && a.projection == b.projection && a.thresholds == b.thresholds
    }

    /// Encodes the unit vector `x` (`dimension` floats) into `code` (`words` words).
    ///
    /// Computes `y = Wx` as a sum of scaled columns (`y += x_i · Wᵀ[i]`), 8 bits at a time, in
    /// a fixed order: the same `x` always gives the same code.
    public func encode(_ x: UnsafeBufferPointer<Float>, into code: UnsafeMutableBufferPointer<UInt64>) {
        precondition(x.count >= dimension && code.count >= words)
        projectionT.withUnsafeBufferPointer { wt in
            offsets.withUnsafeBufferPointer { off in
                let w = UnsafeRawPointer(wt.baseAddress!)
                let o = UnsafeRawPointer(off.baseAddress!)
                for word in 0..<words {
                    var v: UInt64 = 0
                    for group in 0..<8 {
                        let j0 = word * 64 + group * 8
                        var y = SIMD8<Float>()
                        for i in 0..<dimension {
                            let col = w.loadUnaligned(fromByteOffset: (i * bits + j0) * 4, as: SIMD8<Float>.self)
                            y += SIMD8<Float>(repeating: x[i]) * col
                        }
                        let t = o.loadUnaligned(fromByteOffset: j0 * 4, as: SIMD8<Float>.self)
                        let mask = y .> t
                        for b in 0..<8 where mask[b] { v |= 1 << UInt64(group * 8 + b) }
                    }
                    code[word] = v
                }
            }
        }
    }

    /// The margins `y_j = ⟨w_j, x − μ⟩ − t_j` of the unit vector `x` (`bits` floats): bit `j`
    /// of its code is 1 exactly when `y_j > 0`.
    public func margins(_ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: bits)
        projection.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { xb in
                for j in 0..<bits {
                    y[j] = Vectors.dot(w.baseAddress! + j * dimension, xb.baseAddress!, count: dimension) - offsets[j]
                }
            }
        }
        return y
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
