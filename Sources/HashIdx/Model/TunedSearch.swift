/// The search settings a build chose for a target recall (``BuildOptions/targetRecall``,
/// `hashidx build --target-recall`): the cheapest probes and candidates whose recall@10 on
/// the index's own rows, held out as queries, reached the target. Searches that leave
/// ``SearchOptions/probes`` or ``SearchOptions/candidates`` unset use them; `hashidx info`
/// shows them.
public struct TunedSearch: Sendable, Equatable {
    /// Partitions probed.
    public var probes: Int
    /// Candidates re-ranked by exact cosine.
    public var candidates: Int
    /// The recall@10 asked for.
    public var targetRecall: Double
    /// The recall@10 these settings reached on the held-out rows (below the target when no
    /// setting reached it: then the most thorough one tried).
    public var measuredRecall: Double
    /// How many of the index's rows were searched for as queries.
    public var sampleQueries: Int

    /// The most candidates a tuned setting holds.
    static let maximumCandidates: UInt32 = 1 << 20

    /// Creates a record of tuned settings. The recalls are kept at the precision the index
    /// stores them in (32-bit floats), so a record compares equal to the one read back.
    public init(probes: Int, candidates: Int, targetRecall: Double, measuredRecall: Double, sampleQueries: Int) {
        self.probes = probes
        self.candidates = candidates
        self.targetRecall = Double(Float(targetRecall))
        self.measuredRecall = Double(Float(measuredRecall))
        self.sampleQueries = sampleQueries
    }
}
