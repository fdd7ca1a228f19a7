extension Searcher {
    /// The id of row `row`: its string id, or the row number as text.
    func id(ofRow row: Int) throws(HashIdxError) -> String {
        var cursor = BlockCursor()
        return try id(ofRow: row, cursor: &cursor)
    }

    /// The id of row `row`, reading through `cursor`.
    func id(ofRow row: Int, cursor: inout BlockCursor) throws(HashIdxError) -> String {
        let (shard, local) = try locate(row)
        if !manifest.hasStringIDs { return String(row) }
        return try shard.id(at: shard.position(ofRow: local), cursor: &cursor)
    }

    /// The row whose id is `id`, or `nil` when no item has it.
    func row(forID id: String) throws(HashIdxError) -> Int? {
        if !manifest.hasStringIDs {
            guard let r = Int(id), r >= 0, r < count, String(r) == id else { return nil }
            return r
        }
        var cursor = BlockCursor()
        for s in shards {
            if let position = try s.position(forID: id, cursor: &cursor) { return s.firstRow + s.rowNumber(atPosition: position) }
        }
        return nil
    }

    /// The stored unit vector of row `row`.
    func unitVector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        let (shard, local) = try locate(row)
        return try shard.unitVector(at: shard.position(ofRow: local))
    }

    /// The stored norm (original length) of row `row`.
    func norm(ofRow row: Int) throws(HashIdxError) -> Float {
        let (shard, local) = try locate(row)
        return shard.norm(at: shard.position(ofRow: local))
    }
}
