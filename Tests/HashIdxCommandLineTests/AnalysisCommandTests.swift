import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// `hashidx cluster`, `groundtruth` and `eval` with labels, as processes: what they print and
/// write agrees with the library, and their errors are one line with exit status 1.
final class AnalysisCommandTests: XCTestCase {
    func testCluster() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = separatedGroups(groups: 6, perGroup: 60, dim: 16)
        writeNpy(dir + "/v.npy", rows: rows)
        writeFile(dir + "/ids.txt", Array(rows.indices.map { "item \($0) \"q\"\n" }.joined().utf8))
        let index = dir + "/v.hidx"
        let b = try runCLI(["build", dir + "/v.npy", "--ids", dir + "/ids.txt", "-o", index, "--bits", "64"])
        XCTAssertEqual(b.status, 0, b.err)
        let r = try runCLI(["cluster", index, "--clusters", "6", "--output", dir + "/c.jsonl", "--summary", dir + "/s.json",
                            "--representatives", "3", "--neighbours", "2", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("6 clusters of 360 items (generation 1)"), r.out)
        XCTAssertTrue(r.err.contains("reading: 360/360 items (100%)") && r.err.contains("clustering: 1/"), "progress: \(r.err)")
        XCTAssertTrue(r.out.contains("(converged)"), r.out)
        XCTAssertTrue(r.out.contains("cluster  size      mean sim  nearest item\n"), r.out)
        let lines = try String(contentsOfFile: dir + "/c.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 360)
        var clusters: [Int] = []
        for (i, line) in lines.enumerated() {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(Set(o.keys), ["id", "cluster", "similarity"])
            XCTAssertEqual(o["id"] as? String, "item \(i) \"q\"")
            clusters.append(try XCTUnwrap(o["cluster"] as? Int))
            XCTAssertGreaterThan(try XCTUnwrap((o["similarity"] as? NSNumber)?.doubleValue), 0.9)
        }
        XCTAssertEqual(clusterPurity(clusters, labels: rows.indices.map { $0 % 6 }), 1)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/s.json"))) as? [String: Any])
        XCTAssertEqual(summary["items"] as? Int, 360)
        XCTAssertEqual(summary["k"] as? Int, 6)
        XCTAssertEqual(summary["converged"] as? Bool, true)
        let list = try XCTUnwrap(summary["clusters"] as? [[String: Any]])
        XCTAssertEqual(list.map { $0["size"] as? Int }, Array(repeating: 60, count: 6))
        XCTAssertEqual(list.map { ($0["representatives"] as? [[String: Any]])?.count }, Array(repeating: 3, count: 6))
        XCTAssertEqual(list.map { ($0["neighbours"] as? [[String: Any]])?.count }, Array(repeating: 2, count: 6))
        // The library gives the same clusters.
        let lib = try Index(path: index).cluster(options: ClusteringOptions(clusters: 6))
        XCTAssertEqual(lib.assignments.map(\.cluster), clusters)
        // Errors: one line on stderr, exit status 1.
        let zero = try runCLI(["cluster", index, "--clusters", "0", "--output", dir + "/x.jsonl"])
        XCTAssertEqual(zero.status, 1)
        XCTAssertEqual(zero.err, "hashidx: error: clusters: must be at least 1, got 0\n")
        let many = try runCLI(["cluster", index, "--clusters", "361", "--output", dir + "/x.jsonl"])
        XCTAssertTrue(many.err.contains("ask for at most 360"), many.err)
        let noAttributes = try runCLI(["cluster", index, "--clusters", "2", "--where", "price < 3", "--output", dir + "/x.jsonl"])
        XCTAssertEqual(noAttributes.status, 1)
        XCTAssertTrue(noAttributes.err.contains("price"), noAttributes.err)
    }

    func testGroundTruth() throws {
        let dir = makeTemporaryDirectory(self)
        let base = clusteredVectors(count: 300, dim: 6)
        let queries = clusteredVectors(count: 12, dim: 6, seed: 77)
        writeNpy(dir + "/b.npy", rows: base)
        writeNpy(dir + "/q.npy", rows: queries)
        let r = try runCLI(["groundtruth", dir + "/b.npy", dir + "/q.npy", "--k", "7", "-o", dir + "/gt.npy"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("searching: \(queries.count)/\(queries.count) queries (100%)"), "progress: \(r.err)")
        let gt = try GroundTruthFile(path: dir + "/gt.npy")
        for (i, q) in queries.enumerated() { XCTAssertEqual(Array(gt.row(i)), exactTopK(q, base, k: 7)) }
        let bad = try runCLI(["groundtruth", dir + "/b.npy", dir + "/q.npy", "--k", "301", "-o", dir + "/x.npy"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("more than the 300 base rows"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.npy"))
    }

    func testEvalReportsLabelMeasuresOnTheCommandLine() throws {
        let dir = makeTemporaryDirectory(self)
        let data = hiddenClasses(count: 2_000)
        let queries = hiddenClasses(count: 50, seed: 8)
        writeNpy(dir + "/base.npy", rows: data.rows)
        writeNpy(dir + "/q.npy", rows: queries.rows)
        writeLabels(dir + "/labels.txt", data.labels)
        writeLabels(dir + "/train.txt", data.labels.map { $0 < 2 ? $0 : nil })
        writeLabels(dir + "/qlabels.txt", queries.labels)
        let truth = queries.rows.map { exactTopK($0, data.rows, k: 10) }
        try GroundTruthFile.write(truth, to: dir + "/gt.npy")
        let built = try runCLI(["build", dir + "/base.npy", "-o", dir + "/i", "--bits", "64", "--labels", dir + "/train.txt", "--epochs", "3"])
        XCTAssertEqual(built.status, 0, built.err)
        let info = try runCLI(["info", dir + "/i"])
        XCTAssertTrue(info.out.contains("hidden units) trained on labels ("), info.out)
        XCTAssertTrue(info.out.contains(" labelled rows, 2 labels, weight"), info.out)
        XCTAssertTrue(info.out.contains("ranking:          \(BuildOptions.supervisedRerank)"), info.out)
        let eval = try runCLI(["eval", dir + "/i", "--queries", dir + "/q.npy", "--ground-truth", dir + "/gt.npy", "--k", "100",
                               "--candidates", "100", "--labels", dir + "/labels.txt", "--query-labels", dir + "/qlabels.txt",
                               "--rerank", "blend", "--format", "json"])
        XCTAssertEqual(eval.status, 0, eval.err)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as? [String: Any])
        XCTAssertEqual(json["rerank"] as? String, "blend")
        XCTAssertEqual(json["recall_depth"] as? Int, 10)
        let point = try XCTUnwrap((json["settings"] as? [[String: Any]])?.first)
        let map = try XCTUnwrap(point["map"] as? Double), p10 = try XCTUnwrap(point["precision_at_10"] as? Double)
        XCTAssertTrue((0...1).contains(map) && map > 0.25, "\(map)")
        XCTAssertTrue((0...1).contains(p10), "\(p10)")
        XCTAssertNotNil(point["recall_at_10"] as? Double)

        let unknown = try runCLI(["build", dir + "/base.npy", "-o", dir + "/j", "--bits", "64", "--labels", dir + "/qlabels.txt"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("labels for 50 rows but there are 2000 vectors"), unknown.err)
        let both = try runCLI(["eval", dir + "/i", "--queries", dir + "/q.npy", "--ground-truth", dir + "/gt.npy", "--labels", dir + "/labels.txt"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.err.contains("give both --labels"), both.err)
    }
}
