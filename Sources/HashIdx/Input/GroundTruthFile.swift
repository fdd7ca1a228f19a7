/// A ground-truth file: for each query, the row numbers of its true nearest neighbours,
/// best first.
///
/// - `.npy`: a 2-D C-order array of little-endian `int32` or `int64` (rows × ≥ k).
/// - `.ivecs` (TEXMEX): each row is an `int32` count followed by that many `int32`.
/// - `.ibin`: `uint32` rows, `uint32` columns, then the rows as `int32`.
public struct GroundTruthFile: Sendable {
    /// The file's path.
    public let path: String
    /// Rows (one per query).
    public let count: Int
    /// Neighbours per row.
    public let columns: Int
    /// The neighbours, row-major (`count × columns`).
    public let neighbours: [Int]

    /// Reads and validates the ground-truth file at `path`.
    public init(path: String) throws(HashIdxError) {
        self.path = path
        let file = try MappedFile(path: path)
        let b = file.bytes
        let lower = path.lowercased()
        var values: [Int] = []
        if lower.hasSuffix(".npy") {
            let (rows, cols, offset, width) = try Self.parseNpy(file)
            values.reserveCapacity(rows * cols)
            for i in 0..<(rows * cols) {
                values.append(width == 4 ? Int(Int32(bitPattern: b.le(UInt32.self, at: offset + 4 * i)))
                                         : Int(Int64(bitPattern: b.le(UInt64.self, at: offset + 8 * i))))
            }
            count = rows; columns = cols
        } else if lower.hasSuffix(".ivecs") {
            guard b.count >= 4 else { throw b.count == 0 ? .emptyInput(path: path) : .malformedInput(path: path, reason: "truncated: shorter than one row header") }
            let k = Int(Int32(bitPattern: b.le(UInt32.self, at: 0)))
            guard k > 0, k <= 1 << 20 else { throw .malformedInput(path: path, reason: "row 0 declares \(k) neighbours") }
            let stride = 4 + 4 * k
            guard b.count % stride == 0 else {
                throw .malformedInput(path: path, reason: "file size \(b.count) is not a whole number of rows of \(k) neighbours")
            }
            let rows = b.count / stride
            for r in 0..<rows {
                guard Int(Int32(bitPattern: b.le(UInt32.self, at: r * stride))) == k else {
                    throw .malformedInput(path: path, reason: "row \(r) declares a different neighbour count than row 0")
                }
                for j in 0..<k { values.append(Int(Int32(bitPattern: b.le(UInt32.self, at: r * stride + 4 + 4 * j)))) }
            }
            count = rows; columns = k
        } else if lower.hasSuffix(".ibin") {
            guard b.count >= 8 else { throw b.count == 0 ? .emptyInput(path: path) : .malformedInput(path: path, reason: "truncated header: \(b.count) bytes, need 8") }
            let rows = Int(b.le(UInt32.self, at: 0)), k = Int(b.le(UInt32.self, at: 4))
            let (cells, o) = rows.multipliedReportingOverflow(by: k)
            guard !o, cells <= (b.count - 8) / 4, 8 + 4 * cells == b.count else {
                throw .malformedInput(path: path, reason: "file size \(b.count) does not match its header: \(rows) rows × \(k) int32")
            }
            for i in 0..<cells { values.append(Int(Int32(bitPattern: b.le(UInt32.self, at: 8 + 4 * i)))) }
            count = rows; columns = k
        } else {
            throw .unknownFormat(path: path, reason: "unknown extension; ground truth must be .npy, .ivecs or .ibin")
        }
        guard count > 0, columns > 0 else { throw .emptyInput(path: path) }
        neighbours = values
    }

    /// The true neighbours of query `row`, best first.
    public func row(_ row: Int) -> ArraySlice<Int> {
        neighbours[(row * columns)..<((row + 1) * columns)]
    }

    private static func parseNpy(_ file: MappedFile) throws(HashIdxError) -> (Int, Int, Int, Int) {
        let header = try NpyHeader(file: file)
        let width: Int
        switch header.descr {
        case "<i4", "=i4": width = 4
        case "<i8", "=i8": width = 8
        default:
            throw .malformedInput(path: file.path, reason: "unsupported dtype '\(header.descr)'; ground truth must be little-endian int32 or int64")
        }
        try header.checkMatrix(itemSize: width, fileSize: file.bytes.count, path: file.path, what: "queries × neighbours")
        return (header.shape[0], header.shape[1], header.dataOffset, width)
    }
}

extension GroundTruthFile {
    /// Writes `neighbours` (one row per query, all of the same length) to `path` as `.npy`
    /// (`int32`), `.ivecs` or `.ibin`, chosen by the extension. The file appears whole or
    /// not at all (written to a temporary name, then renamed). A row of filtered ground truth
    /// with fewer matches than columns ends in −1 (no neighbour).
    public static func write(_ neighbours: [[Int]], to path: String) throws(HashIdxError) {
        let k = neighbours.first?.count ?? 0
        guard neighbours.allSatisfy({ $0.count == k }) else {
            throw .invalidArgument(name: "neighbours", reason: "rows have different lengths")
        }
        guard neighbours.allSatisfy({ $0.allSatisfy { $0 >= -1 && $0 <= Int(Int32.max) } }) else {
            throw .invalidArgument(name: "neighbours", reason: "row numbers must fit in int32 (−1: no neighbour)")
        }
        var w = ByteWriter()
        let lower = path.lowercased()
        if lower.hasSuffix(".npy") {
            var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (\(neighbours.count), \(k)), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            w.raw([0x93] + Array("NUMPY".utf8) + [1, 0])
            let n = header.utf8.count
            w.raw([UInt8(n & 0xFF), UInt8(n >> 8)])
            w.raw(Array(header.utf8))
            for row in neighbours { for v in row { w.u32(UInt32(bitPattern: Int32(v))) } }
        } else if lower.hasSuffix(".ivecs") {
            for row in neighbours { w.u32(UInt32(k)); for v in row { w.u32(UInt32(bitPattern: Int32(v))) } }
        } else if lower.hasSuffix(".ibin") {
            w.u32(UInt32(neighbours.count)); w.u32(UInt32(k))
            for row in neighbours { for v in row { w.u32(UInt32(bitPattern: Int32(v))) } }
        } else {
            throw .unknownFormat(path: path, reason: "unknown extension; write ground truth as .npy, .ivecs or .ibin")
        }
        let tmp = path + ".tmp-\(getpid())"
        do {
            let out = try OutputFile(creating: tmp)
            try out.write(w.bytes, at: 0)
            try out.syncAndClose()
            try FileSystem.replace(tmp, path)
        } catch {
            FileSystem.remove(tmp)
            throw error
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
