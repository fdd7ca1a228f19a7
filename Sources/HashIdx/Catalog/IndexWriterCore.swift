#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What an ``IndexWriter`` is, behind its lock: the base generation, the pending changes, and
/// the steps of adding, deleting, committing and compacting. Used by one thread at a time
/// (``IndexWriter`` holds it in a ``Locked``).
final class IndexWriterCore {
    let path: String
    let directory: IndexDirectory
    /// The `LOCK` file's descriptor; `nil` once closed.
    private var lock: Int32?
    /// Threads for hashing added rows (all cores when `nil`).
    var threads: Int?
    /// When a commit also compacts (`nil`: never).
    var mergePolicy: IndexWriter.MergePolicy? = IndexWriter.MergePolicy()
    /// The changes on top of the newest committed generation: those committed to its write
    /// log (the buffer) and those since.
    var ledger: ChangeLedger
    /// The changes since the last commit, as the log records them (a log commit appends
    /// them; a rollback drops them).
    var unlogged: [LoggedChange] = []
    /// The base generation's write log, once open (`nil`: none yet).
    var log: WriteLogFile?
    /// Items after the last commit (to the log or to shards).
    var committedCount: Int
    /// The last snapshot handed out (its buffer's chunks carry over to the next).
    var lastSnapshot: Index?
    /// The generation a background commit is writing (`nil`: none).
    var background: UInt64?

    /// The generation changes apply to (the newest committed one), without its log.
    var base: Index { ledger.base }
    /// Every change not yet in shards: logged and uncommitted.
    var pending: PendingChanges { ledger.pending }

    init(path: String, threads: Int?, holder: String) throws(HashIdxError) {
        self.path = path
        self.threads = threads
        directory = IndexDirectory(path: path)
        _ = try directory.currentManifestName()   // an index, before taking its lock
        let fd = try directory.lock(holder: holder)
        do throws(HashIdxError) {
            let base = try Index(path: path, reusing: nil, readingLog: false)
            ledger = ChangeLedger(base: base)
            committedCount = base.count
            lock = fd
            // Leftovers of an interrupted writer (files of a generation CURRENT never named,
            // logs of generations already committed), then the changes of the live log.
            directory.removeAll(except: base.liveFiles)
            try openLog()
        } catch {
            directory.unlock(fd)
            lock = nil
            throw error
        }
    }

    /// Whether ``release()`` ran.
    var isClosed: Bool { lock == nil }

    /// Releases the lock (pending changes are the caller's concern).
    func release() {
        if let lock { directory.unlock(lock) }
        lock = nil
        log = nil
    }

    /// Items in the index after a commit of the pending changes.
    var count: Int { ledger.count }

    /// Whether there are changes not committed, to the log or to shards.
    var hasUncommitted: Bool { !unlogged.isEmpty }

    /// Rows added and base rows deleted that are committed to the log only.
    var buffered: (rows: Int, deletes: Int) { (pending.liveAddedCount, pending.deletedCount) }

    /// Bytes of the write log (0: none).
    var logBytes: Int { log?.length ?? 0 }

    func checkOpen() throws(HashIdxError) {
        guard lock != nil else { throw .invalidArgument(name: "writer", reason: "was closed; open a new IndexWriter") }
    }

    // MARK: Changes

    func delete(ids: [String], ignoringMissing: Bool) throws(HashIdxError) -> [String] {
        try checkOpen()
        let missing = try ledger.delete(ids: ids, ignoringMissing: ignoringMissing)
        if missing.count < ids.count { unlogged.append(.delete(ids: ids, ignoringMissing: ignoringMissing)) }
        return missing
    }

    func add(_ vectors: any VectorSource, ids: [String]?, attributes: AttributeTable?, replacing: Bool) throws(HashIdxError) {
        try checkOpen()
        let change = try ledger.add(vectors, ids: ids, attributes: attributes, replacing: replacing)
        if vectors.count > 0 { unlogged.append(change) }
    }

    /// Drops the changes since the last commit; those committed to the log stay.
    func rollback() {
        guard !unlogged.isEmpty else { return }
        unlogged = []
        lastSnapshot = nil
        ledger = ChangeLedger(base: base, idLookups: ledger.idLookups)
        // The log holds exactly the changes to keep; read back, they cannot fail (they did
        // once on this base). Should the disk refuse now, the writer keeps none and says so.
        do throws(HashIdxError) {
            try replayLog()
        } catch {
            ledger = ChangeLedger(base: base, idLookups: ledger.idLookups)
            log = nil
            let line = "hashidx: the write log of \(path) could not be read back after a rollback (\(error)); its changes are dropped from this writer (they are not lost: reopen the index)\n"
            _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
    }

    // MARK: Commit

    func commit(progress: (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CommitSummary {
        try checkOpen()
        try checkNoBackground("commit")
        let start = System.monotonicSeconds()
        guard !pending.isEmpty else {
            unlogged = []   // (changes that changed nothing)
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
        let next: Index
        do throws(HashIdxError) {
            next = try Index(path: path, reusing: base, readingLog: false)
        } catch {
            // A writer still on the old generation must not append to its log: close it.
            release()
            throw .io(path: path, reason: "generation \(generation) was committed, but the writer could not open it and was closed (\(error)); open a new IndexWriter")
        }
        ledger = ChangeLedger(base: next, idLookups: ledger.idLookups)
        unlogged = []
        log = nil
        lastSnapshot = nil
        committedCount = next.count
        directory.removeAll(except: next.liveFiles)   // (the previous generation's log too)
    }

    // MARK: Compaction

    /// Writes the changes committed to the log only into shards first, so that a compaction
    /// starts from shards alone; throws when there are uncommitted changes (`name`: the step).
    private func flushBuffer(before name: String) throws(HashIdxError) {
        try checkNoBackground(name)
        guard unlogged.isEmpty else {
            throw .invalidArgument(name: name, reason: "the writer has uncommitted changes; commit or roll them back first")
        }
        if !pending.isEmpty || pending.addedCount > 0 {
            let policy = mergePolicy
            mergePolicy = nil
            defer { mergePolicy = policy }
            _ = try commit(progress: { _ in })
        }
    }

    /// An explicit compaction: every shard worth rewriting (``IndexWriter/MergePolicy/shardsToCompact(in:retrain:shardSize:)``).
    func compact(retrain: Bool, options: BuildOptions, progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CompactionSummary {
        try checkOpen()
        try flushBuffer(before: "compact")
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
        try flushBuffer(before: "merge")
        if let work = PartitionMaintainer.work(base, policy: policy) {
            return try maintain(work, progress: { _ in })
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
        try flushBuffer(before: "maintain")
        guard base.manifest.centroids != nil, let (live, wanted) = PartitionMaintainer.target(of: base.manifest) else {
            throw .invalidArgument(name: "maintain", reason: "the index has no partitions, or too few live items to fit them to (at least \(2 * PartitionMaintenance.minimumRowsPerList))")
        }
        if let partitions, !(2...min(1 << 20, live / 2)).contains(partitions) {
            throw .invalidArgument(name: "partitions", reason: "must be 2…\(min(1 << 20, live / 2)) for \(live) live items, got \(partitions)")
        }
        return try maintain(.refit(partitions: partitions ?? wanted), progress: progress)
    }

    /// One bounded rebalancing step (``PartitionRebalancer``) toward the partition count the
    /// live rows ask for, reading at most `maxRows` rows; nil when no list is due.
    func rebalancePartitions(maxRows: Int, partitionDrift: Double,
                             progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CompactionSummary? {
        try checkOpen()
        try flushBuffer(before: "rebalance")
        guard maxRows >= 1 else { throw .invalidArgument(name: "maxRows", reason: "must be at least 1, got \(maxRows)") }
        guard base.manifest.centroids != nil, let (_, wanted) = PartitionMaintainer.target(of: base.manifest) else {
            throw .invalidArgument(name: "rebalance", reason: "the index has no partitions, or too few live items to fit them to (at least \(2 * PartitionMaintenance.minimumRowsPerList))")
        }
        guard base.hasStringIDs else {
            throw .invalidArgument(name: "rebalance", reason: "the index's ids are its row numbers, which rows that change lists would lose; use maintainPartitions (`hashidx compact --maintain`), which keeps them while no row is deleted")
        }
        let limit = PartitionMaintainer.limit(wanted, ratio: partitionDrift)
        guard PartitionRebalancer.hasWork(base.listLengths, target: wanted, limit: limit) else { return nil }
        return try maintain(.rebalance(target: wanted, limit: limit, maxRows: maxRows), progress: progress)
    }

    /// Writes and commits partition maintenance `work`.
    private func maintain(_ work: PartitionMaintainer.Work,
                          progress: @escaping @Sendable (WorkProgress) -> Void) throws(HashIdxError) -> IndexWriter.CompactionSummary {
        let start = System.monotonicSeconds()
        let before = base.bytesOnDisk, partitions = base.partitionCount
        let generation = try directory.nextGeneration()
        var written: [String] = []
        do throws(HashIdxError) {
            let (next, rewritten) = try PartitionMaintainer(base: base, threads: threads ?? System.processorCount)
                .write(work, committer: Committer(directory: directory, threads: threads), generation: generation,
                       written: &written, progress: progress)
            progress(WorkProgress(phase: .finishing, done: 0, total: 1))
            try commit(next, generation: generation, written: &written)
            progress(WorkProgress(phase: .finishing, done: 1, total: 1))
            var summary = IndexWriter.CompactionSummary(generation: generation, rewrittenShards: rewritten, shards: base.shardCount,
                                                        bytesBefore: before, bytesAfter: base.bytesOnDisk,
                                                        seconds: System.monotonicSeconds() - start)
            summary.partitions = (partitions, base.partitionCount)
            return summary
        } catch {
            directory.remove(written)
            throw error
        }
    }

    /// Rewrites the shards `rewrite` (nothing when empty) and commits.
    private func compact(rewrite: [Int], retrain: Bool, options: BuildOptions,
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
            let next = try compactor.write(rewrite: rewrite, retrain: retrain, options: options,
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
    /// The names of the files of this generation: `CURRENT`'s manifest, shards, deletion
    /// files and its write log.
    var liveFiles: Set<String> { manifest.fileNames.union([Format.manifestName(generation), Format.logName(generation)]) }
}
