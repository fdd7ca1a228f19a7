import ArgumentParser
import HashIdx
import HashIdxService

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

    @OptionGroup var filter: WhereOption

    @Option(help: "Comma-separated attributes to print with each result.")
    var fields: String?

    @OptionGroup(title: "Search") var tuning: SearchTuningOptions

    @OptionGroup var threads: ThreadsOption

    @Option(help: "Output: table, json (one document) or jsonl (one line per query).")
    var format: OutputFormat = .table

    func run() throws {
        try runReportingErrors { () throws(HashIdxError) in
            let given = [vector != nil, id != nil, queries != nil].filter { $0 }.count
            guard given == 1 else {
                throw .invalidArgument(name: "query", reason: "give exactly one of --vector, --id or --queries")
            }
            let threads = try threads.value()
            let options = try tuning.searchOptions(k: k, filter: try filter.filter(), fields: fieldList(fields))
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
        ResponseEncoder.results(r, withAttributes: fields != nil)
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// `s` as a JSON string literal.
func jsonString(_ s: String) -> String { ResponseEncoder.string(s) }

/// `attributes` as one JSON object, keys sorted.
func jsonObject(_ attributes: Attributes) -> String { ResponseEncoder.object(attributes) }

/// The attribute names of a comma-separated `--fields` list.
func fieldList(_ text: String?) -> [String] {
    (text ?? "").split(separator: ",").map { String($0.filter { $0 != " " }) }.filter { !$0.isEmpty }
}
