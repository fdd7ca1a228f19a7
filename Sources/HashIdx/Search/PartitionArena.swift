/// The live codes of several shards of a partitioned index, copied into memory partition by
/// partition, so that a query scans one run of codes per probed partition instead of one per
/// (shard, partition), and no deleted row.
///
/// A shard stores its codes in partition order, so a one-shard index already scans one run
/// per partition. Every further shard adds a run per probed partition, and a run of a small
/// shard is a few dozen codes: the cost of starting it (its first loads, the kernel's tail)
/// is that of scanning as many codes again. Deleted rows cost their scan until the merge
/// policy rewrites their shard. On GloVe-50 after 20 rounds of +5 %/−5 % churn (5 shards, one
/// of 146k rows and four of 9k–27k, 12 % of the rows deleted), a query's Hamming scan took
/// 1.9× the time of the live rows in one shard (perf); commits and flushes leave exactly such
/// small shards until the merge policy merges them.
///
/// Partition `p` of the arena is the live rows of shard `covered[0]`'s partition `p`, then
/// `covered[1]`'s, and so on (its cells), in position order; ``locate(_:)`` maps a row of it
/// back to (shard, position). A scan segment (`Searcher+Candidates`) of arena
/// partition `p` carries ``tag(list:)`` in place of a shard index. Rows deleted after the
/// arena was made (a write buffer's views of the same generation share it) are left out by a
/// bitmap of arena positions each searcher keeps (``droppedBits(shards:)``).
///
/// It covers the smallest shards whose codes fit ``budgetBytes`` (the rest are scanned in
/// place), and exists only when it covers two shards or more, or one with at least
/// ``deletedShare`` of its rows deleted (a delete without compaction: a query scans its live
/// rows only).
final class PartitionArena: Sendable {
    /// The codes copied: live rows of the `covered` shards, partition by partition.
    private let codes: AlignedWords
    /// Where each arena row comes from: the shard's index (into the searcher's shards) in the
    /// high 32 bits, its position in the low 32 bits (one load per picked candidate).
    private let origins: [UInt64]
    /// Partition `p` is arena rows `listStarts[p] ..< listStarts[p + 1]`.
    let listStarts: [Int]
    /// The shards it holds (indexes into the searcher's shards), ascending: their order
    /// within each partition.
    let covered: [Int]
    /// Whether shard `i` is in ``covered``.
    let isCovered: [Bool]
    /// Cell `(p, j)`, partition `p` of shard `covered[j]`, is the arena rows
    /// `cellStarts[p × (S + 1) + j] ..< cellStarts[p × (S + 1) + j + 1]` (absolute; `S`
    /// shards covered).
    private let cellStarts: [Int]
    /// The deleted rows each covered shard had when the arena was made (left out of it).
    private let deletedAtCopy: [Int]
    /// Words per code.
    let words: Int

    /// Most bytes of codes an arena copies: beyond it, the largest shards stay in their
    /// memory maps (their partitions are long runs already).
    static let budgetBytes = 256 << 20

    /// The share of deleted rows from which one shard alone gets an arena. (GloVe-50, one
    /// shard of 196k rows with 4.8 % deleted, right after a refit: 3.5 % more QPS with the
    /// arena, best of 20 interleaved runs; scanning and uncounting the deleted rows cost
    /// more than their share.)
    static let deletedShare = 1.0 / 64

    /// The arena of `shards` (their codes of `words` words, partitioned in `partitions`), or
    /// `nil` when fewer than two shards fit the budget and no one shard that does has
    /// ``deletedShare`` of its rows deleted.
    init?(shards: [Shard], partitions: Int, words: Int, budgetBytes: Int = PartitionArena.budgetBytes) {
        guard !shards.isEmpty, partitions > 0, shards.allSatisfy({ $0.partitionOffsets != nil }) else { return nil }
        var chosen: [Int] = []
        var bytes = 0
        for i in shards.indices.sorted(by: { (shards[$0].rows, $0) < (shards[$1].rows, $1) }) {
            let b = shards[i].rows * words * 8
            guard bytes + b <= budgetBytes, shards[i].rows <= Int(UInt32.max) else { break }
            bytes += b
            chosen.append(i)
        }
        let deleted = chosen.reduce(0) { $0 + (shards[$1].deletions?.count ?? 0) }
        let rows = chosen.reduce(0) { $0 + shards[$1].rows }
        guard chosen.count > 1 || (chosen.count == 1 && Double(deleted) >= Self.deletedShare * Double(rows)) else {
            return nil
        }
        chosen.sort()
        let c = chosen.count
        // The cells' live rows, then where each starts.
        var cells = [Int](repeating: 0, count: partitions * (c + 1) + 1)
        var at = 0
        for p in 0..<partitions {
            for (j, i) in chosen.enumerated() {
                cells[p * (c + 1) + j] = at
                let o = shards[i].partitionOffsets!
                at += o[p + 1] - o[p] - (shards[i].deletions?.count(in: o[p]..<o[p + 1]) ?? 0)
            }
            cells[p * (c + 1) + c] = at
        }
        cells[partitions * (c + 1)] = at   // (the end of the last partition, as a start)
        let total = at
        var origins = [UInt64](repeating: 0, count: total)
        codes = AlignedWords(count: total * words) { out in
            var at = 0
            for p in 0..<partitions {
                for i in chosen {
                    let o = shards[i].partitionOffsets!
                    var position = o[p]
                    // Runs of live positions between the deleted ones.
                    func take(upTo end: Int) {
                        guard end > position else { return }
                        shards[i].codes.copy(position..<end, into: out + at * words)
                        for q in position..<end { origins[at + q - position] = UInt64(i) << 32 | UInt64(q) }
                        at += end - position
                    }
                    shards[i].deletions?.forEach(in: o[p]..<o[p + 1]) { deleted in
                        take(upTo: deleted)
                        position = deleted + 1
                    }
                    take(upTo: o[p + 1])
                }
            }
        }
        self.origins = origins
        listStarts = (0...partitions).map { cells[$0 * (c + 1)] }
        cellStarts = cells
        covered = chosen
        var flags = [Bool](repeating: false, count: shards.count)
        for i in chosen { flags[i] = true }
        isCovered = flags
        deletedAtCopy = chosen.map { shards[$0].deletions?.count ?? 0 }
        self.words = words
    }

    /// The arena of the shards of a generation described by `manifest`; `nil` without
    /// partitions, and as ``init(shards:partitions:words:budgetBytes:)`` says.
    convenience init?(_ manifest: Manifest, shards: [Shard], budgetBytes: Int = PartitionArena.budgetBytes) {
        guard let centroids = manifest.centroids else { return nil }
        self.init(shards: shards, partitions: centroids.count, words: manifest.model.words, budgetBytes: budgetBytes)
    }

    /// Rows it holds.
    var count: Int { origins.count }

    /// Bytes of memory it holds: the codes and an origin (8 bytes) per row, and the
    /// partition and cell starts.
    var bytes: Int { codes.count * 8 + origins.count * 8 + (listStarts.count + cellStarts.count) * 8 }

    /// The `shard` of a scan segment of arena partition `list` (negative: shards are not).
    @inline(__always)
    static func tag(list: Int) -> Int { -1 - list }

    /// The arena partition of a scan segment whose `shard` is `tag` (negative).
    @inline(__always)
    static func list(ofTag tag: Int) -> Int { -1 - tag }

    /// The shard (an index into the searcher's shards) and position of arena row `row`.
    @inline(__always)
    func locate(_ row: Int) -> (shard: Int, position: Int) {
        let origin = origins[row]
        return (Int(origin >> 32), Int(origin & 0xFFFF_FFFF))
    }

    /// The offset into arena partition `list` of shard `shard`'s `position`, or `nil` when
    /// that row is not there (another partition, a shard not covered, or deleted).
    func offset(list p: Int, shard: Int, position: Int) -> Int? {
        guard let j = covered.firstIndex(of: shard),
              let row = row(cell: p * (covered.count + 1) + j, position: position) else { return nil }
        return row - listStarts[p]
    }

    /// The arena row of `position` in cell number `cell`, if it holds it.
    private func row(cell: Int, position: Int) -> Int? {
        var lo = cellStarts[cell], hi = cellStarts[cell + 1]
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(origins[mid] & 0xFFFF_FFFF) < position { lo = mid + 1 } else { hi = mid }
        }
        return lo < cellStarts[cell + 1] && Int(origins[lo] & 0xFFFF_FFFF) == position ? lo : nil
    }

    /// Whether `shards` are those it was made of with the same deletions or more (a write
    /// buffer's views add deletions), so that ``droppedBits(shards:)`` completes it.
    func serves(_ shards: [Shard]) -> Bool {
        covered.indices.allSatisfy {
            covered[$0] < shards.count && (shards[covered[$0]].deletions?.count ?? 0) >= deletedAtCopy[$0]
        } && shards.count == isCovered.count
    }

    /// The rows of `shards` (the searcher's: the arena's shards with the same or more
    /// deletions) deleted since the arena was made, as a bitmap of arena rows; `nil` when
    /// there are none.
    func droppedBits(shards: [Shard]) -> [UInt64]? {
        let c = covered.count
        guard covered.indices.contains(where: { (shards[covered[$0]].deletions?.count ?? 0) != deletedAtCopy[$0] })
        else { return nil }
        var bits = [UInt64](repeating: 0, count: (count + 63) / 64)
        for p in 0..<(listStarts.count - 1) {
            for (j, i) in covered.enumerated() {
                guard let deletions = shards[i].deletions else { continue }
                let o = shards[i].partitionOffsets!
                deletions.forEach(in: o[p]..<o[p + 1]) { position in
                    if let row = row(cell: p * (c + 1) + j, position: position) { bits[row >> 6] |= 1 << UInt64(row & 63) }
                }
            }
        }
        return bits
    }

    /// Calls `body` with the address of the first code (for ``Kernels``).
    @inline(__always)
    func withUnsafeCodes<R>(_ body: (UnsafePointer<UInt64>) -> R) -> R { body(codes.pointer) }

    /// Copies the code of arena row `row` to `out`.
    @inline(__always)
    func copy(_ row: Int, into out: UnsafeMutablePointer<UInt64>) {
        let from = codes.pointer + row * words
        for w in 0..<words { out[w] = from[w] }
    }
}
