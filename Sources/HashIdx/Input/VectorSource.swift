/// Rows of float vectors that an index can be built from.
///
/// Conforming types hand out one row at a time, converted to `Float`, so that a source
/// backed by a memory-mapped file never has to be read into memory whole.
public protocol VectorSource: Sendable {
    /// The number of rows.
    var count: Int { get }
    /// The length of every row.
    var dimension: Int { get }
    /// A name for error messages: a file path, or a description of in-memory data.
    var name: String { get }
    /// Copies row `row` (0-based, `< count`) into `buffer`, which holds `dimension` floats.
    func copyRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>)
    /// Copies row `row` like ``copyRow(_:into:)``, for scattered reads (samples): a
    /// memory-mapped source reads it without mapping the pages around it.
    func copySampledRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>)
    /// Gives back memory held for rows already read (a memory-mapped file drops its pages
    /// from the resident set). Builders call it between passes; rows stay readable.
    func releaseResidentPages()
}

extension VectorSource {
    /// Rows `rows` (all rows when `nil`), unit-normalised, row-major. Chosen rows are read as
    /// samples (``copySampledRow(_:into:)``). Throws for NaN, ∞ or an all-zero row, naming
    /// its row number.
    func unitRows(_ rows: [Int]? = nil) throws(HashIdxError) -> [Float] {
        let d = dimension
        let n = rows?.count ?? count
        var out = [Float](repeating: 0, count: n * d)
        try out.withUnsafeMutableBufferPointer { (o) throws(HashIdxError) in
            for i in 0..<n {
                let buffer = UnsafeMutableBufferPointer(rebasing: o[(i * d)..<((i + 1) * d)])
                let row = rows?[i] ?? i
                if rows == nil { copyRow(row, into: buffer) } else { copySampledRow(row, into: buffer) }
                _ = try Vectors.normalize(buffer, source: name, row: row)
            }
        }
        return out
    }

    /// By default the same as ``copyRow(_:into:)``.
    public func copySampledRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>) { copyRow(row, into: buffer) }
    /// Nothing to give back by default.
    public func releaseResidentPages() {}
}
