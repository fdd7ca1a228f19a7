import ArgumentParser
import HashIdx

struct GroundTruth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groundtruth",
        abstract: "Compute exact cosine nearest neighbours by brute force, on all cores.",
        discussion: """
        Writes, for each query, the row numbers of the k most cosine-similar base
        vectors, best first, as .npy (int32), .ivecs or .ibin — the ground truth for
        `hashidx eval`.

        Example:

          hashidx groundtruth base.npy queries.npy --k 100 -o gt.npy
          hashidx eval base.hidx --queries queries.npy --ground-truth gt.npy --k 10

        Filtered ground truth (only base rows whose attributes satisfy the filter;
        a query with fewer than k matches gets -1 after them):

          hashidx groundtruth base.npy queries.npy --k 10 --attributes attrs.jsonl \
              --where 'price < 50 and in_stock' -o gt-cheap.npy
        """
    )

    @Argument(help: "The base vectors (.npy, .fvecs, .fbin), in the order they were indexed.")
    var base: String

    @Argument(help: "The query vectors.")
    var queries: String

    @Option(help: "Neighbours per query.")
    var k: Int = 100

    @Option(name: .shortAndLong, help: "The output file (.npy, .ivecs or .ibin).")
    var output: String

    @Option(help: "The base rows' attributes (JSON lines, as for `hashidx build --attributes`); needed by --where.")
    var attributes: String?

    @OptionGroup var filter: WhereOption

    @OptionGroup var threads: ThreadsOption

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let baseFile = try VectorFile(path: base)
            let queryFile = try VectorFile(path: queries)
            guard k > 0 else { throw .invalidArgument(name: "k", reason: "must be positive, got \(k)") }
            guard k <= baseFile.count else {
                throw .invalidArgument(name: "k", reason: "\(k) is more than the \(baseFile.count) base rows")
            }
            let total = queryFile.count
            let start = ProgressReporter.now()
            guard (filter.expression == nil) == (attributes == nil) else {
                throw .invalidArgument(name: "where", reason: "--where and --attributes go together")
            }
            let parsed = try filter.filter()
            let threads = try threads.value()
            let table = try attributes.map { (p) throws(HashIdxError) in try AttributesFile.read(path: p, rows: baseFile.count) }
            let reporter = ProgressReporter()
            let progress: @Sendable (Int) -> Void = { reporter.report(WorkProgress(phase: .searching, done: $0, total: total)) }
            defer { reporter.finish() }
            let results: [[Int]]
            if let parsed, let table {
                results = try ExactSearch.topK(base: baseFile, queries: queryFile, k: k, filter: parsed, attributes: table,
                                               threads: threads, progress: progress)
            } else {
                results = try ExactSearch.topK(base: baseFile, queries: queryFile, k: k, threads: threads, progress: progress)
            }
            try GroundTruthFile.write(results, to: output)
            print("wrote \(output): \(total) queries × \(k) neighbours in \(formatFixed(ProgressReporter.now() - start, 2)) s")
        }
    }
}
