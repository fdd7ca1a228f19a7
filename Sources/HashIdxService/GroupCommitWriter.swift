import Dispatch
import Foundation
import HashIdx

/// The service's one ``IndexWriter``, on a thread of its own, committing requests in groups.
///
/// Requests queue up while a group is applied and committed; the next group takes all of
/// them (PostgreSQL's group commit: no timer, no added latency when writes are rare, one
/// commit — one set of `fsync`s — for many requests when they are not). Each request is
/// applied on its own: one that fails (unknown id, wrong dimension) is answered with its
/// error and leaves no trace, the others of its group commit. A commit that fails rolls the
/// whole group back and answers every request of it with the error.
///
/// The writer holds the index's lock from the first write until it has been idle for
/// ``ServiceOptions/writerIdleSeconds``, so that other processes can write in between.
final class GroupCommitWriter: @unchecked Sendable {
    typealias Reply = @Sendable (Result<WriteSummary, ServiceError>) -> Void

    private let path: String
    private let options: ServiceOptions
    private let onCommit: @Sendable (Index) -> Void

    /// Guards `pending`, `closed`, `running` and wakes the writer thread.
    private let condition = NSCondition()
    private var pending: [(request: WriteRequest, reply: Reply)] = []
    private var closed = false
    /// Whether the writer thread runs (it ends once idle with the lock released).
    private var running = false
    /// Signalled by the writer thread when it ends.
    private var ended: DispatchSemaphore?
    /// Whether the flusher thread is writing the buffer to a shard (or merging).
    private var flushing = false

    // Used on the writer thread only.
    private var writer: IndexWriter?
    private var lastWrite = 0.0
    /// What the writer merges after each group (the library's default policy).
    private let mergePolicy = IndexWriter.MergePolicy()

    init(path: String, options: ServiceOptions, onCommit: @escaping @Sendable (Index) -> Void) {
        self.path = path
        self.options = options
        self.onCommit = onCommit
    }

    /// Queues `request`; `reply` is called once, from the writer thread.
    func submit(_ request: WriteRequest, reply: @escaping Reply) {
        condition.lock()
        if closed {
            condition.unlock()
            reply(.failure(ServiceError(status: 503, code: "shutting_down", message: "the server is shutting down; retry against its successor")))
            return
        }
        pending.append((request, reply))
        if !running {
            running = true
            let done = DispatchSemaphore(value: 0)
            ended = done
            let thread = Thread { [self] in
                run()
                done.signal()
            }
            thread.start()
        }
        condition.signal()
        condition.unlock()
    }

    /// Commits what is queued, then closes the writer; later writes fail with `shutting_down`.
    func close() {
        condition.lock()
        closed = true
        let wait = running ? ended : nil
        condition.signal()
        condition.unlock()
        wait?.wait()
    }

    /// The writer thread: groups until closed, or until idle for `writerIdleSeconds` (then the
    /// lock is released and the thread ends; the next write starts another).
    ///
    /// It runs at a lower priority than the threads that answer searches (nice +10 on Linux):
    /// a commit waits a little longer, searches keep their latency while writes stream in.
    private func run() {
        #if os(Linux)
        // On Linux the nice value is per thread, and `who` 0 is the calling thread.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
        Thread.current.name = "hashidx-writer"
        while true {
            condition.lock()
            while pending.isEmpty && !closed {
                if flushing {   // (not idle while the flusher writes: it broadcasts when done)
                    condition.wait()
                    continue
                }
                let idleUntil = Date(timeIntervalSinceNow: max(0, lastWrite + options.writerIdleSeconds - ProcessInfo.processInfo.systemUptime))
                if !condition.wait(until: idleUntil) && pending.isEmpty && !closed && !flushing {
                    // Idle: release the lock and end.
                    running = false
                    condition.unlock()
                    writer?.rollback()   // every group was committed or rolled back: nothing to drop
                    try? writer?.close()
                    writer = nil
                    return
                }
            }
            let group = pending
            pending = []
            let closing = closed
            if closing && group.isEmpty { running = false }
            condition.unlock()
            if !group.isEmpty {
                apply(group)
                continue
            }
            // Closed with nothing left: the buffer to a shard, and release the lock.
            waitForFlusher()
            if let writer, (try? writer.flush()) != nil, let snapshot = try? writer.snapshot() { onCommit(snapshot) }
            writer?.rollback()   // every group was committed or rolled back: nothing to drop
            try? writer?.close()
            writer = nil
            return
        }
    }

    /// Applies `group` request by request, commits it once to the write log, and answers;
    /// then writes the buffer to a shard when it is full, and merges.
    private func apply(_ group: [(request: WriteRequest, reply: Reply)]) {
        lastWrite = ProcessInfo.processInfo.systemUptime
        var results: [Result<(kind: String, items: Int), ServiceError>] = []
        let writer: IndexWriter
        do { writer = try openWriter() } catch {
            for g in group { g.reply(.failure(error)) }
            return
        }
        for g in group { results.append(apply(g.request, to: writer)) }
        let summary: IndexWriter.CommitSummary
        do {
            summary = try writer.commit(durability: options.bufferItems > 0 ? .log : .shards)
            onCommit(try writer.snapshot())
        } catch {
            writer.rollback()
            let e = ServiceError(status: 500, code: "commit_failed", message: "the commit failed and nothing of it was kept: \(error)")
            for g in group { g.reply(.failure(e)) }
            return
        }
        lastWrite = ProcessInfo.processInfo.systemUptime
        for (g, r) in zip(group, results) {
            g.reply(r.map { WriteSummary(kind: $0.kind, items: $0.items, generation: summary.generation, count: summary.count) })
        }
        // Then, after the answers: with a buffer, a full one goes to a shard on the flusher
        // thread, beside the next groups (which only wait when the buffer is 8× full);
        // without, the merge policy runs here, as a commit of its own. Acknowledged writes
        // never wait for a shard or a merge. A step that fails changes nothing (the next
        // group's tries again; the buffer stays in the log meanwhile).
        if options.bufferItems > 0 {
            if bufferFill(writer) >= 1 { startFlusher(writer) }
            if bufferFill(writer) >= 8 { waitForFlusher() }
        } else if (try? writer.merge(policy: mergePolicy)) != nil, let merged = try? writer.snapshot() {
            onCommit(merged)
        }
        lastWrite = ProcessInfo.processInfo.systemUptime
    }

    /// How full the buffer is, in `bufferItems`: its rows and deletes, or its log over 64 MiB.
    private func bufferFill(_ writer: IndexWriter) -> Double {
        max(Double(writer.bufferedRows + writer.bufferedDeletes) / Double(max(1, options.bufferItems)),
            Double(writer.logBytes) / Double(64 << 20))
    }

    /// Starts the flusher thread unless it runs: it writes the buffer to a shard
    /// (``IndexWriter/flush()``, while groups go on committing to the log), then runs the merge
    /// policy the same way, each swapping in a snapshot when it commits.
    private func startFlusher(_ writer: IndexWriter) {
        condition.lock()
        defer { condition.unlock() }
        guard !flushing else { return }
        flushing = true
        let thread = Thread { [self] in
            #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            #endif
            if (try? writer.flush()) != nil, let snapshot = try? writer.snapshot() { onCommit(snapshot) }
            if (try? writer.merge(policy: mergePolicy)) != nil, let merged = try? writer.snapshot() { onCommit(merged) }
            condition.lock()
            flushing = false
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "hashidx-flusher"
        thread.start()
    }

    /// Waits until the flusher thread is done.
    private func waitForFlusher() {
        condition.lock()
        while flushing { condition.wait() }
        condition.unlock()
    }

    private func openWriter() throws(ServiceError) -> IndexWriter {
        if let writer { return writer }
        let deadline = ProcessInfo.processInfo.systemUptime + options.lockWaitSeconds
        while true {
            do {
                let w = try IndexWriter(path: path, threads: options.writerThreads,
                                        holder: "hashidx serve (pid \(ProcessInfo.processInfo.processIdentifier))")
                w.mergePolicy = nil   // run after the group's answers (apply)
                writer = w
                return w
            } catch {
                let e = ServiceError(error)
                guard e.code == "index_busy", ProcessInfo.processInfo.systemUptime < deadline else { throw e }
                usleep(20_000)
            }
        }
    }

    private func apply(_ request: WriteRequest, to writer: IndexWriter) -> Result<(kind: String, items: Int), ServiceError> {
        do throws(HashIdxError) {
            switch request {
            case let .upsert(items):
                let rows = items.map(\.vector)
                let table: AttributeTable? = items.contains { !$0.attributes.isEmpty }
                    ? try AttributeTable(rows: items.map(\.attributes)) : nil
                try writer.upsert(try InMemoryVectors(rows: rows), ids: items.map(\.id), attributes: table)
                return .success(("upserted", items.count))
            case let .delete(ids, ignoring):
                let missing = try writer.delete(ids: ids, ignoringMissing: ignoring)
                return .success(("deleted", ids.count - missing.count))
            }
        } catch {
            return .failure(ServiceError(error))
        }
    }
}
