import ArgumentParser
import HashIdx
import Synchronization

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

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let baseFile = try VectorFile(path: base)
            let queryFile = try VectorFile(path: queries)
            guard k > 0 else { throw .invalidArgument(name: "k", reason: "must be positive, got \(k)") }
            guard k <= baseFile.count else {
                throw .invalidArgument(name: "k", reason: "\(k) is more than the \(baseFile.count) base rows")
            }
            let total = queryFile.count
            let start = ProgressMeter.now()
            let lastShown = Atomic<Int>(-1)   // (an atomic: ThreadSanitizer does not see Mutex's lock)
            let results = try ExactSearch.topK(base: baseFile, queries: queryFile, k: k, threads: threads) { done in
                let percent = done * 10 / max(total, 1)
                var last = lastShown.load(ordering: .relaxed)
                var show = false
                while percent > last {
                    let (exchanged, seen) = lastShown.compareExchange(expected: last, desired: percent, ordering: .relaxed)
                    if exchanged { show = true; break }
                    last = seen
                }
                if show {
                    let rate = Double(done) / max(ProgressMeter.now() - start, 1e-9)
                    writeStderr("groundtruth: \(done)/\(total) queries, \(Int(rate)) queries/s\n")
                }
            }
            try GroundTruthFile.write(results, to: output)
            print("wrote \(output): \(total) queries × \(k) neighbours in \(formatFixed(ProgressMeter.now() - start, 2)) s")
        }
    }
}
