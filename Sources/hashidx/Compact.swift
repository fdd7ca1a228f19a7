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
          hashidx compact words.hidx --retrain     # new model and partitions

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
            let s = try writer.compact(retrain: retrain, options: options)
            if s.rewrittenShards == 0 {
                print("nothing to compact in \(index): no deletions and no small shards to merge")
                return
            }
            print("""
            committed generation \(s.generation) of \(index)
              rewritten shards: \(s.rewrittenShards)
              shards now:       \(s.shards)
              bytes before:     \(formatBytes(s.bytesBefore))
              bytes after:      \(formatBytes(s.bytesAfter))
              seconds:          \(formatFixed(s.seconds, 2))
            """)
        }
    }
}
