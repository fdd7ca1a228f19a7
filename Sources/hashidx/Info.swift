import ArgumentParser
import HashIdx

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe an index: size, settings, format.",
        discussion: """
        Example:

          hashidx info words.hidx
          hashidx info words.hidx --verify     # also read and check every block

        Opening already checks the structure and the checksums of the codes and
        metadata; --verify also checks every vector and id block.
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Flag(help: "Read every vector and id block and check its checksum.")
    var verify = false

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let index = try Index(path: self.index)
            if verify {
                let progress = ProgressReporter()
                try index.verify { progress.report($0) }
                progress.finish()
            }
            let raw = index.count * index.dimension * 4
            let codecs = Set(index.vectorCodecs.map(\.description)).sorted().joined(separator: ", ")
            print("""
            index:            \(index.path)
            format version:   \(index.formatVersion)
            generation:       \(index.generation)
            items:            \(index.count)\(index.deletedCount > 0 ? " live, \(index.deletedCount) deleted (rows \(index.rowCount))" : "")
            dimension:        \(index.dimension)
            bits:             \(index.bits)
            shards:           \(index.shardCount)\(index.logLength > 0 ? " (+ \(index.bufferedCount) items in the write log, \(formatBytes(index.logLength)); `hashidx compact` writes them to shards)" : "")
            partitions:       \(index.partitionCount == 0 ? "none (every query scans every code)" : String(index.partitionCount))
            ids:              \(index.hasStringIDs ? "strings (ids file)" : "row numbers")
            bytes on disk:    \(formatBytes(index.bytesOnDisk)), \(formatFixed(Double(index.bytesOnDisk) / Double(raw), 2))× the raw float32 vectors
            vector type:      \(index.vectorType)
            vector codec:     \(codecs), float32 bytes / stored bytes \(formatFixed(index.vectorCompressionRatio, 3))
            id codec:         \(index.hasStringIDs ? Set(index.idCodecs.map(\.description)).sorted().joined(separator: ", ") + ", compression ratio " + formatFixed(index.idCompressionRatio, 3) : "-")
            hashing:          \(index.model.scheme)
            training sample:  \(index.training.sampleSize) rows, \(trainingSteps(index)), seed \(index.training.seed)
            ranking:          \(index.rerank)\(index.rerank == .blend ? " (learned weight \(formatFixed(Double(index.blendWeight), 2)))" : "")\(index.rerank == .cosine ? " (exact cosine on the stored vectors)" : index.rerank == .learned ? " (the learned codes' score; --rerank cosine for exact cosine)" : "")
            default search:   \(defaultSearch(index))
            """)
            if !index.attributeSchema.isEmpty {
                print("attributes:       " + index.attributeSchema.keys.sorted().map { "\($0) (\(index.attributeSchema[$0]!))" }.joined(separator: ", "))
                print("attribute bytes:  \(formatBytes(index.attributeBytes)), \(formatFixed(Double(index.attributeBytes) / Double(max(1, index.rowCount)), 1)) per row")
            }
            if index.deletedCount > 0 || index.shardCount > 1 {
                print("reclaimable:      \(formatBytes(index.reclaimableBytes)) by `hashidx compact`")
                for s in index.shardStatistics {
                    print("  \(s.fileName): \(s.rows - s.deleted) live of \(s.rows) rows, \(formatBytes(s.bytes))")
                }
            }
            if let drift = index.drift {
                let advice = drift.ratio > Index.Drift.retrainAbove
                    ? "high: the partitions no longer fit the data; run `hashidx compact --retrain`"
                    : "fine (retraining advised above \(formatFixed(Index.Drift.retrainAbove, 2)))"
                print("drift:            \(formatFixed(drift.ratio, 2)) — the \(drift.recentRows) rows written since training sit \(formatFixed(drift.ratio, 2))× as far from their centroids as the training rows (mean cosine \(formatFixed(drift.recentFit, 3)) against \(formatFixed(drift.trainingFit, 3))); \(advice)")
            }
            if index.partitionArenaBytes > 0 {
                print("partition arena:  \(formatBytes(index.partitionArenaBytes)) in memory (the live codes of the smaller shards, copied at open: one run per probed partition)")
            }
            if let balance = index.listBalance {
                let drift = IndexWriter.MergePolicy().partitionDrift, due = drift * drift
                let since = balance.atFit.map { "; \(formatFixed($0, 2)) when the partitions were fitted, \(formatFixed(balance.current / $0, 2))× since" } ?? ""
                // (Indexes with string ids get bounded rebalancing steps as well as refits.)
                let advice = balance.ratio.map {
                    switch ($0 >= due, index.hasStringIDs) {
                    case (true, true): "lists crowded since the fit; `hashidx compact --rebalance` splits the long ones (`--maintain` refits all)"
                    case (true, false): "lists crowded since the fit; `hashidx compact --maintain` fits the partitions again"
                    case (false, true): "fine (the merge policy splits lists over twice the mean from \(formatFixed(drift, 2))× the fit's)"
                    case (false, false): "fine (the merge policy fits the partitions again from \(formatFixed(due, 2))× the fit's)"
                    }
                } ?? "not recorded at the fit (an index written before the figure)"
                print("list balance:     \(formatFixed(balance.current, 2)) (items a one-list probe scans over the mean list\(since)); \(advice)")
            }
            if let growth = index.growth, growth != 1 {
                let advice = growth >= Index.growthRetrainAbove
                    ? "each probe scans \(formatFixed(growth, 1))× the rows it did; `hashidx compact --retrain` re-partitions for this size"
                    : "fine (retraining advised from \(formatFixed(Index.growthRetrainAbove, 1))×)"
                print("growth:           \(formatFixed(growth, 2))× the rows the partitions were trained on; \(advice)")
            }
            if verify { print("verify:           every block checked, no corruption") }
        }
    }
}

/// What training did beyond the sample, as the model's scheme says: ITQ iterations run, or
/// none for a random frame.
private func trainingSteps(_ index: Index) -> String {
    switch index.model.scheme {
    case .pcaITQ: return "PCA + \(index.training.iterationsRun(by: .pcaITQ)) ITQ iterations"
    case .centredRandomFrame: return "random frame (no ITQ: bits > dimension)"
    case .supervised:
        let start = index.bits <= index.dimension ? "PCA + \(index.training.iterations) ITQ iterations" : "random frame"
        guard let s = index.training.supervision else { return start + ", then a supervised head" }
        let what = s.kind == .labels ? "\(s.examples) labelled rows, \(s.classes) labels" : "\(s.examples) pairs"
        let form = index.model.hidden.map { "two-layer head (\($0.units) hidden units)" } ?? "linear head"
        return start + ", then a \(form) trained on \(s.kind) (\(what), weight \(formatFixed(Double(s.weight), 2)), \(s.epochs) epochs)"
    }
}

/// The probes and candidates a search runs unless told otherwise, and where they come from.
private func defaultSearch(_ index: Index) -> String {
    let probes = index.partitionCount == 0 ? "" : "probes \(index.defaultProbes), "
    guard let tuned = index.tunedSearch else {
        return probes + "candidates \(index.defaultCandidates) (the built-in defaults; `hashidx build --target-recall 0.95` tunes them for the data)"
    }
    return probes + "candidates \(index.defaultCandidates), tuned for recall@10 \(formatFixed(tuned.targetRecall, 3)) "
        + "(reached \(formatFixed(tuned.measuredRecall, 3)) on \(tuned.sampleQueries) of its rows)"
}
