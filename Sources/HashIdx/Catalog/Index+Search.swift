import Dispatch
import Synchronization

extension Index {
    /// The `options.k` items most cosine-similar to `query`, best first; ties go to the
    /// lower row. Fewer than `k` when the index holds fewer items (all of them, best first;
    /// none in an empty index) or, with ``SearchOptions/filter``, when fewer satisfy it.
    ///
    /// - Throws: ``HashIdxError/dimensionMismatch(expected:actual:source:)``,
    ///   ``HashIdxError/nonFiniteQuery(source:row:)``, ``HashIdxError/zeroVector(source:row:)``
    ///   for a bad query; ``HashIdxError/invalidArgument(name:reason:)`` for bad options;
    ///   ``HashIdxError/invalidFilter(expression:offset:reason:)`` for a filter that names an
    ///   attribute the index lacks or compares it with a value of another type.
    public func search(_ query: [Float], options: SearchOptions = SearchOptions()) throws(HashIdxError) -> [SearchResult] {
        let options = try checked(options, leavingOut: 0)
        let unit = try unitQuery(query)
        let filter = try rowFilter(options, excluding: [])
        guard count > 0 else { return [] }
        return try search(unit: unit, options: options, filter: filter, excludingBuffered: nil)
    }

    /// The items most similar to the item with id `id` ("more like this"), leaving the item
    /// itself out. Fewer than `k` when the index holds fewer other items (all of them, best
    /// first) or, with ``SearchOptions/filter``, when fewer satisfy it.
    ///
    /// - Throws: ``HashIdxError/unknownID(_:)`` when no item has that id.
    public func search(similarToID id: String, options: SearchOptions = SearchOptions()) throws(HashIdxError) -> [SearchResult] {
        let options = try checked(options, leavingOut: 1)
        guard let row = try row(forID: id) else { throw .unknownID(id) }
        let unit = try unitVector(ofRow: row)
        let buffered = row >= searcher.count ? row - searcher.count : nil
        let filter = try rowFilter(options, excluding: buffered == nil ? [row] : [])
        guard count > 1 else { return [] }
        return try search(unit: unit, options: options, filter: filter, excludingBuffered: buffered)
    }

    /// Searches every row of `queries`, on `threads` threads (all cores when `nil`).
    /// Result `i` belongs to query row `i`; the first bad query's error is thrown.
    public func search(batch queries: any VectorSource, options: SearchOptions = SearchOptions(),
                       threads: Int? = nil) throws(HashIdxError) -> [[SearchResult]] {
        let options = try checked(options, leavingOut: 0)
        guard queries.dimension == dimension else {
            throw .dimensionMismatch(expected: dimension, actual: queries.dimension, source: queries.name)
        }
        let n = queries.count
        let filter = try rowFilter(options, excluding: [])
        let workers = max(1, min(threads ?? System.processorCount, n))
        let results = Locked<[[SearchResult]]>(Array(repeating: [], count: n))
        let firstError = FirstError()
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var q = [Float](repeating: 0, count: dimension)
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= n { break }
                do throws(HashIdxError) {
                    try q.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
                        queries.copyRow(i, into: b)
                        try Self.normalizeQuery(b, source: queries.name, row: i)
                    }
                    let r = count > 0 ? try search(unit: q, options: options, filter: filter, excludingBuffered: nil) : []
                    results.withLock { $0[i] = r }
                } catch {
                    firstError.record(error, at: i)
                }
            }
        }
        try firstError.throwIfAny()
        return results.withLock { $0 }
    }

    /// The rows a search with `options` re-ranks by exact cosine for `query`, ascending:
    /// the Hamming scan's best `candidates × shortlistFactor` in the probed partitions,
    /// narrowed to `candidates` by the asymmetric pass. (Rows in the write buffer,
    /// ``bufferedCount``, are not candidates: a search scores every one of them.)
    public func candidates(for query: [Float], options: SearchOptions = SearchOptions()) throws(HashIdxError) -> [Int] {
        let options = try checked(options, leavingOut: 0)
        let unit = try unitQuery(query)
        let filter = try rowFilter(options, excluding: [])
        guard count > 0 else { return [] }
        return searcher.candidateRows(unit: unit, options: options, filter: filter)
    }

    /// The row filter of a search with `options` leaving out `rows`: the attribute filter
    /// checked against this index and resolved for its shards.
    private func rowFilter(_ options: SearchOptions, excluding rows: [Int]) throws(HashIdxError) -> RowFilter {
        if !options.fields.isEmpty { try checkFields(options.fields) }
        let compiled = try options.filter.map { (f) throws(HashIdxError) in
            try CompiledFilter(f, schema: attributeSchema, shards: searcher.shards)
        }
        return RowFilter(excluding: rows, matching: compiled)
    }

    /// The search of the unit vector `q` over the shards and the write buffer (leaving out
    /// its row `excludingBuffered`): the best `k` of both, best first, ties to the lower row.
    private func search(unit q: [Float], options: SearchOptions, filter: RowFilter,
                        excludingBuffered: Int?) throws(HashIdxError) -> [SearchResult] {
        let fromShards = searcher.liveCount > 0 ? try searcher.search(unit: q, options: options, filter: filter) : []
        guard let buffer, buffer.liveCount > 0 else { return fromShards }
        var margins = [Float](repeating: 0, count: bits)
        var code = [UInt64](repeating: 0, count: model.words)
        q.withUnsafeBufferPointer { qb in margins.withUnsafeMutableBufferPointer { model.project(qb, into: $0) } }
        margins.withUnsafeBufferPointer { m in code.withUnsafeMutableBufferPointer { model.code(fromMargins: m, into: $0) } }
        let fromBuffer = buffer.search(q, k: options.k, shortlist: max(options.k, options.candidateCount),
                                       mode: options.rerank ?? manifest.rerank, blend: options.blendWeight ?? manifest.blendWeight,
                                       margins: margins, code: code, filter: options.filter, excluding: excludingBuffered)
        guard !fromBuffer.isEmpty else { return fromShards }
        var out: [SearchResult] = []
        out.reserveCapacity(options.k)
        var i = 0, j = 0
        while out.count < options.k && (i < fromShards.count || j < fromBuffer.count) {
            // (Buffered rows come after every shard row: an equal score goes to the shard's.)
            if j == fromBuffer.count || (i < fromShards.count && fromShards[i].score >= min(1, max(-1, fromBuffer[j].score))) {
                out.append(fromShards[i]); i += 1
            } else {
                let (row, score) = fromBuffer[j]
                let r = row - searcher.count
                out.append(SearchResult(row: row, id: try buffer.id(ofRow: r), score: min(1, max(-1, score)),
                                        attributes: options.fields.isEmpty ? [:] : try buffer.attributes(ofRow: r, fields: options.fields)))
                j += 1
            }
        }
        return out
    }

    /// `options` checked on their own, as the search runs them: probes and candidates left
    /// unset are the index's (``defaultProbes``, ``defaultCandidates``); when `k` asks for
    /// every item a search can return (all of them, less `leavingOut` for "more like this"),
    /// every partition is probed, so that all of them come back.
    func checked(_ options: SearchOptions, leavingOut: Int) throws(HashIdxError) -> SearchOptions {
        try options.validate()
        var out = options
        out.probes = options.probes ?? defaultProbes
        out.candidates = options.candidates ?? defaultCandidates
        if options.k >= count - leavingOut && partitionCount > 0 { out.probes = max(out.probeCount, partitionCount) }
        return out
    }

    /// `query` checked against the index's dimension and normalised to unit length.
    private func unitQuery(_ query: [Float]) throws(HashIdxError) -> [Float] {
        guard query.count == dimension else {
            throw .dimensionMismatch(expected: dimension, actual: query.count, source: "query")
        }
        var q = query
        try q.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in try Self.normalizeQuery(b, source: "query", row: nil) }
        return q
    }

    /// Normalises the query in `b` to unit length. `row`: the query's row in a batch, `nil`
    /// for a single query; NaN or ∞ is ``HashIdxError/nonFiniteQuery(source:row:)``.
    private static func normalizeQuery(_ b: UnsafeMutableBufferPointer<Float>, source: String, row: Int?) throws(HashIdxError) {
        do {
            _ = try Vectors.normalize(b, source: source, row: row ?? 0, storingNorm: false)
        } catch {
            if case .nonFiniteValue = error { throw .nonFiniteQuery(source: source, row: row) }
            throw error
        }
    }
}
