import Dispatch
import Synchronization

/// The live items of one generation read back from its shards — the one walk that
/// compaction (to rewrite them) and clustering (to group them) share.
///
/// The items chosen (every live item of the given shards, or those a filter keeps) are
/// numbered in row order: item `slot` is the `slot`-th chosen row. ``forEach(threads:progress:_:)``
/// visits them a block of positions at a time on several threads, each thread with its own
/// cursors, so that every vector and id block is decoded once, and hands each item to the
/// caller with its slot, where the caller writes it (a flat array, no allocation per item).
struct LiveRows {
    /// An item under the walk: where it is stored and which row it is.
    struct Item {
        /// Its shard.
        let shard: Shard
        /// Its position in the shard.
        let position: Int
        /// Its global row number in the generation.
        let row: Int
        /// Its partition (`nil` when the index has no partitions).
        let partition: Int?
    }

    /// One thread's cursors: reads an item's stored parts, each block decoded once.
    struct Reader {
        fileprivate var vectors = BlockCursor()
        fileprivate var names = BlockCursor()
        fileprivate let stringIDs: Bool

        /// Writes the item's stored unit vector (``Index/dimension`` floats) to `out`.
        mutating func unitVector(of item: Item, into out: UnsafeMutablePointer<Float>) throws(HashIdxError) {
            try item.shard.unitVector(at: item.position, into: out, cursor: &vectors)
        }

        /// The item's length before normalisation.
        func norm(of item: Item) -> Float { item.shard.norm(at: item.position) }

        /// The item's id (its row number as text when the index has no string ids).
        mutating func id(of item: Item) throws(HashIdxError) -> String {
            stringIDs ? try item.shard.id(at: item.position, cursor: &names) : String(item.row)
        }

        /// The item's attributes.
        func attributes(of item: Item) -> Attributes { item.shard.attributes.attributes(at: item.position) }
    }

    /// The snapshot read.
    let index: Index
    /// Items chosen.
    let count: Int
    /// The shards read, by their index in the generation, in row order.
    private let shardIndices: [Int]
    /// Per shard read: the slot of each position, −1 for one not chosen.
    private let slots: [[Int]]

    /// Chooses the live items of the shards `shards` of `index` (every shard when `nil`,
    /// indices ascending) that `filter` keeps (all without one).
    init(_ index: Index, shards: [Int]? = nil, keeping filter: CompiledFilter? = nil) {
        self.index = index
        let chosen = shards ?? Array(index.shards.indices)
        var slots: [[Int]] = []
        var total = 0
        for s in chosen {
            let shard = index.shards[s]
            let n = shard.rows
            var keep: [UInt64]?
            if let filter, n > 0 {
                let words = (n + 63) / 64
                var bits = [UInt64](repeating: 0, count: words)
                var scratch = [UInt64](repeating: 0, count: words * (filter.depth + 2))
                bits.withUnsafeMutableBufferPointer { b in
                    scratch.withUnsafeMutableBufferPointer { sc in
                        filter.evaluate(shard: s, range: 0..<n, into: b.baseAddress!, scratch: sc.baseAddress!)
                    }
                }
                keep = bits
            }
            var slot = [Int](repeating: -1, count: n)
            for r in 0..<n {
                let p = shard.position(ofRow: r)
                if shard.isDeleted(position: p) { continue }
                if let keep, keep[p >> 6] & (1 << UInt64(p & 63)) == 0 { continue }
                slot[p] = total
                total += 1
            }
            slots.append(slot)
        }
        shardIndices = chosen
        self.slots = slots
        count = total
    }

    /// Calls `body` once for every chosen item with its slot, on `threads` threads, a block
    /// of positions per task; `progress` hears the items visited so far (from any thread).
    /// The first error (in task order) is thrown once every thread stopped.
    func forEach(threads: Int, progress: (@Sendable (Int) -> Void)? = nil,
                 _ body: @Sendable (_ slot: Int, _ item: Item, _ reader: inout Reader) throws(HashIdxError) -> Void) throws(HashIdxError) {
        guard count > 0 else { return }
        let shards = shardIndices.map { index.shards[$0] }
        var tasks: [(shard: Int, range: Range<Int>)] = []
        for (s, shard) in shards.enumerated() {
            var lo = 0
            while lo < shard.rows {
                let hi = min(shard.rows, lo + shard.rowsPerBlock)
                tasks.append((s, lo..<hi))
                lo = hi
            }
        }
        let stringIDs = index.hasStringIDs
        let firstError = FirstError()
        let next = Atomic<Int>(0)
        let visited = progress.map(ProgressTally.init)
        let allTasks = tasks, allSlots = slots
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, tasks.count))) { _ in
            var reader = Reader(stringIDs: stringIDs)
            while true {
                let t = next.add(1, ordering: .relaxed).oldValue
                if t >= allTasks.count { break }
                let (s, range) = allTasks[t]
                let shard = shards[s], slot = allSlots[s]
                var partition = shard.partition(ofPosition: range.lowerBound)
                var seen = 0
                do throws(HashIdxError) {
                    for p in range where slot[p] >= 0 {
                        if let offsets = shard.partitionOffsets, let part = partition, p >= offsets[part + 1] {
                            var next = part + 1
                            while p >= offsets[next + 1] { next += 1 }
                            partition = next
                        }
                        let item = Item(shard: shard, position: p, row: shard.firstRow + shard.rowNumber(atPosition: p),
                                        partition: partition)
                        try body(slot[p], item, &reader)
                        seen += 1
                    }
                } catch {
                    firstError.record(error, at: t)
                }
                if seen > 0 { visited?.add(seen) }
            }
            withExtendedLifetime(reader.vectors.buffer) {}
            withExtendedLifetime(reader.names.buffer) {}
        }
        try firstError.throwIfAny()
    }
}
