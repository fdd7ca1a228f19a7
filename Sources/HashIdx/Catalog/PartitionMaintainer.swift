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
    private static func rows(of manifest: Manifest) -> (live: Int, fitted: Int) {
        let live = manifest.shards.reduce(0) { $0 + Int($1.rows - $1.deleted) }
        let fitted = manifest.trainedRows > 0 ? Int(manifest.trainedRows)
                                              : manifest.shards.reduce(0) { $0 + Int($1.rows - $1.addedRows) }
        return (live, fitted)
    }

    /// Whether the partition count the live rows ask for (√(live ÷ fitted) times the
    /// index's) is `ratio` times the index's or more — the rows grew by `ratio`² — or under
    /// 1/`ratio`² of it: shorter lists cost queries less than longer ones, so shrinking
    /// waits until the rows fell to 1/`ratio`⁴ (by default 57 %) before lists merge. Or
    /// whether the rows added since (a tenth of the live ones or more) drifted from the
    /// partitions (``Index/Drift/retrainAbove``). Or whether the lists' balance
    /// (``Index/ListBalance``) grew by `ratio`² since the fit: rows crowding a few lists
    /// (new clusters, or deletes emptying others) that the drift of their cosines misses.
    /// (K-means cannot part a list of near copies of one item; the refit records the
    /// balance it reached, so it is not repeated until the lists crowd further.)
    static func isDue(_ index: Index, ratio: Double) -> Bool {
        let manifest = index.manifest
        guard ratio.isFinite, ratio > 1, manifest.centroids != nil, target(of: manifest) != nil else { return false }
        if let balance = index.listBalance?.ratio, balance >= ratio * ratio { return true }
        let (live, fitted) = rows(of: manifest)
        let off = (Double(live) / Double(max(1, fitted))).squareRoot()
        if off >= ratio || off <= 1 / (ratio * ratio) { return true }
        // Rows unlike those the partitions were fitted to (new clusters): once a tenth of
        // the live rows came since and fit their lists worse by the drift that makes `hashidx
        // info` advise retraining, the lists are refitted (new clusters get lists of their own).
        if let drift = Index.Drift.of(manifest), drift.recentRows * 10 >= live, drift.ratio >= Index.Drift.retrainAbove {
            return true
        }
        return false
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
