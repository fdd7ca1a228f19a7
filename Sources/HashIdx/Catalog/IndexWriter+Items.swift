/// The item forms of the writer's changes: one ``IndexItem`` or a sequence of them, beside
/// the batch forms (vectors, ids and attributes matched by row) they call. They need an index
/// built with ids.
///
/// Each call is checked whole before anything changes, as a batch is; nothing is visible
/// before ``commit(progress:)-31119``. Many items go faster in one `add(contentsOf:)` than one by one.
extension IndexWriter {
    /// Adds `item` as a new item.
    ///
    /// - Throws: when the item's id is already an item's (use ``upsert(_:)-2xn52``), and
    ///   the errors of ``add(_:ids:attributes:)-4yga0``: a vector of the wrong dimension, with NaN
    ///   or all zeros, an invalid id, attributes of the wrong type.
    public func add(_ item: IndexItem) throws(HashIdxError) {
        try add(contentsOf: CollectionOfOne(item))
    }

    /// Adds every item of `items` as a new item, in order (nothing when it is empty).
    ///
    /// - Throws: the errors of ``add(_:)-1p46c``, and
    ///   ``HashIdxError/duplicateIDInMemory(source:id:firstRow:secondRow:)`` for an id that
    ///   repeats in `items`; errors name an item by its 0-based row in `items`.
    public func add(contentsOf items: some Sequence<IndexItem>) throws(HashIdxError) {
        guard let columns = try ItemColumns(items) else { return }
        try add(columns.vectors, ids: columns.ids, attributes: columns.attributes)
    }

    /// Adds `item`, replacing the item that has its id already, if any (in the same commit:
    /// readers see the old item or the new one). Its attributes replace the old item's.
    ///
    /// - Throws: the errors of ``upsert(_:ids:attributes:)-5o49w``.
    public func upsert(_ item: IndexItem) throws(HashIdxError) {
        try upsert(contentsOf: CollectionOfOne(item))
    }

    /// Upserts every item of `items`, in order (nothing when it is empty): each replaces the
    /// item that has its id already, or is added.
    ///
    /// - Throws: the errors of ``upsert(_:ids:attributes:)-5o49w``; errors name an item by its
    ///   0-based row in `items`.
    public func upsert(contentsOf items: some Sequence<IndexItem>) throws(HashIdxError) {
        guard let columns = try ItemColumns(items) else { return }
        try upsert(columns.vectors, ids: columns.ids, attributes: columns.attributes)
    }
}
