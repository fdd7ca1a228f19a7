extension Searcher {
    /// The `options.k` rows most cosine-similar to the unit vector `q`, best first (ties go
    /// to the lower row), leaving out what `filter` excludes. `options` were checked.
    func search(unit q: [Float], options: SearchOptions, filter: RowFilter) throws(HashIdxError) -> [SearchResult] {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        // (At most every row: option values far above the row count cost nothing.)
        let want = min(count, max(options.candidates, options.k))
        let candidates = rerankCandidates(q, want: want, options: options, filter: filter, scratch: scratch)
        // Exact cosine on the candidates' stored unit vectors. Candidates come sorted by
        // shard and position, so each block is read (and decoded) once.
        var scored: [(row: Int, score: Float)] = []
        scored.reserveCapacity(candidates.count)
        var cursor = BlockCursor(buffer: scratch.blocks)
        try q.withUnsafeBufferPointer { (qb) throws(HashIdxError) in
            for (shardIndex, position) in candidates {
                let shard = shards[shardIndex]
                let v = try shard.vector(at: position, cursor: &cursor)
                scored.append((row(shard: shardIndex, position: position),
                               Vectors.dot(qb.baseAddress!, stored: v, type: shard.vectorType, count: dimension)))
            }
        }
        // The top k, best first, with their ids.
        let best = Selection.topK(scored, k: options.k)
        var out: [SearchResult] = []
        out.reserveCapacity(best.count)
        for (row, score) in best {
            var attributes: Attributes = [:]
            if !options.fields.isEmpty {
                let (shard, local) = try locate(row)
                attributes = shard.attributes.attributes(at: shard.position(ofRow: local), fields: options.fields)
            }
            out.append(SearchResult(row: row, id: try id(ofRow: row, cursor: &cursor), score: min(1, max(-1, score)),
                                    attributes: attributes))
        }
        return out
    }

    /// The rows a search with `options` re-ranks by exact cosine for the unit vector `q`,
    /// ascending.
    func candidateRows(unit q: [Float], options: SearchOptions, filter: RowFilter = .none) -> [Int] {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        return rerankCandidates(q, want: min(count, max(options.candidates, options.k)), options: options,
                                filter: filter, scratch: scratch)
            .map { row(shard: $0.0, position: $0.1) }.sorted()
    }
}
