import Dispatch

/// The writer from async code: the same operations, run on a Dispatch thread instead of the
/// caller's, so that a commit that hashes rows and syncs files for seconds never holds a
/// thread of Swift's cooperative pool. Calls still take their turn: each waits for the one
/// before it to finish.
extension IndexWriter {
    /// ``add(_:ids:attributes:)-4yga0`` from async code.
    public func add(_ vectors: any VectorSource, ids: [String]? = nil, attributes: AttributeTable? = nil) async throws(HashIdxError) {
        try await offload { (writer) throws(HashIdxError) in try writer.add(vectors, ids: ids, attributes: attributes) }
    }

    /// ``upsert(_:ids:attributes:)-5o49w`` from async code.
    public func upsert(_ vectors: any VectorSource, ids: [String], attributes: AttributeTable? = nil) async throws(HashIdxError) {
        try await offload { (writer) throws(HashIdxError) in try writer.upsert(vectors, ids: ids, attributes: attributes) }
    }

    /// ``delete(ids:ignoringMissing:)-3h8re`` from async code.
    @discardableResult
    public func delete(ids: [String], ignoringMissing: Bool = false) async throws(HashIdxError) -> [String] {
        try await offload { (writer) throws(HashIdxError) in try writer.delete(ids: ids, ignoringMissing: ignoringMissing) }
    }

    /// ``commit(progress:)-31119`` from async code: returns once the changes are durable.
    @discardableResult
    public func commit(progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) async throws(HashIdxError) -> CommitSummary {
        try await offload { (writer) throws(HashIdxError) in try writer.commit(progress: progress) }
    }

    /// ``compact(retrain:options:progress:)-8qnux`` from async code.
    @discardableResult
    public func compact(retrain: Bool = false, options: BuildOptions = BuildOptions(),
                        progress: @escaping @Sendable (WorkProgress) -> Void = { _ in }) async throws(HashIdxError) -> CompactionSummary {
        try await offload { (writer) throws(HashIdxError) in try writer.compact(retrain: retrain, options: options, progress: progress) }
    }

    /// ``add(_:)-1p46c`` from async code.
    public func add(_ item: IndexItem) async throws(HashIdxError) {
        try await offload { (writer) throws(HashIdxError) in try writer.add(item) }
    }

    /// ``add(contentsOf:)-(Sequence<IndexItem>)`` from async code.
    public func add(contentsOf items: some Sequence<IndexItem> & Sendable) async throws(HashIdxError) {
        try await offload { (writer) throws(HashIdxError) in try writer.add(contentsOf: items) }
    }

    /// ``upsert(_:)-2xn52`` from async code.
    public func upsert(_ item: IndexItem) async throws(HashIdxError) {
        try await offload { (writer) throws(HashIdxError) in try writer.upsert(item) }
    }

    /// ``upsert(contentsOf:)-(Sequence<IndexItem>)`` from async code.
    public func upsert(contentsOf items: some Sequence<IndexItem> & Sendable) async throws(HashIdxError) {
        try await offload { (writer) throws(HashIdxError) in try writer.upsert(contentsOf: items) }
    }

    /// Runs `work` on a Dispatch thread and resumes the caller with its result.
    private func offload<T: Sendable>(_ work: @escaping @Sendable (IndexWriter) throws(HashIdxError) -> T) async throws(HashIdxError) -> T {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<T, HashIdxError>, Never>) in
            DispatchQueue.global().async {
                c.resume(returning: Result { () throws(HashIdxError) -> T in try work(self) })
            }
        }
        return try result.get()
    }
}
