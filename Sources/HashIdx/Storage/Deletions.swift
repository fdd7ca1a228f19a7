/// The deleted positions of one shard: one bit per position, set when the item stored there
/// was deleted (docs/FORMAT.md §5, the deletion file).
///
/// Shards never change once written; deleting an item writes a new deletion file for its
/// shard in the writer's generation (the old bits plus the new ones), named by the manifest
/// of that generation. A reader loads the bits once, when it opens the generation, so later
/// commits (which write new files and remove old ones) never change what it sees.
struct Deletions: Equatable, Sendable {
    /// Positions in the shard.
    let rows: Int
    /// `(rows + 63) / 64` words; bit `p % 64` of word `p / 64` is position `p` (read through
    /// ``contains(_:)``, ``forEach(in:_:)`` and ``removeDeleted(from:range:)``).
    private var words: [UInt64]
    /// Set bits.
    private(set) var count: Int

    /// No position deleted.
    init(rows: Int) {
        self.rows = rows
        words = [UInt64](repeating: 0, count: (rows + 63) / 64)
        count = 0
    }

    /// Whether position `p` is deleted.
    @inline(__always)
    func contains(_ p: Int) -> Bool { words[p >> 6] & (1 << UInt64(p & 63)) != 0 }

    /// Marks position `p`; returns whether it was live.
    @discardableResult
    mutating func insert(_ p: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(p & 63)
        if words[p >> 6] & bit != 0 { return false }
        words[p >> 6] |= bit
        count += 1
        return true
    }

    /// Calls `body` with every deleted position in `range`, ascending.
    @inline(__always)
    func forEach(in range: Range<Int>, _ body: (Int) -> Void) {
        guard count > 0, !range.isEmpty else { return }
        for w in (range.lowerBound >> 6)...((range.upperBound - 1) >> 6) {
            var bits = word(w, within: range)
            while bits != 0 {
                body(w << 6 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
    }

    /// The deleted positions in `range`.
    func count(in range: Range<Int>) -> Int {
        guard count > 0, !range.isEmpty else { return 0 }
        var n = 0
        for w in (range.lowerBound >> 6)...((range.upperBound - 1) >> 6) { n += word(w, within: range).nonzeroBitCount }
        return n
    }

    /// Word `w` of the bitmap with the bits of positions outside `range` cleared.
    @inline(__always)
    private func word(_ w: Int, within range: Range<Int>) -> UInt64 {
        var bits = words[w]
        if w == range.lowerBound >> 6 { bits &= ~UInt64(0) << UInt64(range.lowerBound & 63) }
        if w == (range.upperBound - 1) >> 6 && range.upperBound & 63 != 0 { bits &= (1 << UInt64(range.upperBound & 63)) - 1 }
        return bits
    }

    /// Clears in `bits` (a bitmap of `range.count` positions: bit `i` is position
    /// `range.lowerBound + i`) the bit of every deleted position, leaving the live ones.
    func removeDeleted(from bits: UnsafeMutablePointer<UInt64>, range: Range<Int>) {
        guard count > 0, !range.isEmpty else { return }
        words.withUnsafeBufferPointer { d in
            Bitmap.clear(bits, whereSetIn: d.baseAddress!, from: range.lowerBound, count: range.count)
        }
    }

    /// Calls `body` with the bitmap's words (bit `p % 64` of word `p / 64` is position `p`),
    /// for the scan kernels.
    func withUnsafeWords<R>(_ body: (UnsafePointer<UInt64>) -> R) -> R {
        words.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    // MARK: File

    /// Magic of a deletion file.
    static let magic: [UInt8] = Array("HIDXDELS".utf8)
    /// Bytes before the bitmap.
    static let headerSize = 40

    /// Bytes of the deletion file of a shard of `rows` rows.
    static func fileSize(rows: Int) -> Int { headerSize + (rows + 63) / 64 * 8 + 4 }

    /// The file: magic, version, flags, rows, deleted count, the shard's header CRC, a
    /// reserved word, the bitmap, and the CRC-32C of everything before it.
    func encoded(shardHeaderCRC: UInt32) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.u32(Format.version)
        w.u32(0)
        w.u64(UInt64(rows))
        w.u64(UInt64(count))
        w.u32(shardHeaderCRC)
        w.u32(0)
        for v in words { w.u64(v) }
        w.u32(crc32c(w.bytes))
        return w.bytes
    }

    /// Parses and checks a deletion file for the shard described by `record`; `path` names
    /// it in errors.
    static func decode(_ b: UnsafeRawBufferPointer, record: ShardRecord, path: String) throws(HashIdxError) -> Deletions {
        func bad(_ why: String) -> HashIdxError { .corruptIndex(path: path, reason: "deletion file: \(why)") }
        guard b.count >= headerSize + 4, (0..<8).allSatisfy({ b[$0] == magic[$0] }) else {
            throw bad("no HIDXDELS magic, or truncated")
        }
        let stored = b.le(UInt32.self, at: b.count - 4)
        guard checksum(of: UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 4)]), matches: stored) else {
            throw bad("checksum mismatch")
        }
        var r = ByteReader(b, offset: 8) { bad($0) }
        let version = try r.u32("version")
        let flags = try r.u32("flags")
        let rows = try r.u64("rows")
        let deleted = try r.u64("deleted count")
        let crc = try r.u32("shard header checksum")
        let reserved = try r.u32("reserved")
        // (Deletion files exist since version 3; their layout has not changed since.)
        guard version >= 3 && Format.readableVersions.contains(version), flags == 0, reserved == 0 else {
            throw bad("unknown version or flags")
        }
        guard rows == record.rows, crc == record.headerCRC else { throw bad("belongs to another shard") }
        let n = Int(rows)
        guard b.count == headerSize + (n + 63) / 64 * 8 + 4 else { throw bad("length does not match \(n) rows") }
        var d = Deletions(rows: n)
        var total = 0
        for i in 0..<d.words.count {
            let v = b.le(UInt64.self, at: headerSize + 8 * i)
            d.words[i] = v
            total += v.nonzeroBitCount
        }
        if n % 64 != 0, d.words[d.words.count - 1] >> UInt64(n % 64) != 0 { throw bad("bits set beyond the last row") }
        guard UInt64(total) == deleted, deleted == record.deleted else {
            throw bad("deleted count \(deleted) disagrees with the bitmap (\(total)) or the manifest (\(record.deleted))")
        }
        d.count = total
        return d
    }
}
