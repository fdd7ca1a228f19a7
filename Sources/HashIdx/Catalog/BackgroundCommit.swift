/// A generation written outside the writer's lock (``IndexWriter/flush()``,
/// ``IndexWriter/merge(policy:)``): while it writes its files, the writer goes on taking
/// changes and committing them to the write log; its commit then carries the log records
/// appended meanwhile into the new generation's log (docs/FORMAT.md §4).
///
/// Three steps: ``IndexWriterCore/beginBackground(_:)`` (under the lock) picks the base, the
/// generation and how much of the base's log the new generation takes in; ``write(written:)``
/// (without the lock) writes the shards and deletion files and returns the manifest;
/// ``IndexWriterCore/finishBackground(_:manifest:opened:written:)`` (under the lock) commits it.
struct BackgroundCommit: @unchecked Sendable {
    /// What the new generation is.
    enum Work: Equatable {
        /// The changes of the base's log, up to ``logPrefix``, written to shards.
        case writeLog
        /// These shards of the base rewritten (the merge policy's merges).
        case merge([Int])
        /// Partition maintenance: a bounded rebalancing step, or every shard rewritten into
        /// partitions fitted again to the live rows.
        case maintain(PartitionMaintainer.Work)
    }

    let work: Work
    /// The generation the work starts from (opened without its log).
    let base: Index
    /// The generation written.
    let generation: UInt64
    /// Bytes of the base's log the new generation takes in (its header and whole records);
    /// the records after them are carried into the new generation's log. 0: none (a merge
    /// carries the whole log).
    let logPrefix: Int
    /// The writer's id look-ups of the base's shards (to replay the log with).
    let idLookups: [String: ShardIDLookup]
    let directory: IndexDirectory
    let threads: Int?

    /// Writes the new generation's files (each added to `written` before it is created) and
    /// returns its manifest, and the generation opened on it (``Index/uncommitted(_:generation:path:reusing:)``):
    /// mapping its shards and copying its partition arena take a while on a busy machine,
    /// and done here they do not hold the writer's lock (`hashidx serve`'s flusher thread is
    /// niced: under a full search load an arena copied under the lock stalled group commits,
    /// write p99 70–81 ms → 118–257 ms on GloVe-50).
    func write(written: inout [String]) throws(HashIdxError) -> (manifest: Manifest, opened: Index) {
        let manifest = try writeFiles(written: &written)
        return (manifest, try Index.uncommitted(manifest, generation: generation, path: directory.path, reusing: base))
    }

    /// The new generation's files, and its manifest.
    private func writeFiles(written: inout [String]) throws(HashIdxError) -> Manifest {
        let committer = Committer(directory: directory, threads: threads)
        switch work {
        case .writeLog:
            let path = directory.file(Format.logName(base.generation))
            let file: MappedFile
            do { file = try MappedFile(path: path) } catch {
                throw .corruptIndex(path: path, reason: "write log is unreadable: \(error)")
            }
            let prefix = UnsafeRawBufferPointer(rebasing: file.bytes[0..<min(logPrefix, file.bytes.count)])
            let (records, _) = try WriteLog.read(prefix, dimension: base.dimension, generation: base.generation, path: path)
            var ledger = ChangeLedger(base: base, idLookups: idLookups)
            try ledger.replay(records, path: path)
            return try committer.write(ledger.pending, base: base, generation: generation, written: &written, progress: { _ in }).manifest
        case let .merge(shards):
            let manifest = try Compactor(base: base, committer: committer)
                .write(rewrite: shards, retrain: false, options: BuildOptions(), generation: generation, written: &written, progress: { _ in })
            return manifest
        case let .maintain(maintenance):
            return try PartitionMaintainer(base: base, threads: threads ?? System.processorCount)
                .write(maintenance, committer: committer, generation: generation, written: &written, progress: { _ in }).manifest
        }
    }
}
