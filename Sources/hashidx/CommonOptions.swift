import ArgumentParser
import HashIdx

/// How hard a search looks and how it ranks: the options of every command that searches
/// (`query`, `eval`), declared once. `eval` sweeps comma-separated lists of probes and
/// candidates; `query` takes one value of each.
struct SearchTuningOptions: ParsableArguments {
    @Option(help: "Partitions scanned per query, in an index built with partitions (more: better recall, slower); eval sweeps a comma-separated list. (default: the index's: tuned by `build --target-recall`, else \(SearchOptions.defaultProbes); `hashidx info` shows it)")
    var probes: String?

    @Option(help: "Hamming candidates re-ranked by exact cosine (more: better recall, slower); eval sweeps a comma-separated list. (default: the index's: tuned by `build --target-recall`, else \(SearchOptions.defaultCandidates))")
    var candidates: String?

    @Option(help: "Asymmetric pass: the Hamming scan keeps candidates × this many, re-scored by bit planes (1: off).")
    var shortlist: Int = SearchOptions.defaultShortlistFactor

    @Option(help: "Final ranking: cosine, learned or blend (default: the index's; `hashidx info` shows it).")
    var rerank: Rerank?

    @Option(name: .customLong("blend-weight"), help: "Weight of the learned score in the blend ranking, 0…1 (default: the index's).")
    var blendWeight: Float?

    /// The values of `--probes` (`nil`: not given, the index's).
    func probeList() throws(HashIdxError) -> [Int]? {
        try probes.map { (text) throws(HashIdxError) in try Self.positiveList(text, name: "probes") }
    }

    /// The values of `--candidates` (`nil`: not given, the index's).
    func candidateList() throws(HashIdxError) -> [Int]? {
        try candidates.map { (text) throws(HashIdxError) in try Self.positiveList(text, name: "candidates") }
    }

    /// The search options of one query: one value of `--probes` and of `--candidates`.
    func searchOptions(k: Int, filter: Filter?, fields: [String]) throws(HashIdxError) -> SearchOptions {
        func single(_ list: [Int]?, _ name: String) throws(HashIdxError) -> Int? {
            guard let list else { return nil }
            guard list.count == 1 else {
                throw .invalidArgument(name: name, reason: "takes one value here (`hashidx eval` sweeps lists), got \(list.count)")
            }
            return list[0]
        }
        return SearchOptions(k: k, candidates: try single(try candidateList(), "candidates"),
                             probes: try single(try probeList(), "probes"), shortlistFactor: shortlist,
                             filter: filter, fields: fields, rerank: rerank, blendWeight: blendWeight)
    }

    /// The positive integers of a comma-separated list.
    static func positiveList(_ text: String, name: String) throws(HashIdxError) -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Int(part.filter { $0 != " " }), v > 0 else {
                throw .invalidArgument(name: name, reason: "'\(part)' is not a positive integer")
            }
            out.append(v)
        }
        guard !out.isEmpty else { throw .invalidArgument(name: name, reason: "give at least one value") }
        return out
    }
}

/// `--where`: the filter of every command that can narrow the items it works on (`query`,
/// `eval`, `cluster`, `groundtruth`).
struct WhereOption: ParsableArguments {
    @Option(name: .customLong("where"), help: "Only items whose attributes satisfy this filter, e.g. 'price < 50 and in_stock' (docs/FILTERS.md).")
    var expression: String?

    /// The parsed filter, if one was given.
    func filter() throws(HashIdxError) -> Filter? {
        try expression.map { (text) throws(HashIdxError) in try Filter(text) }
    }
}

/// `--threads`: the threads of every command that works on all cores by default.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Threads to work on (default: all cores).")
    var threads: Int?

    /// `--threads`, checked.
    func value() throws(HashIdxError) -> Int? {
        if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
        return threads
    }
}
