/// The writer's side of the write log (docs/FORMAT.md §4): replaying it on open, committing
/// to it, and the near-real-time snapshot of the changes it holds.
extension IndexWriterCore {
    /// Opens the base generation's log, if any: replays its whole records into the ledger
    /// and cuts off a record left half-written by a writer that died appending it.
    func openLog() throws(HashIdxError) {
        let length = try replayLog()
        if length > 0 {
            log = try WriteLogFile(path: directory.file(Format.logName(base.generation)), length: length,
                                   header: WriteLog.header(dimension: base.dimension, generation: base.generation), directory: path)
        }
        committedCount = ledger.count
    }

    /// Replays the base's log into the ledger; returns the length of its whole records (0:
    /// no log, or not even a whole header).
    @discardableResult
    func replayLog() throws(HashIdxError) -> Int {
        let file = directory.file(Format.logName(base.generation))
        guard let size = FileSystem.size(file), size > 0 else { return 0 }
        let mapped: MappedFile
        do { mapped = try MappedFile(path: file) } catch {
            throw .corruptIndex(path: file, reason: "write log is unreadable: \(error)")
        }
        let (records, length) = try WriteLog.read(mapped.bytes, dimension: base.dimension, generation: base.generation, path: file)
        try ledger.replay(records, path: file)
        return length
    }

    /// Commits the changes since the last commit to the write log: one record, appended and
    /// synced; no shard is written. Too large a record (``WriteLog/maximumRecordBytes``), or
    /// one that would take the log past half of what a reader accepts, is committed to
    /// shards instead (with everything the log holds).
    func commitToLog() throws(HashIdxError) -> IndexWriter.CommitSummary {
        try checkOpen()
        let start = System.monotonicSeconds()
        guard !unlogged.isEmpty else {
            return IndexWriter.CommitSummary(generation: base.generation, added: 0, deleted: 0, count: committedCount, seconds: 0)
        }
        let record = WriteLog.record(unlogged, dimension: base.dimension)
        if record.count > WriteLog.maximumRecordBytes || logBytes + record.count > WriteLog.maximumBytes / 2 {
            return try commit(progress: { _ in })
        }
        if log == nil {
            log = try WriteLogFile(path: directory.file(Format.logName(base.generation)), length: 0,
                                   header: WriteLog.header(dimension: base.dimension, generation: base.generation), directory: path)
        }
        try log!.append(record)
        let added = unlogged.reduce(0) { sum, change in
            if case let .add(rows, _, _, _) = change { return sum + rows.count / base.dimension }
            return sum
        }
        let net = ledger.count - committedCount
        unlogged = []
        committedCount = ledger.count
        return IndexWriter.CommitSummary(generation: base.generation, added: added, deleted: added - net,
                                         count: committedCount, seconds: System.monotonicSeconds() - start)
    }

    /// The index as it is with every change of this writer, committed or not: the base
    /// generation and a buffer of the changes, searched from memory.
    func snapshot() throws(HashIdxError) -> Index {
        if pending.isEmpty && pending.addedCount == 0 { return base }
        let buffer = try WriteBuffer(base: base, pending: pending, extending: lastSnapshot?.buffer)
        let next = Index(overlaying: base, buffer: buffer, logBytes: unlogged.isEmpty ? logBytes : -1)
        lastSnapshot = next
        return next
    }
}
