#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One change as a write log records it: a writer's request after its checks passed, so that
/// replaying the changes of a log in order on the generation it belongs to gives the same
/// items again (docs/FORMAT.md §4).
enum LoggedChange: Equatable, Sendable {
    /// Rows added (`replacing`: upserted), as given (not normalised), row-major; `ids`
    /// `nil` in an index whose ids are row numbers; `attributes` one row per added row.
    case add(rows: [Float], ids: [String]?, attributes: [Attributes]?, replacing: Bool)
    /// Items deleted by id.
    case delete(ids: [String], ignoringMissing: Bool)
}

/// The write log of one generation, `LOG-<generation>` (docs/FORMAT.md §4): a header, then
/// records, each a group of changes committed at once — its length, its CRC-32C and the
/// changes. A writer appends a record and syncs it to commit changes without writing a
/// shard; every reader of the generation replays the log on open.
///
/// A record cut short at the end of the file (a writer killed while appending, or still
/// appending while a reader opens) was never committed: readers stop before it and the next
/// writer cuts it off. A record that fails its checksum with more bytes after it is
/// corruption.
enum WriteLog {
    static let magic: [UInt8] = Array("HIDXWLOG".utf8)
    static let version: UInt32 = 1
    /// Bytes of the header.
    static let headerSize = 32
    /// Bytes before a record's changes: their length and CRC-32C.
    static let recordHeaderSize = 8
    /// The largest record a writer appends (a larger commit writes shards instead) and a
    /// reader accepts.
    static let maximumRecordBytes = 64 << 20
    /// The largest log a reader reads (a writer writes shards long before).
    static let maximumBytes = 1 << 31

    /// The log file of generation `generation`.
    static func fileName(_ generation: UInt64) -> String { Format.logName(generation) }

    /// The header of the log of `generation` of an index of dimension `dimension`.
    static func header(dimension: Int, generation: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic)
        w.u32(version)
        w.u32(UInt32(dimension))
        w.u64(generation)
        w.u32(0)
        w.u32(crc32c(w.bytes))
        return w.bytes
    }

    /// `changes` as one record (length, CRC-32C, changes) of a log of `dimension`.
    static func record(_ changes: [LoggedChange], dimension: Int) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(changes.count))
        for change in changes {
            switch change {
            case let .add(rows, ids, attributes, replacing):
                w.u8(replacing ? 2 : 1)
                w.u32(UInt32(rows.count / max(1, dimension)))
                w.u8((ids == nil ? 0 : 1) | (attributes == nil ? 0 : 2))
                for id in ids ?? [] { string(id, into: &w) }
                for v in rows { w.f32(v) }
                for row in attributes ?? [] { encode(row, into: &w) }
            case let .delete(ids, ignoringMissing):
                w.u8(ignoringMissing ? 4 : 3)
                w.u32(UInt32(ids.count))
                for id in ids { string(id, into: &w) }
            }
        }
        var out = ByteWriter()
        out.u32(UInt32(w.bytes.count))
        out.u32(crc32c(w.bytes))
        out.raw(w.bytes)
        return out.bytes
    }

    /// The records of the log in `bytes` (the file at `path`), each a group of changes, and
    /// the bytes up to the end of the last whole record. Throws
    /// ``HashIdxError/corruptIndex(path:reason:)`` for a log of another generation or
    /// dimension, a bad header, or a damaged record that is not the last.
    static func read(_ bytes: UnsafeRawBufferPointer, dimension: Int, generation: UInt64,
                     path: String) throws(HashIdxError) -> (records: [[LoggedChange]], length: Int) {
        func bad(_ why: String) -> HashIdxError { .corruptIndex(path: path, reason: "write log: \(why)") }
        guard bytes.count <= maximumBytes else { throw bad("is \(bytes.count) bytes, more than the \(maximumBytes) a log may hold") }
        // A header cut short: the writer died creating the file, before any record.
        guard bytes.count >= headerSize else { return ([], 0) }
        guard (0..<8).allSatisfy({ bytes[$0] == magic[$0] }) else { throw bad("no HIDXWLOG magic") }
        guard checksum(of: UnsafeRawBufferPointer(rebasing: bytes[0..<(headerSize - 4)]),
                       matches: bytes.le(UInt32.self, at: headerSize - 4)) else { throw bad("header checksum mismatch") }
        var h = ByteReader(bytes, offset: 8) { bad($0) }
        let v = try h.u32("version"), d = try h.u32("dimension"), g = try h.u64("generation"), reserved = try h.u32("reserved")
        guard v == version, reserved == 0 else { throw bad("unknown version \(v)") }
        guard Int(d) == dimension, g == generation else {
            throw bad("belongs to generation \(g) of dimension \(d), not \(generation) of \(dimension)")
        }
        var records: [[LoggedChange]] = []
        var offset = headerSize
        while bytes.count - offset >= recordHeaderSize {
            let length = Int(bytes.le(UInt32.self, at: offset))
            let crc = bytes.le(UInt32.self, at: offset + 4)
            let end = offset + recordHeaderSize + length
            guard length <= maximumRecordBytes else {
                throw bad("record at byte \(offset) claims \(length) bytes, more than a record may hold")
            }
            if end > bytes.count { break }   // cut short: never committed
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + recordHeaderSize)..<end])
            guard checksum(of: payload, matches: crc) else {
                if end == bytes.count { break }   // the last record, half written
                throw bad("record at byte \(offset) fails its checksum")
            }
            var r = ByteReader(payload) { bad("record at byte \(offset): \($0)") }
            records.append(try decodeChanges(&r, dimension: dimension))
            guard r.offset == payload.count else { throw bad("record at byte \(offset) has trailing bytes") }
            offset = end
        }
        return (records, offset)
    }

    /// ``read(_:dimension:generation:path:)`` of bytes in an array.
    static func read(_ bytes: [UInt8], dimension: Int, generation: UInt64,
                     path: String) throws(HashIdxError) -> (records: [[LoggedChange]], length: Int) {
        var result: Result<(records: [[LoggedChange]], length: Int), HashIdxError> = .success(([], 0))
        bytes.withUnsafeBytes { b in
            do throws(HashIdxError) {
                result = .success(try read(b, dimension: dimension, generation: generation, path: path))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    private static func decodeChanges(_ r: inout ByteReader, dimension: Int) throws(HashIdxError) -> [LoggedChange] {
        let n = Int(try r.u32("change count"))
        try r.need(n, "changes")   // at least a byte each
        var changes: [LoggedChange] = []
        for _ in 0..<n {
            let kind = try r.u8("change kind")
            switch kind {
            case 1, 2:
                let rows = Int(try r.u32("row count"))
                let flags = try r.u8("flags")
                guard flags & ~3 == 0 else { throw r.fail("unknown flags \(flags)") }
                var ids: [String]? = nil
                if flags & 1 != 0 { ids = try strings(rows, &r) }
                guard rows <= (r.bytes.count - r.offset) / max(1, 4 * dimension) else { throw r.fail("truncated vectors") }
                let values = try r.f32s(rows * dimension, "vectors")
                var attributes: [Attributes]? = nil
                if flags & 2 != 0 {
                    try r.need(rows * 4, "attributes")
                    var table: [Attributes] = []
                    table.reserveCapacity(rows)
                    for _ in 0..<rows { table.append(try decodeAttributes(&r)) }
                    attributes = table
                }
                changes.append(.add(rows: values, ids: ids, attributes: attributes, replacing: kind == 2))
            case 3, 4:
                let count = Int(try r.u32("id count"))
                changes.append(.delete(ids: try strings(count, &r), ignoringMissing: kind == 4))
            default:
                throw r.fail("unknown change kind \(kind)")
            }
        }
        return changes
    }

    // MARK: Strings and attributes

    private static func string(_ s: String, into w: inout ByteWriter) {
        let b = Array(s.utf8)
        w.u32(UInt32(b.count))
        w.raw(b)
    }

    private static func string(_ r: inout ByteReader) throws(HashIdxError) -> String {
        let n = Int(try r.u32("string length"))
        let raw = try r.raw(n, "string")
        guard let s = String(validating: raw, as: UTF8.self) else { throw r.fail("a string is not UTF-8") }
        return s
    }

    private static func strings(_ n: Int, _ r: inout ByteReader) throws(HashIdxError) -> [String] {
        try r.need(4 * n, "strings")
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string(&r)) }
        return out
    }

    /// One row of attributes: the key count, then per key (sorted) its name, a type byte
    /// (0 string, 1 tags, 2 integer, 3 float, 4 boolean) and the value.
    private static func encode(_ row: Attributes, into w: inout ByteWriter) {
        w.u32(UInt32(row.count))
        for (key, value) in row.sorted(by: { $0.key < $1.key }) {
            string(key, into: &w)
            switch value {
            case let .string(s): w.u8(0); string(s, into: &w)
            case let .tags(t): w.u8(1); w.u32(UInt32(t.count)); for s in t { string(s, into: &w) }
            case let .integer(v): w.u8(2); w.u64(UInt64(bitPattern: v))
            case let .float(v): w.u8(3); w.u64(v.bitPattern)
            case let .boolean(b): w.u8(4); w.u8(b ? 1 : 0)
            }
        }
    }

    private static func decodeAttributes(_ r: inout ByteReader) throws(HashIdxError) -> Attributes {
        let n = Int(try r.u32("attribute count"))
        try r.need(5 * n, "attributes")
        var row: Attributes = [:]
        for _ in 0..<n {
            let key = try string(&r)
            switch try r.u8("attribute type") {
            case 0: row[key] = .string(try string(&r))
            case 1: row[key] = .tags(try strings(Int(try r.u32("tag count")), &r))
            case 2: row[key] = .integer(Int64(bitPattern: try r.u64("integer")))
            case 3: row[key] = .float(Double(bitPattern: try r.u64("float")))
            case 4:
                let b = try r.u8("boolean")
                guard b <= 1 else { throw r.fail("a boolean is \(b)") }
                row[key] = .boolean(b == 1)
            case let t: throw r.fail("unknown attribute type \(t)")
            }
        }
        return row
    }
}

/// The log a writer appends to: positioned writes at its end, each followed by `fdatasync`;
/// a failed append is cut off again, so that the file always ends with a whole record.
final class WriteLogFile {
    let path: String
    private var fd: Int32
    /// Bytes in the file: the header and every whole record.
    private(set) var length: Int

    /// Opens the log at `path`, cutting it to `length` bytes (what ``WriteLog/read`` found
    /// whole); creates it with `header` when `length` is 0 (and syncs `directory`).
    init(path: String, length: Int, header: [UInt8], directory: String) throws(HashIdxError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: systemError("cannot open the write log")) }
        self.length = length
        do throws(HashIdxError) {
            guard ftruncate(fd, off_t(length)) == 0 else { throw .io(path: path, reason: systemError("cannot cut the write log")) }
            if length == 0 {
                try write(header)
                self.length = header.count
                try sync()
                try FileSystem.syncDirectory(directory)
            } else {
                try sync()
            }
        } catch {
            close(fd)
            fd = -1
            throw error
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends `record` and syncs it: once this returns, the record survives a crash.
    func append(_ record: [UInt8]) throws(HashIdxError) {
        do throws(HashIdxError) {
            try write(record)
            try sync()
            length += record.count
        } catch {
            _ = ftruncate(fd, off_t(length))
            throw error
        }
    }

    private func write(_ bytes: [UInt8]) throws(HashIdxError) {
        var failure: HashIdxError?
        bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = pwrite(fd, b.baseAddress! + done, b.count - done, off_t(length + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .io(path: path, reason: systemError("write failed"))
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
    }

    private func sync() throws(HashIdxError) {
        #if canImport(Darwin)
        let r = fsync(fd)
        #else
        let r = fdatasync(fd)
        #endif
        guard r == 0 else { throw .io(path: path, reason: systemError("fsync failed")) }
    }
}
