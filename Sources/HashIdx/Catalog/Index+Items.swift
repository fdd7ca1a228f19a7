extension Index {
    /// The id of row `row`; throws ``HashIdxError/invalidArgument(name:reason:)`` for a row
    /// outside `0..<rowCount` or deleted.
    public func id(ofRow row: Int) throws(HashIdxError) -> String {
        try searcher.id(ofRow: row)
    }

    /// The row of the item whose id is `id`, or `nil` when no item has it (deleted items
    /// have none).
    public func row(forID id: String) throws(HashIdxError) -> Int? {
        try searcher.row(forID: id)
    }

    /// The stored vector of row `row`, at its original length.
    public func vector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        var unit = try searcher.unitVector(ofRow: row)
        let n = try searcher.norm(ofRow: row)
        for i in unit.indices { unit[i] *= n }
        return unit
    }

    /// The unit-normalised stored vector of row `row`.
    func unitVector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        try searcher.unitVector(ofRow: row)
    }

    /// Reads every vector and id block and checks its checksum. Open already checks
    /// everything else; queries check each block the first time they read it.
    public func verify() throws(HashIdxError) {
        for s in shards { try s.verifyAll() }
    }
}
