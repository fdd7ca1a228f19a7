#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Searcher {
    /// The final score of each of `candidates` (sorted (shard, position) pairs) for the unit
    /// vector `q` (``Rerank``, the option's, else the index's): exact cosine on the stored unit
    /// vectors, the learned score of its code, or a blend; as (global row, score), in
    /// candidate order. Candidates come in scan order (by shard and position without a
    /// ``PartitionArena``), so that rows of one block usually come together and it is read
    /// (and decoded) once through `cursor`. `scratch` holds the query's margins.
    func rerank(_ candidates: [(Int, Int)], query q: [Float], options: SearchOptions, scratch: SearchScratch,
                cursor: inout BlockCursor) throws(HashIdxError) -> [(row: Int, score: Float)] {
        let mode = options.rerank ?? manifest.rerank
        let blend = options.blendWeight ?? manifest.blendWeight
        var scored: [(row: Int, score: Float)] = []
        scored.reserveCapacity(candidates.count)
        let learned = mode == .cosine ? nil : LearnedScorer(margins: scratch.margins, bits: bits)
        try q.withUnsafeBufferPointer { (qb) throws(HashIdxError) in
            for (shardIndex, position) in candidates {
                let shard = shards[shardIndex]
                var score: Float
                if let learned {
                    score = learned.score(of: position, in: shard.codes)
                    if mode == .blend {
                        let v = try shard.storedVector(at: position, cursor: &cursor)
                        let cosine = Kernels.dot(qb.baseAddress!, v)
                        score = (1 - blend) * cosine + blend * score
                    }
                } else {
                    let v = try shard.storedVector(at: position, cursor: &cursor)
                    score = Kernels.dot(qb.baseAddress!, v)
                }
                scored.append((row(shard: shardIndex, position: position), score))
            }
        }
        return scored
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

    /// The score of the code of `words` words at `code`, in [−1, 1].
    func score(of code: UnsafePointer<UInt64>) -> Float {
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

    /// The score of the code at `position` of `codes` (`words` words), in [−1, 1].
    func score(of position: Int, in codes: ShardCodes) -> Float {
        var sum: Float = 0
        weights.withUnsafeBufferPointer { w in
            for word in 0..<words {
                var bits = codes.word(word, of: position)
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
