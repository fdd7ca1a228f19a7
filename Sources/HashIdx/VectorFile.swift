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
        case float16, float32, float64

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
        case npy, fvecs, fbin
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
            for j in 0..<dimension {
                buffer[j] = HalfFloat.toFloat(bytes.le(UInt16.self, at: start + 2 * j))
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

/// The fields of a `.npy` header that HashIdx needs, and where the data starts.
struct NpyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
    /// Offset of the array data in the file.
    var dataOffset = 0

    /// Reads the magic, version and header dictionary of the `.npy` file `file`.
    init(file: MappedFile) throws(HashIdxError) {
        let b = file.bytes
        let path = file.path
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY
        guard b.count >= 10, (0..<6).allSatisfy({ b[$0] == magic[$0] }) else {
            throw .malformedInput(path: path, reason: "not a NumPy .npy file (bad magic)")
        }
        let headerLength: Int
        let headerStart: Int
        switch b[6] {
        case 1:
            headerLength = Int(b.le(UInt16.self, at: 8)); headerStart = 10
        case 2, 3:
            guard b.count >= 12 else { throw .malformedInput(path: path, reason: "truncated .npy header") }
            headerLength = Int(b.le(UInt32.self, at: 8)); headerStart = 12
        default:
            throw .malformedInput(path: path, reason: "unsupported .npy format version \(b[6])")
        }
        guard headerLength <= b.count - headerStart else {
            throw .malformedInput(path: path, reason: "truncated .npy header: it claims \(headerLength) bytes, the file has \(b.count - headerStart) left")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: b[headerStart..<(headerStart + headerLength)])
        guard let text = String(validating: headerBytes, as: UTF8.self) else {
            throw .malformedInput(path: path, reason: "the .npy header is not text")
        }
        try self.init(text: text, path: path)
        dataOffset = headerStart + headerLength
    }

    /// Checks that the array is a C-order matrix (`what` names its axes) whose data of
    /// `itemSize`-byte elements fills the rest of the file exactly.
    func checkMatrix(itemSize: Int, fileSize: Int, path: String, what: String) throws(HashIdxError) {
        if fortranOrder {
            throw .malformedInput(path: path, reason: "Fortran-order array; save it C-ordered (numpy.ascontiguousarray)")
        }
        guard shape.count == 2 else {
            throw .malformedInput(path: path, reason: "array has \(shape.count) dimensions, expected 2 (\(what))")
        }
        let (cells, o1) = shape[0].multipliedReportingOverflow(by: shape[1])
        let (bytes, o2) = cells.multipliedReportingOverflow(by: itemSize)
        guard !o1, !o2, bytes == fileSize - dataOffset else {
            throw .malformedInput(path: path, reason: "file size \(fileSize) does not match its header: shape (\(shape[0]), \(shape[1])) of \(itemSize)-byte elements needs \(dataOffset) + \(o1 || o2 ? "too many" : String(bytes)) bytes")
        }
    }

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
    init(text: String, path: String) throws(HashIdxError) {
        func bad(_ why: String) -> HashIdxError { .malformedInput(path: path, reason: "malformed .npy header: \(why)") }
        func value(after key: String) -> Substring? {
            guard let end = text.endOfFirst("'\(key)'") ?? text.endOfFirst("\"\(key)\"") else { return nil }
            var rest = text[end...].drop(while: { $0 == " " })
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop(while: { $0 == " " })
            return rest
        }
        guard let d = value(after: "descr"), let q = d.first, q == "'" || q == "\"" else { throw bad("no 'descr'") }
        let afterQuote = d.dropFirst()
        guard let end = afterQuote.firstIndex(of: q) else { throw bad("unterminated 'descr'") }
        descr = String(afterQuote[..<end])
        guard let f = value(after: "fortran_order") else { throw bad("no 'fortran_order'") }
        if f.hasPrefix("False") { fortranOrder = false } else if f.hasPrefix("True") { fortranOrder = true } else {
            throw bad("'fortran_order' is neither True nor False")
        }
        guard let s = value(after: "shape"), s.first == "(" else { throw bad("no 'shape' tuple") }
        guard let close = s.firstIndex(of: ")") else { throw bad("unterminated 'shape'") }
        var dims: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: " \t\n")
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0, v < 1 << 40 else { throw bad("shape entry '\(t)' is not a non-negative integer") }
            dims.append(v)
        }
        shape = dims
    }
}

extension String {
    /// The index just past the first occurrence of `needle`, if any.
    func endOfFirst(_ needle: String) -> String.Index? {
        let n = Array(needle.unicodeScalars)
        var i = unicodeScalars.startIndex
        while i != unicodeScalars.endIndex {
            var j = i, k = 0
            while k < n.count, j != unicodeScalars.endIndex, unicodeScalars[j] == n[k] {
                j = unicodeScalars.index(after: j); k += 1
            }
            if k == n.count { return j }
            i = unicodeScalars.index(after: i)
        }
        return nil
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// IEEE 754 half-precision conversion that works on every platform.
enum HalfFloat {
    /// Converts half-precision bits to `Float`.
    @inline(__always)
    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x03FF)
        if exp == 0 {
            // Zero or subnormal: mant × 2^-24.
            let v = Float(mant) * 0x1p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
        }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }
}
