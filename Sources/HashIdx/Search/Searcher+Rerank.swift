#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Searcher {
    /// The `options.k` rows most similar to the unit vector `q` by the ranking of
    /// ``Rerank`` (the option's, else the index's), best first (ties go to the lower row),
    /// leaving out what `filter` excludes. `options` were checked.
    func search(unit q: [Float], options: SearchOptions, filter: RowFilter) throws(HashIdxError) -> [SearchResult] {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        // (At most every row: option values far above the row count cost nothing.)
        let want = min(count, max(options.candidates, options.k))
        let candidates = rerankCandidates(q, want: want, options: options, filter: filter, scratch: scratch)
        // The final score of each candidate (``Rerank``): exact cosine on the stored unit
        // vectors, the learned score of its code, or a blend. Candidates come sorted by shard
        // and position, so each block is read (and decoded) once.
        let mode = options.rerank ?? manifest.rerank
        let blend = options.blendWeight ?? manifest.blendWeight
        var scored: [(row: Int, score: Float)] = []
        scored.reserveCapacity(candidates.count)
        let learned = mode == .cosine ? nil : LearnedScorer(margins: scratch.margins, bits: bits)
        var cursor = BlockCursor(buffer: scratch.blocks)
        try q.withUnsafeBufferPointer { (qb) throws(HashIdxError) in
            for (shardIndex, position) in candidates {
                let shard = shards[shardIndex]
                var score: Float
                if let learned {
                    score = learned.score(shard.codes + position * model.words)
                    if mode == .blend {
                        let v = try shard.vector(at: position, cursor: &cursor)
                        let cosine = Vectors.dot(qb.baseAddress!, stored: v, type: shard.vectorType, count: dimension)
                        score = (1 - blend) * cosine + blend * score
                    }
                } else {
                    let v = try shard.vector(at: position, cursor: &cursor)
                    score = Vectors.dot(qb.baseAddress!, stored: v, type: shard.vectorType, count: dimension)
                }
                scored.append((row(shard: shardIndex, position: position), score))
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

/// The learned score of codes against one query: `ℓ = Σⱼ tanh(yⱼ) sⱼ / Σⱼ |tanh(yⱼ)|`, `y` the
/// query's margins, `sⱼ = ±1` the code's bits (see ``Rerank/learned``).
struct LearnedScorer {
    /// `tanh(yⱼ) / Σ|tanh|`, so a score is `2 Σ_{set bits} wⱼ − Σ wⱼ`.
    private let weights: [Float]
    private let total: Float
    private let words: Int

    init(margins: [Float], bits: Int) {
        var w = (0..<bits).map { tanhf(margins[$0]) }
        let norm = w.reduce(Float(0)) { $0 + abs($1) }
        if norm > 0 { for j in 0..<bits { w[j] /= norm } }
        weights = w
        total = w.reduce(0, +)
        words = bits / 64
    }

    /// The score of the code at `code` (`words` words), in [−1, 1].
    func score(_ code: UnsafePointer<UInt64>) -> Float {
        var sum: Float = 0
        weights.withUnsafeBufferPointer { w in
            for word in 0..<words {
                var bits = code[word]
                let base = word * 64
                while bits != 0 {
                    sum += w[base + bits.trailingZeroBitCount]
                    bits &= bits - 1
                }
            }
        }
        return 2 * sum - total
    }
}
