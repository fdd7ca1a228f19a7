extension Shard {
    /// The id stored at `position` (string ids only). An id block holds the `uint32` lengths
    /// of its ids, then their UTF-8 bytes back to back.
    func id(at position: Int, cursor: inout BlockCursor) throws(HashIdxError) -> String {
        let blockNo = position / rowsPerBlock
        let inBlock = position % rowsPerBlock
        let blockRows = min(rowsPerBlock, rows - blockNo * rowsPerBlock)
        let b = try cachedBlock(holding: position, ids: true, cursor: &cursor)
        var start = 4 * blockRows
        for i in 0..<inBlock { start += Int(b.le(UInt32.self, at: 4 * i)) }
        let len = Int(b.le(UInt32.self, at: 4 * inBlock))
        guard start <= b.count, len <= b.count - start,
              let s = String(validating: UnsafeRawBufferPointer(rebasing: b[start..<(start + len)]), as: UTF8.self) else {
            throw .corruptIndex(path: path, reason: "id block \(blockNo) is malformed")
        }
        return s
    }

    /// The position whose id is `id`, by binary search over the id order (over its entries
    /// `entries` only, when the caller knows the id can only be there); `nil` when no
    /// position of this shard has it (or ids are row numbers).
    func position(forID id: String, cursor: inout BlockCursor, entries: Range<Int>? = nil) throws(HashIdxError) -> Int? {
        guard let order = idOrder else { return nil }
        let key = Array(id.utf8)
        let entries = entries ?? 0..<rows
        var lo = entries.lowerBound, hi = entries.upperBound
        while lo < hi {
            let mid = (lo + hi) / 2
            let p = Int(order.le(UInt32.self, at: 4 * mid))
            let candidate = try self.id(at: p, cursor: &cursor)
            if candidate.utf8.lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        if lo < entries.upperBound {
            let p = Int(order.le(UInt32.self, at: 4 * lo))
            if try self.id(at: p, cursor: &cursor).utf8.elementsEqual(key) { return p }   // bytes, not canonical equivalence
        }
        return nil
    }
}

/// A shard's ids held in memory for many look-ups (a writer checking every added id): every
/// id of a small shard in a dictionary, or, for a large one, a fence of every
/// ``stride``-th id in id order, so that a look-up decodes a handful of id blocks instead of
/// one per binary-search step. Built once per shard file (shards never change).
struct ShardIDLookup: Sendable {
    /// Shards up to this many rows are held whole.
    static let wholeLimit = 65_536
    /// Ids in id order between two fence entries.
    static let stride = 32

    private let whole: [IDKey: Int32]?
    /// The UTF-8 bytes of the ids at id-order entries 0, stride, 2 × stride, …
    private let fence: [[UInt8]]

    /// Reads `shard`'s ids (string ids only: `nil` without); shards of up to `wholeLimit`
    /// rows are held whole.
    init?(_ shard: Shard, wholeLimit: Int = Self.wholeLimit) throws(HashIdxError) {
        guard let order = shard.idOrder else { return nil }
        var cursor = BlockCursor()
        if shard.rows <= wholeLimit {
            var map: [IDKey: Int32] = [:]
            map.reserveCapacity(shard.rows)
            for p in 0..<shard.rows { map[IDKey(try shard.id(at: p, cursor: &cursor))] = Int32(p) }
            whole = map
            fence = []
        } else {
            var f: [[UInt8]] = []
            f.reserveCapacity(shard.rows / Self.stride + 1)
            for k in Swift.stride(from: 0, to: shard.rows, by: Self.stride) {
                f.append(Array(try shard.id(at: Int(order.le(UInt32.self, at: 4 * k)), cursor: &cursor).utf8))
            }
            whole = nil
            fence = f
        }
    }

    /// The position of `id` in `shard` (the shard this was built from), or `nil`.
    func position(of id: String, in shard: Shard, cursor: inout BlockCursor) throws(HashIdxError) -> Int? {
        if let whole { return whole[IDKey(id)].map(Int.init) }
        let key = Array(id.utf8)
        // The last fence entry ≤ key: the id, if present, is in that stride of id order.
        var lo = 0, hi = fence.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if key.lexicographicallyPrecedes(fence[mid]) { hi = mid } else { lo = mid + 1 }
        }
        guard lo > 0 else { return nil }
        return try shard.position(forID: id, cursor: &cursor,
                                  entries: ((lo - 1) * Self.stride)..<min(shard.rows, lo * Self.stride))
    }
}
