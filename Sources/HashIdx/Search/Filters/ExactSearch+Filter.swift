extension ExactSearch {
    /// Exact filtered ground truth: for each row of `queries`, the rows of `base` whose
    /// `attributes` satisfy `filter` with the `k` highest cosine similarities, best first;
    /// a query with fewer than `k` matching rows gets all of them, then −1 to fill the row.
    ///
    /// - Throws: ``HashIdxError/invalidFilter(expression:offset:reason:)`` when `filter`
    ///   does not fit the attributes' types; the errors of ``topK(base:queries:k:threads:progress:)``.
    public static func topK(base: any VectorSource, queries: any VectorSource, k: Int, filter: Filter,
                            attributes: AttributeTable, threads: Int? = nil,
                            progress: @escaping @Sendable (Int) -> Void = { _ in }) throws(HashIdxError) -> [[Int]] {
        guard attributes.count == base.count else {
            throw .invalidAttributes(path: "attributes", line: 0, reason: "holds \(attributes.count) rows but the base vectors have \(base.count)")
        }
        try filter.check(against: attributes.schema)
        let rows = (0..<base.count).filter { filter.matches(attributes[$0]) }
        guard !rows.isEmpty else { return Array(repeating: Array(repeating: -1, count: k), count: queries.count) }
        let d = base.dimension
        var values = [Float](repeating: 0, count: rows.count * d)
        values.withUnsafeMutableBufferPointer { b in
            for (i, r) in rows.enumerated() { base.copyRow(r, into: UnsafeMutableBufferPointer(rebasing: b[(i * d)..<((i + 1) * d)])) }
        }
        let subset = try InMemoryVectors(values: values, dimension: d, name: base.name)
        let found = try topK(base: subset, queries: queries, k: min(k, rows.count), threads: threads, progress: progress)
        return found.map { $0.map { rows[$0] } + Array(repeating: -1, count: k - $0.count) }
    }
}
