#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Changes a built index in place: adds, deletes, upserts and compaction, each visible only
/// once committed, all at once.
///
/// One writer per index at a time, across processes: opening takes the directory's `LOCK`
/// (a second writer, or a build, gets an error naming the holder) and removes what an
/// interrupted writer left behind. Changes collect in memory; ``commit(progress:)-31119`` writes them
/// as a new generation (Lucene's segments and live-docs, LevelDB's MANIFEST + CURRENT):
///
/// - added items go to a new shard, hashed with the index's own model and assigned to its
///   partitions (no retraining);
/// - deleted items are bits in a new deletion file of their shard (`docs/FORMAT.md` §5);
///   shards never change once written;
/// - the new manifest names every shard and deletion file of the generation, and `CURRENT`
///   switches to it with one atomic rename, after every file and the directory were synced.
///
/// A writer killed at any moment leaves the previous generation or the new one. Readers keep
/// the generation they opened (``Index`` is a snapshot; ``Index/reopen()`` moves on); files
/// of older generations are removed at commit, which is safe for readers because they map
/// their shards and read their deletion files when they open.
///
/// Ids: in an index built with ids, every added item needs a new id (``upsert(_:ids:attributes:)-5o49w``
/// replaces an existing one); in an index whose ids are row numbers, added items get the
/// next row numbers, and the first ``compact(retrain:options:progress:)-8qnux`` that drops deleted
/// rows turns the ids into strings (each item keeps its number as its id).
///
/// A writer is `Sendable`: any thread or task may use it, one call at a time (calls wait for
/// each other; a commit holds the writer until it is durable). From async code, the `async`
/// overloads of ``commit(progress:)-31119`` and ``compact(retrain:options:progress:)-8qnux`` run the work
/// off the caller's thread (see <doc:IndexWriter>). Uncommitted changes are never dropped
/// silently: ``rollback()`` drops them, and ``close()`` refuses while there are any.
///
/// ```swift
/// let writer = try IndexWriter(path: "catalog.hidx")
/// try writer.upsert(InMemoryVectors(rows: newEmbeddings), ids: skus)
/// try writer.delete(ids: ["sku-17"])
/// try writer.commit()
/// try writer.close()
/// ```
public final class IndexWriter: Sendable {
    /// The index directory.
    public let path: String
    private let core: Locked<IndexWriterCore>

    /// Opens `path` (an index built by ``IndexBuilder``) for writing, hashing added rows on
    /// `threads` threads (all cores when `nil`). `holder` names this writer in the lock file,
    /// so that another writer's error says who holds the index.
    ///
    /// - Throws: ``HashIdxError/io(path:reason:)`` when another writer holds the lock, and
    ///   the errors of ``Index/init(path:)``.
    public init(path: String, threads: Int? = nil, holder: String = "an IndexWriter") throws(HashIdxError) {
        self.path = path
        core = Locked(try IndexWriterCore(path: path, threads: threads, holder: holder))
    }

    /// Releases the lock. Changes still pending here were never asked to be kept or dropped:
    /// they are dropped, and one line on standard error says so (call ``commit(progress:)-31119``
    /// or ``rollback()``, then ``close()``).
    deinit {
        core.withLock { core in
            if !core.isClosed && core.hasUncommitted {
                let line = "hashidx: an IndexWriter on \(path) was released with uncommitted changes, which were dropped; call commit() or rollback() before releasing it\n"
                _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            }
            core.release()
        }
    }

    /// Releases the lock; the writer cannot be used after. Closing twice does nothing.
    ///
    /// - Throws: ``HashIdxError/invalidArgument(name:reason:)`` when changes are pending
    ///   (nothing is released: ``commit(progress:)-31119`` them or ``rollback()`` first).
    public func close() throws(HashIdxError) {
        try core.withLock { (core) throws(HashIdxError) in
            guard core.isClosed || !core.hasUncommitted else {
                throw .invalidArgument(name: "close", reason: "the writer has uncommitted changes; commit() them or rollback() to drop them, then close()")
            }
            guard core.isClosed || core.background == nil else {
                throw .invalidArgument(name: "close", reason: "a flush or merge of this writer is running on another thread; close once it returns")
            }
            core.release()
        }
    }

    /// Threads for hashing added rows (all cores when `nil`).
    public var threads: Int? {
        get { core.withLock { $0.threads } }
        set { core.withLock { $0.threads = newValue } }
    }

    /// When a commit also compacts (`nil`: never; call ``compact(retrain:options:progress:)-8qnux``).
    public var mergePolicy: MergePolicy? {
        get { core.withLock { $0.mergePolicy } }
        set { core.withLock { $0.mergePolicy = newValue } }
    }

    /// The index's vector dimension.
    public var dimension: Int { core.withLock { $0.base.dimension } }

    /// Items in the index after a commit of the pending changes.
    public var count: Int { core.withLock { $0.count } }

    /// Whether there are uncommitted changes.
    public var hasChanges: Bool { core.withLock { $0.hasUncommitted } }

    /// Items added and not yet written to a shard: committed to the write log
    /// (``commit(durability:progress:)`` with ``Durability/log``) or not committed yet.
    public var bufferedRows: Int { core.withLock { $0.buffered.rows } }

    /// Items of the shards deleted and not yet written to a deletion file (as
    /// ``bufferedRows``).
    public var bufferedDeletes: Int { core.withLock { $0.buffered.deletes } }

    /// Bytes of the generation's write log (0: none).
    public var logBytes: Int { core.withLock { $0.logBytes } }

    /// The generation the writer's changes apply to.
    public var generation: UInt64 { core.withLock { $0.base.generation } }

    // MARK: Changes

    /// Adds every row of `vectors` as a new item. `ids`: one new id per row in an index built
    /// with ids; `nil` in an index whose ids are row numbers (the items get the next ones).
    ///
    /// - Throws: ``HashIdxError/idExists(id:)`` when an id is already an item's (use
    ///   ``upsert(_:ids:attributes:)-5o49w``), ``HashIdxError/duplicateIDInMemory(source:id:firstRow:secondRow:)``
    ///   when one repeats in `ids`; the errors of a bad vector (wrong dimension, NaN, zeros)
    ///   before anything is added.
    ///
    /// `attributes`: one row per added item (``AttributeTable``), checked against the types
    /// the index's attributes have (an integer may go into a float attribute, a float never
    /// into an integer one); keys the index does not have yet become new attributes.
    public func add(_ vectors: any VectorSource, ids: [String]? = nil, attributes: AttributeTable? = nil) throws(HashIdxError) {
        try core.withLock { (core) throws(HashIdxError) in try core.add(vectors, ids: ids, attributes: attributes, replacing: false) }
    }

    /// Adds every row of `vectors` under `ids`, replacing the item that has an id already
    /// (in the same commit: readers see the old item or the new one, never both or neither).
    /// Needs an index built with ids.
    /// The new item's attributes replace the old item's (an attribute the new one lacks is
    /// null, as after a delete and an add).
    public func upsert(_ vectors: any VectorSource, ids: [String], attributes: AttributeTable? = nil) throws(HashIdxError) {
        try core.withLock { (core) throws(HashIdxError) in try core.add(vectors, ids: ids, attributes: attributes, replacing: true) }
    }

    /// Deletes the items with `ids` (pending ones included). Returns the ids no item had;
    /// unless `ignoringMissing`, any such id is an error and nothing is deleted.
    @discardableResult
    public func delete(ids: [String], ignoringMissing: Bool = false) throws(HashIdxError) -> [String] {
        try core.withLock { (core) throws(HashIdxError) in try core.delete(ids: ids, ignoringMissing: ignoringMissing) }
    }

    /// Drops every uncommitted change: the only way changes are ever dropped. (Changes
    /// committed to the write log stay.)
    public func rollback() {
        core.withLock { $0.rollback() }
    }

    // MARK: Commit and compaction

    /// Makes every pending change visible at once, durably (data files, manifest, `CURRENT`
    /// and the directory synced before it returns). Nothing to commit: returns at once.
    /// Then, when the ``mergePolicy`` says so, compacts (a second generation; an error there
    /// is thrown, but the commit stands). `progress` hears the rows hashed and written
    /// (``WorkProgress/Phase/encoding``) and the commit itself (``WorkProgress/Phase/finishing``),
    /// on the calling thread.
    @discardableResult
    public func commit(progress: (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> CommitSummary {
        try core.withLock { (core) throws(HashIdxError) in try core.commit(progress: progress) }
    }

    /// How a commit makes changes durable.
    public enum Durability: Sendable, Equatable {
        /// New shards and deletion files, a new generation (``commit(progress:)-31119``).
        case shards
        /// One record appended to the generation's write log and synced: no shard is
        /// written, and the changes stay in memory, searched exactly beside the shards,
        /// until a commit with ``shards`` (or a compaction) writes them all into one
        /// (docs/FORMAT.md §4). Every reader that opens or reopens the index replays the
        /// log; a writer killed at any moment leaves every synced record.
        case log
    }

    /// Commits every pending change with `durability`: ``Durability/shards`` is
    /// ``commit(progress:)-31119``; ``Durability/log`` appends them to the write log and syncs
    /// it (a millisecond or so instead of writing shards), and the generation stays. Changes
    /// committed to the log count in ``bufferedRows`` and ``bufferedDeletes`` until a commit
    /// to shards or a ``flush()``; write them out when those (or ``logBytes``) grow, because
    /// every search scans the buffered rows' codes. A log commit never runs the
    /// ``mergePolicy``. A commit too large
    /// for one log record (64 MiB), or that would take the log past 1 GiB, is written to
    /// shards instead, with everything the log holds.
    @discardableResult
    public func commit(durability: Durability, progress: (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> CommitSummary {
        try core.withLock { (core) throws(HashIdxError) in
            switch durability {
            case .shards: try core.commit(progress: progress)
            case .log: try core.commitToLog()
            }
        }
    }

    /// The index as this writer sees it now (Lucene's near-real-time reader): the committed
    /// generation with every change made through this writer, committed or not, searched
    /// from memory beside the shards. Cheap (it shares everything with the previous
    /// snapshot but the rows added since); the snapshot never changes after.
    public func snapshot() throws(HashIdxError) -> Index {
        try core.withLock { (core) throws(HashIdxError) in try core.snapshot() }
    }

    /// Rewrites the shards that carry deletions, and small shards left by adds, into full
    /// shards of live items in partition order, and commits. With `retrain`, trains a new
    /// model and new partitions on the live items and rewrites every shard (for when the
    /// data has drifted since training; `options` set the training and layout as for a
    /// build). Needs no uncommitted changes (commit or roll back first); changes in the write log are written to a shard first, as a commit of their own. `progress` hears the
    /// rows read back (``WorkProgress/Phase/reading``), training when retraining, the rows
    /// written and the commit, from any thread.
    @discardableResult
    public func compact(retrain: Bool = false, options: BuildOptions = BuildOptions(),
                        progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> CompactionSummary {
        try core.withLock { (core) throws(HashIdxError) in try core.compact(retrain: retrain, options: options, progress: progress) }
    }

    /// Runs now what `policy` runs after a commit — a partition refit when one is due, else
    /// the merges it asks for — and commits it; `nil` when nothing is due. For a writer that
    /// commits with ``mergePolicy`` `nil`, so that a commit's caller does not wait for the
    /// compaction, and merges afterwards (`hashidx serve` acknowledges a group of writes,
    /// then merges on another thread).
    ///
    /// Like ``flush()``, it does not hold the writer while it rewrites shards: other threads
    /// go on adding, deleting and committing to the write log, and the log's changes stay
    /// in the log (carried into the new generation's). Commits to shards and compactions
    /// throw while it runs.
    @discardableResult
    public func merge(policy: MergePolicy = MergePolicy()) throws(HashIdxError) -> CompactionSummary? {
        let start = System.monotonicSeconds()
        let before = core.withLock { $0.base }
        guard let job = try core.withLock({ (core) throws(HashIdxError) in try core.beginBackground(flush: false, policy: policy) }) else {
            return nil
        }
        let next = try runInBackground(job)
        var summary = CompactionSummary(generation: next.generation, rewrittenShards: 0, shards: next.shardCount,
                                        bytesBefore: before.bytesOnDisk, bytesAfter: next.bytesOnDisk,
                                        seconds: System.monotonicSeconds() - start)
        switch job.work {
        case let .merge(shards): summary.rewrittenShards = shards.count
        case let .maintain(maintenance):
            if case .refit = maintenance { summary.rewrittenShards = before.shardCount }
            summary.partitions = (before.partitionCount, next.partitionCount)
        case .writeLog: break
        }
        return summary
    }

    /// Writes the changes committed to the write log into shards — a new generation, which
    /// removes the log — like a ``commit(progress:)-31119`` of them, but without holding the
    /// writer while it hashes rows and writes files: meanwhile other threads go on adding,
    /// deleting, committing to the log and taking ``snapshot()``s, and the records they
    /// append are carried into the new generation's log when it commits (`hashidx serve`
    /// writes its buffer so, beside the group commits). Uncommitted changes stay
    /// uncommitted. `nil` when the log holds nothing. Commits to shards and compactions
    /// throw while it runs; a crash at any moment leaves the old generation with its whole
    /// log, or the new one with the records appended meanwhile.
    @discardableResult
    public func flush() throws(HashIdxError) -> CommitSummary? {
        let start = System.monotonicSeconds()
        guard let job = try core.withLock({ (core) throws(HashIdxError) in try core.beginBackground(flush: true, policy: MergePolicy()) }) else {
            return nil
        }
        let before = job.base.count
        let next = try runInBackground(job)
        return CommitSummary(generation: next.generation, added: max(0, next.count - before), deleted: max(0, before - next.count),
                             count: next.count, seconds: System.monotonicSeconds() - start)
    }

    /// Writes `job`'s files without the lock, then commits them with it.
    private func runInBackground(_ job: BackgroundCommit) throws(HashIdxError) -> Index {
        var written: [String] = []
        do throws(HashIdxError) {
            let (manifest, opened) = try job.write(written: &written)
            return try core.withLock { (core) throws(HashIdxError) in
                try core.finishBackground(job, manifest: manifest, opened: opened, written: &written)
            }
        } catch {
            let leftover = written
            core.withLock { $0.abandonBackground(job, written: leftover) }
            throw error
        }
    }

    /// Fits the partitions again to the items the index holds now, without retraining its
    /// hash function, and commits: lists that grew split in two (a local 2-means on their
    /// rows), lists that shrank merge into their neighbours, boundaries are refined by a few
    /// rounds of k-means on a sample of the live items, and every shard is rewritten so
    /// that each item sits in its nearest partition. `partitions`: how many (default: the
    /// index's count scaled with √(items now ÷ items it was fitted to), so that lists keep
    /// the length the index was built with). The ``mergePolicy`` does this after a commit
    /// once the count is off by ``MergePolicy/partitionDrift``. Costs about a compaction
    /// of every shard; readers keep their snapshots; a crash leaves the previous generation.
    /// Changes in the write log are written to a shard first (a commit of their own).
    /// Throws when there are uncommitted changes or the index has no partitions.
    /// One bounded step of online partition maintenance, and its commit; `nil` when no list
    /// is due. The lists over twice the mean list (for the partition count the live items
    /// ask for: the index's, scaled with √(items now ÷ items it was fitted to)) split in two
    /// by a local 2-means on their rows, longest first; each second half takes the place of
    /// a list under half the mean (its items join their nearest remaining lists) or, while
    /// the items ask for more lists, a new one. The items of those lists and of each split
    /// list's 4 nearest lists go to their nearest partition again, and only those that
    /// change lists are rewritten: deleted where they were, added as a new shard. A step
    /// reads at most `maxRows` items (at least one split's), however large the index, so
    /// its cost is bounded; what is left is the next step's. The ``mergePolicy`` runs steps
    /// after commits while lists grow or crowd (``MergePolicy/rebalanceRows``). Readers keep
    /// their snapshots; a crash leaves the previous generation. Needs string ids (items
    /// that move get new row numbers) and no uncommitted changes; changes in the write log
    /// are written to a shard first.
    @discardableResult
    public func rebalancePartitions(maxRows: Int = MergePolicy.defaultRebalanceRows,
                                    progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> CompactionSummary? {
        try core.withLock { (core) throws(HashIdxError) in
            try core.rebalancePartitions(maxRows: maxRows, partitionDrift: core.mergePolicy?.partitionDrift ?? MergePolicy().partitionDrift,
                                         progress: progress)
        }
    }

    @discardableResult
    public func maintainPartitions(partitions: Int? = nil,
                                   progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> CompactionSummary {
        try core.withLock { (core) throws(HashIdxError) in try core.maintainPartitions(partitions: partitions, progress: progress) }
    }
}
