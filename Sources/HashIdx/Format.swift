/// Constants of the on-disk format. `docs/FORMAT.md` describes every byte.
enum Format {
    /// The format version this code writes and reads.
    static let version: UInt32 = 2

    /// First 8 bytes of a shard file.
    static let shardMagic: [UInt8] = Array("HIDXSHRD".utf8)
    /// First 8 bytes of a manifest file.
    static let manifestMagic: [UInt8] = Array("HIDXMANI".utf8)

    /// Name of the file that names the live manifest.
    static let currentFile = "CURRENT"
    /// Name of the lock file held while a build writes into the directory.
    static let lockFile = "LOCK"

    /// Every section starts at a multiple of this many bytes (a cache line), so that the
    /// codes can be scanned in place through the memory map.
    static let sectionAlignment = 64

    /// Size of the fixed part of a shard header, before the section table.
    static let shardHeaderFixedSize = 64
    /// Size of one section-table entry.
    static let sectionEntrySize = 32
    /// Size of one block-index entry.
    static let blockEntrySize = 24

    /// The manifest file of generation `generation`.
    static func manifestName(_ generation: UInt64) -> String { "MANIFEST-\(pad(generation))" }
    /// Shard `shard` of generation `generation`.
    static func shardName(_ generation: UInt64, _ shard: Int) -> String { "shard-\(pad(generation))-\(pad(UInt64(shard))).hidx" }

    /// The generation encoded in a manifest or shard file name, if it is one of ours.
    static func generation(ofFile name: String) -> UInt64? {
        if name.hasPrefix("MANIFEST-") { return UInt64(name.dropFirst(9)) }
        if name.hasPrefix("shard-") {
            let parts = name.dropFirst(6).split(separator: "-")
            if parts.count == 2 { return UInt64(parts[0]) }
        }
        return nil
    }

    private static func pad(_ v: UInt64) -> String {
        let s = String(v)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }
}

/// The kind of a shard section (the `kind` field of a section-table entry).
enum SectionKind: UInt32, CaseIterable {
    /// Binary codes, `rows × bits/8` bytes, stored raw.
    case codes = 1
    /// Unit-normalised vectors in blocks of `rowsPerBlock` rows.
    case vectorBlocks = 2
    /// The block index of `vectorBlocks`.
    case vectorIndex = 3
    /// Each row's original L2 norm, `float32`.
    case norms = 4
    /// String ids in blocks of `rowsPerBlock` rows.
    case idBlocks = 5
    /// The block index of `idBlocks`.
    case idIndex = 6
    /// Positions (`uint32`) sorted by their id's bytes, for id look-up.
    case idOrder = 7
    /// Partition offsets: `partitions + 1` `uint32` positions; partition `p` holds positions
    /// `[offsets[p], offsets[p+1])`. Partitioned indexes only.
    case partitionOffsets = 8
    /// The shard-local row number at each position (`uint32`). Partitioned indexes only.
    case rowNumbers = 9
    /// The position of each shard-local row number (`uint32`). Partitioned indexes only.
    case positions = 10
}

/// How a section's bytes (or each of its blocks) are stored.
public enum SectionCodec: UInt32, Sendable, CustomStringConvertible {
    /// As they are.
    case none = 0
    /// LZ4 block format, one LZ4 block per data block.
    case lz4 = 1

    public var description: String { self == .none ? "none" : "lz4" }
}

/// The element type of stored vectors.
public enum VectorType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 single precision: exact re-rank.
    case float32 = 0
    /// IEEE 754 half precision: half the bytes; cosines change by about 1e-3.
    case float16 = 1

    /// Bytes per element.
    public var size: Int { self == .float32 ? 4 : 2 }
    public var description: String { self == .float32 ? "float32" : "float16" }
}

/// Little-endian byte writing into a growing buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
    mutating func setU32(_ v: UInt32, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
    }
    mutating func setU64(_ v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
    }
}

/// Little-endian, bounds-checked reading; every read past the end throws.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    let fail: (String) -> HashIdxError

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, fail: @escaping (String) -> HashIdxError) {
        self.bytes = bytes
        self.offset = offset
        self.fail = fail
    }

    mutating func need(_ n: Int, _ what: String) throws(HashIdxError) {
        guard n >= 0, n <= bytes.count - offset else { throw fail("truncated \(what)") }
    }
    mutating func u32(_ what: String) throws(HashIdxError) -> UInt32 {
        try need(4, what); defer { offset += 4 }
        return bytes.le(UInt32.self, at: offset)
    }
    mutating func u64(_ what: String) throws(HashIdxError) -> UInt64 {
        try need(8, what); defer { offset += 8 }
        return bytes.le(UInt64.self, at: offset)
    }
    mutating func f32s(_ n: Int, _ what: String) throws(HashIdxError) -> [Float] {
        guard n >= 0, n <= (bytes.count - offset) / 4 else { throw fail("truncated \(what)") }
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = Float(bitPattern: bytes.le(UInt32.self, at: offset + 4 * i)) }
        offset += 4 * n
        return out
    }
    mutating func raw(_ n: Int, _ what: String) throws(HashIdxError) -> UnsafeRawBufferPointer {
        try need(n, what); defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }
}

/// CRC-32C of `bytes`.
func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    hidx_crc32c(0, bytes.baseAddress, bytes.count)
}

/// CRC-32C of `bytes`.
func crc32c(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { crc32c($0) }
}

/// Whether the CRC-32C of `bytes` is `stored`. Every reader checks checksums through this
/// one function: fuzzing builds (`-D HASHIDX_FUZZING`, see `Fuzz/`) accept any checksum, so
/// that the fuzzer reaches the structural checks behind them, as a crafted file with
/// correct checksums would.
func checksum(of bytes: UnsafeRawBufferPointer, matches stored: UInt32) -> Bool {
    #if HASHIDX_FUZZING
    return true
    #else
    return crc32c(bytes) == stored
    #endif
}

import CHashIdxKernels
