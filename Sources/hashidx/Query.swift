import ArgumentParser
import HashIdx

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, jsonl
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the items most similar to a vector, to an item, or to each row of a file.",
        discussion: """
        Give exactly one of --vector, --id or --queries.

        Examples:

          hashidx query words.hidx --id paris --k 5
          hashidx query words.hidx --vector "0.1,-0.3,…" --k 10 --format json
          hashidx query words.hidx --queries queries.npy --k 10 --format jsonl

        Scores are cosine similarities. --id leaves the item itself out of its
        results.

        Filters (an index built with --attributes):

          hashidx query shop.hidx --id sku-17 --k 10 \
              --where 'category = "dress" and price < 50 and in_stock' --fields price,category

        Operators: = != < <= > >=, in (…), not in (…), contains (lists of strings),
        is null, is not null, and, or, not, parentheses; a bare boolean attribute
        means it is true. Strings are double-quoted. Every result satisfies the
        filter; fewer than k come back when fewer items match.
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Option(help: "How many results per query.")
    var k: Int = 10

    @Option(help: "A query vector: comma-separated numbers.")
    var vector: String?

    @Option(help: "The id of an item in the index: find items like it.")
    var id: String?

    @Option(help: "A vectors file (.npy, .fvecs, .fbin): one query per row.")
    var queries: String?

    @Option(name: .customLong("where"), help: "Only items whose attributes satisfy this filter, e.g. 'price < 50 and in_stock'.")
    var filter: String?

    @Option(help: "Comma-separated attributes to print with each result.")
    var fields: String?

    @Option(help: "Hamming candidates re-ranked by exact cosine (more: better recall, slower).")
    var candidates: Int = SearchOptions.defaultCandidates

    @Option(help: "Partitions scanned per query, in an index built with partitions (more: better recall, slower).")
    var probes: Int = SearchOptions.defaultProbes

    @Option(help: "Asymmetric pass: the Hamming scan keeps candidates × this many, re-scored by bit planes (1: off).")
    var shortlist: Int = SearchOptions.defaultShortlistFactor

    @Option(help: "Final ranking: cosine, learned or blend (default: the index's; `hashidx info` shows it).")
    var rerank: Rerank?

    @Option(name: .customLong("blend-weight"), help: "Weight of the learned score in the blend ranking, 0…1 (default: the index's).")
    var blendWeight: Float?

    @Option(help: "Threads for --queries (default: all cores).")
    var threads: Int?

    @Option(help: "Output: table, json (one document) or jsonl (one line per query).")
    var format: OutputFormat = .table

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let given = [vector != nil, id != nil, queries != nil].filter { $0 }.count
            guard given == 1 else {
                throw .invalidArgument(name: "query", reason: "give exactly one of --vector, --id or --queries")
            }
            if let threads, threads <= 0 { throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)") }
            let options = SearchOptions(k: k, candidates: candidates, probes: probes, shortlistFactor: shortlist,
                                        filter: try filter.map { (f) throws(HashIdxError) in try Filter(f) },
                                        fields: fieldList(fields), rerank: rerank, blendWeight: blendWeight)
            try options.validate()
            let index = try Index(path: self.index)
            var labelled: [(label: String, results: [SearchResult])] = []
            if let vector {
                let values = try parseVector(vector)
                labelled = [("vector", try index.search(values, options: options))]
            } else if let id {
                labelled = [(id, try index.search(similarToID: id, options: options))]
            } else if let queries {
                let file = try VectorFile(path: queries)
                let results = try index.search(batch: file, options: options, threads: threads)
                labelled = results.enumerated().map { (String($0.offset), $0.element) }
            }
            print(render(labelled), terminator: "")
        }
    }

    func parseVector(_ text: String) throws(HashIdxError) -> [Float] {
        var out: [Float] = []
        for (i, part) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let t = part.filter { $0 != " " }
            guard let v = Float(t) else {
                throw .invalidArgument(name: "vector", reason: "element \(i) ('\(part)') is not a number")
            }
            out.append(v)
        }
        return out
    }

    func render(_ all: [(label: String, results: [SearchResult])]) -> String {
        switch format {
        case .table:
            var s = ""
            for (n, q) in all.enumerated() {
                if n > 0 { s += "\n" }
                s += "query \(q.label)\n"
                let width = max(2, q.results.map { $0.id.count }.max() ?? 2)
                s += "rank  " + "id".padding(width) + "  score\n"
                for (r, hit) in q.results.enumerated() {
                    s += String(r + 1).padding(4) + "  " + hit.id.padding(width) + "  " + formatFixed(Double(hit.score), 4)
                    s += hit.attributes.isEmpty ? "\n" : "  " + jsonObject(hit.attributes) + "\n"
                }
            }
            return s
        case .json:
            let items = all.map { q in "{\"query\":\(jsonString(q.label)),\"results\":\(jsonResults(q.results))}" }
            return "{\"k\":\(k),\"queries\":[\(items.joined(separator: ","))]}\n"
        case .jsonl:
            return all.map { q in "{\"query\":\(jsonString(q.label)),\"results\":\(jsonResults(q.results))}\n" }.joined()
        }
    }

    func jsonResults(_ r: [SearchResult]) -> String {
        "[" + r.enumerated().map { i, hit in
            "{\"rank\":\(i + 1),\"id\":\(jsonString(hit.id)),\"score\":\(formatFixed(Double(hit.score), 6))"
                + (fields == nil ? "}" : ",\"attributes\":\(jsonObject(hit.attributes))}")
        }.joined(separator: ",") + "]"
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// `s` as a JSON string literal.
func jsonString(_ s: String) -> String { AttributeValue.string(s).description }

/// `attributes` as one JSON object, keys sorted.
func jsonObject(_ attributes: Attributes) -> String {
    "{" + attributes.keys.sorted().map { "\(jsonString($0)):\(attributes[$0]!)" }.joined(separator: ",") + "}"
}

/// The attribute names of a comma-separated `--fields` list.
func fieldList(_ text: String?) -> [String] {
    (text ?? "").split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
}
