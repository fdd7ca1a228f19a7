import CHashIdxKernels

/// A vectors file, memory-mapped and validated: `.npy`, `.fvecs` or `.fbin`.
///
/// - `.npy`: NumPy format versions 1–3, a 2-D C-order array of little-endian
///   `float32`, `float16` or `float64`.
/// - `.fvecs` (TEXMEX): each row is an `int32` dimension followed by that many `float32`.
/// - `.fbin`: `uint32` rows, `uint32` dimension, then the rows as `float32`.
///
/// Opening checks the header and that the file's size matches it exactly; rows are
/// converted to `Float` on demand.
public struct VectorFile: VectorSource {
    /// The element type stored in the file.
    public enum ScalarType: String, Sendable {
        /// IEEE 754 half precision (`.npy` dtype `<f2`).
        case float16
        /// IEEE 754 single precision (`.npy` `<f4`, `.fvecs`, `.fbin`).
        case float32
        /// IEEE 754 double precision (`.npy` `<f8`).
        case float64

        var size: Int {
            switch self {
            case .float16: return 2
            case .float32: return 4
            case .float64: return 8
            }
        }
    }

    /// The file's format.
    public enum Format: String, Sendable {
        /// NumPy's `.npy`: a 2-D C-order array of `float16`, `float32` or `float64`.
        case npy
        /// TEXMEX `.fvecs`: each row an `int32` dimension followed by that many `float32`.
        case fvecs
        /// `.fbin` (big-ann-benchmarks): `uint32` rows, `uint32` dimension, then the rows as `float32`.
        case fbin
    }

    /// The source's name in error messages (the file's path).
    public let name: String
    /// The number of rows.
    public let count: Int
    /// The length of every row.
    public let dimension: Int
    /// The element type in the file.
    public let scalarType: ScalarType
    /// The format, chosen by the file's extension.
    public let format: Format

    private let file: MappedFile
    private let dataOffset: Int
    private let rowStride: Int

    /// Opens and validates the vectors file at `path`.
    public init(path: String) throws(HashIdxError) {
        let format: Format
        let lower = path.lowercased()
        if lower.hasSuffix(".npy") {
            format = .npy
        } else if lower.hasSuffix(".fvecs") {
            format = .fvecs
        } else if lower.hasSuffix(".fbin") {
            format = .fbin
        } else {
            throw .unknownFormat(path: path, reason: "unknown extension; vectors must be .npy, .fvecs or .fbin")
        }
        let file = try MappedFile(path: path)
        let layout: (rows: Int, dim: Int, type: ScalarType, offset: Int, stride: Int)
        switch format {
        case .npy: layout = try Self.parseNpy(file)
        case .fvecs: layout = try Self.parseFvecs(file)
        case .fbin: layout = try Self.parseFbin(file)
        }
        self.name = path
        self.file = file
        self.format = format
        self.count = layout.rows
        self.dimension = layout.dim
        self.scalarType = layout.type
        self.dataOffset = layout.offset
        self.rowStride = layout.stride
        if count == 0 { throw .emptyInput(path: path) }
    }

    /// Drops the file's pages from this process's resident set (they stay in the page cache).
    public func releaseResidentPages() { file.releaseResidentPages() }

    /// Copies row `row`, converted to `Float`, into `buffer` (`dimension` floats).
    public func copyRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>) {
        convert(file.bytes, at: dataOffset + row * rowStride, into: buffer)
    }

    /// Reads row `row` with `pread` instead of through the memory map, so that scattered
    /// reads (training samples) do not map the neighbouring pages into the resident set
    /// (the kernel maps up to 64 KB around every page fault). Falls back to the map if the
    /// read fails.
    public func copySampledRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>) {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: rowStride, alignment: 8)
        defer { raw.deallocate() }
        guard file.read(into: raw, at: dataOffset + row * rowStride) else {
            copyRow(row, into: buffer)
            return
        }
        convert(UnsafeRawBufferPointer(raw), at: 0, into: buffer)
    }

    /// Converts the row stored at `start` in `bytes` to `Float`.
    private func convert(_ bytes: UnsafeRawBufferPointer, at start: Int, into buffer: UnsafeMutableBufferPointer<Float>) {
        switch scalarType {
        case .float32:
            for j in 0..<dimension {
                buffer[j] = Float(bitPattern: bytes.le(UInt32.self, at: start + 4 * j))
            }
        case .float64:
            for j in 0..<dimension {
                buffer[j] = Float(Double(bitPattern: bytes.le(UInt64.self, at: start + 8 * j)))
            }
        case .float16:
            let halves = bytes.baseAddress! + start
            if Int(bitPattern: halves) % 2 == 0 {
                hidx_half_to_float(halves.assumingMemoryBound(to: UInt16.self), buffer.baseAddress!, dimension)
            } else {
                let aligned = (0..<dimension).map { bytes.le(UInt16.self, at: start + 2 * $0) }
                hidx_half_to_float(aligned, buffer.baseAddress!, dimension)
            }
        }
    }

    // MARK: - Parsers

    private static func parseNpy(_ file: MappedFile) throws(HashIdxError) -> (Int, Int, ScalarType, Int, Int) {
        let path = file.path
        let header = try NpyHeader(file: file)
        let type: ScalarType
        switch header.descr {
        case "<f4", "=f4": type = .float32
        case "<f2", "=f2": type = .float16
        case "<f8", "=f8": type = .float64
        default:
            throw .malformedInput(path: path, reason: "unsupported dtype '\(header.descr)'; use little-endian float32, float16 or float64")
        }
        try header.checkMatrix(itemSize: type.size, fileSize: file.bytes.count, path: path, what: "rows × dimension")
        let rows = header.shape[0], dim = header.shape[1]
        guard dim > 0 || rows == 0 else { throw .malformedInput(path: path, reason: "dimension is 0") }
        if rows == 0 { throw .emptyInput(path: path) }
        return (rows, dim, type, header.dataOffset, dim * type.size)
    }

    private static func parseFvecs(_ file: MappedFile) throws(HashIdxError) -> (Int, Int, ScalarType, Int, Int) {
        let b = file.bytes
        let path = file.path
        if b.count == 0 { throw .emptyInput(path: path) }
        guard b.count >= 4 else { throw .malformedInput(path: path, reason: "truncated: \(b.count) bytes is shorter than one row header") }
        let d = Int(Int32(bitPattern: b.le(UInt32.self, at: 0)))
        guard d > 0, d <= 1 << 20 else {
            throw .malformedInput(path: path, reason: "row 0 declares dimension \(d); expected 1…\(1 << 20)")
        }
        let stride = 4 + 4 * d
        guard b.count % stride == 0 else {
            throw .malformedInput(path: path, reason: "file size \(b.count) is not a whole number of rows of dimension \(d) (\(stride) bytes each); the file is truncated or not .fvecs")
        }
        let rows = b.count / stride
        for r in 0..<rows {
            let dr = Int(Int32(bitPattern: b.le(UInt32.self, at: r * stride)))
            if dr != d {
                throw .malformedInput(path: path, reason: "row \(r) declares dimension \(dr), row 0 declared \(d)")
            }
        }
        return (rows, d, .float32, 4, stride)
    }

    private static func parseFbin(_ file: MappedFile) throws(HashIdxError) -> (Int, Int, ScalarType, Int, Int) {
        let b = file.bytes
        let path = file.path
        if b.count == 0 { throw .emptyInput(path: path) }
        guard b.count >= 8 else { throw .malformedInput(path: path, reason: "truncated header: \(b.count) bytes, need 8") }
        let rows = Int(b.le(UInt32.self, at: 0))
        let d = Int(b.le(UInt32.self, at: 4))
        guard d > 0 || rows == 0 else { throw .malformedInput(path: path, reason: "dimension is 0") }
        let (cells, o1) = rows.multipliedReportingOverflow(by: d)
        let expected = o1 || cells > (Int.max - 8) / 4 ? Int.max : 8 + cells * 4
        guard expected == b.count else {
            throw .malformedInput(path: path, reason: "file size \(b.count) does not match its header: \(rows) rows × \(d) float32 need \(expected == Int.max ? "more than can exist" : String(expected)) bytes")
        }
        if rows == 0 { throw .emptyInput(path: path) }
        return (rows, d, .float32, 8, d * 4)
    }
}
