import CHashIdxABI
import CHashIdxKernels
import HashIdx

/// Rows of float32 or float16 elements in a caller's buffer, read in place (no copy) for the
/// length of one C call: the `VectorSource` a build, an add or a batch search reads.
struct CallerVectors: VectorSource, @unchecked Sendable {
    // @unchecked: the pointer is the caller's, valid and unchanged for the call, and only read.
    let base: UnsafeRawPointer
    let isHalf: Bool
    let count: Int
    let dimension: Int
    let name: String

    /// The most elements one call takes (2^40: 4 TiB of float32).
    static let maximumElements = 1 << 40

    /// Checks the caller's description of its buffer: a known dtype, a positive dimension up
    /// to the library's limit, a non-negative row count, no overflow, a non-NULL pointer when
    /// there are rows.
    init(_ pointer: UnsafeRawPointer?, dtype: hashidx_dtype, rows: Int64, dimension: Int64, name: String) throws {
        guard dtype == HASHIDX_FLOAT32 || dtype == HASHIDX_FLOAT16 else {
            throw CFailure.argument("dtype", "\(dtype.rawValue) is not HASHIDX_FLOAT32 (0) or HASHIDX_FLOAT16 (1)")
        }
        guard dimension > 0, dimension <= 1 << 20 else {
            throw CFailure.argument("dimension", "must be 1…\(1 << 20), got \(dimension)")
        }
        guard rows >= 0 else { throw CFailure.argument("rows", "must not be negative, got \(rows)") }
        let (elements, overflow) = rows.multipliedReportingOverflow(by: dimension)
        guard !overflow, elements <= Self.maximumElements else {
            throw CFailure.argument("rows", "\(rows) × \(dimension) elements is beyond the \(Self.maximumElements) one call takes")
        }
        guard let pointer else {
            if rows == 0 { throw HashIdxError.emptyInput(path: name) }
            throw CFailure.argument(name, "is NULL")
        }
        base = pointer
        isHalf = dtype == HASHIDX_FLOAT16
        count = Int(rows)
        self.dimension = Int(dimension)
        self.name = name
    }

    func copyRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>) {
        if isHalf {
            let src = base.assumingMemoryBound(to: UInt16.self) + row * dimension
            hidx_half_to_float(src, buffer.baseAddress!, dimension)
        } else {
            let src = base.assumingMemoryBound(to: Float.self) + row * dimension
            buffer.baseAddress!.update(from: src, count: dimension)
        }
    }

    /// Row `row` as an array.
    func row(_ row: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: dimension) { b, n in
            copyRow(row, into: b)
            n = dimension
        }
    }
}

/// The lines of a caller's '\n'-separated text buffer (ids, labels, attribute lines): NULL
/// is `nil`; a final newline is optional; a trailing '\r' is dropped; text that is not UTF-8
/// is an error naming its 0-based line.
func lines(_ text: UnsafePointer<CChar>?, length: Int, name: String) throws -> [String]? {
    guard let text else { return nil }
    guard length >= 0 else { throw CFailure.argument("\(name) length", "must not be negative") }
    let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(text), count: length)
    var out: [String] = []
    var start = 0
    while start < length {
        var end = start
        while end < length && bytes[end] != 0x0A { end += 1 }
        var stop = end
        if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
        guard let line = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<stop]), as: UTF8.self) else {
            throw CFailure.argument(name, "line \(out.count) (0-based) is not valid UTF-8")
        }
        out.append(line)
        start = end + 1
    }
    return out
}
