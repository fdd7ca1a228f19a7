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
          hashidx compact words.hidx --retrain     # new model and partitions

        --maintain fits the partitions again to the live items without retraining
        the hash function: lists that grew split in two, lists that shrank merge
        into their neighbours, every shard is rewritten into them (--partitions N
        sets their count; by default the index's, scaled with the square root of
        how much it grew or shrank). Commits do this on their own once the count
        is off by 1.15x (`hashidx add`/`delete` without --no-merge).

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
