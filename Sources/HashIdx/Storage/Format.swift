/// Constants of the on-disk format: version, magic numbers, file names, alignment and the
/// sizes of fixed records. `docs/FORMAT.md` describes every byte; the records themselves are
/// encoded and decoded in one place each (``ShardHeader``, ``SectionEntry``, ``BlockEntry``,
/// ``Manifest``).
enum Format {
    /// The format version this code writes. Version 6 added the tuned search settings to the
    /// manifest (a build with a target recall; docs/FORMAT.md §2). Version 5 added the supervision record and the
    /// default rerank mode to the manifest (docs/FORMAT.md §2). Version 4 added the attribute section (kind 11)
    /// to shards; version 3 added deletion files and the deletion fields of a manifest's shard
    /// records. Version 2 and 3 indexes still open (they have no attributes; version 2 no
    /// deletions) and become version 4 at their first commit; their shards keep their
    /// headers (the layout did not change).
    static let version: UInt32 = 6
    /// Versions this code reads.
    static let readableVersions: ClosedRange<UInt32> = 2...6

    /// First 8 bytes of a shard file.
    static let shardMagic: [UInt8] = Array("HIDXSHRD".utf8)
    /// First 8 bytes of a manifest file.
    static let manifestMagic: [UInt8] = Array("HIDXMANI".utf8)

    /// Name of the file that names the live manifest.
    static let currentFile = "CURRENT"
    /// Name of the lock file held while a build writes into the directory.
    static let lockFile = "LOCK"
    /// Prefix of the temporary file that becomes `CURRENT` (followed by the generation).
    static let currentTemporaryPrefix = currentFile + ".tmp-"

    /// Every section starts at a multiple of this many bytes (a cache line), so that the
    /// codes can be scanned in place through the memory map.
    static let sectionAlignment = 64

    /// Size of the fixed part of a shard header, before the section table.
    static let shardHeaderFixedSize = 64
    /// Size of one section-table entry.
    static let sectionEntrySize = 32
    /// Size of one block-index entry.
    static let blockEntrySize = 24
    /// The most sections a shard header may list.
    static let maximumSections = 64

    /// `v` rounded up to the section alignment.
    static func align(_ v: Int) -> Int {
        (v + sectionAlignment - 1) / sectionAlignment * sectionAlignment
    }

    /// The manifest file of generation `generation`.
    static func manifestName(_ generation: UInt64) -> String { "MANIFEST-\(pad(generation))" }
    /// Shard `shard` of generation `generation`.
    static func shardName(_ generation: UInt64, _ shard: Int) -> String { "shard-\(pad(generation))-\(pad(UInt64(shard))).hidx" }

    /// The `n`-th deletion file written by generation `generation` (`shard-…` names with the
    /// `.del` extension; `n` counts the files of that generation, not shards).
    static func deletionsName(_ generation: UInt64, _ n: Int) -> String { "shard-\(pad(generation))-\(pad(UInt64(n))).del" }

    /// The write log of generation `generation` (changes committed after it without a shard).
    static func logName(_ generation: UInt64) -> String { "LOG-\(pad(generation))" }

    /// The generation encoded in a manifest, shard, deletion or log file name, if it is one of ours.
    static func generation(ofFile name: String) -> UInt64? {
        if name.hasPrefix("MANIFEST-") { return UInt64(name.dropFirst(9)) }
        if name.hasPrefix("LOG-") { return UInt64(name.dropFirst(4)) }
        if name.hasPrefix("shard-") && (name.hasSuffix(".hidx") || name.hasSuffix(".del")) {
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
    /// Attribute columns (§3.4), present when the shard's items have attributes.
    case attributes = 11
}

/// How a section's bytes (or each of its blocks) are stored.
public enum SectionCodec: UInt32, Sendable, CustomStringConvertible {
    /// As they are.
    case none = 0
    /// LZ4 block format, one LZ4 block per data block.
    case lz4 = 1

    /// The codec's name (`none`, `lz4`), as `hashidx info` prints it.
    public var description: String { self == .none ? "none" : "lz4" }
}
