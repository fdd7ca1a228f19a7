/// Rows of a write buffer, added together (one log commit, or one replayed log) and never
/// changed after: shared by every snapshot that holds them.
final class BufferChunk: Sendable {
    /// The buffer row of the first row here.
    let first: Int
    let count: Int
    /// Unit vectors, `count × dimension`, row-major.
    let units: [Float]
    /// The rows' lengths as given.
    let norms: [Float]
    /// Their codes under the index's model, `count × words` (for the learned score).
    let codes: [UInt64]
    let ids: [String]
    let attributes: [Attributes]

    /// Rows `rows` of `pending`'s added rows, hashed with `model`.
    init(_ pending: PendingChanges, rows: Range<Int>, model: HashModel) throws(HashIdxError) {
        let d = model.dimension, words = model.words
        first = rows.lowerBound
        count = rows.count
        var units = pending.values(of: Array(rows), dimension: d)
        var norms = [Float](repeating: 0, count: rows.count)
        var codes = [UInt64](repeating: 0, count: rows.count * words)
        var margins = [Float](repeating: 0, count: model.bits)
        try units.withUnsafeMutableBufferPointer { (u) throws(HashIdxError) in
            for i in 0..<rows.count {
                let row = UnsafeMutableBufferPointer(rebasing: u[(i * d)..<((i + 1) * d)])
                norms[i] = try Vectors.normalize(row, source: "write buffer", row: rows.lowerBound + i)
                margins.withUnsafeMutableBufferPointer { model.project(UnsafeBufferPointer(row), into: $0) }
                for j in 0..<model.bits where margins[j] > 0 { codes[i * words + j / 64] |= 1 << UInt64(j % 64) }
            }
        }
        self.units = units
        self.norms = norms
        self.codes = codes
        ids = Array(pending.addedIDs[rows])
        let table = pending.addedAttributes.gathering(rows)
        attributes = (0..<rows.count).map { table[$0] }
    }
}

/// A snapshot of the changes made after a generation and not yet written to its shards
/// (Lucene's near-real-time reader): the rows added, searched exactly, and the base rows
/// deleted, which searches of the base skip as if their deletion file said so.
///
/// Built by the writer after each commit to the write log (``IndexWriter/snapshot()``),
/// extending the previous snapshot's chunks, and by a reader from the log it replays. Rows
/// are numbered after the base's: buffer row `i` is the index's row `baseRows + i`.
struct WriteBuffer: Sendable {
    /// The generation the changes apply to.
    let generation: UInt64
    /// The base's row count (the buffer's first row number).
    let baseRows: Int
    let dimension: Int
    let words: Int
    /// The added rows, in order.
    let chunks: [BufferChunk]
    /// Buffer rows, removed ones included.
    let rows: Int
    /// Buffer rows deleted or replaced again.
    let removed: Set<Int>
    /// The same as bits (bit `r % 64` of word `r / 64`), for the scan.
    private let removedBits: [UInt64]
    /// The buffer row of each live buffered id.
    let ids: [IDKey: Int]
    /// Positions of the base's shards deleted, by shard index.
    let deletions: [Int: Set<Int>]
    /// The attribute types of the base and the buffered rows together.
    let schema: [String: AttributeType]

    /// Live buffered rows.
    var liveCount: Int { rows - removed.count }
    /// Whether there is nothing in the buffer.
    var isEmpty: Bool { rows == 0 && deletions.isEmpty }

    /// The buffer of `pending` on `base`, reusing the chunks of `previous` (an earlier buffer
    /// of the same changes on the same base) for the rows it already holds.
    init(base: Index, pending: PendingChanges, extending previous: WriteBuffer?) throws(HashIdxError) {
        let reuse = previous.flatMap { $0.generation == base.generation && $0.rows <= pending.addedCount ? $0 : nil }
        generation = base.generation
        baseRows = base.rowCount
        dimension = base.dimension
        words = base.model.words
        var chunks = reuse?.chunks ?? []
        let start = reuse?.rows ?? 0
        if pending.addedCount > start {
            chunks.append(try BufferChunk(pending, rows: start..<pending.addedCount, model: base.model))
        }
        self.chunks = chunks
        rows = pending.addedCount
        removed = pending.addedRemoved
        var bits = [UInt64](repeating: 0, count: (pending.addedCount + 63) / 64)
        for r in removed { bits[r >> 6] |= 1 << UInt64(r & 63) }
        removedBits = bits
        var ids = reuse?.ids ?? [:]
        for chunk in chunks where chunk.first >= start {
            for (i, id) in chunk.ids.enumerated() { ids[IDKey(id)] = chunk.first + i }
        }
        for r in removed where !(reuse?.removed.contains(r) ?? false) {
            let key = IDKey(pending.addedIDs[r])
            if ids[key] == r { ids[key] = nil }
        }
        self.ids = ids
        deletions = pending.deletions
        schema = base.attributeSchema.merging(pending.addedAttributes.schema) { a, b in a == .float || b == .float ? .float : a }
    }

    // MARK: Rows

    /// The chunk and index in it of buffer row `r`.
    func locate(_ r: Int) -> (chunk: BufferChunk, index: Int) {
        var lo = 0, hi = chunks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if chunks[mid].first <= r { lo = mid } else { hi = mid - 1 }
        }
        return (chunks[lo], r - chunks[lo].first)
    }

    /// The live buffer row of `id`.
    func row(of id: String) -> Int? { ids[IDKey(id)] }

    /// The chunk and index of the live buffer row `r`; throws
    /// ``HashIdxError/invalidArgument(name:reason:)`` (naming index row `baseRows + r`) for a
    /// row outside the buffer or deleted.
    func locateLive(_ r: Int) throws(HashIdxError) -> (chunk: BufferChunk, index: Int) {
        guard r >= 0, r < rows else {
            throw .invalidArgument(name: "row", reason: "\(baseRows + r) is outside 0..<\(baseRows + rows)")
        }
        guard !removed.contains(r) else { throw .invalidArgument(name: "row", reason: "row \(baseRows + r) was deleted") }
        return locate(r)
    }

    /// The id of the live buffer row `r`.
    func id(ofRow r: Int) throws(HashIdxError) -> String {
        let (c, i) = try locateLive(r)
        return c.ids[i]
    }

    /// The unit vector and length of the live buffer row `r`.
    func vector(ofRow r: Int) throws(HashIdxError) -> (unit: [Float], norm: Float) {
        let (c, i) = try locateLive(r)
        return (Array(c.units[(i * dimension)..<((i + 1) * dimension)]), c.norms[i])
    }

    /// The attributes of the live buffer row `r` (only `fields` when given).
    func attributes(ofRow r: Int, fields: [String]?) throws(HashIdxError) -> Attributes {
        let (c, i) = try locateLive(r)
        guard let fields else { return c.attributes[i] }
        return c.attributes[i].filter { fields.contains($0.key) }
    }

    // MARK: Base

    /// `base`'s searcher with the buffer's deletions applied: a view of every shard with
    /// deleted positions, the others as they are, and the manifest's counts to match.
    func searcher(over base: Searcher) -> Searcher {
        guard !deletions.isEmpty else { return base }
        var shards = base.shards
        var manifest = base.manifest
        for (index, positions) in deletions {
            var bits = shards[index].deletions ?? Deletions(rows: shards[index].rows)
            for p in positions { bits.insert(p) }
            shards[index] = Shard(shards[index], deletions: bits)
            manifest.shards[index].deleted = UInt64(bits.count)
        }
        return Searcher(base, manifest: manifest, shards: shards)
    }

    // MARK: Search

    /// The best `k` live buffered rows for the unit query `q`, as (index row, score): by
    /// cosine, or by the learned score of their codes (`margins`: the query's), or a blend,
    /// as ``Searcher/rerank`` scores shard rows. `filter` must hold; `excluding` (a buffer
    /// row) is left out.
    func search(_ q: [Float], k: Int, mode: Rerank, blend: Float, margins: [Float]?,
                filter: Filter?, excluding: Int?) -> [(row: Int, score: Float)] {
        guard k > 0, liveCount > 0 else { return [] }
        var heap = BoundedHeap(capacity: k)
        let learned = mode == .cosine ? nil : margins.map { LearnedScorer(margins: $0, bits: words * 64) }
        let d = dimension
        q.withUnsafeBufferPointer { qb in
            for chunk in chunks {
                chunk.units.withUnsafeBufferPointer { u in
                    chunk.codes.withUnsafeBufferPointer { codes in
                        for i in 0..<chunk.count {
                            let r = chunk.first + i
                            if r == excluding || removedBits[r >> 6] & (1 << UInt64(r & 63)) != 0 { continue }
                            if let filter, !filter.matches(chunk.attributes[i]) { continue }
                            var score: Float
                            if let learned {
                                score = learned.score(of: codes.baseAddress! + i * words)
                                if mode == .blend {
                                    score = (1 - blend) * Kernels.dot(qb.baseAddress!, u.baseAddress! + i * d, count: d) + blend * score
                                }
                            } else {
                                score = Kernels.dot(qb.baseAddress!, u.baseAddress! + i * d, count: d)
                            }
                            heap.offer(row: baseRows + r, score: score)
                        }
                    }
                }
            }
        }
        return heap.sorted()
    }
}
