/// Vectors held in memory as one flat, row-major `[Float]`.
public struct InMemoryVectors: VectorSource {
    /// The rows, concatenated.
    public let values: [Float]
    /// The length of every row.
    public let dimension: Int
    /// The source's name in error messages.
    public let name: String
    /// The number of rows.
    public var count: Int { dimension == 0 ? 0 : values.count / dimension }

    /// Wraps `values` (row-major, `count × dimension`).
    ///
    /// - Throws: ``HashIdxError/invalidArgument(name:reason:)`` when `dimension` is not
    ///   positive or does not divide `values.count`.
    public init(values: [Float], dimension: Int, name: String = "in-memory vectors") throws(HashIdxError) {
        guard dimension > 0 else {
            throw .invalidArgument(name: "dimension", reason: "must be positive, got \(dimension)")
        }
        guard values.count % dimension == 0 else {
            throw .invalidArgument(name: "values", reason: "\(values.count) floats is not a whole number of rows of dimension \(dimension)")
        }
        self.values = values
        self.dimension = dimension
        self.name = name
    }

    /// Wraps an array of rows, all of the same length.
    public init(rows: [[Float]], name: String = "in-memory vectors") throws(HashIdxError) {
        guard let first = rows.first else {
            throw .emptyInput(path: name)
        }
        for (i, r) in rows.enumerated() where r.count != first.count {
            throw .dimensionMismatch(expected: first.count, actual: r.count, source: "\(name) row \(i)")
        }
        try self.init(values: rows.flatMap { $0 }, dimension: first.count, name: name)
    }

    /// Copies row `row`, converted to `Float`, into `buffer` (`dimension` floats).
    public func copyRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>) {
        values.withUnsafeBufferPointer { v in
            let start = row * dimension
            for j in 0..<dimension { buffer[j] = v[start + j] }
        }
    }
}
