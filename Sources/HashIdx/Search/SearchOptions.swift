/// Settings of one search.
public struct SearchOptions: Sendable, Equatable {
    /// How many results to return (the `k` of top-k). Must be positive. Fewer come back
    /// when the index holds fewer items (all of them) or fewer satisfy ``filter``.
    public var k: Int
    /// How many Hamming candidates are re-ranked by exact cosine. Raised to `k` when
    /// smaller. More candidates: higher recall, slower queries. `nil`: the index's tuned
    /// setting (``Index/tunedSearch``, from a build with a target recall), else
    /// ``defaultCandidates``.
    public var candidates: Int?

    /// How many partitions (the ones whose centroids are nearest to the query) are scanned,
    /// in an index built with partitions; ignored otherwise. More probes: higher recall,
    /// slower queries. `nil`: the index's tuned setting (``Index/tunedSearch``), else
    /// ``defaultProbes``.
    public var probes: Int?

    /// The asymmetric pass: the Hamming scan keeps `candidates × shortlistFactor` items,
    /// which are re-scored against the query's unquantised margins (bit planes, AND +
    /// popcount), and the best `candidates` of those go to the exact re-rank. 1 turns the
    /// pass off.
    public var shortlistFactor: Int

    /// Only items satisfying this filter are returned (`nil`: all items). See ``Filter``.
    public var filter: Filter?

    /// Attributes to return with each result (``SearchResult/attributes``); empty: none.
    public var fields: [String]

    /// How the candidates are finally ranked (``Rerank``); `nil`: the index's default
    /// (`hashidx info` shows it).
    public var rerank: Rerank?
    /// The weight of the learned score in a ``Rerank/blend`` ranking, 0…1; `nil`: the
    /// index's.
    public var blendWeight: Float?

    /// The default shortlist factor, chosen by measurement on GloVe-50 (see README).
    public static let defaultShortlistFactor = 2

    /// The default candidate count, chosen by measurement on GloVe-50 (see README).
    public static let defaultCandidates = 200
    /// The default number of partitions probed, chosen by measurement on GloVe-50 (see README).
    public static let defaultProbes = 128

    /// Creates search options. Probes and candidates left `nil` are the index's: tuned for a
    /// target recall when it was built with one (`hashidx build --target-recall`), else
    /// ``defaultProbes`` and ``defaultCandidates``.
    public init(k: Int = 10, candidates: Int? = nil, probes: Int? = nil,
                shortlistFactor: Int = SearchOptions.defaultShortlistFactor, filter: Filter? = nil, fields: [String] = [],
                rerank: Rerank? = nil, blendWeight: Float? = nil) {
        self.rerank = rerank
        self.blendWeight = blendWeight
        self.filter = filter
        self.fields = fields
        self.k = k
        self.candidates = candidates
        self.probes = probes
        self.shortlistFactor = shortlistFactor
    }

    /// The probes a search runs: ``probes``, else ``defaultProbes`` (an ``Index`` puts its
    /// tuned value in first).
    var probeCount: Int { probes ?? Self.defaultProbes }
    /// The candidates a search re-ranks: ``candidates``, else ``defaultCandidates``.
    var candidateCount: Int { candidates ?? Self.defaultCandidates }

    /// Throws ``HashIdxError/invalidArgument(name:reason:)`` for an option out of range.
    public func validate() throws(HashIdxError) {
        guard k > 0 else { throw .invalidArgument(name: "k", reason: "must be a positive number of results, got \(k)") }
        if let candidates, candidates <= 0 {
            throw .invalidArgument(name: "candidates", reason: "must be positive, got \(candidates)")
        }
        if let probes, probes <= 0 { throw .invalidArgument(name: "probes", reason: "must be positive, got \(probes)") }
        guard shortlistFactor >= 1, shortlistFactor <= 1000 else {
            throw .invalidArgument(name: "shortlist", reason: "must be 1…1000, got \(shortlistFactor)")
        }
        if let blendWeight, !(blendWeight >= 0 && blendWeight <= 1) {
            throw .invalidArgument(name: "blend-weight", reason: "must be between 0 and 1, got \(blendWeight)")
        }
    }
}

/// One search result.
public struct SearchResult: Sendable, Equatable, CustomStringConvertible {
    /// The item's row number in the index (the order the vectors were given in).
    public var row: Int
    /// The item's id: the string from the ids file, or the row number as text.
    public var id: String
    /// The ranking score, in [-1, 1]: the cosine similarity between the query and the item
    /// (the ``Rerank/cosine`` ranking), the learned score (``Rerank/learned``), or their
    /// blend.
    public var score: Float
    /// The attributes ``SearchOptions/fields`` asked for (those the item has).
    public var attributes: Attributes

    /// Creates a result.
    public init(row: Int, id: String, score: Float, attributes: Attributes = [:]) {
        self.row = row
        self.id = id
        self.score = score
        self.attributes = attributes
    }

    /// The id and the score, as `sku-17 (0.93)`.
    public var description: String { "\(id) (\(score))" }
}
