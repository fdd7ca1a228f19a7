import HashIdx

/// What a search starts from.
public enum SearchQuery: Sendable, Equatable {
    /// A query vector, at the index's dimension.
    case vector([Float])
    /// The vector of the item with this id ("more like this"; the item itself is left out).
    case id(String)
}

/// One search: `POST /v1/search`, or one element of `POST /v1/search/batch`'s `queries`.
public struct SearchRequest: Sendable, Equatable {
    /// The query.
    public var query: SearchQuery
    /// Results wanted.
    public var k: Int
    /// Partitions probed (`nil`: the library's default).
    public var probes: Int?
    /// Candidates re-ranked by exact cosine (`nil`: the library's default).
    public var candidates: Int?
    /// A filter in the text syntax of `docs/FILTERS.md`.
    public var filter: String?
    /// Attribute fields returned with each result (`nil`: none; `["*"]`: all).
    public var fields: [String]?

    /// Creates a request.
    public init(query: SearchQuery, k: Int = 10, probes: Int? = nil, candidates: Int? = nil,
                filter: String? = nil, fields: [String]? = nil) {
        self.query = query
        self.k = k
        self.probes = probes
        self.candidates = candidates
        self.filter = filter
        self.fields = fields
    }
}

/// One item of `PUT /v1/items`: the library's `IndexItem` (a new id adds the item, an
/// existing one replaces it), by the name 0.1.0 gave it.
@available(*, deprecated, renamed: "IndexItem")
public typealias ItemUpsert = IndexItem

/// A change to the catalog, applied through the service's single writer.
public enum WriteRequest: Sendable, Equatable {
    /// Add or replace these items.
    case upsert([IndexItem])
    /// Delete the items with these ids; with `ignoringMissing`, ids that are not in the index
    /// are skipped instead of failing the request.
    case delete([String], ignoringMissing: Bool)
}
