import Dispatch
import Foundation
import HashIdx

/// The service's one ``IndexWriter``, on a serial queue, committing requests in groups.
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
    private let onCommit: @Sendable () -> Void
    private let queue = DispatchQueue(label: "hashidx.service.writer")

    private struct State {
        var pending: [(request: WriteRequest, reply: Reply)] = []
        var draining = false
        var closed = false
    }
    private let state = Locked(State())

    // Used on `queue` only.
    private var writer: IndexWriter?
    private var lastWrite = 0.0

    init(path: String, options: ServiceOptions, onCommit: @escaping @Sendable () -> Void) {
        self.path = path
        self.options = options
        self.onCommit = onCommit
    }

    /// Queues `request`; `reply` is called once, from the writer's queue.
    func submit(_ request: WriteRequest, reply: @escaping Reply) {
        enum Outcome { case closed, queued, startDrain }
        let outcome: Outcome = state.withLock { s in
            if s.closed { return .closed }
            s.pending.append((request, reply))
            if s.draining { return .queued }
            s.draining = true
            return .startDrain
        }
        switch outcome {
        case .closed:
            reply(.failure(ServiceError(status: 503, code: "shutting_down", message: "the server is shutting down; retry against its successor")))
        case .queued: break
        case .startDrain: queue.async { self.drain() }
        }
    }

    /// Commits what is queued, then closes the writer; later writes fail with `shutting_down`.
    func close() {
        state.withLock { $0.closed = true }
        queue.sync {
            drainOnce()
            writer?.close()
            writer = nil
        }
    }

    private func drain() {
        while drainOnce() {}
        // Release the lock once idle.
        let idle = options.writerIdleSeconds
        queue.asyncAfter(deadline: .now() + idle) { [weak self] in
            guard let self, self.writer != nil else { return }
            if ProcessInfo.processInfo.systemUptime - self.lastWrite >= idle * 0.99,
               self.state.withLock({ $0.pending.isEmpty && !$0.draining }) {
                self.writer?.close()
                self.writer = nil
            }
        }
    }

    /// Applies and commits one group; false when nothing was queued (and marks the queue
    /// idle under the same lock, so that the next submit starts a drain).
    @discardableResult
    private func drainOnce() -> Bool {
        let group = state.withLock { s -> [(request: WriteRequest, reply: Reply)] in
            let g = s.pending
            s.pending = []
            if g.isEmpty { s.draining = false }
            return g
        }
        guard !group.isEmpty else { return false }
        lastWrite = ProcessInfo.processInfo.systemUptime
        var results: [Result<(kind: String, items: Int), ServiceError>] = []
        let writer: IndexWriter
        do { writer = try openWriter() } catch {
            for g in group { g.reply(.failure(error)) }
            return true
        }
        for g in group { results.append(apply(g.request, to: writer)) }
        var summary: IndexWriter.CommitSummary
        do {
            summary = try writer.commit()
        } catch {
            writer.rollback()
            let e = ServiceError(status: 500, code: "commit_failed", message: "the commit failed and nothing of it was kept: \(error)")
            for g in group { g.reply(.failure(e)) }
            return true
        }
        if let merged = summary.merged { summary.generation = merged.generation }
        onCommit()
        lastWrite = ProcessInfo.processInfo.systemUptime
        for (g, r) in zip(group, results) {
            g.reply(r.map { WriteSummary(kind: $0.kind, items: $0.items, generation: summary.generation, count: summary.count) })
        }
        return true
    }

    private func openWriter() throws(ServiceError) -> IndexWriter {
        if let writer { return writer }
        let deadline = ProcessInfo.processInfo.systemUptime + options.lockWaitSeconds
        while true {
            do {
                let w = try IndexWriter(path: path, threads: options.writerThreads,
                                        holder: "hashidx serve (pid \(ProcessInfo.processInfo.processIdentifier))")
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
