import ArgumentParser
import HashIdx

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add items to an index without rebuilding it.",
        discussion: """
        New rows are hashed with the index's own model and assigned to its
        partitions; they land in a new shard and become visible all at once when
        the command commits (readers that have the index open keep their snapshot).

        Examples:

          hashidx add words.hidx more.npy --ids more.txt
          hashidx add words.hidx changed.npy --ids changed.txt --upsert
          hashidx add words.hidx feed.npy --ids feed.txt --upsert --commit-every 1000

        An id that is already an item's is an error unless --upsert, which replaces
        that item in the same commit. In an index built without --ids the added
        rows get the next row numbers as ids (give no --ids).
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Argument(help: "The vectors file (.npy, .fvecs or .fbin) of the rows to add.")
    var vectors: String

    @Option(help: "A text file with one UTF-8 id per line, one per row.")
    var ids: String?

    @Option(help: "A JSON-lines file of the added items' attributes: one object per row, or each keyed by its id (\"_id\").")
    var attributes: String?

    @Flag(help: "Replace the items whose ids exist already.")
    var upsert = false

    @Option(name: .customLong("commit-every"), help: "Commit after every N rows (each commit durable) instead of once at the end.")
    var commitEvery: Int?

    @Option(help: "Threads for hashing the rows (default: all cores).")
    var threads: Int?

    @Flag(name: .customLong("log"), help: "Commit to the index's write log (one synced append, no shard written): the change is durable and every reader sees it, searched from memory, until a commit without --log or `hashidx compact` writes the log to shards.")
    var log = false

    @Flag(name: .customLong("no-merge"), help: "Do not compact after the commit, whatever the merge policy says (a fifth of a shard deleted, or more than 2 small shards of like size).")
    var noMerge = false

    @Flag(name: .customLong("no-maintain"), help: "Do not fit the partitions again after the commit, even when the items grew, shrank or crowded a few lists well past what they were fitted to (`hashidx compact --maintain` does it later).")
    var noMaintain = false

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let source = try VectorFile(path: vectors)
            let list = try ids.map { (p) throws(HashIdxError) in try IDList.read(path: p) }
            if let list, list.count != source.count { throw .idCountMismatch(path: ids!, ids: list.count, rows: source.count) }
            let table = try attributes.map { (p) throws(HashIdxError) in try AttributesFile.read(path: p, rows: source.count, ids: list) }
            if upsert && list == nil { throw .invalidArgument(name: "upsert", reason: "needs --ids (the ids of the items to replace)") }
            let batch = commitEvery ?? max(1, source.count)
            guard batch > 0 else { throw .invalidArgument(name: "commit-every", reason: "must be positive, got \(batch)") }
            let writer = try IndexWriter(path: index, threads: threads, holder: "hashidx add")
            defer { writer.rollback(); try? writer.close() }   // an error drops what was not committed
            if noMerge { writer.mergePolicy = nil }
            if noMaintain, var policy = writer.mergePolicy { policy.partitionDrift = .infinity; writer.mergePolicy = policy }
            var s = IndexWriter.CommitSummary(generation: writer.generation, added: 0, deleted: 0, count: writer.count, seconds: 0)
            var commits = 0, merges = 0
            var partitions: [String] = []
            let start = ProgressReporter.now()
            let progress = ProgressReporter()
            defer { progress.finish() }
            var lo = 0
            while lo < source.count {
                let hi = min(source.count, lo + batch)
                let rows: any VectorSource
                if lo == 0 && hi == source.count { rows = source } else {
                    var values = [Float](repeating: 0, count: (hi - lo) * source.dimension)
                    values.withUnsafeMutableBufferPointer { b in
                        for r in lo..<hi {
                            source.copyRow(r, into: UnsafeMutableBufferPointer(rebasing: b[((r - lo) * source.dimension)..<((r - lo + 1) * source.dimension)]))
                        }
                    }
                    rows = try InMemoryVectors(values: values, dimension: source.dimension, name: "\(vectors) rows \(lo)..<\(hi)")
                }
                let batchIDs = list.map { Array($0[lo..<hi]) }
                let batchAttributes = table.map { $0.rows(lo..<hi) }
                if upsert { try writer.upsert(rows, ids: batchIDs!, attributes: batchAttributes) } else { try writer.add(rows, ids: batchIDs, attributes: batchAttributes) }
                let c = try writer.commit(durability: log ? .log : .shards) { p in
                    // Rows of the whole file: the batches' encoding adds up.
                    progress.report(p.phase == .encoding ? WorkProgress(phase: .encoding, done: lo + p.done, total: source.count) : p)
                }
                s.generation = c.generation; s.added += c.added; s.deleted += c.deleted; s.count = c.count; s.seconds += c.seconds
                commits += 1
                if c.merged != nil { merges += 1 }
                if let p = c.merged?.partitions { partitions.append("\(p.before) -> \(p.after)") }
                lo = hi
            }
            let elapsed = ProgressReporter.now() - start
            if commits > 1 {
                print("\(commits) commits of up to \(batch) rows: \(formatFixed(Double(source.count) / elapsed, 0)) rows/s, \(formatFixed(elapsed / Double(commits) * 1000, 1)) ms per batch (\(formatFixed(s.seconds / Double(commits) * 1000, 1)) ms of it committing)")
            }
            print("""
            committed \(log ? "to the write log of generation" : "generation") \(s.generation) of \(index)
              added:    \(s.added)
              replaced: \(s.deleted)
              items:    \(s.count)
              merges:   \(merges) (compactions the merge policy ran after a commit)\(partitions.isEmpty ? "" : "\n  partitions maintained: " + partitions.joined(separator: ", "))
              seconds:  \(formatFixed(elapsed, 3))
            """)
        }
    }
}
