/// Changes on top of one committed generation: the checks and id look-ups of adds, upserts
/// and deletes, and the ``PendingChanges`` they leave. The writer keeps one for its changes
/// (logged or not); a reader replays a generation's write log into one (``replay(_:)``).
struct ChangeLedger {
    /// The generation the changes apply to, without any log.
    let base: Index
    /// The changes so far.
    private(set) var pending = PendingChanges()
    /// In-memory id look-up of each shard file (shards never change), built on first use.
    private(set) var idLookups: [String: ShardIDLookup]

    /// No changes on `base`; `idLookups` are look-ups already built for shard files (those of
    /// other files are dropped).
    init(base: Index, idLookups: [String: ShardIDLookup] = [:]) {
        self.base = base
        let names = Set(base.manifest.shards.map(\.fileName))
        self.idLookups = idLookups.filter { names.contains($0.key) }
    }

    /// Items after the changes.
    var count: Int { base.count - pending.deletedCount + pending.liveAddedCount }

    /// Applies every change of `records` in order (a log being replayed). A change the checks
    /// refuse means the log does not belong to `base`: corruption, named by `path`.
    mutating func replay(_ records: [[LoggedChange]], path: String) throws(HashIdxError) {
        for changes in records {
            for change in changes {
                do throws(HashIdxError) {
                    try apply(change)
                } catch {
                    throw .corruptIndex(path: path, reason: "write log: a change does not apply to its generation (\(error))")
                }
            }
        }
    }

    /// Applies `change` (as ``add(_:ids:attributes:replacing:)`` or ``delete(ids:ignoringMissing:)``).
    mutating func apply(_ change: LoggedChange) throws(HashIdxError) {
        switch change {
        case let .add(rows, ids, attributes, replacing):
            let vectors = try InMemoryVectors(values: rows, dimension: base.dimension, name: "write log")
            try add(vectors, ids: ids, attributes: try attributes.map { (a) throws(HashIdxError) in try AttributeTable(rows: a) },
                    replacing: replacing)
        case let .delete(ids, ignoringMissing):
            _ = try delete(ids: ids, ignoringMissing: ignoringMissing)
        }
    }

    // MARK: Changes

    /// Deletes the items with `ids`; returns the ids no item had (an error unless
    /// `ignoringMissing`, and then nothing is deleted).
    mutating func delete(ids: [String], ignoringMissing: Bool) throws(HashIdxError) -> [String] {
        var found: [PendingChanges.Location] = []
        var missing: [String] = []
        for id in ids {
            let item = try location(of: id)
            if item.isEmpty { missing.append(id) }
            found.append(item)
        }
        if !missing.isEmpty && !ignoringMissing {
            throw .unknownID(missing.count == 1 ? missing[0] : "\(missing[0]) and \(missing.count - 1) more ids")
        }
        pending.remove(found)
        return missing
    }

    /// Adds (`replacing`: upserts) every row of `vectors`; checks everything before changing
    /// anything. Returns the change as a log records it.
    @discardableResult
    mutating func add(_ vectors: any VectorSource, ids: [String]?, attributes: AttributeTable?,
                      replacing: Bool) throws(HashIdxError) -> LoggedChange {
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
        let table = attributes ?? AttributeTable(empty: n)
        guard table.count == n else {
            throw .invalidAttributes(path: "attributes", line: 0, reason: "holds \(table.count) rows but \(n) vectors are added; give one row per vector")
        }
        let schema = base.attributeSchema.merging(pending.addedAttributes.schema) { a, b in a == .float || b == .float ? .float : a }
        try table.check(against: schema, source: "attributes")
        let conformed = table.conformed(to: schema)
        let combined = try pending.addedAttributes.conformed(to: schema).appending(conformed, source: "attributes")
        var rows = [Float](repeating: 0, count: n * d)
        try rows.withUnsafeMutableBufferPointer { (b) throws(HashIdxError) in
            var unit = [Float](repeating: 0, count: d)
            for i in 0..<n {
                let row = UnsafeMutableBufferPointer(rebasing: b[(i * d)..<((i + 1) * d)])
                vectors.copyRow(i, into: row)
                for j in 0..<d { unit[j] = row[j] }
                try unit.withUnsafeMutableBufferPointer { (u) throws(HashIdxError) in _ = try Vectors.normalize(u, source: vectors.name, row: i) }
            }
        }
        var replaced: [PendingChanges.Location] = []
        for id in ids ?? [] {
            let item = try location(of: id)
            if !replacing && !item.isEmpty {
                throw .idExists(id: id)
            }
            replaced.append(item)
        }
        pending.remove(replaced)
        let first = pending.addedCount
        pending.append(rows: rows, ids: ids ?? (0..<n).map { String(base.rowCount + first + $0) }, attributes: combined)
        let logged = attributes == nil ? nil : (0..<n).map { conformed[$0] }
        return .add(rows: rows, ids: ids, attributes: logged, replacing: replacing)
    }

    // MARK: Look-ups

    /// Where the live item with `id` is, counting the pending changes.
    mutating func location(of id: String) throws(HashIdxError) -> PendingChanges.Location {
        PendingChanges.Location(pending: pending.addedRow(of: id), committed: try committedItem(id))
    }

    /// The shard and position of the committed, live item with `id` that no pending change
    /// deleted yet.
    private mutating func committedItem(_ id: String) throws(HashIdxError) -> (shard: Int, position: Int)? {
        let shards = base.shards
        if !base.hasStringIDs {
            guard let row = try base.searcher.row(forID: id) else { return nil }
            let (shard, local) = try base.searcher.locate(row)
            let index = shards.firstIndex { $0 === shard }!
            let position = shard.position(ofRow: local)
            return pending.isDeleted(shard: index, position: position) ? nil : (index, position)
        }
        // Newest shard first: an upserted id's live row is in the newest shard that has it.
        var cursor = BlockCursor()
        for index in shards.indices.reversed() {
            let shard = shards[index]
            let name = base.manifest.shards[index].fileName
            if idLookups[name] == nil { idLookups[name] = try ShardIDLookup(shard) }
            guard let position = try idLookups[name]!.position(of: id, in: shard, cursor: &cursor),
                  !shard.isDeleted(position: position) else { continue }
            return pending.isDeleted(shard: index, position: position) ? nil : (index, position)
        }
        return nil
    }
}
