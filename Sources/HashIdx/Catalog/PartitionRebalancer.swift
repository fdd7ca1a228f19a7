import Dispatch
import Synchronization

/// One bounded step of online partition maintenance, list by list (SPFresh's split, merge
/// and reassignment for SPANN's posting lists): the longest lists split in two by a local
/// 2-means on their own rows; the second half takes the place of a list that shrank (whose
/// rows join their nearest remaining lists) or, while the live rows ask for more lists, a
/// new partition; and the rows of the split lists, of the lists that gave their place and
/// of the split lists' nearest neighbours are assigned to their nearest centroid again.
/// Only the rows whose partition changed are written: deleted where they were and added
/// as a new shard, in one ordinary committed generation. The work is bounded by the rows it
/// reads (``IndexWriter/MergePolicy/rebalanceRows``), however large the index; the lists
/// left for later are the next step's. Shards written before a step cover fewer partitions
/// than the index then (the new lists are empty in them: docs/FORMAT.md §3.2).
struct PartitionRebalancer {
    /// The generation rebalanced.
    let base: Index
    /// Threads for reading rows.
    let threads: Int

    /// A list over this many times the mean list (for the partition count the live rows ask
    /// for) splits.
    static let splitAbove = 2.0
    /// A list under this fraction of the mean list gives its place to a split list's half.
    static let donorBelow = 0.5
    /// The nearest lists of a split one whose rows are assigned again (LIRE's reassignment:
    /// a row near the old boundary may now be nearer a new half).
    static let neighbours = 4

    /// What one step does.
    struct Plan: Equatable {
        /// The lists split, each with the partition its second half takes: a donor list's,
        /// or a new one (the index's count and up).
        var splits: [Split]
        /// The lists whose rows are read and assigned again, ascending.
        var lists: [Int]
        /// The partition count after the step.
        var partitions: Int
        /// The partition count the live rows ask for.
        var target: Int
        /// The live rows of each list before the step.
        var lengths: [Int]
        /// Whether the step takes every list due (none was left for a later step by the
        /// row bound).
        var complete: Bool

        struct Split: Equatable {
            var list: Int
            var slot: Int
        }
    }

    /// Whether a step toward `target` partitions (never past `limit`) has a list to split:
    /// one over ``splitAbove`` times the mean list with a place for its second half (a list
    /// under ``donorBelow`` times the mean, or a new one below `limit`), or fewer partitions
    /// than `target`: exactly when ``plan(_:target:limit:maxRows:)`` finds a step, without
    /// its neighbour search.
    static func hasWork(_ sizes: [Int], target: Int, limit: Int) -> Bool {
        let live = sizes.reduce(0, +)
        guard target >= 2, live > 0, let longest = sizes.max(), longest >= 2 * PartitionMaintenance.minimumRowsPerList else { return false }
        if sizes.count < target { return true }
        let mean = Double(live) / Double(target)
        return Double(longest) > splitAbove * mean
            && (sizes.count < limit || sizes.contains { Double($0) < donorBelow * mean })
    }

    /// The step for `index`, reading at most `maxRows` rows (at least one list's), toward
    /// `target` partitions and never past `limit`; nil when no list is due (none over
    /// ``splitAbove`` times the mean list, and the count is the target's).
    static func plan(_ index: Index, target: Int, limit: Int, maxRows: Int) -> Plan? {
        guard let centroids = index.manifest.centroids else { return nil }
        let sizes = index.listLengths
        let count = sizes.count, live = sizes.reduce(0, +)
        guard live > 0, target >= 2 else { return nil }
        let mean = Double(live) / Double(target)
        let byLength = sizes.indices.sorted { (sizes[$0], $1) > (sizes[$1], $0) }
        var donors = sizes.indices.filter { Double(sizes[$0]) < donorBelow * mean }
            .sorted { (sizes[$0], $0) < (sizes[$1], $1) }[...]
        var splits: [Plan.Split] = []
        var read = Set<Int>(), rows = 0
        var partitions = count, complete = true
        let d = centroids.dimension
        for list in byLength {
            let growing = partitions < target
            guard growing || Double(sizes[list]) > splitAbove * mean else { break }
            guard sizes[list] >= 2 * PartitionMaintenance.minimumRowsPerList else { break }
            if splits.contains(where: { $0.slot == list }) { continue }
            donors = donors.filter { $0 != list }[...]
            let slot: Int
            if !growing, let donor = donors.first {
                slot = donor
            } else if partitions < limit {
                slot = partitions
            } else {
                break
            }
            // The split list's nearest lists by their centroids.
            let near = centroids.rows.withUnsafeBufferPointer { c in
                (0..<count).filter { $0 != list }
                    .map { ($0, Vectors.dot(c.baseAddress! + $0 * d, c.baseAddress! + list * d, count: d)) }
                    .sorted { ($0.1, $1.0) > ($1.1, $0.0) }.prefix(neighbours).map(\.0)
            }
            let adding = Set([list] + near + (slot < count ? [slot] : [])).subtracting(read)
            let cost = adding.reduce(0) { $0 + sizes[$1] }
            if !splits.isEmpty && rows + cost > maxRows { complete = false; break }
            if slot < count { donors = donors.dropFirst() } else { partitions += 1 }
            splits.append(Plan.Split(list: list, slot: slot))
            read.formUnion(adding)
            rows += cost
        }
        guard !splits.isEmpty else { return nil }
        return Plan(splits: splits, lists: read.sorted(), partitions: partitions, target: target, lengths: sizes,
                    complete: complete)
    }

    /// The rows a step reads: where each is and its unit vector.
    private struct ReadRows {
        var shard: [Int32] = [], position: [Int32] = [], partition: [Int32] = []
        var vectors: [Float] = []
        var count: Int { shard.count }
    }

    /// The live rows of the lists `lists` of every shard.
    private func read(lists: [Int]) throws(HashIdxError) -> ReadRows {
        var out = ReadRows()
        var tasks: [(shard: Int, range: Range<Int>, first: Int)] = []
        for (s, shard) in base.shards.enumerated() {
            guard let offsets = shard.partitionOffsets else { continue }
            for p in lists {
                let range = offsets[p]..<offsets[p + 1]
                guard !range.isEmpty else { continue }
                let first = out.count
                for position in range where !shard.isDeleted(position: position) {
                    out.shard.append(Int32(s)); out.position.append(Int32(position)); out.partition.append(Int32(p))
                }
                if out.count > first { tasks.append((s, range, first)) }
            }
        }
        let d = base.dimension
        out.vectors = [Float](repeating: 0, count: out.count * d)
        let shards = base.shards, allTasks = tasks
        let firstError = FirstError()
        let next = Atomic<Int>(0)
        try out.vectors.withUnsafeMutableBufferPointer { (vb) throws(HashIdxError) in
            let vp = SharedMutablePointer(vb.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: max(1, min(threads, tasks.count))) { _ in
                var cursor = BlockCursor()
                while true {
                    let t = next.add(1, ordering: .relaxed).oldValue
                    if t >= allTasks.count { break }
                    let (s, range, first) = allTasks[t]
                    var slot = first
                    do throws(HashIdxError) {
                        for position in range where !shards[s].isDeleted(position: position) {
                            try shards[s].unitVector(at: position, into: vp.base + slot * d, cursor: &cursor)
                            slot += 1
                        }
                    } catch {
                        firstError.record(error, at: t)
                    }
                }
                withExtendedLifetime(cursor.buffer) {}
            }
        }
        try firstError.throwIfAny()
        return out
    }

    /// The new centroids of `plan` and the partition each row read now belongs to.
    private func apply(_ plan: Plan, to rows: ReadRows) -> (centroids: Centroids, partitions: [Int]) {
        let old = base.manifest.centroids!
        let d = old.dimension
        var centres = old.rows + [Float](repeating: 0, count: (plan.partitions - old.count) * d)
        var rng = SplitMix64(seed: base.manifest.training.seed ^ Partitioning.seedSalt ^ base.generation)
        var members: [Int: [Int]] = [:]
        let splitting = Set(plan.splits.map(\.list))
        for r in 0..<rows.count where splitting.contains(Int(rows.partition[r])) { members[Int(rows.partition[r]), default: []].append(r) }
        for split in plan.splits {
            guard let rowsOfList = members[split.list], rowsOfList.count >= 4,
                  let (a, b) = PartitionMaintenance.split(rowsOfList, sample: rows.vectors, d: d, rng: &rng, threads: threads) else {
                // (Rows that do not part: the slot keeps a copy of the list's centroid, so a
                // donor's rows still find their nearest remaining list.)
                for i in 0..<d { centres[split.slot * d + i] = old.rows[split.list * d + i] }
                continue
            }
            for i in 0..<d { centres[split.list * d + i] = a.centre[i]; centres[split.slot * d + i] = b.centre[i] }
        }
        let centroids = Centroids(rows: centres, count: plan.partitions, dimension: d)
        var assignment = [Int](repeating: 0, count: rows.count)
        if rows.count > 0 {
            rows.vectors.withUnsafeBufferPointer { x in
                assignment.withUnsafeMutableBufferPointer { a in
                    SphericalKMeans.assign(x.baseAddress!, n: rows.count, to: centroids, into: a.baseAddress!)
                }
            }
        }
        return (centroids, assignment)
    }

    /// Writes `plan`'s step as `generation` (each file added to `written` before it is
    /// created): the manifest to commit. The index must have string ids (moved rows get
    /// new row numbers).
    func write(_ plan: Plan, committer: Committer, generation: UInt64,
               written: inout [String]) throws(HashIdxError) -> Manifest {
        precondition(base.hasStringIDs, "rows that move get new row numbers")
        let manifest = base.manifest
        let rows = try read(lists: plan.lists)
        let (centroids, assignment) = apply(plan, to: rows)
        var next = manifest
        next.formatVersion = Format.version
        next.centroids = centroids
        // The rows whose partition changed: deleted where they are, written anew.
        let moved = (0..<rows.count).filter { assignment[$0] != Int(rows.partition[$0]) }
        var deletions: [Int: Set<Int>] = [:]
        for r in moved { deletions[Int(rows.shard[r]), default: []].insert(Int(rows.position[r])) }
        var lists = plan.lengths + [Int](repeating: 0, count: plan.partitions - plan.lengths.count)
        for r in moved { lists[Int(rows.partition[r])] -= 1 }
        if !moved.isEmpty {
            let (source, ids, attributes) = try items(moved, of: rows)
            var counted = [Int](repeating: 0, count: plan.partitions)
            var records = try committer.writeShards(source, ids: ids, attributes: attributes, manifest: next, generation: generation,
                                                    firstShardNumber: 0, written: &written, countingLists: &counted)
            for i in records.indices { records[i].addedRows = 0; records[i].addedFit = 0 }   // fitted to their lists
            for p in counted.indices { lists[p] += counted[p] }
            next.shards += records
            next.rows += UInt64(moved.count)
            _ = try committer.writeDeletions(deletions, base: base, manifest: &next, generation: generation, written: &written)
        }
        // The lists keep the length the rows were fitted for: the rows they stand for grow
        // with the square of the count (``PartitionMaintainer/target(of:)``).
        if plan.partitions != manifest.centroids!.count {
            let fitted = Double(PartitionMaintainer.rows(of: manifest).fitted)
            let scale = Double(plan.partitions) / Double(manifest.centroids!.count)
            next.trainedRows = UInt64((fitted * scale * scale).rounded())
        }
        // A step that took every list due is a fit: its balance is the one to compare with.
        if plan.complete { next.listBalance = min(Float(plan.partitions), max(1, Partitioning.balance(lists))) }
        next.partitionTarget = plan.partitions < plan.target ? plan.target : 0
        return Committer.droppingEmptyShards(next)
    }

    /// The rows `moved` of `rows` as items: stored vectors at their lengths, ids, attributes.
    private func items(_ moved: [Int], of rows: ReadRows) throws(HashIdxError) -> (InMemoryVectors, [String], AttributeTable) {
        let d = base.dimension
        var values = [Float](repeating: 0, count: moved.count * d)
        var ids: [String] = []
        ids.reserveCapacity(moved.count)
        var attributes = AttributeTable()
        var names = BlockCursor()
        for (i, r) in moved.enumerated() {
            let shard = base.shards[Int(rows.shard[r])], position = Int(rows.position[r])
            let norm = shard.norm(at: position)
            for j in 0..<d { values[i * d + j] = rows.vectors[r * d + j] * norm }
            ids.append(try shard.id(at: position, cursor: &names))
            try attributes.append(shard.attributes.attributes(at: position), line: i + 1, source: "rows moved in \(base.path)")
        }
        withExtendedLifetime(names.buffer) {}
        return (try InMemoryVectors(values: values, dimension: d, name: "moved rows"), ids,
                attributes.conformed(to: base.attributeSchema))
    }
}
