#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Generations written outside the writer's lock (``BackgroundCommit``): starting one,
/// committing it with the log records appended meanwhile, and dropping one that failed.
extension IndexWriterCore {
    /// Starts writing a generation outside the lock: with `flush`, the log's changes to
    /// shards; otherwise what `policy` asks for now (a refit, else merges). `nil` when there
    /// is nothing to do. Only one at a time; commits to shards wait for none (they throw).
    func beginBackground(flush: Bool, policy: IndexWriter.MergePolicy) throws(HashIdxError) -> BackgroundCommit? {
        try checkOpen()
        try checkNoBackground(flush ? "flush" : "merge")
        let work: BackgroundCommit.Work
        var prefix = 0
        if flush {
            guard let log, log.length > WriteLog.headerSize else { return nil }
            work = .writeLog
            prefix = log.length
        } else {
            if let maintenance = PartitionMaintainer.work(base, policy: policy) {
                work = .maintain(maintenance)
            } else {
                guard base.hasStringIDs else { return nil }
                let shards = policy.shardsToMerge(in: base.manifest, shardSize: BuildOptions.defaultShardSize)
                guard !shards.isEmpty else { return nil }
                work = .merge(shards)
            }
        }
        let generation = try directory.nextGeneration()
        background = generation
        return BackgroundCommit(work: work, base: base, generation: generation, logPrefix: prefix, idLookups: ledger.idLookups,
                                directory: directory, threads: threads)
    }

    /// Commits the generation `job` wrote (`manifest`, its files `written`, `opened` on
    /// them): the log records appended since it began go into the new generation's log
    /// first, then `CURRENT` moves, and the writer's changes are replayed on the new
    /// generation.
    func finishBackground(_ job: BackgroundCommit, manifest: Manifest, opened: Index,
                          written: inout [String]) throws(HashIdxError) -> Index {
        try checkOpen()
        precondition(background == job.generation && base === job.base, "a background commit finished out of turn")
        // The records after what the job took in (all of them for a merge).
        var tail: [UInt8] = []
        let start = max(job.logPrefix, WriteLog.headerSize)
        if let log, log.length > start {
            let file: MappedFile
            do { file = try MappedFile(path: log.path) } catch {
                throw .io(path: log.path, reason: "the write log cannot be read back: \(error)")
            }
            tail = Array(file.bytes[start..<log.length])
        }
        var carried: WriteLogFile? = nil
        if !tail.isEmpty {
            let name = Format.logName(job.generation)
            written.append(name)
            carried = try WriteLogFile(path: directory.file(name), length: 0,
                                       header: WriteLog.header(dimension: base.dimension, generation: job.generation), directory: path)
            try carried!.append(tail)
        }
        _ = try directory.commit(manifest, generation: job.generation, written: &written)
        written = []   // committed
        background = nil
        // From here the new generation is the index's: a writer that cannot move onto it
        // must not append to the old log, so a failure closes it (its changes are durable).
        let next: Index
        var rebased: ChangeLedger
        do throws(HashIdxError) {
            next = opened
            rebased = ChangeLedger(base: next, idLookups: ledger.idLookups)
            if let carried {
                let bytes = WriteLog.header(dimension: base.dimension, generation: job.generation) + tail
                let records = try WriteLog.read(bytes, dimension: next.dimension, generation: job.generation, path: carried.path).records
                try rebased.replay(records, path: carried.path)
            }
        } catch {
            release()
            throw .io(path: path, reason: "generation \(job.generation) was committed, but the writer could not move onto it and was closed (\(error)); open a new IndexWriter, which replays the log")
        }
        let count = rebased.count
        var uncommitted: [LoggedChange] = []
        for change in unlogged {
            // (They applied to the same items before; should one not, it is dropped, not kept half.)
            do throws(HashIdxError) { try rebased.apply(change); uncommitted.append(change) } catch {
                let line = "hashidx: an uncommitted change no longer applies after a background commit and was dropped: \(error)\n"
                _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            }
        }
        ledger = rebased
        unlogged = uncommitted
        log = carried
        lastSnapshot = nil
        committedCount = count
        directory.removeAll(except: next.liveFiles)   // the previous generation's log and files
        return next
    }

    /// Drops a background commit that failed: removes what it wrote.
    func abandonBackground(_ job: BackgroundCommit, written: [String]) {
        if background == job.generation { background = nil }
        directory.remove(written)
    }

    func checkNoBackground(_ name: String) throws(HashIdxError) {
        guard background == nil else {
            throw .invalidArgument(name: name, reason: "a flush or merge of this writer is running in the background; wait for it to finish")
        }
    }
}
