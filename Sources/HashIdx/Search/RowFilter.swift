/// Rows a search must not return, applied *inside* the candidate pipeline: after the Hamming
/// scan has measured every probed row and before the best are picked, so that an excluded
/// row never takes a candidate's place (filtering the results afterwards would leave fewer
/// than asked for, or need guesses at how many extra to fetch).
///
/// It holds explicit rows ("more like this" leaves the item itself out) and an attribute
/// filter; deleted rows are left out beside them (by the scan kernel, `Searcher.scanSegments`).
struct RowFilter: Sendable {
    /// No row excluded.
    static let none = RowFilter(excluding: [])

    /// Global row numbers that are never returned.
    let excludedRows: [Int]
    /// The attribute filter every result must satisfy (`nil`: none).
    let attributes: CompiledFilter?

    /// A filter that leaves out `rows` and, with `attributes`, every row that does not match.
    init(excluding rows: [Int], matching attributes: CompiledFilter? = nil) {
        excludedRows = rows
        self.attributes = attributes
    }

    /// Whether the filter excludes no explicit row.
    var isEmpty: Bool { excludedRows.isEmpty }
}
