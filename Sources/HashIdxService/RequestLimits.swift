/// The bounds on what one request may cost, set by the operator (`hashidx serve --max-…`,
/// `docs/SERVER.md`, "Limits and security"). A request above a bound is answered
/// `400 limit_exceeded`, naming the bound and its flag, before any work is done; the
/// defaults keep one request of a client with the token well under a gigabyte of memory and
/// a few seconds of CPU.
public struct RequestLimits: Sendable, Equatable {
    /// `k` of one search.
    public var maxK: Int
    /// `candidates` (re-ranked by exact cosine) of one search.
    public var maxCandidates: Int
    /// `probes` (partitions scanned) of one search.
    public var maxProbes: Int
    /// Searches in one batch.
    public var maxQueriesPerBatch: Int
    /// The sum of `k` over the searches of one batch: the results one answer may hold.
    public var maxResultsPerBatch: Int
    /// Bytes of one search answer (a larger one is refused before any of it is sent).
    public var maxAnswerBytes: Int
    /// Items (or ids) one write request may carry.
    public var maxItemsPerRequest: Int

    /// Creates limits; the defaults suit a catalog service on one machine.
    public init(maxK: Int = 10_000, maxCandidates: Int = 100_000, maxProbes: Int = 4096, maxQueriesPerBatch: Int = 1000,
                maxResultsPerBatch: Int = 100_000, maxAnswerBytes: Int = 64 << 20, maxItemsPerRequest: Int = 100_000) {
        self.maxK = maxK
        self.maxCandidates = maxCandidates
        self.maxProbes = maxProbes
        self.maxQueriesPerBatch = maxQueriesPerBatch
        self.maxResultsPerBatch = maxResultsPerBatch
        self.maxAnswerBytes = maxAnswerBytes
        self.maxItemsPerRequest = maxItemsPerRequest
    }

    /// Throws `invalid_argument` for a bound that is not positive.
    public func validate() throws(ServiceError) {
        for bound in all where bound.value <= 0 {
            throw ServiceError(status: 400, code: "invalid_argument", message: "\(bound.flag) must be positive, got \(bound.value)")
        }
    }

    /// One bound: its value, and the `hashidx serve` flag that sets it.
    public struct Bound: Sendable {
        /// The largest value allowed.
        public var value: Int
        /// The flag that sets it (`--max-k`).
        public var flag: String
        /// What it bounds, for messages ("results per batch").
        public var what: String

        /// The `limit_exceeded` error for `given` in `field`.
        func exceeded(by given: String, field: String) -> ServiceError {
            ServiceError(status: 400, code: "limit_exceeded",
                         message: "\(field) = \(given) is above this server's limit of \(value) \(what) (\(flag)); ask for less, or start the server with a higher \(flag)")
        }
    }

    var k: Bound { Bound(value: maxK, flag: "--max-k", what: "results per search") }
    var candidates: Bound { Bound(value: maxCandidates, flag: "--max-candidates", what: "candidates per search") }
    var probes: Bound { Bound(value: maxProbes, flag: "--max-probes", what: "probes per search") }
    var queries: Bound { Bound(value: maxQueriesPerBatch, flag: "--max-batch", what: "searches per batch") }
    var results: Bound { Bound(value: maxResultsPerBatch, flag: "--max-batch-results", what: "results per batch (the sum of k)") }
    /// The bound on an answer's bytes.
    public var answerBytes: Bound { Bound(value: maxAnswerBytes, flag: "--max-answer-bytes", what: "bytes per answer") }
    var items: Bound { Bound(value: maxItemsPerRequest, flag: "--max-items", what: "items per write request") }

    /// Every bound, for `GET /v1/info` and checks.
    public var all: [Bound] { [k, candidates, probes, queries, results, answerBytes, items] }

    /// `"max_k": …, "max_candidates": …, …` (the members of `GET /v1/info`'s `limits`).
    public var jsonMembers: String {
        "\"max_k\":\(maxK),\"max_candidates\":\(maxCandidates),\"max_probes\":\(maxProbes),\"max_batch\":\(maxQueriesPerBatch)," +
            "\"max_batch_results\":\(maxResultsPerBatch),\"max_answer_bytes\":\(maxAnswerBytes),\"max_items\":\(maxItemsPerRequest)"
    }
}

extension RequestLimits.Bound {
    /// The `limit_exceeded` error for a count `given` of `field` (a list's length).
    func check(_ given: Int, field: String) throws(ServiceError) {
        guard given <= value else { throw exceeded(by: String(given), field: field) }
    }
}
