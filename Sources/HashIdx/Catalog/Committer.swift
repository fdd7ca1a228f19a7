/// Writes a writer's changes as the files of a new generation: added rows as new shards,
/// deleted rows as new deletion files; the manifest that names them is committed by the
/// caller (``IndexDirectory/commit(_:generation:written:)``). Every file written is added
/// to `written` before it is created, so that a failure removes exactly what was written.
struct Committer {
    /// The index directory.
    let directory: IndexDirectory
    /// Threads for hashing rows (all cores when `nil`).
    let threads: Int?

    /// Writes `changes` on top of `base` for `generation`: the manifest to commit, the
    /// committed items deleted by it, and the live items it added.
    func write(_ changes: PendingChanges, base: Index, generation: UInt64, written: inout [String],
               progress: (WorkProgress) -> Void) throws(HashIdxError) -> (manifest: Manifest, added: Int, deleted: Int) {
        var manifest = base.manifest
        manifest.formatVersion = Format.version
        var pendingDeletions = changes.deletions
        // Added items: new shards at the end of the rows. In an index with row-number ids
        // every pending row is written, so that the numbers given out stay; the ones deleted
        // again before the commit are marked deleted in the new shard.
        let keep = changes.rowsToWrite(keepingRemoved: !base.hasStringIDs)
        if !keep.isEmpty {
            let source = try InMemoryVectors(values: changes.values(of: keep, dimension: base.dimension),
                                             dimension: base.dimension, name: "added rows")
            let ids = base.hasStringIDs ? keep.map { changes.addedIDs[$0] } : nil
            let firstNew = manifest.shards.count
            var uncounted: [Int] = []
            var records = try writeShards(source, ids: ids, attributes: changes.addedAttributes.gathering(keep),
                                          manifest: manifest, generation: generation,
                                          firstShardNumber: 0, written: &written, countingLists: &uncounted) { done in
                progress(WorkProgress(phase: .encoding, done: done, total: keep.count))
            }
            for i in records.indices { records[i].addedRows = records[i].rows; records[i].addedFit = records[i].fit }
            manifest.shards += records
            manifest.rows += UInt64(keep.count)
            if !base.hasStringIDs && !changes.addedRemoved.isEmpty {
                for index in firstNew..<manifest.shards.count {
                    let record = manifest.shards[index]
                    let shard = try Shard(path: directory.file(record.fileName), record: record, manifest: manifest)
                    let first = Int(record.firstRow) - base.rowCount
                    for i in changes.addedRemoved where i >= first && i < first + shard.rows {
                        pendingDeletions[index, default: []].insert(shard.position(ofRow: i - first))
                    }
                }
            }
        }
        var deleted = try writeDeletions(pendingDeletions, base: base, manifest: &manifest,
                                         generation: generation, written: &written)
        if !base.hasStringIDs { deleted -= changes.addedRemoved.count }   // never visible
        return (Self.droppingEmptyShards(manifest), changes.liveAddedCount, deleted)
    }

    /// Writes a deletion file for every shard in `deletions` (its earlier bits and the new
    /// positions) and names it in `manifest`. Returns the rows newly deleted.
    func writeDeletions(_ deletions: [Int: Set<Int>], base: Index, manifest: inout Manifest,
                                generation: UInt64, written: inout [String]) throws(HashIdxError) -> Int {
        var deletedNow = 0
        var fileNumber = 0
        for (index, positions) in deletions.sorted(by: { $0.key < $1.key }) {
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
        return deletedNow
    }

    /// Writes `source` (with `ids`, or row-number ids) as new shards of `generation`, hashed
    /// with the manifest's model and assigned to its partitions, placed after its last row.
    /// Adds to `lists`, when it holds one count per partition, the rows written into each
    /// (empty: not counted). `progress` hears the rows written so far.
    func writeShards(_ source: any VectorSource, ids: [String]?, attributes: AttributeTable,
                     manifest: Manifest, generation: UInt64,
                     firstShardNumber: Int, shardRows: Int = BuildOptions.defaultShardSize,
                     written: inout [String], countingLists lists: inout [Int],
                     progress: (Int) -> Void = { _ in }) throws(HashIdxError) -> [ShardRecord] {
        let assigned = try manifest.centroids.map { (c) throws(HashIdxError) in try Partitioning.assignScoring(source, to: c) }
        let partitions = assigned?.partitions
        if let partitions, lists.count == manifest.centroids?.count {
            for p in partitions { lists[p] += 1 }
        }
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
            let done = lo
            records.append(try builder.build(source: source, rows: lo..<hi, ids: ids.map { $0[lo..<hi] },
                                             attributes: attributes.gathering(lo..<hi), partitions: partitions.map { $0[lo..<hi] },
                                             partitionCount: manifest.centroids?.count ?? 0,
                                             path: directory.file(name), fileName: name, firstRow: firstRow) { progress(done + $0) })
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
}
