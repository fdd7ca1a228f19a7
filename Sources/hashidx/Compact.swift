import ArgumentParser
import HashIdx

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reclaim the space of deleted items and merge small shards.",
        discussion: """
        Rewrites the shards that carry deletions, and the small shards that adds
        left, into full shards of live items in partition order, then commits.
        Readers keep their snapshot until they reopen.

        Examples:

          hashidx compact words.hidx
          hashidx compact words.hidx --maintain    # partitions fitted to the items now
          hashidx compact words.hidx --rebalance   # crowded lists split, list by list
          hashidx compact words.hidx --retrain     # new model and partitions

        --maintain fits the partitions again to the live items without retraining
        the hash function: lists that grew split in two, lists that shrank merge
        into their neighbours, every shard is rewritten into them (--partitions N
        sets their count; by default the index's, scaled with the square root of
        how much it grew or shrank). Commits do this on their own once the count
        is off by 1.15x (`hashidx add`/`delete` without --no-merge).

        --rebalance splits the lists over twice the mean list in two, longest first
        (the halves take the places of lists under half the mean, or, while the
        items ask for more lists, new ones) and moves only the items that change
        lists: deleted where they were, written as a new shard. Each step reads at
        most --max-rows items and is its own generation; steps run until no list is
        due. Commits run such steps on their own as lists grow or crowd. Needs
        string ids (built with --ids).

        --retrain trains a new hash function and new partitions on the live items
        and rewrites every shard: use it when `hashidx info` reports drift. It holds
        the live vectors in memory while it trains.

        In an index built without --ids, dropping deleted rows would renumber the
        rows, so the first compaction that drops any turns the ids into strings:
        every item keeps its number as its id.
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Flag(help: "Train a new model and new partitions on the live items.")
    var retrain = false

    @Flag(help: "Fit the partitions again to the live items (split grown lists, merge shrunk ones); no retraining.")
    var maintain = false

    @Option(help: "With --maintain: the partition count (default: scaled with the square root of the growth).")
    var partitions: Int?

    @Flag(help: "Split crowded lists a bounded step at a time, moving only the items that change lists.")
    var rebalance = false

    @Option(name: .customLong("max-rows"), help: "With --rebalance: items one step reads at most.")
    var maxRows: Int = IndexWriter.MergePolicy.defaultRebalanceRows

    @Option(help: "With --rebalance: steps at most (default: until no list is due).")
    var steps: Int?

    /// Rebalancing steps stop after this many, whatever is left (each is a commit).
    static let maximumSteps = 100_000

    @Option(name: .customLong("shard-size"), help: "Rows per rewritten shard.")
    var shardSize: Int = BuildOptions.defaultShardSize

    @Option(help: "With --retrain: code length in bits, a multiple of 64.")
    var bits: Int = TrainingOptions.defaultBits

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            var options = BuildOptions()
            options.shardSize = shardSize
            options.training.bits = bits
            let writer = try IndexWriter(path: index, holder: "hashidx compact")
            defer { writer.rollback(); try? writer.close() }   // an error drops what was not committed
            // The rewritten shards keep the index's vector type; retraining takes it too.
            options.vectorType = try Index(path: index).vectorType
            guard !(maintain && retrain) else {
                throw .invalidArgument(name: "maintain", reason: "--maintain and --retrain exclude each other (--retrain refits the partitions too)")
            }
            guard partitions == nil || maintain else {
                throw .invalidArgument(name: "partitions", reason: "--partitions goes with --maintain")
            }
            guard !(rebalance && (maintain || retrain)) else {
                throw .invalidArgument(name: "rebalance", reason: "--rebalance excludes --maintain and --retrain (they refit the partitions as a whole)")
            }
            guard (maxRows == IndexWriter.MergePolicy.defaultRebalanceRows && steps == nil) || rebalance else {
                throw .invalidArgument(name: maxRows == IndexWriter.MergePolicy.defaultRebalanceRows ? "steps" : "max-rows",
                                       reason: "--max-rows and --steps go with --rebalance")
            }
            if rebalance { return try runRebalance(writer) }
            let progress = ProgressReporter()
            let s = maintain ? try writer.maintainPartitions(partitions: partitions) { progress.report($0) }
                             : try writer.compact(retrain: retrain, options: options) { progress.report($0) }
            progress.finish()
            if s.rewrittenShards == 0 {
                print("nothing to compact in \(index): no deletions and no small shards to merge")
                return
            }
            print("""
            committed generation \(s.generation) of \(index)
              rewritten shards: \(s.rewrittenShards)\(s.partitions.map { "\n  partitions:       \($0.before) -> \($0.after)" } ?? "")
              shards now:       \(s.shards)
              bytes before:     \(formatBytes(s.bytesBefore))
              bytes after:      \(formatBytes(s.bytesAfter))
              seconds:          \(formatFixed(s.seconds, 2))
            """)
        }
    }
}

extension Compact {
    /// `--rebalance`: steps until no list is due, each committed and reported.
    private func runRebalance(_ writer: IndexWriter) throws(HashIdxError) {
        guard maxRows >= 1 else { throw .invalidArgument(name: "max-rows", reason: "must be at least 1, got \(maxRows)") }
        if let limit = self.steps, !(1...Self.maximumSteps).contains(limit) {
            throw .invalidArgument(name: "steps", reason: "must be 1…\(Self.maximumSteps), got \(limit)")
        }
        let limit = self.steps ?? Self.maximumSteps
        let before = try Index(path: index)
        var steps = 0, seconds = 0.0
        var shape = (partitions: before.partitionCount, balance: before.listBalance?.current ?? 0)
        while steps < limit, let s = try writer.rebalancePartitions(maxRows: maxRows) {
            steps += 1
            seconds += s.seconds
            let p = s.partitions.map { "\($0.before) -> \($0.after)" } ?? "-"
            print("step \(steps): generation \(s.generation), partitions \(p), shards \(s.shards), \(formatFixed(s.seconds, 2)) s")
            // A step that neither added a list nor evened them (rows that do not part) ends it.
            let now = try Index(path: index)
            let next = (partitions: now.partitionCount, balance: now.listBalance?.current ?? 0)
            if next.partitions == shape.partitions && next.balance >= shape.balance - 1e-6 { break }
            shape = next
        }
        guard steps > 0 else {
            print("nothing to rebalance in \(index): no list is over twice the mean list, and the lists are as many as the items ask for")
            return
        }
        let after = try Index(path: index)
        let balance = { (i: Index) in i.listBalance.map { formatFixed($0.current, 2) } ?? "-" }
        print("""
        committed \(steps) rebalancing step\(steps == 1 ? "" : "s") of \(index), up to generation \(after.generation)
          partitions:       \(before.partitionCount) -> \(after.partitionCount)
          list balance:     \(balance(before)) -> \(balance(after))
          bytes before:     \(formatBytes(before.bytesOnDisk))
          bytes after:      \(formatBytes(after.bytesOnDisk))
          seconds:          \(formatFixed(seconds, 2))
        """)
    }
}
