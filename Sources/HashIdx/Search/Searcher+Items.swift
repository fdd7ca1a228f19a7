extension Searcher {
    /// The id of row `row`: its string id, or the row number as text. Throws for a deleted row.
    func id(ofRow row: Int) throws(HashIdxError) -> String {
        _ = try locateLive(row)
        var cursor = BlockCursor()
        return try id(ofRow: row, cursor: &cursor)
    }

    /// The id of row `row`, reading through `cursor`.
    func id(ofRow row: Int, cursor: inout BlockCursor) throws(HashIdxError) -> String {
        let (shard, local) = try locate(row)
        if !manifest.hasStringIDs { return String(row) }
        return try shard.id(at: shard.position(ofRow: local), cursor: &cursor)
    }

    /// The row of the live item whose id is `id`, or `nil` when no live item has it.
    func row(forID id: String) throws(HashIdxError) -> Int? {
        var cursor = BlockCursor()
        return try row(forID: id, cursor: &cursor)
    }

    /// ``row(forID:)`` reading through `cursor`. An id is unique among live items; a deleted
    /// item may share it (the old version of an upserted item), in the same or an earlier
    /// shard, so every shard is asked, newest first.
    func row(forID id: String, cursor: inout BlockCursor) throws(HashIdxError) -> Int? {
        if !manifest.hasStringIDs {
            guard let r = Int(id), r >= 0, r < count, String(r) == id else { return nil }
            let (shard, local) = try locate(r)
            return shard.isDeleted(position: shard.position(ofRow: local)) ? nil : r
        }
        for s in shards.reversed() {
            if let position = try s.position(forID: id, cursor: &cursor), !s.isDeleted(position: position) {
                return s.firstRow + s.rowNumber(atPosition: position)
            }
        }
        return nil
    }

    /// The stored unit vector of row `row`; throws for a deleted row.
    func unitVector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        let (shard, position) = try locateLive(row)
        return try shard.unitVector(at: position)
    }

    /// The stored norm (original length) of row `row`; throws for a deleted row.
    func norm(ofRow row: Int) throws(HashIdxError) -> Float {
        let (shard, position) = try locateLive(row)
        return shard.norm(at: position)
    }
}
