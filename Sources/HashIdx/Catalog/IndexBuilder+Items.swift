extension IndexBuilder {
    /// Builds an index at `path` from `items` (``IndexItem``: an id, a vector and attributes
    /// each), in order: the item form of ``build(source:ids:attributes:to:options:progress:)``.
    ///
    /// ```swift
    /// try IndexBuilder.build(items: products.map {
    ///     IndexItem(id: $0.sku, vector: $0.embedding, attributes: ["category": .string($0.category)])
    /// }, to: "catalog.hidx")
    /// ```
    ///
    /// - Throws: ``HashIdxError/emptyInput(path:)`` when there are no items; errors naming an
    ///   item by its 0-based row in `items` (a vector of another dimension than the first
    ///   item's, NaN, all zeros, an invalid or repeated id, attributes of two types under one
    ///   key); the errors of the build.
    @discardableResult
    public static func build(items: some Sequence<IndexItem>, to path: String, options: BuildOptions = BuildOptions(),
                             progress: @escaping (WorkProgress) -> Void = { _ in }) throws(HashIdxError) -> BuildSummary {
        guard let columns = try ItemColumns(items) else { throw .emptyInput(path: "items") }
        return try build(source: columns.vectors, ids: columns.ids, attributes: columns.attributes, to: path,
                         options: options, progress: progress)
    }
}
