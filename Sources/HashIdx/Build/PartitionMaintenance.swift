/// Partitions fitted again to the rows an index holds now, without retraining its hash
/// function — SPFresh's split and merge of posting lists, done on a sample: lists that grew
/// split in two by a local 2-means on their own rows, lists that shrank merge into their
/// neighbours (their rows go to the nearest remaining centroid), and a few rounds of
/// spherical k-means over the whole sample, started from the result, move the rows near a
/// changed boundary to the side they are now nearer (LIRE's reassignment). The caller
/// rewrites the shards with the new centroids, so every row lands in its nearest one.
enum PartitionMaintenance {
    /// A list holding under this fraction of the mean list is merged away.
    static let mergeBelow = 0.25
    /// A list holding over this many times the mean list is split, whatever the count.
    static let splitAbove = 3.0
    /// Rounds of the local 2-means that splits a list.
    static let splitRounds = 6
    /// Rounds of spherical k-means over the whole sample after the splits and merges.
    static let refineRounds = 10
    /// Maintenance keeps at least this many rows a list on average.
    static let minimumRowsPerList = 32

    /// The partition count to keep for `liveRows` rows in an index with `partitions`
    /// partitions fitted to `fittedRows` rows: lists keep the length the index was built
    /// with, as the default partition count grows (with √rows; 2…2²⁰).
    static func target(partitions: Int, fittedRows: Int, liveRows: Int) -> Int {
        guard partitions > 1, fittedRows > 0, liveRows > 0 else { return partitions }
        let scaled = Double(partitions) * (Double(liveRows) / Double(fittedRows)).squareRoot()
        return min(1 << 20, max(2, Int(scaled.rounded())))
    }

    /// New centroids for `target` partitions from the `n` unit rows `sample` (`d` floats
    /// each), each in partition `assignment[r]` of `old`. Deterministic for a generator state.
    static func refit(sample: [Float], n: Int, d: Int, assignment: [Int], old: Centroids, target: Int,
                      rng: inout SplitMix64, threads: Int) -> Centroids {
        precondition(n >= 2 && assignment.count == n && old.dimension == d)
        let target = max(2, min(target, n / 2))
        var members = [[Int]](repeating: [], count: old.count)
        for (r, p) in assignment.enumerated() { members[p].append(r) }
        let centres: [[Float]] = (0..<old.count).map { Array(old.rows[($0 * d)..<(($0 + 1) * d)]) }

        // Merge: lists far under the mean leave, and the smallest while there are more than
        // `target` (their rows join the nearest remaining list in the refinement's first
        // assignment).
        let mean = Double(n) / Double(target)
        let bySize = members.indices.sorted { members[$0].count > members[$1].count || (members[$0].count == members[$1].count && $0 < $1) }
        var keep = bySize.filter { Double(members[$0].count) >= mergeBelow * mean }
        if keep.count > target { keep = Array(keep.prefix(target)) }   // the smallest merge until `target` are left
        if keep.count < 2 { keep = Array(bySize.prefix(2)) }
        keep.sort()
        var lists = keep.map { (centre: centres[$0], rows: members[$0]) }

        // Split: the largest list, by a local 2-means on its own rows, until there are
        // `target` lists and none is over `splitAbove` times the mean.
        var heap = MaxHeap(lists.indices.map { (lists[$0].rows.count, $0) })
        while let top = heap.pop() {
            let (size, j) = top
            guard size >= 4, lists.count < 1 << 20, lists.count < target || Double(size) > splitAbove * mean else { break }
            guard let (a, b) = split(lists[j].rows, sample: sample, d: d, rng: &rng, threads: threads) else { continue }
            lists[j] = a
            lists.append(b)
            heap.push((a.rows.count, j))
            heap.push((b.rows.count, lists.count - 1))
        }

        // Splits beyond `target` (crowded lists split at the target count) take the place of
        // the smallest lists, those under half the mean: otherwise every refit would add
        // lists at the same row count (GloVe-50 churn: 863 → 884 → 915 → 952 over three
        // refits), and recall at fixed probes would fall with each.
        if lists.count > target {
            let smallest = lists.indices.sorted { (lists[$0].rows.count, $0) < (lists[$1].rows.count, $1) }
            let merged = Set(smallest.prefix(lists.count - target).filter { Double(lists[$0].rows.count) < 0.5 * mean })
            lists = lists.indices.filter { !merged.contains($0) }.map { lists[$0] }
        }

        // Refine: spherical k-means over the whole sample from these centroids.
        let k = lists.count
        var start = [Float](repeating: 0, count: k * d)
        for (j, list) in lists.enumerated() { for i in 0..<d { start[j * d + i] = list.centre[i] } }
        let result = sample.withUnsafeBufferPointer { x in
            SphericalKMeans.run(x.baseAddress!, n: n, d: d, start: start, k: k, rounds: refineRounds,
                                emptyClusters: .randomRows, rng: &rng, threads: threads)
        }
        return Centroids(rows: result.centroids, count: k, dimension: d)
    }

    /// The two halves of a list by 2-means on its rows, from its two rows least alike of a
    /// few drawn; nil when its rows do not part.
    static func split(_ rows: [Int], sample: [Float], d: Int, rng: inout SplitMix64,
                              threads: Int) -> ((centre: [Float], rows: [Int]), (centre: [Float], rows: [Int]))? {
        var local = [Float](repeating: 0, count: rows.count * d)
        for (i, r) in rows.enumerated() { for j in 0..<d { local[i * d + j] = sample[r * d + j] } }
        // Seeds: a random row, then of 16 drawn the one least like it.
        let first = Int(rng.next() % UInt64(rows.count))
        var second = (first + 1) % rows.count, lowest = Float.infinity
        for _ in 0..<16 {
            let c = Int(rng.next() % UInt64(rows.count))
            let s = local.withUnsafeBufferPointer { Vectors.dot($0.baseAddress! + c * d, $0.baseAddress! + first * d, count: d) }
            if c != first && s < lowest { lowest = s; second = c }
        }
        var start = [Float](repeating: 0, count: 2 * d)
        for j in 0..<d { start[j] = local[first * d + j]; start[d + j] = local[second * d + j] }
        let result = local.withUnsafeBufferPointer { x in
            SphericalKMeans.run(x.baseAddress!, n: rows.count, d: d, start: start, k: 2, rounds: splitRounds,
                                emptyClusters: .randomRows, rng: &rng, threads: threads)
        }
        var halves: ([Int], [Int]) = ([], [])
        for (i, a) in result.assignment.enumerated() { if a == 0 { halves.0.append(rows[i]) } else { halves.1.append(rows[i]) } }
        guard !halves.0.isEmpty, !halves.1.isEmpty else { return nil }
        return ((Array(result.centroids[0..<d]), halves.0), (Array(result.centroids[d..<(2 * d)]), halves.1))
    }
}

/// A binary max-heap of (size, list) pairs: the largest list first (ties: the higher list).
private struct MaxHeap {
    private var items: [(Int, Int)]

    init(_ items: [(Int, Int)]) {
        self.items = []
        for item in items { push(item) }
    }

    private static func above(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 > b.0 || (a.0 == b.0 && a.1 > b.1) }

    mutating func push(_ item: (Int, Int)) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.above(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && Self.above(items[l], items[best]) { best = l }
                if r < items.count && Self.above(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
