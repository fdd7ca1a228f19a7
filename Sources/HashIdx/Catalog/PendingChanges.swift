/// The changes an ``IndexWriter`` holds in memory until it commits: rows added (with their
/// ids and attributes) and committed rows marked deleted. Nothing here touches the disk.
///
/// Added rows keep their index in ``addedIDs`` for their whole life; one added and then
/// deleted or replaced again before the commit is only marked (``addedRemoved``), so that
/// in an index whose ids are row numbers the numbers given out stay valid.
struct PendingChanges {
    /// Added rows as given (not normalised), row-major.
    private(set) var added: [Float] = []
    /// The id of each added row.
    private(set) var addedIDs: [String] = []
    /// The attributes of the added rows, one row each.
    private(set) var addedAttributes = AttributeTable()
    /// The added row of each id.
    private var addedIndex: [IDKey: Int] = [:]
    /// Added rows deleted or replaced again before the commit.
    private(set) var addedRemoved = Set<Int>()
    /// Positions to delete, per shard index of the writer's base generation.
    private(set) var deletions: [Int: Set<Int>] = [:]

    /// Where a live item is: a pending added row, a committed row, or both (an upserted id
    /// before its commit: only the pending row is live, and the committed one is already
    /// marked).
    struct Location {
        var pending: Int?
        var committed: (shard: Int, position: Int)?
        var isEmpty: Bool { pending == nil && committed == nil }
    }

    /// Whether a commit has anything to do.
    var isEmpty: Bool { deletions.isEmpty && addedIDs.count <= addedRemoved.count }

    /// Committed rows marked deleted.
    var deletedCount: Int { deletions.values.reduce(0) { $0 + $1.count } }

    /// Added rows still live.
    var liveAddedCount: Int { addedIDs.count - addedRemoved.count }

    /// Added rows so far, removed ones included (row-number ids are given out from here).
    var addedCount: Int { addedIDs.count }

    /// The live added row with `id`, if any.
    func addedRow(of id: String) -> Int? {
        addedIndex[IDKey(id)].flatMap { addedRemoved.contains($0) ? nil : $0 }
    }

    /// Whether the committed row at `position` of shard `shard` is marked deleted.
    func isDeleted(shard: Int, position: Int) -> Bool { deletions[shard]?.contains(position) == true }

    /// Marks the items at `locations` deleted.
    mutating func remove(_ locations: [Location]) {
        for location in locations {
            if let pending = location.pending { addedRemoved.insert(pending) }
            if let c = location.committed { deletions[c.shard, default: []].insert(c.position) }
        }
    }

    /// Appends `rows` (`ids.count` rows, row-major) under `ids`; `attributes` is every added
    /// row's attributes so far followed by the new ones' (checked by the caller).
    mutating func append(rows: [Float], ids: [String], attributes: AttributeTable) {
        let first = addedIDs.count
        added.append(contentsOf: rows)
        for (i, id) in ids.enumerated() {
            addedIndex[IDKey(id)] = first + i
            addedIDs.append(id)
        }
        addedAttributes = attributes
    }

    /// The added rows a commit writes, by index: the live ones, or with `keepingRemoved`
    /// (row-number ids, whose numbers must stay) every one.
    func rowsToWrite(keepingRemoved: Bool) -> [Int] {
        keepingRemoved ? Array(addedIDs.indices) : addedIDs.indices.filter { !addedRemoved.contains($0) }
    }

    /// The added rows `rows` (indices from ``rowsToWrite(keepingRemoved:)``), row-major.
    func values(of rows: [Int], dimension d: Int) -> [Float] {
        var values = [Float]()
        values.reserveCapacity(rows.count * d)
        for i in rows { values.append(contentsOf: added[(i * d)..<((i + 1) * d)]) }
        return values
    }
}
