/// Progress of a long operation — a build, a commit, a compaction, a clustering, an
/// evaluation — reported to the caller's closure, on the thread doing the work.
///
/// Each phase counts its own units from 0 to ``total``; a phase without countable units
/// reports `0` of `1` when it starts and `1` of `1` when it ends. A command-line tool draws a
/// bar from it; a server can log it.
public struct WorkProgress: Sendable, Hashable {
    /// What the operation is doing.
    public enum Phase: String, Sendable, Hashable, CaseIterable {
        /// Training the hash function on the sample (supervised training: epochs done of
        /// all epochs; otherwise 0 then 1 of 1).
        case training
        /// Training the partitions and assigning every row to one (0 then 1 of 1).
        case partitioning
        /// Hashing rows and writing them to shards (rows done of all rows).
        case encoding
        /// Committing the manifest and removing the old generation (0 then 1 of 1).
        case finishing
        /// Reading stored items back (a compaction's live rows, a clustering's input: rows
        /// read of all rows).
        case reading
        /// Rounds of k-means over a whole catalog (rounds run of the most allowed; the run
        /// stops early once no item moves).
        case clustering
        /// Answering queries (queries answered of all queries).
        case searching
    }

    /// The phase.
    public var phase: Phase
    /// Units done in this phase.
    public var done: Int
    /// Units in this phase.
    public var total: Int

    /// Progress of `done` units of `total` in `phase`.
    public init(phase: Phase, done: Int, total: Int) {
        self.phase = phase
        self.done = done
        self.total = total
    }

    /// The fraction of the phase done, from 0 to 1.
    public var fraction: Double { total > 0 ? min(1, max(0, Double(done) / Double(total))) : 1 }
}

/// The progress of a build: ``WorkProgress``, by its earlier name.
@available(*, deprecated, renamed: "WorkProgress")
public typealias BuildProgress = WorkProgress
