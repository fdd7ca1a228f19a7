import Dispatch
import HashIdx

/// How a ``CatalogService`` runs.
public struct ServiceOptions: Sendable, Equatable {
    /// Refuse writes (`403 read_only`); the index's lock is never taken, so other processes
    /// (`hashidx add`, `compact`) can write while the service answers from each generation
    /// they commit.
    public var readOnly: Bool
    /// The bounds on one request (`k`, candidates, probes, batch sizes, answer bytes, items).
    public var limits: RequestLimits
    /// Seconds the writer keeps the index's lock after its last write, so that a stream of
    /// writes does not reopen it for each group; after that, other writers can take it.
    public var writerIdleSeconds: Double
    /// Seconds a write waits for the index's lock when another process holds it, before
    /// failing with `503 index_busy`.
    public var lockWaitSeconds: Double
    /// Threads the writer hashes added items on (`nil`: all cores).
    public var writerThreads: Int?
    /// Items (added, or deleted from the shards) the writer keeps in its write buffer —
    /// committed to the write log, searched from memory — before a flusher thread writes
    /// them to a shard; 0 writes a shard at every commit. A search scans the buffered codes
    /// and scores the nearest exactly, so this bounds what the buffer adds to each search
    /// (about 10 µs for 4,096 GloVe-50 rows on one core).
    public var bufferItems: Int

    /// Creates options; the defaults suit a catalog service.
    public init(readOnly: Bool = false, limits: RequestLimits = RequestLimits(),
                writerIdleSeconds: Double = 2, lockWaitSeconds: Double = 5, writerThreads: Int? = nil,
                bufferItems: Int = 4096) {
        self.readOnly = readOnly
        self.limits = limits
        self.writerIdleSeconds = writerIdleSeconds
        self.lockWaitSeconds = lockWaitSeconds
        self.writerThreads = writerThreads
        self.bufferItems = bufferItems
    }
}

/// What one search answers: its results (without attributes) and the attribute fields its
/// answer carries, resolved (`nil`: none).
public struct SearchAnswer: Sendable, Equatable {
    /// The results, best first; their ``SearchResult/attributes`` are empty.
    public var results: [SearchResult]
    /// The attributes each result's answer carries (`nil`: no `attributes` member).
    public var fields: [String]?

    /// Creates an answer.
    public init(results: [SearchResult], fields: [String]?) {
        self.results = results
        self.fields = fields
    }
}

/// What a write did, once committed.
public struct WriteSummary: Sendable, Equatable {
    /// `"upserted"` or `"deleted"`.
    public var kind: String
    /// Items the request upserted or deleted.
    public var items: Int
    /// The generation that holds the change (searches see it from now on).
    public var generation: UInt64
    /// Items in the index after that commit.
    public var count: Int
}

/// A hashidx index as a service, without HTTP: searches on the newest generation, reads of
/// items, and writes through one group-committing writer.
///
/// - **Snapshots.** Searches use the newest ``Index`` snapshot; ``refresh()`` (called by the
///   server on a timer, and by the writer after each commit) swaps in a new generation
///   committed by anyone, while searches in flight finish on the snapshot they started with.
/// - **Writes** (``write(_:)``) queue up; one writer thread takes every queued request,
///   applies each (a request that fails is answered with its error and changes nothing),
///   commits once to the index's write log (one synced append, no shard), swaps in the
///   writer's snapshot, and only then answers the requests of that group: a write is
///   durable and visible to searches when its answer arrives. Buffered writes go to a shard
///   once they pass ``ServiceOptions/bufferItems``, beside the next commits.
public final class CatalogService: Sendable {
    /// The index directory.
    public let path: String
    /// How the service runs.
    public let options: ServiceOptions
    private let snapshot: Locked<Index>
    private let writer: GroupCommitWriter

    /// Opens the index at `path`.
    ///
    /// - Throws: the errors of ``Index/init(path:)``.
    public init(path: String, options: ServiceOptions = ServiceOptions()) throws(HashIdxError) {
        self.path = path
        self.options = options
        let index = try Index(path: path)
        let snapshot = Locked(index)
        self.snapshot = snapshot
        // After each commit: the writer's snapshot, before any writer of the group is answered.
        writer = GroupCommitWriter(path: path, options: options) { newer in
            snapshot.withLock { if Self.isNewer(newer, than: $0) { $0 = newer } }
        }
    }

    /// The snapshot searches use now.
    public var index: Index { snapshot.withLock { $0 } }

    /// Moves to the newest committed generation if there is one; returns whether it did.
    @discardableResult
    public func refresh() throws(HashIdxError) -> Bool {
        let current = index
        let newer = try current.reopen()
        guard newer !== current else { return false }
        snapshot.withLock { if Self.isNewer(newer, than: $0) { $0 = newer } }
        return true
    }

    /// Whether `a` holds later commits than `b`: a later generation, or more of the same
    /// generation's write log.
    private static func isNewer(_ a: Index, than b: Index) -> Bool {
        (a.generation, a.logLength) > (b.generation, b.logLength)
    }

    // MARK: Reads

    /// The results of one search.
    public func search(_ request: SearchRequest) throws(ServiceError) -> [SearchResult] {
        try search(request, on: index)
    }

    /// The results of each search, in order (one snapshot for all of them).
    public func search(batch requests: [SearchRequest]) throws(ServiceError) -> [[SearchResult]] {
        let index = self.index
        var out: [[SearchResult]] = []
        out.reserveCapacity(requests.count)
        for (i, r) in requests.enumerated() {
            do { out.append(try search(r, on: index)) } catch {
                throw error.in("queries[\(i)]")
            }
        }
        return out
    }

    /// The answer to `request` on the snapshot `index`: its results *without* attributes, and
    /// the fields their answer carries (checked against the index; `["*"]` resolved to every
    /// attribute). ``ResponseEncoder/results(_:from:)`` reads the attributes row by row while
    /// it writes the answer, so a large answer is never held twice.
    public func answer(_ request: SearchRequest, on index: Index) throws(ServiceError) -> SearchAnswer {
        let fields: [String]? = request.fields == ["*"] ? index.attributeSchema.keys.sorted() : request.fields
        do throws(HashIdxError) {
            if let fields { try index.checkFields(fields) }
        } catch {
            throw ServiceError(error)
        }
        var lean = request
        lean.fields = nil
        return SearchAnswer(results: try search(lean, on: index), fields: fields)
    }

    /// ``answer(_:on:)`` for each request, in order; an error names its query
    /// (`queries[firstNumber + i]`).
    public func answers(_ requests: ArraySlice<SearchRequest>, on index: Index) throws(ServiceError) -> [SearchAnswer] {
        var out: [SearchAnswer] = []
        out.reserveCapacity(requests.count)
        for i in requests.indices {
            do { out.append(try answer(requests[i], on: index)) } catch {
                throw error.in("queries[\(i)]")
            }
        }
        return out
    }

    private func search(_ request: SearchRequest, on index: Index) throws(ServiceError) -> [SearchResult] {
        do throws(HashIdxError) {
            let fields: [String]
            if request.fields == ["*"] { fields = index.attributeSchema.keys.sorted() } else { fields = request.fields ?? [] }
            // (Probes and candidates not asked for are the index's: tuned, else the defaults.)
            let options = SearchOptions(k: request.k, candidates: request.candidates, probes: request.probes,
                                        filter: try request.filter.map { (f) throws(HashIdxError) in try Filter(f) },
                                        fields: fields)
            try options.validate()
            switch request.query {
            case let .vector(v): return try index.search(v, options: options)
            case let .id(id): return try index.search(similarToID: id, options: options)
            }
        } catch {
            throw ServiceError(error)
        }
    }

    /// The item with id `id` as JSON: its attributes (only `fields` when given; `["*"]` or
    /// `nil`: all) and, with `vector`, its stored vector.
    public func item(id: String, fields: [String]?, vector: Bool) throws(ServiceError) -> String {
        let index = self.index
        do throws(HashIdxError) {
            guard let row = try index.row(forID: id) else { throw HashIdxError.unknownID(id) }
            let list = fields == ["*"] ? nil : fields
            let attributes = try index.attributes(ofRow: row, fields: list)
            return ResponseEncoder.item(id: id, attributes: attributes, vector: vector ? try index.vector(ofRow: row) : nil)
        } catch {
            throw ServiceError(error)
        }
    }

    // MARK: Writes

    /// Applies `request` with the next group commit; returns once it is durable and visible
    /// to searches.
    ///
    /// - Throws: `403 read_only` in a read-only service; `503 shutting_down` after
    ///   ``close()``; `503 index_busy` when another process keeps the index's lock; the
    ///   request's own error (unknown id, wrong dimension, bad attributes, …).
    public func write(_ request: WriteRequest) async throws(ServiceError) -> WriteSummary {
        guard !options.readOnly else {
            throw ServiceError(status: 403, code: "read_only", message: "this server was started with --read-only; writes are disabled")
        }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<WriteSummary, ServiceError>, Never>) in
            writer.submit(request) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Stops taking writes, commits what is queued, and releases the index's lock.
    public func close() {
        writer.close()
    }
}
