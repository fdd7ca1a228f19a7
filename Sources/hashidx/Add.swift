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

    @Flag(help: "Replace the items whose ids exist already.")
    var upsert = false

    @Option(help: "Threads for hashing the rows (default: all cores).")
    var threads: Int?

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let source = try VectorFile(path: vectors)
            let list = try ids.map { (p) throws(HashIdxError) in try IDList.read(path: p) }
            let writer = try IndexWriter(path: index, threads: threads, holder: "hashidx add")
            defer { writer.close() }
            if upsert {
                guard let list else { throw .invalidArgument(name: "upsert", reason: "needs --ids (the ids of the items to replace)") }
                try writer.upsert(source, ids: list)
            } else {
                try writer.add(source, ids: list)
            }
            let s = try writer.commit()
            print("""
            committed generation \(s.generation) of \(index)
              added:    \(s.added)
              replaced: \(s.deleted)
              items:    \(s.count)
              seconds:  \(formatFixed(s.seconds, 3))
            """)
        }
    }
}
