import ArgumentParser
import HashIdx

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure recall and speed against ground truth, as ann-benchmarks does.",
        discussion: """
        For each pair of --probes and --candidates values: recall@k, candidate
        recall (true top-k among the candidates that reach the exact re-rank),
        queries/s one query at a time on one thread, batch queries/s on --threads
        threads, and latency p50/p95/p99. Also the time to open the index and the
        process's peak resident memory.

        Example (the GloVe words shipped in Data/; `hashidx groundtruth` writes the
        exact neighbours of any queries):

          hashidx build Data/glove-20k.npy -o words.hidx
          hashidx groundtruth Data/glove-20k.npy Data/glove-20k.npy --k 10 -o gt.npy
          hashidx eval words.hidx --queries Data/glove-20k.npy --ground-truth gt.npy \\
              --k 10 --limit 1000 --probes 8,16 --candidates 100,200 --format json

        Ground truth: .npy (int32/int64, queries × ≥k), .ivecs or .ibin; row numbers
        of the indexed vectors, best first.

        With --where, the ground truth must be filtered the same way
        (`hashidx groundtruth --where … --attributes …`).

        With --labels (one per row of the index) and --query-labels, also mAP@k and
        precision@10 with "shares a label" as relevance, beside recall@10 against
        the cosine ground truth (which may then hold fewer than k neighbours):

          hashidx eval shop.hidx --queries q.npy --ground-truth gt.npy --k 1000 \
              --candidates 1000 --labels base_labels.npy --query-labels query_labels.npy
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Option(help: "Query vectors (.npy, .fvecs, .fbin).")
    var queries: String

    @Option(name: .customLong("ground-truth"), help: "True neighbours per query (.npy, .ivecs, .ibin).")
    var groundTruth: String

    @Option(help: "k of recall@k.")
    var k: Int = 10

    @OptionGroup(title: "Search") var tuning: SearchTuningOptions

    @OptionGroup var threads: ThreadsOption

    @Option(help: "Use only the first N queries.")
    var limit: Int?

    @OptionGroup var filter: WhereOption

    @Option(help: "Labels of the index's rows (text: one line per row, comma-separated; or .npy integers) for mAP and precision@10.")
    var labels: String?

    @Option(name: .customLong("query-labels"), help: "Labels of the queries, in the same format (required with --labels).")
    var queryLabels: String?


    @Option(help: "Output: table or json.")
    var format: OutputFormat = .table

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let sweep = try tuning.candidateList()
            let probeSweep = try tuning.probeList()
            if let limit, limit <= 0 { throw .invalidArgument(name: "limit", reason: "must be positive, got \(limit)") }
            let file = try VectorFile(path: queries)
            let source: any VectorSource = limit.map { PrefixVectors(base: file, count: min($0, file.count)) } ?? file
            let truth = try GroundTruthFile(path: groundTruth)
            guard (labels == nil) == (queryLabels == nil) else {
                throw .invalidArgument(name: labels == nil ? "labels" : "query-labels", reason: "give both --labels (the index's rows) and --query-labels (the queries)")
            }
            var relevance: Evaluation.LabelRelevance? = nil
            if let labels, let queryLabels {
                relevance = Evaluation.LabelRelevance(rows: try RowLabels.read(path: labels), queries: try RowLabels.read(path: queryLabels))
            }
            let progress = ProgressReporter()
            let report = try Evaluation.run(indexPath: index, queries: source, groundTruth: truth, k: k,
                                            candidates: sweep, probes: probeSweep, shortlistFactor: tuning.shortlist,
                                            threads: try threads.value(), filter: try filter.filter(),
                                            labels: relevance, rerank: tuning.rerank, blendWeight: tuning.blendWeight) {
                progress.report($0)
            }
            progress.finish()
            print(format == .table ? table(report) : json(report), terminator: "")
        }
    }

    func table(_ r: Evaluation.Report) -> String {
        var s = "index \(index): \(r.rows) rows, dim \(r.dimension), \(r.bits) bits; \(r.queries) queries, k \(r.k), ranking \(r.rerank)\n"
        s += "open \(formatFixed(r.openMilliseconds, 2)) ms, peak RSS \(formatBytes(r.peakRSSBytes))\n"
        let labelled = r.points.first?.meanAveragePrecision != nil
        if labelled { s += "labels: mAP@\(r.k) and precision@10 with \"shares a label\" as relevance\n" }
        s += "probes  candidates  recall@\(r.recallDepth)  cand.recall" + (labelled ? "  recall@10  mAP@\(r.k)  P@10  " : "") + "  QPS(1 thr)  QPS(\(r.threads) thr)  p50 ms  p95 ms  p99 ms\n"
        for p in r.points {
            s += String(p.probes).padding(6) + "  " + String(p.candidates).padding(10) + "  " + formatFixed(p.recall, 4).padding(9) + "  "
            s += formatFixed(p.candidateRecall, 4).padding(11) + "  "
            if let map = p.meanAveragePrecision, let p10 = p.precisionAt10 {
                s += formatFixed(p.recallAt10, 4).padding(9) + "  " + formatFixed(map, 4).padding(6 + String(r.k).count) + "  "
                    + formatFixed(p10, 4).padding(6) + "  "
            }
            s += formatFixed(p.qps, 0).padding(10) + "  "
            s += formatFixed(p.batchQPS, 0).padding(10 + String(r.threads).count - 1) + "  " + formatFixed(p.p50ms, 3).padding(6) + "  "
            s += formatFixed(p.p95ms, 3).padding(6) + "  " + formatFixed(p.p99ms, 3)
            if let plan = p.plan, let us = p.planMicroseconds { s += "  plan: \(plan), \(formatFixed(us, 1)) µs" }
            s += "\n"
        }
        return s
    }

    func json(_ r: Evaluation.Report) -> String {
        let points = r.points.map { p in
            "{\"probes\":\(p.probes),\"candidates\":\(p.candidates),\"recall\":\(formatFixed(p.recall, 6)),\"candidate_recall\":\(formatFixed(p.candidateRecall, 6)),"
                + "\"qps\":\(formatFixed(p.qps, 2)),\"batch_qps\":\(formatFixed(p.batchQPS, 2)),"
                + "\"recall_at_10\":\(formatFixed(p.recallAt10, 6)),"
                + (p.meanAveragePrecision.map { "\"map\":\(formatFixed($0, 6)),\"precision_at_10\":\(formatFixed(p.precisionAt10 ?? 0, 6))," } ?? "")
                + "\"p50_ms\":\(formatFixed(p.p50ms, 4)),\"p95_ms\":\(formatFixed(p.p95ms, 4)),\"p99_ms\":\(formatFixed(p.p99ms, 4))"
                + (p.plan.map { ",\"plan\":\(jsonString($0)),\"plan_us\":\(formatFixed(p.planMicroseconds ?? 0, 2))" } ?? "") + "}"
        }
        return "{\"index\":\(jsonString(index)),\"rows\":\(r.rows),\"dim\":\(r.dimension),\"bits\":\(r.bits),"
            + "\"queries\":\(r.queries),\"k\":\(r.k),\"threads\":\(r.threads),\"rerank\":\"\(r.rerank)\",\"recall_depth\":\(r.recallDepth),"
            + "\"open_ms\":\(formatFixed(r.openMilliseconds, 3)),\"peak_rss_bytes\":\(r.peakRSSBytes),"
            + "\"settings\":[\(points.joined(separator: ","))]}\n"
    }
}

/// The first `count` rows of another source.
struct PrefixVectors: VectorSource {
    let base: any VectorSource
    let count: Int
    var dimension: Int { base.dimension }
    var name: String { base.name }
    func copyRow(_ row: Int, into buffer: UnsafeMutableBufferPointer<Float>) { base.copyRow(row, into: buffer) }
}
