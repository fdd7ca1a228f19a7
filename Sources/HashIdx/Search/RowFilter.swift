/// Rows a search must not return, applied *inside* the candidate pipeline: after the Hamming
/// scan has measured every probed row and before the best are picked, so that an excluded
/// row never takes a candidate's place (filtering the results afterwards would leave fewer
/// than asked for, or need guesses at how many extra to fetch).
///
/// Today it holds explicit rows: "more like this" leaves the item itself out. Deleted rows
/// (a live-rows bitmap per shard) and attribute filters join here, applied at the same
/// point (`Searcher.applyFilter`).
struct RowFilter: Sendable {
    /// No row excluded.
    static let none = RowFilter(excluding: [])

    /// Global row numbers that are never returned.
    let excludedRows: [Int]

    /// A filter that leaves out `rows`.
    init(excluding rows: [Int]) {
        excludedRows = rows
    }

    /// Whether the filter excludes nothing.
    var isEmpty: Bool { excludedRows.isEmpty }
}
