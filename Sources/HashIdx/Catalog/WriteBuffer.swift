/// Rows of a write buffer, added together and never changed after: shared by every snapshot
/// that holds them.
final class BufferChunk: Sendable {
    /// The buffer row of the first row here.
    let first: Int
    let count: Int
    let dimension: Int
    /// Unit vectors, `count × dimension`, row-major.
    let units: [Float]
    /// The rows' lengths as given.
    let norms: [Float]
    /// Their codes under the index's model, `count × words`, back to back (the Hamming
    /// scan's layout).
    let codes: [UInt64]
    let ids: [String]
    let attributes: [Attributes]

    /// `merging` (consecutive chunks, in order) followed by rows `rows` of `pending`'s added
    /// rows, hashed with `model`.
    init(merging: [BufferChunk], _ pending: PendingChanges, rows: Range<Int>, model: HashModel) throws(HashIdxError) {
        let d = model.dimension, words = model.words
        first = merging.first?.first ?? rows.lowerBound
        count = merging.reduce(0) { $0 + $1.count } + rows.count
        dimension = d
        var units: [Float] = [], norms: [Float] = [], codes: [UInt64] = [], ids: [String] = [], attributes: [Attributes] = []
        units.reserveCapacity(count * d); norms.reserveCapacity(count); codes.reserveCapacity(count * words); ids.reserveCapacity(count)
        for chunk in merging {
            units += chunk.units; norms += chunk.norms; codes += chunk.codes; ids += chunk.ids; attributes += chunk.attributes
        }
        var unit = [Float](repeating: 0, count: d)
        var margins = [Float](repeating: 0, count: model.bits)
        var code = [UInt64](repeating: 0, count: words)
        let raw = pending.values(of: Array(rows), dimension: d)
        for (n, row) in rows.enumerated() {
            for i in 0..<d { unit[i] = raw[n * d + i] }
            try unit.withUnsafeMutableBufferPointer { (u) throws(HashIdxError) in
                norms.append(try Vectors.normalize(u, source: "write buffer", row: row))
                margins.withUnsafeMutableBufferPointer { model.project(UnsafeBufferPointer(u), into: $0) }
            }
            margins.withUnsafeBufferPointer { m in code.withUnsafeMutableBufferPointer { model.code(fromMargins: m, into: $0) } }
            units += unit
            codes += code
        }
        ids += pending.addedIDs[rows]
        let table = pending.addedAttributes.gathering(rows)
        attributes += (0..<rows.count).map { table[$0] }
        self.units = units
        self.norms = norms
        self.codes = codes
        self.ids = ids
        self.attributes = attributes
    }

    /// The unit vector of row `i` of this chunk.
    func unit(_ i: Int) -> [Float] { Array(units[(i * dimension)..<((i + 1) * dimension)]) }
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
            // The new rows, with the last chunks while they are no larger (a binary counter:
            // chunk sizes fall geometrically, so there are O(log n) of them and each row is
            // copied O(log n) times).
            var merging: [BufferChunk] = []
            var size = pending.addedCount - start
            while let last = chunks.last, last.count <= size {
                merging.insert(last, at: 0)
                size += last.count
                chunks.removeLast()
            }
            chunks.append(try BufferChunk(merging: merging, pending, rows: start..<pending.addedCount, model: base.model))
        }
        self.chunks = chunks
        rows = pending.addedCount
        removed = pending.addedRemoved
        var bits = [UInt64](repeating: 0, count: (pending.addedCount + 63) / 64)
        for r in removed { bits[r >> 6] |= 1 << UInt64(r & 63) }
        removedBits = bits
        var ids = reuse?.ids ?? [:]
        for r in start..<pending.addedCount { ids[IDKey(pending.addedIDs[r])] = r }
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
        return (c.unit(i), c.norms[i])
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

    /// The best `k` live buffered rows for the unit query `q`, as (index row, score), found
    /// as a search finds shard rows: the `shortlist` nearest codes in Hamming distance to the
    /// query's `code`, scored exactly — by cosine, by the learned score of their codes
    /// (`margins`: the query's), or a blend, as ``Searcher/rerank`` scores shard rows. Every
    /// live row is scored when there are no more than `shortlist` or with a `filter` (which
    /// must hold; it is checked only for rows that would enter the top `k`). `excluding` (a
    /// buffer row) is left out.
    func search(_ q: [Float], k: Int, shortlist: Int, mode: Rerank, blend: Float, margins: [Float], code: [UInt64],
                filter: Filter?, excluding: Int?) -> [(row: Int, score: Float)] {
        guard k > 0, liveCount > 0 else { return [] }
        var heap = BoundedHeap(capacity: min(k, liveCount))
        let learned = mode == .cosine ? nil : LearnedScorer(margins: margins, bits: words * 64)
        func isLive(_ r: Int) -> Bool { r != excluding && removedBits[r >> 6] & (1 << UInt64(r & 63)) == 0 }
        q.withUnsafeBufferPointer { qb in
            func offer(_ chunk: BufferChunk, _ i: Int) {
                var score: Float = 0
                if mode != .learned {
                    score = chunk.units.withUnsafeBufferPointer { Kernels.dot(qb.baseAddress!, $0.baseAddress! + i * dimension, count: dimension) }
                }
                if let learned {
                    let l = chunk.codes.withUnsafeBufferPointer { learned.score(of: $0.baseAddress! + i * words) }
                    score = mode == .blend ? (1 - blend) * score + blend * l : l
                }
                guard heap.accepts(score) else { return }
                if let filter, !filter.matches(chunk.attributes[i]) { return }
                heap.offer(row: baseRows + chunk.first + i, score: score)
            }
            if filter != nil || liveCount <= shortlist {
                for chunk in chunks {
                    for i in 0..<chunk.count where isLive(chunk.first + i) { offer(chunk, i) }
                }
                return
            }
            // The Hamming scan of every buffered code; dead rows get a distance past any code's.
            var distances = [UInt16](repeating: 0, count: rows)
            distances.withUnsafeMutableBufferPointer { dist in
                code.withUnsafeBufferPointer { query in
                    for chunk in chunks {
                        chunk.codes.withUnsafeBufferPointer {
                            Kernels.hammingDistances(codes: $0.baseAddress!, count: chunk.count, words: words,
                                                     query: query.baseAddress!, into: dist.baseAddress! + chunk.first)
                        }
                    }
                }
            }
            for r in removed { distances[r] = UInt16(words * 64 + 1) }
            if let excluding { distances[excluding] = UInt16(words * 64 + 1) }
            for r in Kernels.smallest(distances, want: shortlist, maxDistance: words * 64 + 1) {
                let (chunk, i) = locate(r)
                offer(chunk, i)
            }
        }
        return heap.sorted()
    }
}
