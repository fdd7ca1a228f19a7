import ArgumentParser
import HashIdx

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete items from an index.",
        discussion: """
        Deleted items never appear in a result again, from the moment the command
        commits. Their rows stay in the shard files, marked in a deletion bitmap,
        until `hashidx compact` rewrites the shard.

        Examples:

          hashidx delete words.hidx --id paris --id london
          hashidx delete words.hidx --ids gone.txt --ignore-missing

        An id that no item has is an error (nothing is deleted) unless
        --ignore-missing; either way the unknown ids are listed on stderr.
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Option(name: .customLong("id"), help: "An id to delete (repeatable).")
    var id: [String] = []

    @Option(help: "A text file with one id per line to delete.")
    var ids: String?

    @Flag(name: .customLong("ignore-missing"), help: "Skip ids that no item has instead of failing.")
    var ignoreMissing = false

    @Flag(name: .customLong("log"), help: "Commit to the index's write log (one synced append, no shard written): the change is durable and every reader sees it, searched from memory, until a commit without --log or `hashidx compact` writes the log to shards.")
    var log = false

    @Flag(name: .customLong("no-merge"), help: "Do not compact after the commit, whatever the merge policy says (a fifth of a shard deleted, or more than 2 small shards of like size).")
    var noMerge = false

    @Flag(name: .customLong("no-maintain"), help: "Do not fit the partitions again after the commit, even when the items grew, shrank or crowded a few lists well past what they were fitted to (`hashidx compact --maintain` does it later).")
    var noMaintain = false

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            var list = id
            if let ids { list += try IDList.read(path: ids) }
            guard !list.isEmpty else { throw .invalidArgument(name: "ids", reason: "give --id ID (repeatable) or --ids FILE") }
            let writer = try IndexWriter(path: index, holder: "hashidx delete")
            defer { writer.rollback(); try? writer.close() }   // an error drops what was not committed
            if noMerge { writer.mergePolicy = nil }
            if noMaintain, var policy = writer.mergePolicy { policy.partitionDrift = .infinity; writer.mergePolicy = policy }
            let missing = try writer.delete(ids: list, ignoringMissing: ignoreMissing)
            for m in missing.prefix(20) { writeStderr("hashidx: no item has id \(m)\n") }
            if missing.count > 20 { writeStderr("hashidx: … and \(missing.count - 20) more unknown ids\n") }
            let progress = ProgressReporter()
            let s = try writer.commit(durability: log ? .log : .shards) { progress.report($0) }
            progress.finish()
            print("""
            committed generation \(s.generation) of \(index)
              deleted:  \(s.deleted)
              unknown:  \(missing.count)
              items:    \(s.count)
              merged:   \(s.merged.map { "\($0.rewrittenShards) shards rewritten into generation \($0.generation)" } ?? "no")
              seconds:  \(formatFixed(s.seconds, 3))
            """)
        }
    }
}
