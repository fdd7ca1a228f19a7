extension Index {
    /// The element type of the stored vectors.
    public var vectorType: VectorType { manifest.vectorType }

    /// Bytes of the vector sections as float32 over their stored size (2.0 for float16
    /// stored raw; above that, LZ4 saved the rest).
    public var vectorCompressionRatio: Double {
        var stored = 0, raw = 0
        for s in shards {
            stored += s.storedVectorBytes
            raw += s.rows * s.dimension * 4
        }
        return raw == 0 ? 1 : Double(raw) / Double(stored)
    }

    /// The codec of each shard's vector section.
    public var vectorCodecs: [SectionCodec] { shards.map(\.vectorCodec) }

    /// The codec of each shard's id section (empty when ids are row numbers).
    public var idCodecs: [SectionCodec] { shards.compactMap(\.idCodec) }

    /// Stored bytes of the id sections over their uncompressed size (1.0 when stored raw
    /// or when ids are row numbers).
    public var idCompressionRatio: Double {
        var stored = 0, raw = 0
        for s in shards {
            guard let bytes = s.idBytes else { continue }
            stored += bytes.stored
            raw += bytes.raw
        }
        return stored == 0 ? 1 : Double(raw) / Double(stored)
    }

    /// The number of partitions (0: none, every query scans every code).
    public var partitionCount: Int { manifest.centroids?.count ?? 0 }

    /// The number of shard files.
    public var shardCount: Int { shards.count }

    /// One shard of the open generation, as `hashidx info` lists it.
    public struct ShardStatistics: Sendable, Equatable {
        /// The shard's file name.
        public var fileName: String
        /// Rows stored.
        public var rows: Int
        /// Rows of them that are deleted.
        public var deleted: Int
        /// Bytes of the shard file and of its deletion file.
        public var bytes: Int
    }

    /// Every shard of the open generation.
    public var shardStatistics: [ShardStatistics] {
        manifest.shards.map {
            ShardStatistics(fileName: $0.fileName, rows: Int($0.rows), deleted: Int($0.deleted),
                            bytes: Int($0.fileSize) + ($0.deletionsFile == nil ? 0 : Deletions.fileSize(rows: Int($0.rows))))
        }
    }

    /// Deleted items (rows a compaction would drop).
    public var deletedCount: Int { rowCount - count }

    /// Bytes a compaction would reclaim, estimated as each shard's bytes times its deleted
    /// fraction (codes, vectors and ids are per row).
    public var reclaimableBytes: Int {
        shardStatistics.reduce(0) { $0 + ($1.rows == 0 ? 0 : $1.bytes * $1.deleted / $1.rows) }
    }

    /// How far rows written since training sit from their partition centroids, compared
    /// with the rows the model and centroids were trained on.
    public struct Drift: Sendable, Equatable {
        /// Mean cosine of the training build's rows to their centroids.
        public var trainingFit: Double
        /// Mean cosine of the rows added since training to theirs.
        public var recentFit: Double
        /// Rows added since training (after compactions, an estimate: each compaction keeps
        /// its inputs' count scaled by the rows it kept).
        public var recentRows: Int
        /// `(1 - recentFit) / (1 - trainingFit)`: 1 when new rows fit the partitions as well
        /// as the training rows; above ``Drift/retrainAbove``, retraining is advised.
        public var ratio: Double { (1 - recentFit) / max(1e-9, 1 - trainingFit) }
        /// The ratio above which `hashidx info` advises `hashidx compact --retrain`.
        public static let retrainAbove = 1.25
    }

    /// The drift of the rows added since training, or `nil` when the index has no
    /// partitions, no such rows, or predates the figure (format version 2).
    public var drift: Drift? { Drift.of(manifest) }
}

extension Index.Drift {
    /// The drift of `m`'s rows added since training (see ``Index/drift``).
    static func of(_ m: Manifest) -> Index.Drift? {
        guard m.centroids != nil, m.trainingFit > 0 else { return nil }
        var rows = 0.0, sum = 0.0
        for s in m.shards where s.addedRows > 0 {
            rows += Double(s.addedRows)
            sum += Double(s.addedFit) * Double(s.addedRows)
        }
        guard rows > 0 else { return nil }
        return Index.Drift(trainingFit: Double(m.trainingFit), recentFit: sum / rows, recentRows: Int(rows))
    }
}

extension Index {
    /// How evenly the live items fill the partitions: P·Σnₚ²/N² over the P lists of nₚ live
    /// items (N in all) — the items a query probing one list scans on average, queries
    /// distributed as the items, over the mean list. 1 when every list is as long, P when
    /// one list holds everything; k-means lists sit near 1.2–1.5. Rows of new clusters
    /// crowd a few lists and raise it; the merge policy refits the partitions once it has
    /// grown by ``IndexWriter/MergePolicy/partitionDrift``² since the last fit.
    public struct ListBalance: Sendable, Equatable {
        /// The balance of the live items now.
        public var current: Double
        /// The balance when the partitions were last fitted (a build, a retraining
        /// compaction, partition maintenance); `nil` for an index that does not record it
        /// (written before this figure).
        public var atFit: Double?
        /// ``current`` over ``atFit`` (`nil` when that is unknown).
        public var ratio: Double? { atFit.map { current / max($0, 1e-9) } }
    }

    /// The balance of the partitions' lists (`nil` without partitions or without items).
    /// Counts every shard's lists: cheap (the partition offsets and deletion bits in memory).
    public var listBalance: ListBalance? { listBalance(of: listLengths) }

    /// The live rows of each partition (empty without partitions).
    var listLengths: [Int] {
        var lists = [Int](repeating: 0, count: partitionCount)
        for shard in shards { shard.countLiveRows(perPartition: &lists) }
        return lists
    }

    /// The balance of lists of `lengths` live rows against this generation's fit (`nil`
    /// without partitions or rows).
    func listBalance(of lengths: [Int]) -> ListBalance? {
        let current = Partitioning.balance(lengths)
        guard current > 0 else { return nil }
        return ListBalance(current: Double(current), atFit: manifest.listBalance > 0 ? Double(manifest.listBalance) : nil)
    }

    /// Bytes of memory this snapshot's partition arena holds (0 without one): the codes of
    /// the index's smaller shards (up to 256 MiB of them; of one shard once a 64th of its
    /// rows is deleted) copied partition by partition when it was opened, without their
    /// deleted rows, and 8 bytes per row to find each one's shard. Snapshots of one
    /// generation (a writer's, `reopen()` while the log grows) share it.
    public var partitionArenaBytes: Int { searcher.arena?.bytes ?? 0 }

    /// Items now over rows when the partitions were trained (`nil` when unknown or without
    /// partitions). Each probe scans about this many times the rows it did after training;
    /// above ``growthRetrainAbove`` retraining is advised.
    public var growth: Double? {
        let m = manifest
        guard m.centroids != nil, m.trainedRows > 0 else { return nil }
        return Double(count) / Double(m.trainedRows)
    }

    /// The growth above which `hashidx info` advises `hashidx compact --retrain`: partitions
    /// hold twice the rows they were trained for.
    public static let growthRetrainAbove = 2.0
}
