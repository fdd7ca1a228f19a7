/// Changes a built index in place: adds, deletes, upserts and compaction, each visible only
/// once committed, all at once.
///
/// One writer per index at a time, across processes: opening takes the directory's `LOCK`
/// (a second writer, or a build, gets an error naming the holder) and removes what an
/// interrupted writer left behind. Changes collect in memory; ``commit()`` writes them as a
/// new generation (Lucene's segments and live-docs, LevelDB's MANIFEST + CURRENT):
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
/// Ids: in an index built with ids, every added item needs a new id (``upsert(_:ids:attributes:)``
/// replaces an existing one); in an index whose ids are row numbers, added items get the
/// next row numbers, and the first ``compact(retrain:options:)`` that drops deleted rows turns the
/// ids into strings (each item keeps its number as its id).
///
/// A writer is used from one thread at a time (it is not `Sendable`); readers on any number
/// of threads and processes are unaffected by it.
///
/// ```swift
/// let writer = try IndexWriter(path: "catalog.hidx")
/// try writer.upsert(InMemoryVectors(rows: newEmbeddings), ids: skus)
/// try writer.delete(ids: ["sku-17"])
/// try writer.commit()
/// writer.close()
/// ```
public final class IndexWriter {
    /// The index directory.
    public let path: String
    private let directory: IndexDirectory
    private var lock: Int32?
    /// The generation changes apply to (the newest committed one).
    private var base: Index
    /// Threads for hashing added rows (all cores when `nil`).
    public var threads: Int?
    /// When a commit also compacts (`nil`: never; call ``compact(retrain:options:)``).
    public var mergePolicy: MergePolicy? = MergePolicy()

    /// When ``commit()`` goes on to compact, in the spirit of Lucene's merge policy: a shard
    /// is rewritten once enough of it is deleted (a query still scans deleted rows), and
    /// the small shards adds leave (under half the shard size and under a quarter of the
    /// largest shard) are merged once there are many of like size (a query visits every
    /// shard's probed partitions): shards fall in size classes (rows in powers of
    /// `smallShards + 1`), and a class with more than `smallShards` shards is merged into one
    /// of the next class, so that a stream of small commits rewrites each row about
    /// log(rows) times. The compaction is a second commit, right after the first.
    /// Indexes whose ids are row numbers are never compacted automatically (it would turn
    /// their ids into strings).
    public struct MergePolicy: Sendable, Equatable {
        /// A shard is rewritten once at least this fraction of its rows is deleted.
        public var deletedFraction: Double
        /// Shards below half the shard size are merged once there are more than this many.
        public var smallShards: Int

        /// The default: a third deleted, more than 4 small shards. (Each shard costs a query
        /// its own pass over the probed partitions: on GloVe-50 churn, QPS fell from about
        /// 3,400 to 1,900 with 10 small shards beside the big one.)
        public init(deletedFraction: Double = 1.0 / 3, smallShards: Int = 4) {
            self.deletedFraction = deletedFraction
            self.smallShards = smallShards
        }
    }

    // Uncommitted changes.
    private var added: [Float] = []
    private var addedIDs: [String] = []
    /// Attributes of the pending added items, one row each.
    private var addedAttributes = AttributeTable()
    /// Pending added item of each id (string-id indexes).
    private var addedIndex: [IDKey: Int] = [:]
    /// Pending added items removed again before the commit (deleted or replaced).
    private var addedRemoved = Set<Int>()
    /// Positions to delete, per shard index of `base`.
    private var deletions: [Int: Set<Int>] = [:]
    /// In-memory id look-up of each shard file (shards never change), built on first use.
    private var idLookups: [String: ShardIDLookup] = [:]

    /// Opens `path` (an index built by ``IndexBuilder``) for writing, hashing added rows on
    /// `threads` threads (all cores when `nil`). `holder` names this writer in the lock file,
    /// so that another writer's error says who holds the index.
    ///
    /// - Throws: ``HashIdxError/io(path:reason:)`` when another writer holds the lock, and
    ///   the errors of ``Index/init(path:)``.
    public init(path: String, threads: Int? = nil, holder: String = "an IndexWriter") throws(HashIdxError) {
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

    deinit { close() }

    /// Releases the lock; uncommitted changes are dropped. The writer cannot be used after.
    public func close() {
        if let lock { directory.unlock(lock) }
        lock = nil
    }

    /// Items in the index after a commit of the pending changes.
    public var count: Int {
        base.count - deletions.values.reduce(0) { $0 + $1.count } + addedIDs.count - addedRemoved.count
    }

    /// Whether there are uncommitted changes.
    public var hasChanges: Bool { !deletions.isEmpty || addedIDs.count > addedRemoved.count }

    /// The generation the writer's changes apply to.
    public var generation: UInt64 { base.generation }

    // MARK: Changes

    /// Adds every row of `vectors` as a new item. `ids`: one new id per row in an index built
    /// with ids; `nil` in an index whose ids are row numbers (the items get the next ones).
    ///
    /// - Throws: ``HashIdxError/duplicateID(path:id:firstLine:secondLine:)`` when an id is
    ///   already an item's (use ``upsert(_:ids:attributes:)``) or repeats in `ids`; the errors of a bad
    ///   vector (wrong dimension, NaN, zeros) before anything is added.
    ///
    /// `attributes`: one row per added item (``AttributeTable``), checked against the types
    /// the index's attributes have (an integer may go into a float attribute, a float never
    /// into an integer one); keys the index does not have yet become new attributes.
    public func add(_ vectors: any VectorSource, ids: [String]? = nil, attributes: AttributeTable? = nil) throws(HashIdxError) {
        try add(vectors, ids: ids, attributes: attributes, replacing: false)
    }

    /// Adds every row of `vectors` under `ids`, replacing the item that has an id already
    /// (in the same commit: readers see the old item or the new one, never both or neither).
    /// Needs an index built with ids.
    /// The new item's attributes replace the old item's (an attribute the new one lacks is
    /// null, as after a delete and an add).
    public func upsert(_ vectors: any VectorSource, ids: [String], attributes: AttributeTable? = nil) throws(HashIdxError) {
        try add(vectors, ids: ids, attributes: attributes, replacing: true)
    }

    /// Deletes the items with `ids` (pending ones included). Returns the ids no item had;
    /// unless `ignoringMissing`, any such id is an error and nothing is deleted.
    @discardableResult
    public func delete(ids: [String], ignoringMissing: Bool = false) throws(HashIdxError) -> [String] {
        try checkOpen()
        var found: [LiveItem] = []
        var missing: [String] = []
        for id in ids {
            let item = try liveItem(id)
            if item.isEmpty { missing.append(id) }
            found.append(item)
        }
        if !missing.isEmpty && !ignoringMissing {
            throw .unknownID(missing.count == 1 ? missing[0] : "\(missing[0]) and \(missing.count - 1) more ids")
        }
        remove(found)
        return missing
    }

    /// Where the live item with an id is: a pending added row, a committed row, or both
    /// (an upserted id before its commit: only the pending row is live, and the committed
    /// one is already marked).
    private struct LiveItem {
        var pending: Int?
        var committed: (shard: Int, position: Int)?
        var isEmpty: Bool { pending == nil && committed == nil }
    }

    /// The live item with `id`, counting the pending changes.
    private func liveItem(_ id: String) throws(HashIdxError) -> LiveItem {
        LiveItem(pending: addedIndex[IDKey(id)].flatMap { addedRemoved.contains($0) ? nil : $0 }, committed: try committedItem(id))
    }

    /// Marks `items` deleted in the pending changes.
    private func remove(_ items: [LiveItem]) {
        for item in items {
            if let pending = item.pending { addedRemoved.insert(pending) }
            if let c = item.committed { deletions[c.shard, default: []].insert(c.position) }
        }
    }

    /// Drops every uncommitted change.
    public func rollback() {
        added = []; addedIDs = []; addedIndex = [:]; addedRemoved = []; deletions = [:]; addedAttributes = AttributeTable()
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
            return deletions[index]?.contains(position) == true ? nil : (index, position)
        }
        // Newest shard first: an upserted id's live row is in the newest shard that has it.
        var cursor = BlockCursor()
        for index in shards.indices.reversed() {
            let shard = shards[index]
            let name = base.manifest.shards[index].fileName
            if idLookups[name] == nil { idLookups[name] = try ShardIDLookup(shard) }
            guard let position = try idLookups[name]!.position(of: id, in: shard, cursor: &cursor),
                  !shard.isDeleted(position: position) else { continue }
            return deletions[index]?.contains(position) == true ? nil : (index, position)
        }
        return nil
    }

    private func add(_ vectors: any VectorSource, ids: [String]?, attributes: AttributeTable?, replacing: Bool) throws(HashIdxError) {
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
        let schema = base.attributeSchema.merging(addedAttributes.schema) { a, b in a == .float || b == .float ? .float : a }
        try table.check(against: schema, source: "attributes")
        let combined = try addedAttributes.conformed(to: schema).appending(table.conformed(to: schema), source: "attributes")
        var rows = [Float](repeating: 0, count: n * d)
        try rows.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
            for i in 0..<n {
                let row = UnsafeMutableBufferPointer(rebasing: b[(i * d)..<((i + 1) * d)])
                vectors.copyRow(i, into: row)
                var unit = Array(row)
                try unit.withUnsafeMutableBufferPointer { (u) throws(HashIdxError) in _ = try Vectors.normalize(u, source: vectors.name, row: i) }
            }
        }
        var replaced: [LiveItem] = []
        for id in ids ?? [] {
            let item = try liveItem(id)
            if !replacing && !item.isEmpty {
                throw .duplicateID(path: "ids", id: id, firstLine: 0, secondLine: 0)
            }
            replaced.append(item)
        }
        remove(replaced)
        addedAttributes = combined
        let first = addedIDs.count
        added.append(contentsOf: rows)
        for i in 0..<n {
            let id = ids?[i] ?? String(base.rowCount + first + i)
            addedIndex[IDKey(id)] = first + i
            addedIDs.append(id)
        }
    }

    private func checkOpen() throws(HashIdxError) {
        guard lock != nil else { throw .invalidArgument(name: "writer", reason: "was closed; open a new IndexWriter") }
    }

    // MARK: Commit

    /// What a commit did.
    public struct CommitSummary: Sendable, Equatable {
        /// The generation committed (the previous one when there was nothing to commit).
        public var generation: UInt64
        /// Items added by the commit (an upsert counts here and in ``deleted``).
        public var added: Int
        /// Items deleted by the commit.
        public var deleted: Int
        /// Items in the index after it.
        public var count: Int
        /// Seconds the commit took (with the merge, if any).
        public var seconds: Double
        /// The compaction the ``mergePolicy`` ran after the commit, if any.
        public var merged: CompactionSummary?

        /// A summary with these values (for callers that add up several commits).
        public init(generation: UInt64, added: Int, deleted: Int, count: Int, seconds: Double, merged: CompactionSummary? = nil) {
            self.generation = generation
            self.added = added
            self.deleted = deleted
            self.count = count
            self.seconds = seconds
            self.merged = merged
        }
    }

    /// Makes every pending change visible at once, durably (data files, manifest, `CURRENT`
    /// and the directory synced before it returns). Nothing to commit: returns at once.
    /// Then, when the ``mergePolicy`` says so, compacts (a second generation; an error there
    /// is thrown, but the commit stands).
    @discardableResult
    public func commit() throws(HashIdxError) -> CommitSummary {
        try checkOpen()
        let start = System.monotonicSeconds()
        guard hasChanges else {
            return CommitSummary(generation: base.generation, added: 0, deleted: 0, count: base.count, seconds: 0)
        }
        let generation = try directory.nextGeneration()
        var written: [String] = []
        do throws(HashIdxError) {
            var manifest = base.manifest
            manifest.formatVersion = Format.version
            var pendingDeletions = deletions
            // Added items: new shards at the end of the rows. In an index with row-number ids
            // every pending row is written, so that the numbers given out stay; the ones
            // deleted again before the commit are marked deleted in the new shard.
            let keep = base.hasStringIDs ? addedIDs.indices.filter { !addedRemoved.contains($0) } : Array(addedIDs.indices)
            if !keep.isEmpty {
                let d = base.dimension
                var values = [Float]()
                values.reserveCapacity(keep.count * d)
                for i in keep { values.append(contentsOf: added[(i * d)..<((i + 1) * d)]) }
                let source = try InMemoryVectors(values: values, dimension: d, name: "added rows")
                let ids = base.hasStringIDs ? keep.map { addedIDs[$0] } : nil
                let firstNew = manifest.shards.count
                var records = try writeShards(source, ids: ids, attributes: addedAttributes.gathering(keep),
                                              manifest: manifest, generation: generation,
                                              firstShardNumber: 0, written: &written)
                for i in records.indices { records[i].addedRows = records[i].rows; records[i].addedFit = records[i].fit }
                manifest.shards += records
                manifest.rows += UInt64(keep.count)
                if !base.hasStringIDs && !addedRemoved.isEmpty {
                    for index in firstNew..<manifest.shards.count {
                        let record = manifest.shards[index]
                        let shard = try Shard(path: directory.file(record.fileName), record: record, manifest: manifest)
                        let first = Int(record.firstRow) - base.rowCount
                        for i in addedRemoved where i >= first && i < first + shard.rows {
                            pendingDeletions[index, default: []].insert(shard.position(ofRow: i - first))
                        }
                    }
                }
            }
            // Deletion files: the shard's earlier bits and the new ones.
            var deletedNow = 0
            var fileNumber = 0
            for (index, positions) in pendingDeletions.sorted(by: { $0.key < $1.key }) {
                var bits = index < base.shards.count ? base.shards[index].deletions ?? Deletions(rows: base.shards[index].rows)
                                                      : Deletions(rows: Int(manifest.shards[index].rows))
                for p in positions where bits.insert(p) { deletedNow += 1 }
                let name = Format.deletionsName(generation, fileNumber)
                fileNumber += 1
                written.append(name)
                let file = try OutputFile(creating: directory.file(name))
                try file.write(bits.encoded(shardHeaderCRC: manifest.shards[index].headerCRC), at: 0)
                try file.syncAndClose()
                manifest.shards[index].deletionsFile = name
                manifest.shards[index].deleted = UInt64(bits.count)
            }
            if !base.hasStringIDs { deletedNow -= addedRemoved.count }   // never visible
            manifest = Self.droppingEmptyShards(manifest)
            try commit(manifest, generation: generation, written: &written)
            var summary = CommitSummary(generation: generation, added: addedIDs.count - addedRemoved.count, deleted: deletedNow,
                                        count: base.count, seconds: 0)
            rollback()
            if let policy = mergePolicy, base.hasStringIDs {
                let merge = try compact(retrain: false, options: BuildOptions(), policy: policy)
                if merge.rewrittenShards > 0 { summary.merged = merge }
            }
            summary.seconds = System.monotonicSeconds() - start
            return summary
        } catch {
            directory.remove(written)
            throw error
        }
    }

    /// Writes `source` (with `ids`, or row-number ids) as new shards of `generation`, hashed
    /// with the manifest's model and assigned to its partitions, placed after its last row.
    private func writeShards(_ source: any VectorSource, ids: [String]?, attributes: AttributeTable,
                             manifest: Manifest, generation: UInt64,
                             firstShardNumber: Int, shardRows: Int = BuildOptions.defaultShardSize,
                             written: inout [String]) throws(HashIdxError) -> [ShardRecord] {
        let assigned = try manifest.centroids.map { (c) throws(HashIdxError) in try Partitioning.assignScoring(source, to: c) }
        let partitions = assigned?.partitions
        let builder = ShardBuilder(encoder: RowEncoder(model: manifest.model, threads: threads ?? System.processorCount),
                                   rowsPerBlock: manifest.rowsPerBlock, vectorType: manifest.vectorType,
                                   vectorCodec: .auto, idCodec: .auto)
        var records: [ShardRecord] = []
        var lo = 0
        var firstRow = Int(manifest.rows)
        while lo < source.count {
            let hi = min(source.count, lo + shardRows)
            let name = Format.shardName(generation, firstShardNumber + records.count)
            written.append(name)
            records.append(try builder.build(source: source, rows: lo..<hi, ids: ids.map { $0[lo..<hi] },
                                             attributes: attributes.gathering(lo..<hi), partitions: partitions.map { $0[lo..<hi] },
                                             partitionCount: manifest.centroids?.count ?? 0,
                                             path: directory.file(name), fileName: name, firstRow: firstRow) { _ in })
            if let scores = assigned?.scores { records[records.count - 1].fit = Partitioning.fit(scores[lo..<hi]) }
            firstRow += hi - lo
            lo = hi
        }
        return records
    }

    /// In an index with string ids, shards whose every row is deleted leave the manifest and
    /// the rows after them move up (row numbers are the generation's; ids stay).
    static func droppingEmptyShards(_ manifest: Manifest) -> Manifest {
        guard manifest.hasStringIDs else { return manifest }
        var m = manifest
        m.shards = manifest.shards.filter { $0.deleted < $0.rows }
        var next: UInt64 = 0
        for i in m.shards.indices {
            m.shards[i].firstRow = next
            next += m.shards[i].rows
        }
        m.rows = next
        return m
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

    /// Rewrites the shards that carry deletions, and small shards left by adds, into full
    /// shards of live items in partition order, and commits. With `retrain`, trains a new
    /// model and new partitions on the live items and rewrites every shard (for when the
    /// data has drifted since training; `options` set the training and layout as for a
    /// build). Needs no pending changes (commit or roll back first).
    @discardableResult
    public func compact(retrain: Bool = false, options: BuildOptions = BuildOptions()) throws(HashIdxError) -> CompactionSummary {
        try compact(retrain: retrain, options: options, policy: nil)
    }

    /// ``compact(retrain:options:)``, rewriting what `policy` picks (`nil`: every shard with
    /// deletions, and the small shards when there are two or more).
    private func compact(retrain: Bool, options: BuildOptions, policy: MergePolicy?) throws(HashIdxError) -> CompactionSummary {
        try checkOpen()
        guard !hasChanges else {
            throw .invalidArgument(name: "compact", reason: "the writer has uncommitted changes; commit or roll them back first")
        }
        try options.validate()
        let start = System.monotonicSeconds()
        let before = base.bytesOnDisk
        let manifest = base.manifest
        // Which shards to rewrite.
        let converting = !manifest.hasStringIDs && manifest.shards.contains { $0.deleted > 0 }
        // Small shards (below half the shard size) are merged when there are two or more.
        let small = manifest.shards.indices.filter { Int(manifest.shards[$0].rows) < options.shardSize / 2 }
        let rewrite: [Int]
        let worthIt: Bool
        if let policy {
            // Small, for the policy: under a quarter of the largest shard too, so that merges
            // stay among shards of like size (the merged shard grows into the next tier
            // instead of rewriting the big shards on every commit).
            let largest = manifest.shards.map(\.rows).max() ?? 0
            // Then by size class (rows in powers of smallShards + 1, as Lucene's tiered merge
            // policy): a class is merged once it holds more than `smallShards` shards, so a
            // row is rewritten about log(rows) times, not on every merge of a growing shard.
            let classBase = max(2, policy.smallShards + 1)
            func sizeClass(_ rows: Int) -> Int {
                var c = 0, r = rows
                while r >= classBase { r /= classBase; c += 1 }
                return c
            }
            let byClass = Dictionary(grouping: small.filter { manifest.shards[$0].rows * 4 < largest }) {
                sizeClass(Int(manifest.shards[$0].rows))
            }
            let tier = Set(byClass.values.filter { $0.count > policy.smallShards }.joined())
            let merging = !tier.isEmpty
            rewrite = manifest.shards.indices.filter {
                let s = manifest.shards[$0]
                return Double(s.deleted) >= policy.deletedFraction * Double(s.rows) || (merging && tier.contains($0))
            }
            worthIt = !rewrite.isEmpty
        } else {
            if retrain || !manifest.hasStringIDs {
                // Row-number ids: rows keep their numbers only if every shard is rewritten in order.
                rewrite = Array(manifest.shards.indices)
            } else {
                rewrite = manifest.shards.indices.filter { manifest.shards[$0].deleted > 0 || (small.count > 1 && small.contains($0)) }
            }
            worthIt = retrain || rewrite.contains { manifest.shards[$0].deleted > 0 } || small.count > 1
        }
        guard worthIt, !manifest.shards.isEmpty else {
            return CompactionSummary(generation: base.generation, rewrittenShards: 0, shards: base.shardCount,
                                     bytesBefore: before, bytesAfter: before, seconds: System.monotonicSeconds() - start)
        }
        let generation = try directory.nextGeneration()
        var written: [String] = []
        do throws(HashIdxError) {
            let stringIDs = manifest.hasStringIDs || converting
            var next: Manifest
            if retrain {
                guard manifest.model.scheme != .supervised, options.training.supervision == nil else {
                    throw .invalidArgument(name: "retrain", reason: "the hash function was trained from labels or pairs, which the index does not keep, and retraining would drop them; rebuild with `hashidx build --labels/--pairs`, or compact without retraining")
                }
                let (source, ids, attributes) = try liveItems(of: rewrite, stringIDs: stringIDs)
                guard source.count > 0 else {
                    throw .invalidArgument(name: "retrain", reason: "the index holds no items to train on")
                }
                next = try IndexBuilder.writeGeneration(source: source, ids: ids, attributes: attributes,
                                                        directory: directory, generation: generation,
                                                        options: options, written: &written, progress: { _ in })
            } else {
                next = manifest
                next.formatVersion = Format.version
                next.hasStringIDs = stringIDs
                let rewriting = Set(rewrite)
                next.shards = manifest.shards.indices.filter { !rewriting.contains($0) }.map { manifest.shards[$0] }
                var rowsSoFar: UInt64 = 0
                for i in next.shards.indices { next.shards[i].firstRow = rowsSoFar; rowsSoFar += next.shards[i].rows }
                next.rows = rowsSoFar
                // Live rows of the rewritten shards, a shard's worth at a time.
                var shardNumber = 0
                var pending: [Int] = []
                var pendingRows = 0
                func flush() throws(HashIdxError) {
                    guard pendingRows > 0 else { return }
                    let (source, ids, attributes) = try liveItems(of: pending, stringIDs: stringIDs)
                    var records = try writeShards(source, ids: ids, attributes: attributes, manifest: next, generation: generation,
                                                  firstShardNumber: shardNumber, shardRows: options.shardSize, written: &written)
                    // Rows added since training: the inputs' counts, scaled by the rows kept.
                    var added = 0.0, addedFit = 0.0
                    for i in pending {
                        let s = manifest.shards[i]
                        let kept = Double(s.addedRows) * Double(s.rows - s.deleted) / Double(s.rows)
                        added += kept
                        addedFit += kept * Double(s.addedFit)
                    }
                    for i in records.indices where source.count > 0 {
                        records[i].addedRows = min(records[i].rows, UInt64((added * Double(records[i].rows) / Double(source.count)).rounded()))
                        records[i].addedFit = added > 0 ? Float(addedFit / added) : 0
                    }
                    shardNumber += records.count
                    next.shards += records
                    next.rows += UInt64(source.count)
                    pending = []; pendingRows = 0
                }
                for i in rewrite {
                    let live = Int(manifest.shards[i].rows - manifest.shards[i].deleted)
                    if pendingRows + live > options.shardSize { try flush() }
                    pending.append(i)
                    pendingRows += live
                }
                try flush()
            }
            try commit(next, generation: generation, written: &written)
            return CompactionSummary(generation: generation, rewrittenShards: rewrite.count, shards: base.shardCount,
                                     bytesBefore: before, bytesAfter: base.bytesOnDisk,
                                     seconds: System.monotonicSeconds() - start)
        } catch {
            directory.remove(written)
            throw error
        }
    }

    /// What a compaction did.
    public struct CompactionSummary: Sendable, Equatable {
        /// The generation committed (the previous one when there was nothing to do).
        public var generation: UInt64
        /// Shards rewritten (0: nothing was worth rewriting).
        public var rewrittenShards: Int
        /// Shards after it.
        public var shards: Int
        /// Bytes of the index's files before.
        public var bytesBefore: Int
        /// Bytes of the index's files after.
        public var bytesAfter: Int
        /// Seconds it took.
        public var seconds: Double
    }

    /// The live items of the shards `indices` of the base, in row order: their stored vectors
    /// at their original lengths, their ids (`nil` when not `stringIDs`) and their attributes.
    private func liveItems(of indices: [Int], stringIDs: Bool) throws(HashIdxError) -> (InMemoryVectors, [String]?, AttributeTable) {
        let d = base.dimension
        var values: [Float] = []
        var ids: [String] = []
        var attributes = AttributeTable()
        let schema = base.attributeSchema
        var cursor = BlockCursor()
        for i in indices {
            let shard = base.shards[i]
            values.reserveCapacity(values.count + shard.liveRows * d)
            for local in 0..<shard.rows {
                let position = shard.position(ofRow: local)
                guard !shard.isDeleted(position: position) else { continue }
                let norm = shard.norm(at: position)
                values.append(contentsOf: try shard.unitVector(at: position).map { $0 * norm })
                try attributes.append(shard.attributes.attributes(at: position), line: attributes.count + 1, source: shard.path)
                if stringIDs {
                    ids.append(base.hasStringIDs ? try shard.id(at: position, cursor: &cursor) : String(shard.firstRow + local))
                }
            }
        }
        return (try InMemoryVectors(values: values, dimension: d, name: "live rows"), stringIDs ? ids : nil,
                attributes.conformed(to: schema))
    }
}

extension Index {
    /// The names of the files of this generation: `CURRENT`'s manifest, shards, deletion files.
    var liveFiles: Set<String> { manifest.fileNames.union([Format.manifestName(generation)]) }
}
