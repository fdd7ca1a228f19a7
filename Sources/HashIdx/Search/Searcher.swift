/// The shards of one generation of an index and everything a query needs from them: the
/// hash model, the partition centroids and a pool of per-search scratch memory.
///
/// The pipeline of one query (``search(unit:options:filter:)``, in `Searcher+Search`):
/// 1. score the centroids and pick the `probes` nearest partitions (`Searcher+Candidates`);
/// 2. Hamming distance of the query's code to every code in them, counted into a histogram;
/// 3. the row filter marks excluded rows (``RowFilter``);
/// 4. the best `candidates × shortlist` by Hamming distance, then the asymmetric bit-plane
///    pass keeps the best `candidates`;
/// 5. exact cosine on their stored vectors (`Searcher+Rerank`), top `k`, ids.
///
/// With an attribute filter, steps 1–4 are planned by `Filters/Searcher+Filtered`: the exact
/// matching rows when few match, else the nearest partitions with the filter applied inside
/// the scan (docs/FILTERS.md).
///
/// Shards are read through storage's views (``ShardCodes``, ``StoredVector``, the attribute
/// columns' predicates, ``Shard/removeDeleted(from:range:)``), and every C kernel is called
/// through ``Kernels``.
///
/// A `Searcher` never changes: it is a snapshot. Any number of threads may search it.
final class Searcher: Sendable {
    let manifest: Manifest
    let shards: [Shard]
    /// The partition centroids, laid out for scoring (`nil` without partitions).
    let partitions: CentroidScorer?
    /// The codes of its smaller shards, partition by partition (`nil` with one shard, or
    /// without partitions), and the arena positions of their deleted rows.
    let arena: PartitionArena?
    let arenaDropped: [UInt64]?
    private let scratchPool = Locked<[SearchScratch]>([])

    /// Row numbers in use, deleted rows included: rows are `0..<count`.
    var count: Int { Int(manifest.rows) }
    /// Items that are not deleted.
    var liveCount: Int { Int(manifest.liveRows) }
    var model: HashModel { manifest.model }
    var dimension: Int { manifest.model.dimension }
    var bits: Int { manifest.model.bits }

    /// The type of every attribute any shard stores.
    let attributeSchema: [String: AttributeType]

    /// `arenaBudget`: most bytes of codes its ``PartitionArena`` copies (0: none).
    init(manifest: Manifest, shards: [Shard], attributeSchema: [String: AttributeType] = [:],
         arenaBudget: Int = PartitionArena.budgetBytes) {
        self.attributeSchema = attributeSchema
        self.manifest = manifest
        self.shards = shards
        partitions = manifest.centroids.map { CentroidScorer($0, model: manifest.model) }
        arena = PartitionArena(manifest, shards: shards, budgetBytes: arenaBudget)
        arenaDropped = arena?.droppedBits(shards: shards)
    }

    /// `other` with `manifest` and `shards` in place of its own (the same generation, other
    /// deletions: a write buffer's view), sharing its laid-out centroids and its arena.
    init(_ other: Searcher, manifest: Manifest, shards: [Shard]) {
        attributeSchema = other.attributeSchema
        self.manifest = manifest
        self.shards = shards
        partitions = other.partitions
        if let shared = other.arena, shared.serves(shards) {
            arena = shared
        } else {
            arena = PartitionArena(manifest, shards: shards)
        }
        arenaDropped = arena?.droppedBits(shards: shards)
    }

    /// The shard holding global row `row`, and the row's local number in it.
    func locate(_ row: Int) throws(HashIdxError) -> (shard: Shard, local: Int) {
        guard row >= 0, row < count else {
            throw .invalidArgument(name: "row", reason: "\(row) is outside 0..<\(count)")
        }
        var lo = 0, hi = shards.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if shards[mid].firstRow <= row { lo = mid } else { hi = mid - 1 }
        }
        return (shards[lo], row - shards[lo].firstRow)
    }

    /// The shard holding global row `row` and the row's position in it; throws
    /// ``HashIdxError/invalidArgument(name:reason:)`` for a row outside the index or deleted.
    func locateLive(_ row: Int) throws(HashIdxError) -> (shard: Shard, position: Int) {
        let (shard, local) = try locate(row)
        let position = shard.position(ofRow: local)
        guard !shard.isDeleted(position: position) else {
            throw .invalidArgument(name: "row", reason: "row \(row) was deleted")
        }
        return (shard, position)
    }

    /// The global row stored at `position` of shard number `shard`.
    @inline(__always)
    func row(shard: Int, position: Int) -> Int {
        shards[shard].firstRow + shards[shard].rowNumber(atPosition: position)
    }

    /// Scratch memory for one search; give it back with ``returnScratch(_:)``.
    func takeScratch() -> SearchScratch {
        if let s = scratchPool.withLock({ $0.popLast() }) { return s }
        return SearchScratch(words: model.words, bits: bits, centroidScores: partitions?.scratchSize() ?? 0)
    }

    func returnScratch(_ s: SearchScratch) {
        scratchPool.withLock { $0.append(s) }
    }
}
