/// The header of a shard file: a fixed part, the section table, a CRC-32C of both, and zero
/// padding to a multiple of 64 bytes (docs/FORMAT.md §3.1). The writer encodes it and the
/// reader decodes it here, and nowhere else.
///
/// Fields are kept as stored (unsigned, unconverted) so that a reader can compare a damaged
/// value with what it expects before converting it.
struct ShardHeader: Equatable {
    /// The format version the file was written in.
    var version: UInt32 = Format.version
    /// Rows in this shard.
    var rows: UInt64
    /// Global row number of this shard's first row.
    var firstRow: UInt64
    /// Vector dimension.
    var dimension: UInt32
    /// Code length in bits.
    var bits: UInt32
    /// Rows per vector and id block.
    var rowsPerBlock: UInt32
    /// ``VectorType`` raw value of the stored vectors.
    var vectorType: UInt32
    /// Reserved, zero.
    var reserved: UInt32 = 0
    /// Size of the whole file in bytes.
    var fileSize: UInt64
    /// The section table, in file order.
    var sections: [SectionEntry]

    /// Bytes of a header with `sections` table entries: the fixed part, the table and the CRC,
    /// rounded up to the section alignment.
    static func size(sections: Int) -> Int {
        Format.align(Format.shardHeaderFixedSize + sections * Format.sectionEntrySize + 4)
    }

    /// The header's bytes (``size(sections:)`` of them) and its CRC-32C, which the manifest
    /// records.
    func encoded() -> (bytes: [UInt8], crc: UInt32) {
        var h = ByteWriter()
        h.raw(Format.shardMagic)
        h.u32(version)
        h.u32(UInt32(Self.size(sections: sections.count)))
        h.u64(rows)
        h.u64(firstRow)
        h.u32(dimension)
        h.u32(bits)
        h.u32(rowsPerBlock)
        h.u32(vectorType)
        h.u32(UInt32(sections.count))
        h.u32(reserved)
        h.u64(fileSize)
        for s in sections { s.encode(into: &h) }
        let crc = crc32c(h.bytes)
        h.u32(crc)
        h.pad(to: Format.sectionAlignment)
        return (h.bytes, crc)
    }

    /// Decodes the header at the start of the shard file `b` and checks what the header alone
    /// can vouch for: magic, version, header size, checksum and zero padding. Returns the
    /// header, its size in bytes and its CRC. The section entries are returned as stored;
    /// the reader checks them against the file.
    static func decode(_ b: UnsafeRawBufferPointer, path: String,
                       bad: (String) -> HashIdxError) throws(HashIdxError) -> (header: ShardHeader, size: Int, crc: UInt32) {
        guard b.count >= Format.shardHeaderFixedSize, (0..<8).allSatisfy({ b[$0] == Format.shardMagic[$0] }) else {
            throw bad("shard has no HIDXSHRD magic")
        }
        let version = b.le(UInt32.self, at: 8)
        guard Format.readableVersions.contains(version) else {
            throw .unsupportedVersion(path: path, version: Int(version), supported: Int(Format.version))
        }
        let headerSize = Int(b.le(UInt32.self, at: 12))
        let sectionCount = Int(b.le(UInt32.self, at: 48))
        guard sectionCount <= Format.maximumSections, headerSize == size(sections: sectionCount), headerSize <= b.count else {
            throw bad("shard header size is wrong")
        }
        let crcAt = Format.shardHeaderFixedSize + sectionCount * Format.sectionEntrySize
        let crc = b.le(UInt32.self, at: crcAt)
        guard checksum(of: UnsafeRawBufferPointer(rebasing: b[0..<crcAt]), matches: crc) else {
            throw bad("shard header checksum mismatch")
        }
        for i in (crcAt + 4)..<headerSize where b[i] != 0 { throw bad("shard header padding is not zero") }
        let header = ShardHeader(
            version: version, rows: b.le(UInt64.self, at: 16), firstRow: b.le(UInt64.self, at: 24),
            dimension: b.le(UInt32.self, at: 32), bits: b.le(UInt32.self, at: 36),
            rowsPerBlock: b.le(UInt32.self, at: 40), vectorType: b.le(UInt32.self, at: 44),
            reserved: b.le(UInt32.self, at: 52), fileSize: b.le(UInt64.self, at: 56),
            sections: (0..<sectionCount).map {
                SectionEntry.decode(b, at: Format.shardHeaderFixedSize + $0 * Format.sectionEntrySize)
            })
        return (header, headerSize, crc)
    }
}

/// One entry of a shard's section table (32 bytes): which section, its codec, where it lies
/// and its CRC-32C. Kind and codec are kept raw, as a damaged file may hold any value.
struct SectionEntry: Equatable {
    /// ``SectionKind`` raw value.
    var kind: UInt32
    /// ``SectionCodec`` raw value.
    var codec: UInt32
    /// Byte offset of the section in the file (a multiple of 64).
    var offset: UInt64
    /// Bytes of the section as stored.
    var length: UInt64
    /// CRC-32C of the section's stored bytes.
    var crc: UInt32
    /// Reserved, zero.
    var reserved: UInt32 = 0

    func encode(into w: inout ByteWriter) {
        w.u32(kind); w.u32(codec); w.u64(offset); w.u64(length); w.u32(crc); w.u32(reserved)
    }

    /// The entry stored at `at` in `b` (the caller checked that 32 bytes are there).
    static func decode(_ b: UnsafeRawBufferPointer, at e: Int) -> SectionEntry {
        SectionEntry(kind: b.le(UInt32.self, at: e), codec: b.le(UInt32.self, at: e + 4),
                     offset: b.le(UInt64.self, at: e + 8), length: b.le(UInt64.self, at: e + 16),
                     crc: b.le(UInt32.self, at: e + 24), reserved: b.le(UInt32.self, at: e + 28))
    }
}

extension SectionEntry {
    /// The entry of a section the writer placed.
    init(_ kind: SectionKind, codec: SectionCodec = .none, offset: Int, length: Int, crc: UInt32) {
        self.init(kind: kind.rawValue, codec: codec.rawValue, offset: UInt64(offset), length: UInt64(length), crc: crc)
    }
}

/// One entry of a block index (24 bytes): where a vector or id block lies in its data
/// section, its stored and decoded sizes, and its CRC-32C (docs/FORMAT.md §3.3).
struct BlockEntry: Equatable {
    /// Offset of the block in its data section.
    var offset: UInt64
    /// Bytes as stored (LZ4 or raw).
    var stored: UInt32
    /// Bytes once decoded.
    var raw: UInt32
    /// CRC-32C of the stored bytes.
    var crc: UInt32
    /// Reserved, zero.
    var reserved: UInt32 = 0

    func encode(into w: inout ByteWriter) {
        w.u64(offset); w.u32(stored); w.u32(raw); w.u32(crc); w.u32(reserved)
    }

    /// Entry `i` of the block index `index` (the caller checked the index's length).
    @inline(__always)
    static func decode(_ index: UnsafeRawBufferPointer, _ i: Int) -> BlockEntry {
        let e = i * Format.blockEntrySize
        return BlockEntry(offset: index.le(UInt64.self, at: e), stored: index.le(UInt32.self, at: e + 8),
                          raw: index.le(UInt32.self, at: e + 12), crc: index.le(UInt32.self, at: e + 16),
                          reserved: index.le(UInt32.self, at: e + 20))
    }
}
