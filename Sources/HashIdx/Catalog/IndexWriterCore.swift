/// What an ``IndexWriter`` is, behind its lock: the base generation, the pending changes, and
/// the steps of adding, deleting, committing and compacting. Used by one thread at a time
/// (``IndexWriter`` holds it in a ``Locked``).
final class IndexWriterCore {
    let path: String
    let directory: IndexDirectory
    /// The `LOCK` file's descriptor; `nil` once closed.
    private var lock: Int32?
    /// The generation changes apply to (the newest committed one).
    private(set) var base: Index
    /// Threads for hashing added rows (all cores when `nil`).
    var threads: Int?
    /// When a commit also compacts (`nil`: never).
    var mergePolicy: IndexWriter.MergePolicy? = IndexWriter.MergePolicy()
    /// The uncommitted changes.
    private(set) var pending = PendingChanges()
    /// In-memory id look-up of each shard file (shards never change), built on first use.
    private var idLookups: [String: ShardIDLookup] = [:]

    init(path: String, threads: Int?, holder: String) throws(HashIdxError) {
        self.path = path
        self.threads = threads
        directory = IndexDirectory(path: path)
        _ = try directory.currentManifestName()   // an index, before taking its lock
        let fd = try directory.lock(holder: holder)
        do throws(HashIdxError) {
            base = try Index(path: path)
        } catch {
            directory.unlock(fd)
            throw error
        }
        lock = fd
        // Leftovers of an interrupted writer (files of a generation CURRENT never named).
        directory.removeAll(except: base.liveFiles)
    }

    /// Whether ``release()`` ran.
    var isClosed: Bool { lock == nil }

    /// Releases the lock (pending changes are the caller's concern).
    func release() {
        if let lock { directory.unlock(lock) }
        lock = nil
    }

    /// Items in the index after a commit of the pending changes.
    var count: Int { base.count - pending.deletedCount + pending.liveAddedCount }

    func checkOpen() throws(HashIdxError) {
        guard lock != nil else { throw .invalidArgument(name: "writer", reason: "was closed; open a new IndexWriter") }
    }

    // MARK: Changes

    func delete(ids: [String], ignoringMissing: Bool) throws(HashIdxError) -> [String] {
        try checkOpen()
        var found: [PendingChanges.Location] = []
        var missing: [String] = []
        for id in ids {
            let item = try location(of: id)
            if item.isEmpty { missing.append(id) }
            found.append(item)
        }
        if !missing.isEmpty && !ignoringMissing {
            throw .unknownID(missing.count == 1 ? missing[0] : "\(missing[0]) and \(missing.count - 1) more ids")
        }
        pending.remove(found)
        return missing
    }

    func rollback() { pending = PendingChanges() }

    /// Where the live item with `id` is, counting the pending changes.
    private func location(of id: String) throws(HashIdxError) -> PendingChanges.Location {
        PendingChanges.Location(pending: pending.addedRow(of: id), committed: try committedItem(id))
    }

    /// The shard and position of the committed, live item with `id` that no pending change
    /// deleted yet.
    private func committedItem(_ id: String) throws(HashIdxError) -> (shard: Int, position: Int)? {
        let shards = base.shards
        if !base.hasStringIDs {
            guard let row = try base.searcher.row(forID: id) else { return nil }
            let (shard, local) = try base.searcher.locate(row)
            let index = shards.firstIndex { $0 === shard }!
            let position = shard.position(ofRow: local)
            return pending.isDeleted(shard: index, position: position) ? nil : (index, position)
        }
        // Newest shard first: an upserted id's live row is in the newest shard that has it.
        var cursor = BlockCursor()
        for index in shards.indices.reversed() {
            let shard = shards[index]
            let name = base.manifest.shards[index].fileName
            if idLookups[name] == nil { idLookups[name] = try ShardIDLookup(shard) }
            guard let position = try idLookups[name]!.position(of: id, in: shard, cursor: &cursor),
                  !shard.isDeleted(position: position) else { continue }
            return pending.isDeleted(shard: index, position: position) ? nil : (index, position)
        }
        return nil
    }

    func add(_ vectors: any VectorSource, ids: [String]?, attributes: AttributeTable?, replacing: Bool) throws(HashIdxError) {
        try checkOpen()
        let d = base.dimension
        guard vectors.dimension == d else {
            throw .dimensionMismatch(expected: d, actual: vectors.dimension, source: vectors.name)
        }
        let n = vectors.count
        if base.hasStringIDs {
            guard let ids else {
                throw .invalidArgument(name: "ids", reason: "this index names its items by string ids: give one id per added row")
            }
            guard ids.count == n else { throw .idCountMismatch(path: "ids", ids: ids.count, rows: n) }
            try IDList.validate(ids, path: "ids")
        } else {
            guard ids == nil else {
                throw .invalidArgument(name: "ids", reason: "this index names its items by row number, so added items get the next row numbers; build it with --ids to name items")
            }
            guard !replacing else {
                throw .invalidArgument(name: "upsert", reason: "needs an index built with ids (this one names its items by row number)")
            }
        }
        // Check everything before changing anything.
        let table = attributes ?? AttributeTable(empty: n)
        guard table.count == n else {
            throw .invalidAttributes(path: "attributes", line: 0, reason: "holds \(table.count) rows but \(n) vectors are added; give one row per vector")
        }
        let schema = base.attributeSchema.merging(pending.addedAttributes.schema) { a, b in a == .float || b == .float ? .float : a }
        try table.check(against: schema, source: "attributes")
        let combined = try pending.addedAttributes.conformed(to: schema).appending(table.conformed(to: schema), source: "attributes")
        var rows = [Float](repeating: 0, count: n * d)
        try rows.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
            var unit = [Float](repeating: 0, count: d)
            for i in 0..<n {
                let row = UnsafeMutableBufferPointer(rebasing: b[(i * d)..<((i + 1) * d)])
                vectors.copyRow(i, into: row)
                for j in 0..<d { unit[j] = row[j] }
                try unit.withUnsafeMutableBufferPointer { (u) throws(HashIdxError) in _ = try Vectors.normalize(u, source: vectors.name, row: i) }
            }
        }
        var replaced: [PendingChanges.Location] = []
        for id in ids ?? [] {
            let item = try location(of: id)
            if !replacing && !item.isEmpty {
                throw .idExists(id: id)
            }
            replaced.append(item)
        }
        pending.remove(replaced)
        let first = pending.addedCount
        pending.append(rows: rows, ids: ids ?? (0..<n).map { String(base.rowCount + first + $0) }, attributes: combined)
    }

    // MARK: Commit

    func commit(progress: (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CommitSummary {
        try checkOpen()
        let start = System.monotonicSeconds()
        guard !pending.isEmpty else {
            return IndexWriter.CommitSummary(generation: base.generation, added: 0, deleted: 0, count: base.count, seconds: 0)
        }
        let generation = try directory.nextGeneration()
        var written: [String] = []
        do throws(HashIdxError) {
            let (manifest, added, deleted) = try Committer(directory: directory, threads: threads)
                .write(pending, base: base, generation: generation, written: &written, progress: progress)
            progress(WorkProgress(phase: .finishing, done: 0, total: 1))
            try commit(manifest, generation: generation, written: &written)
            progress(WorkProgress(phase: .finishing, done: 1, total: 1))
            var summary = IndexWriter.CommitSummary(generation: generation, added: added, deleted: deleted,
                                                    count: base.count, seconds: 0)
            rollback()
            if let policy = mergePolicy { summary.merged = try merge(policy: policy) }
            summary.seconds = System.monotonicSeconds() - start
            return summary
        } catch {
            directory.remove(written)
            throw error
        }
    }

    /// Commits `manifest` as `generation`, removes what it no longer names, and makes it the
    /// writer's base.
    private func commit(_ manifest: Manifest, generation: UInt64, written: inout [String]) throws(HashIdxError) {
        _ = try directory.commit(manifest, generation: generation, written: &written)
        written = []   // committed: from here on the files are the index's
        let next = try Index(path: path, reusing: base)
        base = next
        directory.removeAll(except: next.liveFiles)
        let names = Set(next.manifest.shards.map(\.fileName))
        idLookups = idLookups.filter { names.contains($0.key) }
    }

    // MARK: Compaction

    /// An explicit compaction: every shard worth rewriting (``IndexWriter/MergePolicy/shardsToCompact(in:retrain:shardSize:)``).
    func compact(retrain: Bool, options: BuildOptions, progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CompactionSummary {
        try checkOpen()
        guard pending.isEmpty else {
            throw .invalidArgument(name: "compact", reason: "the writer has uncommitted changes; commit or roll them back first")
        }
        try options.validate()
        let rewrite = IndexWriter.MergePolicy.shardsToCompact(in: base.manifest, retrain: retrain, shardSize: options.shardSize)
        return try compact(rewrite: rewrite, retrain: retrain, options: options, progress: progress)
    }

    /// What `policy` asks for now, committed: the partitions fitted again (every shard
    /// rewritten: the merges too), else merges; nil when nothing is due. (Row-number ids
    /// stay as they are when no row is deleted: every shard is rewritten in order; otherwise
    /// only indexes with string ids are rewritten.)
    func merge(policy: IndexWriter.MergePolicy) throws(HashIdxError) -> IndexWriter.CompactionSummary? {
        try checkOpen()
        guard pending.isEmpty else {
            throw .invalidArgument(name: "merge", reason: "the writer has uncommitted changes; commit or roll them back first")
        }
        let keepsIDs = base.hasStringIDs || !base.manifest.shards.contains { $0.deleted > 0 }
        if keepsIDs && PartitionMaintainer.isDue(base.manifest, ratio: policy.partitionDrift) {
            return try maintainPartitions(progress: { _ in })
        }
        guard base.hasStringIDs else { return nil }
        let merge = try compact(rewrite: policy.shardsToMerge(in: base.manifest, shardSize: BuildOptions.defaultShardSize),
                                retrain: false, options: BuildOptions(), progress: { _ in })
        return merge.rewrittenShards > 0 ? merge : nil
    }

    /// Fits the partitions again to the live rows (``PartitionMaintainer``) — as many as the
    /// live rows ask for, or `partitions` — and rewrites every shard into them.
    func maintainPartitions(partitions: Int? = nil,
                            progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CompactionSummary {
        try checkOpen()
        guard pending.isEmpty else {
            throw .invalidArgument(name: "maintain", reason: "the writer has uncommitted changes; commit or roll them back first")
        }
        guard let before = base.manifest.centroids?.count, let (live, wanted) = PartitionMaintainer.target(of: base.manifest) else {
            throw .invalidArgument(name: "maintain", reason: "the index has no partitions, or too few live items to fit them to (at least \(2 * PartitionMaintenance.minimumRowsPerList))")
        }
        if let partitions, !(2...min(1 << 20, live / 2)).contains(partitions) {
            throw .invalidArgument(name: "partitions", reason: "must be 2…\(min(1 << 20, live / 2)) for \(live) live items, got \(partitions)")
        }
        progress(WorkProgress(phase: .partitioning, done: 0, total: 1))
        let centroids = try PartitionMaintainer(base: base, threads: threads ?? System.processorCount).refit(partitions: partitions ?? wanted)
        progress(WorkProgress(phase: .partitioning, done: 1, total: 1))
        var summary = try compact(rewrite: Array(base.manifest.shards.indices), retrain: false, centroids: centroids,
                                  options: BuildOptions(), progress: progress)
        summary.partitions = (before, centroids.count)
        return summary
    }

    /// Rewrites the shards `rewrite` (nothing when empty), into `centroids` when given, and commits.
    private func compact(rewrite: [Int], retrain: Bool, centroids: Centroids? = nil, options: BuildOptions,
                         progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CompactionSummary {
        let start = System.monotonicSeconds()
        let before = base.bytesOnDisk
        guard !rewrite.isEmpty else {
            return IndexWriter.CompactionSummary(generation: base.generation, rewrittenShards: 0, shards: base.shardCount,
                                                 bytesBefore: before, bytesAfter: before, seconds: System.monotonicSeconds() - start)
        }
        let generation = try directory.nextGeneration()
        var written: [String] = []
        do throws(HashIdxError) {
            let compactor = Compactor(base: base, committer: Committer(directory: directory, threads: threads))
            let next = try compactor.write(rewrite: rewrite, retrain: retrain, centroids: centroids, options: options,
                                           generation: generation,
                                           written: &written, progress: progress)
            progress(WorkProgress(phase: .finishing, done: 0, total: 1))
            try commit(next, generation: generation, written: &written)
            progress(WorkProgress(phase: .finishing, done: 1, total: 1))
            return IndexWriter.CompactionSummary(generation: generation, rewrittenShards: rewrite.count, shards: base.shardCount,
                                                 bytesBefore: before, bytesAfter: base.bytesOnDisk,
                                                 seconds: System.monotonicSeconds() - start)
        } catch {
            directory.remove(written)
            throw error
        }
    }
}

extension Index {
    /// The names of the files of this generation: `CURRENT`'s manifest, shards, deletion files.
    var liveFiles: Set<String> { manifest.fileNames.union([Format.manifestName(generation)]) }
}
