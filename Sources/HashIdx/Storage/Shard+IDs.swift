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

    /// The position whose id is `id`, by binary search over the id order; `nil` when no
    /// position of this shard has it (or ids are row numbers).
    func position(forID id: String, cursor: inout BlockCursor) throws(HashIdxError) -> Int? {
        guard let order = idOrder else { return nil }
        let key = Array(id.utf8)
        var lo = 0, hi = rows
        while lo < hi {
            let mid = (lo + hi) / 2
            let p = Int(order.le(UInt32.self, at: 4 * mid))
            let candidate = try self.id(at: p, cursor: &cursor)
            if candidate.utf8.lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        if lo < rows {
            let p = Int(order.le(UInt32.self, at: 4 * lo))
            if try self.id(at: p, cursor: &cursor) == id { return p }
        }
        return nil
    }
}
