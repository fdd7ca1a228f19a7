extension Index {
    /// The id of row `row`; throws ``HashIdxError/invalidArgument(name:reason:)`` for a row
    /// outside `0..<rowCount` or deleted.
    public func id(ofRow row: Int) throws(HashIdxError) -> String {
        if let buffer, row >= searcher.count { return try buffer.id(ofRow: row - searcher.count) }
        return try searcher.id(ofRow: row)
    }

    /// The row of the item whose id is `id`, or `nil` when no item has it (deleted items
    /// have none).
    public func row(forID id: String) throws(HashIdxError) -> Int? {
        if let buffer, let r = buffer.row(of: id) { return searcher.count + r }
        return try searcher.row(forID: id)
    }

    /// The stored vector of row `row`, at its original length.
    ///
    /// It is *reconstructed*, not the bytes that were written: the index stores each vector
    /// as its unit direction (at the index's ``VectorType``) and its norm, which is what the
    /// cosine re-rank reads, and this multiplies them back. So the error is relative to the
    /// vector's length: in a float32 index a component may differ from the written one by
    /// about 1e-7 × the norm (an ulp or two for components near the largest; a component a
    /// billion times smaller than the norm may come back as 0); in a float16 index, by about
    /// 1e-3 × the norm. Keep the exact originals elsewhere if you need them bit for bit.
    public func vector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        var unit: [Float], n: Float
        if let buffer, row >= searcher.count {
            (unit, n) = try buffer.vector(ofRow: row - searcher.count)
        } else {
            unit = try searcher.unitVector(ofRow: row)
            n = try searcher.norm(ofRow: row)
        }
        for i in unit.indices { unit[i] *= n }
        return unit
    }

    /// The unit-normalised stored vector of row `row`.
    func unitVector(ofRow row: Int) throws(HashIdxError) -> [Float] {
        if let buffer, row >= searcher.count { return try buffer.vector(ofRow: row - searcher.count).unit }
        return try searcher.unitVector(ofRow: row)
    }

    /// Reads every vector and id block and checks its checksum. Open already checks
    /// everything else; queries check each block the first time they read it. `progress`
    /// hears the rows checked (``WorkProgress/Phase/reading``), a shard at a time.
    ///
    /// - Parameter files: the shard files to check, by file name (`shard-000003-000000.hidx`);
    ///   `nil` checks every shard. A name that is not a shard of this generation is skipped,
    ///   so a copy that fetched only some files of a new generation checks just those.
    /// - Parameter progress: hears the rows checked so far.
    public func verify(files: Set<String>? = nil, progress: (WorkProgress) -> Void = { _ in }) throws(HashIdxError) {
        let chosen = shards.filter { files?.contains(Self.fileName(of: $0.path)) ?? true }
        let total = chosen.reduce(0) { $0 + $1.rows }
        var done = 0
        progress(WorkProgress(phase: .reading, done: 0, total: total))
        for s in chosen {
            try s.verifyAll()
            done += s.rows
            progress(WorkProgress(phase: .reading, done: done, total: total))
        }
    }

    private static func fileName(of path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }
}
