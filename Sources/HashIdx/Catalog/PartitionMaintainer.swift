/// Online partition maintenance: when an index's live rows have grown or shrunk away from
/// the rows its partitions were fitted to, new centroids are fitted to a sample of its live
/// rows (``PartitionMaintenance``: lists split by local 2-means, merged into neighbours,
/// boundaries refined) and every shard is rewritten into them as one ordinary committed
/// generation (``Compactor``), without retraining the hash function. Readers on snapshots
/// are unaffected; a crash leaves the previous generation.
struct PartitionMaintainer {
    /// The generation maintained.
    let base: Index
    /// Threads for reading and k-means.
    let threads: Int

    /// The live rows and the partition count they ask for, or nil when the index has no
    /// partitions or nothing to fit them to.
    static func target(of manifest: Manifest) -> (live: Int, partitions: Int)? {
        guard let centroids = manifest.centroids else { return nil }
        let (live, fitted) = rows(of: manifest)
        guard live >= 2 * PartitionMaintenance.minimumRowsPerList, fitted > 0 else { return nil }
        let wanted = PartitionMaintenance.target(partitions: centroids.count, fittedRows: fitted, liveRows: live)
        return (live, min(wanted, live / PartitionMaintenance.minimumRowsPerList))
    }

    /// The live rows of `manifest` and the rows its partitions were fitted to: the build's
    /// (or the last maintenance's); for an index that does not record them, the rows not
    /// added since.
    static func rows(of manifest: Manifest) -> (live: Int, fitted: Int) {
        let live = manifest.shards.reduce(0) { $0 + Int($1.rows - $1.deleted) }
        let fitted = manifest.trainedRows > 0 ? Int(manifest.trainedRows)
                                              : manifest.shards.reduce(0) { $0 + Int($1.rows - $1.addedRows) }
        return (live, fitted)
    }

    /// Why the partitions are due for maintenance.
    enum Reason: Equatable {
        /// The live rows ask for `ratio` times the partitions or more (they grew by `ratio`²).
        case grown
        /// A rebalancing that adds lists toward the count the rows ask for is under way
        /// (``Manifest/partitionTarget``).
        case growing
        /// The live rows ask for under 1/`ratio`² of the partitions.
        case shrunk
        /// A tenth of the live rows came since the fit and fit their lists worse by
        /// ``Index/Drift/retrainAbove``.
        case drifted
        /// The lists' balance grew by `ratio`² since the fit.
        case crowded
        /// In an index with string ids, the lists' balance grew by `ratio` since the fit and
        /// a list is over twice the mean list: rebalancing steps are cheap, so they need not
        /// wait for the crowding a whole refit waits for.
        case uneven
    }

    /// What maintenance the partitions are due for.
    enum Work: Equatable {
        /// Bounded rebalancing steps (``PartitionRebalancer``) toward `target` partitions,
        /// never past `limit`, each reading at most `maxRows` rows.
        case rebalance(target: Int, limit: Int, maxRows: Int)
        /// The partitions fitted again as a whole (`partitions` of them), every shard rewritten.
        case refit(partitions: Int)
    }

    /// Whether the partition count the live rows ask for (√(live ÷ fitted) times the
    /// index's) is `ratio` times the index's or more — the rows grew by `ratio`² — or under
    /// 1/`ratio`² of it: shorter lists cost queries less than longer ones, so shrinking
    /// waits until the rows fell to 1/`ratio`⁴ (by default 57 %) before lists merge. Or
    /// whether the rows added since (a tenth of the live ones or more) drifted from the
    /// partitions (``Index/Drift/retrainAbove``). Or whether the lists' balance
    /// (``Index/ListBalance``) grew by `ratio`² since the fit: rows crowding a few lists
    /// (new clusters, or deletes emptying others) that the drift of their cosines misses.
    /// Or whether rebalancing steps are still adding lists toward the count the rows asked
    /// for. (K-means cannot part a list of near copies of one item; a refit or a complete
    /// step records the balance it reached, so it is not repeated until the lists crowd
    /// further.)
    static func due(_ index: Index, ratio: Double) -> Reason? { due(index, lengths: index.listLengths, ratio: ratio) }

    /// ``due(_:ratio:)`` for an index whose lists hold `lengths` live rows.
    private static func due(_ index: Index, lengths: [Int], ratio: Double) -> Reason? {
        let manifest = index.manifest
        guard ratio.isFinite, ratio > 1, let centroids = manifest.centroids, let (_, wanted) = target(of: manifest) else { return nil }
        let (live, fitted) = rows(of: manifest)
        let off = (Double(live) / Double(max(1, fitted))).squareRoot()
        if off >= ratio { return .grown }
        if off <= 1 / (ratio * ratio) { return .shrunk }
        // Rows unlike those the partitions were fitted to (new clusters): once a tenth of
        // the live rows came since and fit their lists worse by the drift that makes `hashidx
        // info` advise retraining, the lists are refitted (new clusters get lists of their own).
        if let drift = Index.Drift.of(manifest), drift.recentRows * 10 >= live, drift.ratio >= Index.Drift.retrainAbove {
            return .drifted
        }
        let balance = index.listBalance(of: lengths)?.ratio ?? 0
        if balance >= ratio * ratio { return .crowded }
        if manifest.partitionTarget > centroids.count && wanted > centroids.count { return .growing }
        // Indexes with string ids are rebalanced a bounded step at a time, which need not
        // wait for the rows to grow by `ratio`² or the lists to crowd by `ratio`²: their
        // lists split as soon as the rows ask for a 32nd more of them, or once the balance
        // grew by `ratio` and a list is over twice the mean.
        guard index.hasStringIDs else { return nil }
        if Double(wanted) >= Double(centroids.count) * (1 + 1.0 / 32) { return .growing }
        if balance >= ratio, PartitionRebalancer.hasWork(lengths, target: wanted, limit: limit(wanted, ratio: ratio)) {
            return .uneven
        }
        return nil
    }

    /// Whether the partitions are due for maintenance (``due(_:ratio:)``).
    static func isDue(_ index: Index, ratio: Double) -> Bool { due(index, ratio: ratio) != nil }

    /// The maintenance `policy` asks for now, or nil. Lists that grew or crowd are
    /// rebalanced a bounded step at a time (in an index with string ids: rows that move get
    /// new row numbers); rows that drifted, lists that shrank, and indexes whose ids are row
    /// numbers get a whole refit — the latter only while no row is deleted (every shard is
    /// then rewritten in order, and the rows keep their numbers).
    static func work(_ index: Index, policy: IndexWriter.MergePolicy) -> Work? {
        let keepsIDs = index.hasStringIDs || !index.manifest.shards.contains { $0.deleted > 0 }
        let lengths = index.listLengths
        guard keepsIDs, let reason = due(index, lengths: lengths, ratio: policy.partitionDrift),
              let (_, wanted) = target(of: index.manifest) else { return nil }
        let most = limit(wanted, ratio: policy.partitionDrift)
        let rebalance = Work.rebalance(target: wanted, limit: most, maxRows: policy.rebalanceRows)
        switch reason {
        case .grown, .growing, .uneven:
            return index.hasStringIDs ? rebalance : .refit(partitions: wanted)
        case .crowded:   // (a refit when no list is long enough to split: the crowding is spread)
            let splittable = PartitionRebalancer.hasWork(lengths, target: wanted, limit: most)
            return index.hasStringIDs && splittable ? rebalance : .refit(partitions: wanted)
        case .shrunk, .drifted:
            return .refit(partitions: wanted)
        }
    }

    /// The most partitions rebalancing adds for `wanted`: `ratio` times as many (a split
    /// list without a shrunk list's place to take adds one).
    static func limit(_ wanted: Int, ratio: Double) -> Int {
        let scaled = ratio.isFinite && ratio > 1 ? Double(wanted) * ratio : Double(wanted)
        return max(wanted, Int(min(Double(1 << 20), scaled).rounded(.down)))
    }

    /// Writes `work` as `generation` (each file added to `written` before it is created):
    /// the manifest to commit, and the shards the base had that it rewrote (all of them for
    /// a refit, none for a rebalancing step, which writes the rows it moves as a new shard).
    /// A rebalancing step that finds no list to split refits the partitions as a whole.
    func write(_ work: Work, committer: Committer, generation: UInt64, written: inout [String],
               progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> (manifest: Manifest, rewritten: Int) {
        let partitions: Int
        switch work {
        case let .rebalance(target, limit, maxRows):
            if let plan = PartitionRebalancer.plan(base, target: target, limit: limit, maxRows: maxRows) {
                progress(WorkProgress(phase: .partitioning, done: 0, total: 1))
                let manifest = try PartitionRebalancer(base: base, threads: threads)
                    .write(plan, committer: committer, generation: generation, written: &written)
                progress(WorkProgress(phase: .partitioning, done: 1, total: 1))
                return (manifest, 0)
            }
            partitions = target
        case let .refit(count):
            partitions = count
        }
        progress(WorkProgress(phase: .partitioning, done: 0, total: 1))
        let centroids = try refit(partitions: partitions)
        progress(WorkProgress(phase: .partitioning, done: 1, total: 1))
        let manifest = try Compactor(base: base, committer: committer)
            .write(rewrite: Array(base.manifest.shards.indices), retrain: false, centroids: centroids, options: BuildOptions(),
                   generation: generation, written: &written, progress: progress)
        return (manifest, base.manifest.shards.count)
    }

    /// Centroids fitted to the live rows for `partitions` partitions.
    func refit(partitions: Int) throws(HashIdxError) -> Centroids {
        let manifest = base.manifest
        guard let old = manifest.centroids else {
            throw .invalidArgument(name: "maintain", reason: "the index has no partitions to maintain")
        }
        let live = LiveRows(base)
        let n = live.count, d = base.dimension
        var rng = SplitMix64(seed: manifest.training.seed ^ Partitioning.seedSalt ^ base.generation)
        let size = Partitioning.sampleSize(count: partitions, rows: n, dimension: d, sampleSize: manifest.training.sampleSize)
        guard size >= 2 else { throw .invalidArgument(name: "maintain", reason: "the index holds too few live items") }
        let chosen = Trainer.sampleRows(count: n, sample: size, rng: &rng).sorted()
        var sampleOf = [Int32](repeating: -1, count: n)
        for (i, slot) in chosen.enumerated() { sampleOf[slot] = Int32(i) }
        var sample = [Float](repeating: 0, count: chosen.count * d)
        var assignment = [Int](repeating: 0, count: chosen.count)
        try sample.withUnsafeMutableBufferPointer { (sb) throws(HashIdxError) in
            try assignment.withUnsafeMutableBufferPointer { (ab) throws(HashIdxError) in
                let sp = SharedMutablePointer(sb.baseAddress!), ap = SharedMutablePointer(ab.baseAddress!)
                try sampleOf.withUnsafeBufferPointer { (map) throws(HashIdxError) in
                    let mp = SharedPointer(map.baseAddress!)
                    try live.forEach(threads: threads) { (slot, item, reader) throws(HashIdxError) in
                        let i = Int(mp.base[slot])
                        guard i >= 0 else { return }
                        try reader.unitVector(of: item, into: sp.base + i * d)
                        ap.base[i] = item.partition ?? 0
                    }
                }
            }
        }
        return PartitionMaintenance.refit(sample: sample, n: chosen.count, d: d, assignment: assignment, old: old,
                                          target: partitions, rng: &rng, threads: threads)
    }
}
