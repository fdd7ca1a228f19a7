import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The command line end to end: build, query in every format, info, eval.
final class CLITests: XCTestCase {
    private var dir = ""
    private var index = ""
    private var rows: [[Float]] = []

    override func setUpWithError() throws {
        dir = makeTemporaryDirectory(self)
        rows = clusteredVectors(count: 400, dim: 12)
        writeNpy(dir + "/v.npy", rows: rows)
        writeFile(dir + "/ids.txt", Array((0..<400).map { "item \($0) \"q\"\n" }.joined().utf8))
        index = dir + "/v.hidx"
        let r = try runCLI(["build", dir + "/v.npy", "--ids", dir + "/ids.txt", "-o", index, "--bits", "128"])
        XCTAssertEqual(r.status, 0, r.err)
        for field in ["rows:       400", "dimension:  12", "bits:       128", "shards:     1", "on disk:", "seconds:"] {
            XCTAssertTrue(r.out.contains(field), "summary lacks \(field): \(r.out)")
        }
        XCTAssertTrue(r.err.contains("encoding: 400/400 rows (100%)"), "progress: \(r.err)")
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testQueryByIDInEveryFormat() throws {
        let table = try runCLI(["query", index, "--id", "item 7 \"q\"", "--k", "3"])
        XCTAssertEqual(table.status, 0, table.err)
        XCTAssertTrue(table.out.contains("rank  id"))
        XCTAssertEqual(table.out.split(separator: "\n").count, 5)   // label, header, 3 results

        let j = try runCLI(["query", index, "--id", "item 7 \"q\"", "--k", "3", "--format", "json"])
        XCTAssertEqual(j.status, 0, j.err)
        let doc = try XCTUnwrap(try json(j.out) as? [String: Any])
        XCTAssertEqual(doc["k"] as? Int, 3)
        let queries = try XCTUnwrap(doc["queries"] as? [[String: Any]])
        XCTAssertEqual(queries.count, 1)
        XCTAssertEqual(queries[0]["query"] as? String, "item 7 \"q\"")
        let results = try XCTUnwrap(queries[0]["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["rank"] as? Int }, [1, 2, 3])
        let scores = results.compactMap { ($0["score"] as? NSNumber)?.doubleValue }
        XCTAssertEqual(scores, scores.sorted(by: >))
        XCTAssertFalse(results.contains { $0["id"] as? String == "item 7 \"q\"" }, "the item itself is left out")

        // The library gives the same answer.
        let lib = try Index(path: index).search(similarToID: "item 7 \"q\"", options: SearchOptions(k: 3))
        XCTAssertEqual(results.compactMap { $0["id"] as? String }, lib.map(\.id))
        // One renderer (the server's): scores read back as the very same floats.
        XCTAssertEqual(results.compactMap { ($0["score"] as? NSNumber).map { Float($0.doubleValue) } }, lib.map(\.score))
        let sweep = try runCLI(["query", index, "--id", "item 7 \"q\"", "--probes", "8,16"])
        XCTAssertEqual(sweep.status, 1)
        XCTAssertTrue(sweep.err.contains("probes") && sweep.err.contains("one value"), sweep.err)
    }

    func testQueryByVectorAndFile() throws {
        let v = rows[11].map { String($0) }.joined(separator: ",")
        let r = try runCLI(["query", index, "--vector", v, "--k", "1", "--format", "jsonl"])
        XCTAssertEqual(r.status, 0, r.err)
        let line = try XCTUnwrap(try json(r.out) as? [String: Any])
        let first = try XCTUnwrap((line["results"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["id"] as? String, "item 11 \"q\"")
        // The default float16 vectors keep cosines to about 1e-3 (float32 exactness: IndexTests).
        XCTAssertEqual((first["score"] as? NSNumber)?.doubleValue ?? 0, 1, accuracy: 1e-3)

        writeNpy(dir + "/q.npy", rows: Array(rows[20..<25]))
        let many = try runCLI(["query", index, "--queries", dir + "/q.npy", "--k", "2", "--format", "jsonl", "--threads", "2"])
        XCTAssertEqual(many.status, 0, many.err)
        let lines = many.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 5)
        for (i, l) in lines.enumerated() {
            let o = try XCTUnwrap(try json(String(l)) as? [String: Any])
            XCTAssertEqual(o["query"] as? String, String(i))
            XCTAssertEqual(((o["results"] as? [[String: Any]])?.first?["id"]) as? String, "item \(20 + i) \"q\"")
        }
    }

    func testInfo() throws {
        let r = try runCLI(["info", index, "--verify"])
        XCTAssertEqual(r.status, 0, r.err)
        for field in ["format version:   \(Format.version)", "items:            400", "generation:       1", "dimension:        12", "bits:             128",
                      "shards:           1", "bytes on disk:", "compression ratio", "training sample:  400 rows", "random frame (no ITQ: bits > dimension)", "vector type:      float16",
                      "every block checked"] {
            XCTAssertTrue(r.out.contains(field), "info lacks \(field): \(r.out)")
        }
        // With partitions, the lists' balance now and at the fit (the build).
        let partitioned = dir + "/p.hidx"
        XCTAssertEqual(try runCLI(["build", dir + "/v.npy", "-o", partitioned, "--partitions", "8"]).status, 0)
        let p = try runCLI(["info", partitioned])
        XCTAssertEqual(p.status, 0, p.err)
        XCTAssertTrue(p.out.contains("list balance:") && p.out.contains("when the partitions were fitted, 1.00× since"), p.out)
    }

    /// `build --target-recall` reports the tuned setting, `info` shows it as the index's
    /// default search, and a target outside (0, 1] is refused before anything is written.
    func testBuildWithATargetRecallTunesTheDefaultSearch() throws {
        let untuned = try runCLI(["info", index])
        let candidates = try Index(path: index).defaultCandidates
        XCTAssertTrue(untuned.out.contains("default search:   candidates \(candidates) (the built-in defaults;"), untuned.out)
        let tunedPath = dir + "/tuned.hidx"
        let r = try runCLI(["build", dir + "/v.npy", "-o", tunedPath, "--bits", "128", "--target-recall", "0.9"])
        XCTAssertEqual(r.status, 0, r.err)
        let tuned = try XCTUnwrap(try Index(path: tunedPath).tunedSearch)
        XCTAssertTrue(r.out.contains("search:     candidates \(tuned.candidates): recall@10 \(String(format: "%.3f", tuned.measuredRecall)) "
                                     + "on \(tuned.sampleQueries) of its rows (target 0.900)"), r.out)
        XCTAssertTrue(r.err.contains("searching:"), "tuning progress: \(r.err)")
        let info = try runCLI(["info", tunedPath])
        XCTAssertTrue(info.out.contains("default search:   candidates \(tuned.candidates), tuned for recall@10 0.900"), info.out)
        for bad in ["0", "1.5", "nan", "-1"] {
            let refused = try runCLI(["build", dir + "/v.npy", "-o", dir + "/bad.hidx", "--target-recall", bad])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.err.contains("target-recall"), refused.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.hidx"), "nothing written for \(bad)")
        }
    }

    func testEvalJSONKeys() throws {
        // Exact ground truth computed here: row numbers of the 10 best by cosine.
        let queries = Array(rows[100..<140])
        writeNpy(dir + "/eq.npy", rows: queries)
        let truth = queries.map { exactTopK($0, rows, k: 10) }
        let payload = truth.flatMap { $0 }.flatMap { v in withUnsafeBytes(of: Int32(v).littleEndian) { Array($0) } }
        writeFile(dir + "/gt.npy", npyBytes(descr: "<i4", shape: [40, 10], payload: payload))
        let r = try runCLI(["eval", index, "--queries", dir + "/eq.npy", "--ground-truth", dir + "/gt.npy",
                            "--k", "10", "--candidates", "20,400", "--threads", "2", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let doc = try XCTUnwrap(try json(r.out) as? [String: Any])
        for key in ["open_ms", "peak_rss_bytes", "rows", "dim", "bits"] { XCTAssertNotNil(doc[key], key) }
        XCTAssertEqual(doc["rows"] as? Int, 400)
        let settings = try XCTUnwrap(doc["settings"] as? [[String: Any]])
        XCTAssertEqual(settings.count, 2)
        for s in settings {
            for key in ["candidates", "recall", "qps", "batch_qps", "p50_ms", "p95_ms", "p99_ms"] { XCTAssertNotNil(s[key], key) }
        }
        // With every row a candidate the re-rank is exact.
        XCTAssertEqual((settings[1]["recall"] as? NSNumber)?.doubleValue, 1.0)
        // Progress on stderr, in lines (not a terminal): 2 settings × 40 queries.
        XCTAssertTrue(r.err.contains("searching: 80/80 queries (100%)"), r.err)
    }

    /// `add`, `delete`, `compact` and `info` on a living catalog, and their bad input.
    func testAddDeleteCompactAndTheirErrors() throws {
        let more = clusteredVectors(count: 30, dim: 12, seed: 99)
        writeNpy(dir + "/more.npy", rows: more)
        writeFile(dir + "/more.txt", Array((0..<30).map { "new \($0)\n" }.joined().utf8))
        var r = try runCLI(["add", index, dir + "/more.npy", "--ids", dir + "/more.txt", "--commit-every", "10"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("added:    30") && r.out.contains("3 commits"), r.out)
        XCTAssertTrue(r.err.contains("encoding: 30/30 rows (100%)") && r.err.contains("finishing: done in"), "progress: \(r.err)")
        r = try runCLI(["add", index, dir + "/more.npy", "--ids", dir + "/more.txt"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("new 0"), "a duplicate id is named: \(r.err)")
        r = try runCLI(["add", index, dir + "/more.npy", "--ids", dir + "/more.txt", "--upsert"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("replaced: 30"), r.out)
        r = try runCLI(["add", index, dir + "/more.npy", "--upsert"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("needs --ids"), r.err)
        r = try runCLI(["add", index, dir + "/more.npy", "--ids", dir + "/more.txt", "--commit-every", "0", "--upsert"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("commit-every"), r.err)
        r = try runCLI(["add", index, dir + "/v.npy", "--ids", dir + "/more.txt"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("30") && r.err.contains("400"), "id count mismatch: \(r.err)")

        r = try runCLI(["delete", index])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("--id"), r.err)
        r = try runCLI(["delete", index, "--id", "new 3", "--id", "nothing"])
        XCTAssertEqual(r.status, 1, "an unknown id deletes nothing")
        r = try runCLI(["delete", index, "--id", "new 3", "--id", "nothing", "--ignore-missing", "--no-merge"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("deleted:  1") && r.out.contains("unknown:  1"), r.out)
        XCTAssertTrue(r.err.contains("no item has id nothing"), r.err)
        r = try runCLI(["query", index, "--id", "new 3"])
        XCTAssertEqual(r.status, 1, "a deleted item is gone")

        r = try runCLI(["info", index])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("items:            429 live, 1 deleted"), r.out)   // the upsert emptied and dropped the three 10-row shards
        XCTAssertTrue(r.out.contains("reclaimable:"), r.out)
        r = try runCLI(["compact", index])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("rewritten shards:"), r.out)
        XCTAssertTrue(r.err.contains("reading: ") && r.err.contains("encoding: ") && r.err.contains("finishing: done in"), "progress: \(r.err)")
        r = try runCLI(["info", index, "--verify"])
        XCTAssertTrue(r.out.contains("items:            429\n"), r.out)
        r = try runCLI(["compact", index])
        XCTAssertTrue(r.out.contains("nothing to compact"), r.out)
        r = try runCLI(["compact", dir + "/nowhere.hidx"])
        XCTAssertEqual(r.status, 1)
    }

    /// `compact --rebalance`: bounded steps until no list is due, each a generation; its
    /// options are checked, and an index whose ids are row numbers is told what to do.
    func testCompactRebalance() throws {
        let grown = dir + "/g.hidx"
        var r = try runCLI(["build", dir + "/v.npy", "--ids", dir + "/ids.txt", "-o", grown, "--partitions", "4"])
        XCTAssertEqual(r.status, 0, r.err)
        let more = clusteredVectors(count: 1200, dim: 12, seed: 77)
        writeNpy(dir + "/more.npy", rows: more)
        writeFile(dir + "/more.txt", Array((0..<1200).map { "m\($0)\n" }.joined().utf8))
        r = try runCLI(["add", grown, dir + "/more.npy", "--ids", dir + "/more.txt", "--no-merge"])
        XCTAssertEqual(r.status, 0, r.err)
        for (arguments, name) in [(["--rebalance", "--maintain"], "rebalance"), (["--max-rows", "10"], "max-rows"),
                                  (["--steps", "2"], "steps"), (["--rebalance", "--steps", "0"], "steps"),
                                  (["--rebalance", "--max-rows", "0"], "max-rows")] {
            r = try runCLI(["compact", grown] + arguments)
            XCTAssertEqual(r.status, 1, "\(arguments)")
            XCTAssertTrue(r.err.contains(name), "\(arguments): \(r.err)")
        }
        r = try runCLI(["compact", grown, "--rebalance", "--max-rows", "300"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("step 2:") && r.out.contains("rebalancing steps of"), r.out)
        XCTAssertTrue(r.out.contains("partitions:       4 -> 8"), "4·√(1600/400) lists: \(r.out)")
        r = try runCLI(["info", grown, "--verify"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("items:            1600 live"), r.out)
        r = try runCLI(["compact", grown, "--rebalance"])
        XCTAssertTrue(r.out.contains("nothing to rebalance"), r.out)

        let numbered = dir + "/n.hidx"
        r = try runCLI(["build", dir + "/v.npy", "-o", numbered, "--partitions", "4"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try runCLI(["compact", numbered, "--rebalance"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("--maintain"), r.err)
    }

    func testAttributesWhereFieldsGetAndFilteredGroundTruth() throws {
        let lines = (0..<400).map { i in
            "{\"kind\": \"k\(i % 4)\", \"price\": \(i % 100), \"ok\": \(i % 2 == 0), \"tags\": [\"t\(i % 3)\"]}\n"
        }
        writeFile(dir + "/a.jsonl", Array(lines.joined().utf8))
        let idx = dir + "/attr.hidx"
        let b = try runCLI(["build", dir + "/v.npy", "--ids", dir + "/ids.txt", "--attributes", dir + "/a.jsonl", "-o", idx])
        XCTAssertEqual(b.status, 0, b.err)
        // Every result satisfies the filter, and carries the fields asked for.
        let q = try runCLI(["query", idx, "--id", "item 8 \"q\"", "--k", "20", "--where", "kind = \"k0\" and price < 50 and ok",
                            "--fields", "price,kind", "--format", "json"])
        XCTAssertEqual(q.status, 0, q.err)
        let doc = try XCTUnwrap(try json(q.out) as? [String: Any])
        let results = try XCTUnwrap((doc["queries"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 20)
        for r in results {
            let a = try XCTUnwrap(r["attributes"] as? [String: Any])
            XCTAssertEqual(a["kind"] as? String, "k0")
            XCTAssertLessThan(try XCTUnwrap(a["price"] as? Int), 50)
            XCTAssertNil(a["ok"])   // not asked for
        }
        // get
        let g = try runCLI(["get", idx, "--id", "item 5 \"q\""])
        XCTAssertEqual(g.status, 0, g.err)
        XCTAssertEqual(g.out, "{\"id\":\"item 5 \\\"q\\\"\",\"attributes\":{\"kind\":\"k1\",\"ok\":false,\"price\":5,\"tags\":[\"t2\"]}}\n")
        XCTAssertNotEqual(try runCLI(["get", idx, "--id", "nope"]).status, 0)
        // A malformed filter points at the place; an unknown attribute lists the known ones.
        let bad = try runCLI(["query", idx, "--id", "item 8 \"q\"", "--where", "price <"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("expected a value") && bad.err.contains("       ^"), bad.err)
        let unknown = try runCLI(["query", idx, "--id", "item 8 \"q\"", "--where", "colour = \"red\""])
        XCTAssertTrue(unknown.err.contains("it has: kind, ok, price, tags"), unknown.err)
        // Exact filtered ground truth from the tool itself, and a filtered eval against it
        // with exhaustive settings: recall 1.
        let gt = try runCLI(["groundtruth", dir + "/v.npy", dir + "/v.npy", "--k", "10", "--attributes", dir + "/a.jsonl",
                             "--where", "tags contains \"t1\" and price >= 95", "-o", dir + "/gt.npy"])
        XCTAssertEqual(gt.status, 0, gt.err)
        let truth = try GroundTruthFile(path: dir + "/gt.npy")
        // Rows 97, 196, 199, 295, 298, 397 (price ≥ 95, i % 3 == 1), then −1.
        XCTAssertEqual(Set(truth.row(0).prefix(6)), [97, 196, 199, 295, 298, 397])
        XCTAssertEqual(Array(truth.row(0).suffix(4)), [-1, -1, -1, -1])
        let e = try runCLI(["eval", idx, "--queries", dir + "/v.npy", "--ground-truth", dir + "/gt.npy", "--k", "10",
                            "--where", "tags contains \"t1\" and price >= 95", "--candidates", "400", "--format", "json"])
        XCTAssertEqual(e.status, 0, e.err)
        let report = try XCTUnwrap(try json(e.out) as? [String: Any])
        XCTAssertEqual(((report["settings"] as? [[String: Any]])?.first?["recall"] as? Double) ?? 0, 1.0, accuracy: 1e-9)
        // An attributes file of the wrong length is refused, naming it.
        writeFile(dir + "/short.jsonl", Array("{}\n".utf8))
        let short = try runCLI(["build", dir + "/v.npy", "--attributes", dir + "/short.jsonl", "-o", dir + "/x.hidx"])
        XCTAssertTrue(short.err.contains("holds 1 lines but the vectors have 400 rows"), short.err)
        // info lists the attributes.
        let info = try runCLI(["info", idx])
        XCTAssertTrue(info.out.contains("attributes:       kind (string), ok (boolean), price (integer), tags (list of strings)"), info.out)
    }
}
