extension IndexWriter {
    /// When ``IndexWriter/commit(progress:)-31119`` goes on to compact, in the spirit of Lucene's
    /// merge policy: a shard is rewritten once enough of it is deleted (a query still scans
    /// deleted rows), and the small shards adds leave (under half the shard size and under a
    /// quarter of the largest shard) are merged once there are many of like size (a query
    /// visits every shard's probed partitions): shards fall in size classes (rows in powers
    /// of `smallShards + 1`), and a class with more than `smallShards` shards is merged into
    /// one of the next class, so that a stream of small commits rewrites each row about
    /// log(rows) times. The compaction is a second commit, right after the first.
    /// Indexes whose ids are row numbers are never compacted automatically (it would turn
    /// their ids into strings).
    public struct MergePolicy: Sendable, Equatable {
        /// A shard is rewritten once at least this fraction of its rows is deleted.
        public var deletedFraction: Double
        /// Shards below half the shard size are merged once there are more than this many.
        public var smallShards: Int
        /// The partitions are fitted again to the live rows and every shard rewritten into
        /// them (``IndexWriter/maintainPartitions(partitions:progress:)``) once the partition count the
        /// live rows ask for — the index's, scaled with √(live rows ÷ rows it was fitted
        /// to), so that lists keep their length — is this ratio times the index's or more
        /// (the rows grew by its square), or under the square of its inverse (the rows
        /// shrank to under its fourth power's inverse: shorter lists cost queries less, so
        /// lists merge later than they split); also once a tenth of the live rows were added
        /// since and fit their partitions worse by ``Index/Drift/retrainAbove`` (rows from
        /// new clusters); also once the lists' balance (``Index/ListBalance``) is this
        /// ratio squared times its value at the last fit (rows crowding a few lists).
        /// `.infinity`: never after a commit. Lists that grew or crowd are rebalanced a
        /// bounded step at a time (``IndexWriter/rebalancePartitions(maxRows:progress:)``:
        /// the longest lists split, their halves take the places of lists that shrank, and
        /// only the rows that change lists are rewritten); rows that drifted and lists that
        /// shrank get a whole refit (``IndexWriter/maintainPartitions(partitions:progress:)``),
        /// as do indexes whose ids are row numbers.
        public var partitionDrift: Double
        /// The rows one rebalancing step reads at most (the lists it splits, the lists whose
        /// places their halves take and their nearest neighbours; at least one split's): the
        /// bound on a step's work, whatever the index's size. The rows it rewrites are those
        /// that change lists, fewer.
        public var rebalanceRows: Int

        /// The default bound of a rebalancing step: 65,536 rows read (GloVe-50, 186k rows:
        /// about 20 lists split, in 0.1 s).
        public static let defaultRebalanceRows = 65_536

        /// The default: a fifth deleted (Lucene's `deletesPctAllowed`), more than 2 small
        /// shards of a size class, partitions fitted again when the rows ask for 1.15× more
        /// (they grew by a third) or 1.15²× fewer (they shrank to 57 %), or when the lists'
        /// balance grew by a third.
        /// (Without the searcher's partition arena each shard costs a query its own pass
        /// over the probed partitions, and a deleted row its scan: on GloVe-50 churn, 20
        /// rounds of +5 %/−5 %, 0.78× a fresh build's QPS on average with these, 0.67× with a
        /// third and 4 small shards; with the arena 0.94×, and 0.96× with refits on the lists'
        /// balance too; `Benchmarks/results/catalog-churn.md`.)
        public init(deletedFraction: Double = 0.2, smallShards: Int = 2, partitionDrift: Double = 1.15,
                    rebalanceRows: Int = MergePolicy.defaultRebalanceRows) {
            self.deletedFraction = deletedFraction
            self.smallShards = smallShards
            self.partitionDrift = partitionDrift
            self.rebalanceRows = rebalanceRows
        }

        /// The shards of `manifest` (by index, ascending) this policy rewrites now; empty
        /// when none is worth it. `shardSize`: the rows of a full shard.
        func shardsToMerge(in manifest: Manifest, shardSize: Int) -> [Int] {
            let shards = manifest.shards
            // Small, for the policy: under half the shard size, and under a quarter of the
            // largest shard too, so that merges stay among shards of like size (the merged
            // shard grows into the next tier instead of rewriting the big shards on every
            // commit).
            let largest = shards.map(\.rows).max() ?? 0
            let small = shards.indices.filter { Int(shards[$0].rows) < shardSize / 2 && shards[$0].rows * 4 < largest }
            // Then by size class (rows in powers of smallShards + 1, as Lucene's tiered merge
            // policy): a class is merged once it holds more than `smallShards` shards, so a
            // row is rewritten about log(rows) times, not on every merge of a growing shard.
            let classBase = max(2, smallShards + 1)
            func sizeClass(_ rows: Int) -> Int {
                var c = 0, r = rows
                while r >= classBase { r /= classBase; c += 1 }
                return c
            }
            let byClass = Dictionary(grouping: small) { sizeClass(Int(shards[$0].rows)) }
            let tier = Set(byClass.values.filter { $0.count > smallShards }.joined())
            return shards.indices.filter {
                Double(shards[$0].deleted) >= deletedFraction * Double(shards[$0].rows) || tier.contains($0)
            }
        }

        /// The shards an explicit ``IndexWriter/compact(retrain:options:progress:)-8qnux`` rewrites:
        /// every shard when retraining or when ids are row numbers (rows keep their numbers
        /// only if every shard is rewritten in order), otherwise the shards with deletions and
        /// the small ones (under half of `shardSize`) when there are two or more. Empty when
        /// nothing is worth rewriting.
        static func shardsToCompact(in manifest: Manifest, retrain: Bool, shardSize: Int) -> [Int] {
            let shards = manifest.shards
            let small = shards.indices.filter { Int(shards[$0].rows) < shardSize / 2 }
            let worthIt = retrain || shards.contains { $0.deleted > 0 } || small.count > 1
            guard worthIt else { return [] }
            if retrain || !manifest.hasStringIDs { return Array(shards.indices) }
            return shards.indices.filter { shards[$0].deleted > 0 || (small.count > 1 && small.contains($0)) }
        }
    }
}
