extension Searcher {
    /// The entry point of a query: the `options.k` rows most similar to the unit vector `q`
    /// by the ranking of ``Rerank`` (the option's, else the index's), best first (ties go to
    /// the lower row), leaving out what `filter` excludes. `options` were checked.
    ///
    /// The candidates (`Searcher+Candidates`, or `Filters/Searcher+Filtered` with an attribute
    /// filter), their final scores (`Searcher+Rerank`), the top k with their ids and fields.
    func search(unit q: [Float], options: SearchOptions, filter: RowFilter) throws(HashIdxError) -> [SearchResult] {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        // (At most every row: option values far above the row count cost nothing.)
        let want = min(count, max(options.candidateCount, options.k))
        let candidates = rerankCandidates(q, want: want, options: options, filter: filter, scratch: scratch)
        var cursor = BlockCursor(buffer: scratch.blocks)
        let scored = try rerank(candidates, query: q, options: options, scratch: scratch, cursor: &cursor)
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
        return rerankCandidates(q, want: min(count, max(options.candidateCount, options.k)), options: options,
                                filter: filter, scratch: scratch)
            .map { row(shard: $0.0, position: $0.1) }.sorted()
    }
}
