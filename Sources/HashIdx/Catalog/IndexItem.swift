/// One item of a catalog as an application holds it: its id, its embedding and its
/// attributes.
///
/// The item forms of ``IndexBuilder`` and ``IndexWriter`` take items one at a time or as any
/// sequence, beside their batch forms (a ``VectorSource``, an array of ids and an
/// ``AttributeTable`` matched by row):
///
/// ```swift
/// let dress = IndexItem(id: "sku-17", vector: embedding,
///                       attributes: ["category": "dress", "price": 49.5, "in_stock": true])
/// try writer.upsert(dress)
/// try writer.add(contentsOf: newProducts.map {
///     IndexItem(id: $0.sku, vector: $0.embedding, attributes: try Attributes(encoding: $0.details))
/// })
/// try writer.commit()
/// ```
public struct IndexItem: Sendable, Equatable {
    /// The item's id: 1…4,096 bytes of UTF-8 without control characters, unique in the index
    /// (``IDList/check(_:)``).
    public var id: String
    /// The item's embedding, of the index's dimension; finite and not all zeros. Its length
    /// does not matter to a search (cosine similarity).
    public var vector: [Float]
    /// The item's attributes (none by default); a key it lacks is null.
    public var attributes: Attributes

    /// Creates an item.
    public init(id: String, vector: [Float], attributes: Attributes = [:]) {
        self.id = id
        self.vector = vector
        self.attributes = attributes
    }
}

/// A sequence of items as the batch forms take them: the vectors, the ids and the attributes,
/// matched by row. Errors name `items` and the item's 0-based row.
struct ItemColumns {
    let vectors: InMemoryVectors
    let ids: [String]
    /// `nil` when no item has attributes.
    let attributes: AttributeTable?

    /// The columns of `items`; `nil` when there are none.
    init?(_ items: some Sequence<IndexItem>) throws(HashIdxError) {
        let source = "items"
        var values: [Float] = []
        var ids: [String] = []
        var table = AttributeTable()
        var dimension = 0
        var attributed = false
        for (row, item) in items.enumerated() {
            if row == 0 {
                dimension = item.vector.count
                guard dimension > 0 else {
                    throw .invalidArgument(name: "\(source) row 0", reason: "item \"\(item.id)\" has an empty vector")
                }
                values.reserveCapacity(items.underestimatedCount * dimension)
            } else if item.vector.count != dimension {
                // (As InMemoryVectors(rows:) says it: the first row sets the dimension.)
                throw .dimensionMismatch(expected: dimension, actual: item.vector.count, source: "\(source) row \(row)")
            }
            values += item.vector
            ids.append(item.id)
            attributed = attributed || !item.attributes.isEmpty
            try table.append(item.attributes, at: .row(row), source: source)
        }
        guard !ids.isEmpty else { return nil }
        try IDList.validate(ids, path: source)
        vectors = try InMemoryVectors(values: values, dimension: dimension, name: source)
        self.ids = ids
        attributes = attributed ? table : nil
    }
}
