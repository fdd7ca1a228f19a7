import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Attributes and filtered search: every result satisfies the filter, exhaustive settings
/// give exact filtered search, filters combine with deletions and "more like this", and
/// bad filters and attribute files are clear errors.
final class FilterTests: XCTestCase {
    static let categories = (0..<12).map { "cat-\($0)" }
    static let tagWords = ["red", "blue", "green", "linen", "summer", "sale"]

    /// Random attributes with nulls, a skewed category, integers, floats, booleans and tags.
    static func randomAttributes(count: Int, seed: UInt64) -> [Attributes] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { _ in
            var a: Attributes = [:]
            let r = rng.next()
            // Skewed: low categories far more common.
            let c = Int((Double(r % 1000) / 1000).squareRoot().squareRoot() * 1000) * categories.count / 1000
            if r % 10 != 0 { a["category"] = .string(categories[categories.count - 1 - min(c, categories.count - 1)]) }
            if rng.next() % 8 != 0 { a["price"] = .float(Double(rng.next() % 10_000) / 100) }
            a["stock"] = .integer(Int64(rng.next() % 50))
            if rng.next() % 5 != 0 { a["in_stock"] = .boolean(rng.next() % 10 < 7) }
            let tagCount = Int(rng.next() % 4)
            if tagCount > 0 || rng.next() % 2 == 0 {
                a["tags"] = .tags((0..<tagCount).map { _ in tagWords[Int(rng.next() % UInt64(tagWords.count))] })
            }
            return a
        }
    }

    /// A random filter over the attributes of ``randomAttributes(count:seed:)``.
    static func randomFilter(_ rng: inout TestRandom, depth: Int = 0) -> Filter.Node {
        let pick = rng.next() % (depth >= 2 ? 7 : 10)
        let ops = Filter.Comparison.allCases
        switch pick {
        case 0: return .compare("category", rng.next() % 2 == 0 ? .equal : .notEqual,
                                .string(categories[Int(rng.next() % UInt64(categories.count))]))
        case 1: return .compare("price", ops[Int(rng.next() % 6)], .float(Double(rng.next() % 10_000) / 100))
        case 2: return .compare("stock", ops[Int(rng.next() % 6)], .integer(Int64(rng.next() % 50)))
        case 3: return .compare("in_stock", rng.next() % 2 == 0 ? .equal : .notEqual, .boolean(rng.next() % 2 == 0))
        case 4: return .contains("tags", tagWords[Int(rng.next() % UInt64(tagWords.count))])
        case 5: return .isIn(rng.next() % 2 == 0 ? "category" : "tags",
                             (0..<(1 + rng.next() % 3)).map { _ in .string(rng.next() % 2 == 0 ? categories[Int(rng.next() % 12)] : tagWords[Int(rng.next() % 6)]) })
        case 6: return .isNull(["category", "price", "in_stock", "tags"][Int(rng.next() % 4)])
        case 7: return .not(randomFilter(&rng, depth: depth + 1))
        case 8: return .and((0..<(2 + rng.next() % 2)).map { _ in randomFilter(&rng, depth: depth + 1) })
        default: return .or((0..<(2 + rng.next() % 2)).map { _ in randomFilter(&rng, depth: depth + 1) })
        }
    }

    private struct Fixture {
        let path: String
        let rows: [[Float]]
        let attributes: [Attributes]
    }

    /// 3,000 rows in two shards, 30 partitions, float32 vectors (exact scores), string ids.
    private func build(_ test: XCTestCase) throws -> Fixture {
        let dir = makeTemporaryDirectory(test)
        let rows = clusteredVectors(count: 3_000, dim: 16, clusters: 30, seed: 11)
        let attributes = Self.randomAttributes(count: rows.count, seed: 3)
        var options = BuildOptions(training: TrainingOptions(bits: 64), shardSize: 1_700, partitions: 30, threads: 1)
        options.vectorType = .float32
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: rows.indices.map { "item-\($0)" },
                               attributes: try AttributeTable(rows: attributes), to: dir + "/f.hidx", options: options)
        return Fixture(path: dir + "/f.hidx", rows: rows, attributes: attributes)
    }

    /// Checks `results` of a filtered search for `query`: every one satisfies `filter` and
    /// is live; and, when `exhaustive`, the scores are those of the exact filtered top-k.
    private func check(_ results: [SearchResult], query: [Float], filter: Filter, fixture: Fixture, index: Index,
                       k: Int, live: Set<Int>, exhaustive: Bool, excluding: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        for r in results {
            let original = Int(r.id.dropFirst(5))!
            XCTAssertTrue(filter.matches(fixture.attributes[original]), "\(r.id) does not satisfy \(filter)", file: file, line: line)
            XCTAssertTrue(live.contains(original), "\(r.id) was deleted", file: file, line: line)
            XCTAssertNotEqual(original, excluding, file: file, line: line)
        }
        guard exhaustive else { return }
        let allowed = fixture.rows.indices.filter { live.contains($0) && $0 != excluding && filter.matches(fixture.attributes[$0]) }
        let exact = exactTopK(query, allowed.map { fixture.rows[$0] }, k: k)
        XCTAssertEqual(results.count, exact.count, "\(filter): result count", file: file, line: line)
        func cosine(_ a: [Float], _ b: [Float]) -> Double {
            var d = 0.0, na = 0.0, nb = 0.0
            for j in a.indices { d += Double(a[j]) * Double(b[j]); na += Double(a[j] * a[j]); nb += Double(b[j] * b[j]) }
            return d / (na.squareRoot() * nb.squareRoot())
        }
        for (r, e) in zip(results, exact) {
            XCTAssertEqual(Double(r.score), cosine(query, fixture.rows[allowed[e]]), accuracy: 1e-4, "\(filter)", file: file, line: line)
        }
    }

    /// An integral float keeps its type through the text form (the fuzz target found
    /// `n not in (11, 12.0)` printed as `(11, 12)`, which parsed back as two integers).
    func testIntegralFloatsSurviveTheTextForm() throws {
        for text in ["n >= 10 and n not in (11, 12.0) or p is not null and b", "price < 12.0", "x in (1.0, 2.5, -3.0)",
                     "price = 1e3"] {
            let filter = try Filter(text)
            let rendered = Filter(filter.node)   // the canonical text, not the text parsed
            XCTAssertEqual(try Filter(rendered.description), filter, rendered.description)
        }
        XCTAssertEqual(Filter(try Filter("price < 12.0").node).description, "price < 12.0")
    }

    func testRandomFiltersReturnOnlyMatchesAndExhaustiveSearchIsExact() throws {
        let f = try build(self)
        let index = try Index(path: f.path)
        XCTAssertEqual(index.attributeSchema, ["category": .string, "price": .float, "stock": .integer, "in_stock": .boolean, "tags": .tags])
        var rng = TestRandom(seed: 42)
        let live = Set(f.rows.indices)
        var plans: Set<String> = []
        for trial in 0..<120 {
            let filter = Filter(Self.randomFilter(&rng))
            // The text form parses back to the same filter.
            XCTAssertEqual(try Filter(filter.description), filter, filter.description)
            let query = f.rows[Int(rng.next() % 3_000)].map { $0 + 0.05 }
            let k = [1, 10, 25][trial % 3]
            let compiled = try CompiledFilter(filter, schema: index.attributeSchema, shards: index.shards)
            plans.insert("\(index.searcher.plan(compiled, options: SearchOptions(k: k, probes: 4)))")
            let fast = try index.search(query, options: SearchOptions(k: k, candidates: 40, probes: 4, filter: filter))
            try check(fast, query: query, filter: filter, fixture: f, index: index, k: k, live: live, exhaustive: false)
            let all = try index.search(query, options: SearchOptions(k: k, candidates: 3_000, probes: 30, shortlistFactor: 1, filter: filter))
            try check(all, query: query, filter: filter, fixture: f, index: index, k: k, live: live, exhaustive: true)
        }
        XCTAssertEqual(plans, ["matchingRows", "nearestPartitions"], "the random filters should exercise both plans")
    }

    func testFiltersCombineWithDeletionsAndMoreLikeThis() throws {
        let f = try build(self)
        let writer = try IndexWriter(path: f.path, threads: 1)
        writer.mergePolicy = nil
        var rng = TestRandom(seed: 9)
        let deleted = Set((0..<600).map { _ in Int(rng.next() % 3_000) })
        try writer.delete(ids: deleted.map { "item-\($0)" })
        try writer.commit()
        try writer.close()
        let index = try Index(path: f.path)
        let live = Set(f.rows.indices).subtracting(deleted)
        for _ in 0..<60 {
            let filter = Filter(Self.randomFilter(&rng))
            let query = f.rows[Int(rng.next() % 3_000)]
            try check(try index.search(query, options: SearchOptions(k: 10, candidates: 3_000, probes: 30, shortlistFactor: 1, filter: filter)),
                      query: query, filter: filter, fixture: f, index: index, k: 10, live: live, exhaustive: true)
            let item = live.randomElement(using: &rng)!
            let similar = try index.search(similarToID: "item-\(item)", options: SearchOptions(k: 10, candidates: 3_000, probes: 30, shortlistFactor: 1, filter: filter))
            try check(similar, query: f.rows[item], filter: filter, fixture: f, index: index, k: 10, live: live, exhaustive: true, excluding: item)
            let quick = try index.search(similarToID: "item-\(item)", options: SearchOptions(k: 10, candidates: 50, probes: 3, filter: filter))
            try check(quick, query: f.rows[item], filter: filter, fixture: f, index: index, k: 10, live: live, exhaustive: false, excluding: item)
        }
    }

    func testAttributesSurviveAddsUpsertsAndCompaction() throws {
        let f = try build(self)
        let writer = try IndexWriter(path: f.path, threads: 1)
        writer.mergePolicy = nil
        let extra = clusteredVectors(count: 40, dim: 16, seed: 99)
        try writer.add(try InMemoryVectors(rows: extra), ids: (0..<40).map { "new-\($0)" },
                       attributes: try AttributeTable(rows: (0..<40).map { ["price": .integer(Int64($0)), "brand": .string("acme")] }))
        try writer.upsert(try InMemoryVectors(rows: [f.rows[5]]), ids: ["item-5"],
                          attributes: try AttributeTable(rows: [["category": .string("replaced")]]))
        // A float never goes into an integer attribute.
        XCTAssertThrowsError(try writer.add(try InMemoryVectors(rows: [extra[0]]), ids: ["bad"],
                                            attributes: try AttributeTable(rows: [["stock": .float(1.5)]]))) { error in
            XCTAssertTrue("\(error)".contains("\"stock\" is a float here but an integer in the index"), "\(error)")
        }
        try writer.commit()
        var index = try Index(path: f.path)
        XCTAssertEqual(try index.attributes(ofID: "new-7"), ["price": .float(7), "brand": .string("acme")])
        XCTAssertEqual(try index.attributes(ofID: "item-5"), ["category": .string("replaced")])
        XCTAssertEqual(try index.attributes(ofID: "item-6"), f.attributes[6])
        let cheapAcme = try index.search(extra[3], options: SearchOptions(k: 50, filter: try Filter("brand = \"acme\" and price < 10")))
        XCTAssertEqual(Set(cheapAcme.map(\.id)), Set((0..<10).map { "new-\($0)" }))
        try writer.delete(ids: (0..<300).map { "item-\($0 * 3 + 1)" })
        try writer.commit()
        _ = try writer.compact()
        try writer.close()
        index = try Index(path: f.path)
        XCTAssertEqual(try index.attributes(ofID: "item-6"), f.attributes[6])
        XCTAssertEqual(try index.attributes(ofID: "new-7", fields: ["brand"]), ["brand": .string("acme")])
        XCTAssertEqual(try index.attributes(ofID: "item-5"), ["category": .string("replaced")])
        let results = try index.search(f.rows[8], options: SearchOptions(k: 5, filter: try Filter("category = \"replaced\""), fields: ["category", "price"]))
        XCTAssertEqual(results.map(\.id), ["item-5"])
        XCTAssertEqual(results[0].attributes, ["category": .string("replaced")])
    }

    func testFilterSyntaxAndErrorsPointAtTheProblem() throws {
        let f = try Filter("category = \"dress\" and (price < 50 or tags contains \"sale\") and not in_stock is null and in_stock")
        XCTAssertEqual(f.node, .and([.compare("category", .equal, .string("dress")),
                                     .or([.compare("price", .less, .integer(50)), .contains("tags", "sale")]),
                                     .not(.isNull("in_stock")), .compare("in_stock", .equal, .boolean(true))]))
        XCTAssertEqual(try Filter("a NOT IN (1, 2.5, \"x\") OR b is not null").node,
                       .or([.not(.isIn("a", [.integer(1), .float(2.5), .string("x")])), .not(.isNull("b"))]))
        func offset(_ text: String) -> Int? {
            do { _ = try Filter(text); return nil } catch {
                if case let .invalidFilter(_, at, _) = error { return at }
                return nil
            }
        }
        XCTAssertEqual(offset("price < "), 8)
        XCTAssertEqual(offset("price <> 5"), 7)
        XCTAssertEqual(offset("(price < 5"), 10)
        XCTAssertEqual(offset("category = \"dress"), 11)
        XCTAssertEqual(offset("price < 5 and"), 13)
        XCTAssertEqual(offset("price < 5 price"), 10)
        XCTAssertEqual(offset("and price < 5"), 0)
        XCTAssertEqual(offset("price # 5"), 6)
        XCTAssertEqual(offset(""), 0)
        // Checked against the index's attributes, pointing at the leaf.
        let schema: [String: AttributeType] = ["price": .float, "category": .string, "tags": .tags, "in_stock": .boolean]
        func schemaError(_ text: String) -> (Int, String)? {
            do { try Filter(text).check(against: schema); return nil } catch {
                if case let .invalidFilter(_, at, reason) = error { return (at, reason) }
                return nil
            }
        }
        XCTAssertEqual(schemaError("price < 5 and colour = \"red\"")?.0, 14)
        XCTAssertTrue(schemaError("colour = \"red\"")!.1.contains("it has: category, in_stock, price, tags"))
        XCTAssertEqual(schemaError("in_stock and category < 5")?.0, 13)
        XCTAssertTrue(schemaError("tags = \"x\"")!.1.contains("contains"))
        XCTAssertNotNil(schemaError("price = \"cheap\""))
        XCTAssertNotNil(schemaError("category contains \"x\""))
        XCTAssertNil(schemaError("price >= 1 and price <= 2.5 and category in (\"a\") and tags in (\"x\", \"y\")"))
        let message = HashIdxError.invalidFilter(expression: "price <> 5", offset: 7, reason: "expected a value").description
        XCTAssertTrue(message.hasSuffix("price <> 5\n         ^"), message)
    }

    func testAttributeFilesAreReadStrictly() throws {
        let dir = makeTemporaryDirectory(self)
        func table(_ text: String, rows: Int? = nil) throws -> AttributeTable {
            writeFile(dir + "/a.jsonl", Array(text.utf8))
            return try AttributesFile.read(path: dir + "/a.jsonl", rows: rows)
        }
        let t = try table("{\"a\": 1, \"b\": \"x\\u00e9\\n\", \"c\": [\"p\", \"q\"], \"d\": true}\n\n{\"a\": 2.5, \"e\": null}\r\n{}\n")
        XCTAssertEqual(t.count, 4)
        XCTAssertEqual(t.schema, ["a": .float, "b": .string, "c": .tags, "d": .boolean])
        XCTAssertEqual(t[0], ["a": .float(1), "b": .string("xé\n"), "c": .tags(["p", "q"]), "d": .boolean(true)])
        XCTAssertEqual(t[1], [:])
        XCTAssertEqual(t[2], ["a": .float(2.5)])
        func failure(_ text: String, rows: Int? = nil) -> String {
            do { _ = try table(text, rows: rows); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(failure("{\"a\": 1}\n{\"a\": \"x\"}\n").contains("line 2: \"a\" is a string here but an integer in earlier rows"))
        XCTAssertTrue(failure("{\"a\": 1,}\n").contains("line 1: expected a quoted attribute name at column 9"))
        XCTAssertTrue(failure("{\"a\": {\"b\": 1}}\n").contains("nested objects"))
        XCTAssertTrue(failure("{\"a\": [1, 2]}\n").contains("lists may hold only strings"))
        XCTAssertTrue(failure("{\"a\": 1, \"a\": 2}\n").contains("appears twice"))
        XCTAssertTrue(failure("{\"a\": 99999999999999999999}\n").contains("beyond"))
        XCTAssertTrue(failure("{\"and\": 1}\n").contains("filter keyword"))
        XCTAssertTrue(failure("{\"a b\": 1}\n").contains("must start with a letter"))
        XCTAssertTrue(failure("{\"a\": 1}\n{\"a\": 2}\n", rows: 3).contains("holds 2 lines but the vectors have 3 rows"))
        XCTAssertTrue(failure("[1]\n").contains("expected a JSON object"))
        // Keyed by id: any order, rows without a line get nothing, every id known and once.
        let keyed = try AttributesFile.read(path: { writeFile(dir + "/k.jsonl", Array("{\"_id\": \"c\", \"a\": 3}\n\n{\"_id\": \"a\", \"a\": 1}\n".utf8)); return dir + "/k.jsonl" }(),
                                            rows: 4, ids: ["a", "b", "c", "d"])
        XCTAssertEqual((0..<4).map { keyed[$0] }, [["a": .integer(1)], [:], ["a": .integer(3)], [:]])
        func keyedFailure(_ text: String) -> String {
            writeFile(dir + "/k.jsonl", Array(text.utf8))
            do { _ = try AttributesFile.read(path: dir + "/k.jsonl", rows: 2, ids: ["a", "b"]); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(keyedFailure("{\"_id\": \"z\"}\n").contains("line 1: \"_id\": no item has the id \"z\""))
        XCTAssertTrue(keyedFailure("{\"_id\": \"a\"}\n{\"_id\": \"a\", \"x\": 1}\n").contains("line 2: \"_id\": \"a\" already has the attributes of line 1"))
        XCTAssertTrue(keyedFailure("{\"_id\": \"a\"}\n{\"x\": 1}\n").contains("line 2: has no \"_id\""))
        XCTAssertTrue(keyedFailure("{\"_id\": [\"a\"]}\n").contains("must be the item's id"))
    }
}
