import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The Swift-shaped API of issue 23: items one at a time, attribute literals and Codable,
/// localized errors, places named as rows in memory and lines in files, and the snippets of
/// GettingStarted.md compiled here as they are printed.
final class ItemAPITests: XCTestCase {
    // MARK: Errors

    func testErrorsAreLocalizedErrorsWithTheirDescription() {
        let errors: [HashIdxError] = [
            .unknownID("sku-1"), .invalidArgument(name: "k", reason: "must be positive"), .idExists(id: "a"),
            .nonFiniteQuery(source: "query", row: nil), .duplicateIDInMemory(source: "ids", id: "a", firstRow: 0, secondRow: 2),
        ]
        for error in errors {
            XCTAssertEqual(error.localizedDescription, error.description)
            XCTAssertEqual((error as any Error).localizedDescription, error.description)
            XCTAssertEqual(error.errorDescription, error.description)
        }
    }

    func testNewErrorsSayWhatToDo() {
        XCTAssertEqual(HashIdxError.idExists(id: "X").description,
                       #"id "X" is already in the index; use upsert to replace it, or delete it first"#)
        XCTAssertEqual(HashIdxError.duplicateIDInMemory(source: "ids", id: "a", firstRow: 0, secondRow: 2).description,
                       #"ids: id "a" is at row 0 and again at row 2 (rows count from 0); ids must be unique"#)
        XCTAssertEqual(HashIdxError.duplicateID(path: "ids.txt", id: "a", firstLine: 1, secondLine: 3).description,
                       #"ids.txt: id "a" appears on line 1 and again on line 3; ids must be unique"#)
        XCTAssertEqual(HashIdxError.nonFiniteQuery(source: "query", row: nil).description,
                       "query: the query contains NaN or an infinite value; clean the query before searching")
        XCTAssertEqual(HashIdxError.nonFiniteQuery(source: "q.npy", row: 4).description,
                       "q.npy: query row 4 contains NaN or an infinite value; clean the queries before searching")
        XCTAssertEqual(HashIdxError.invalidID(path: "ids", line: 0, reason: "row 1: empty id").description, "ids: row 1: empty id")
        XCTAssertEqual(HashIdxError.invalidID(path: "ids.txt", line: 2, reason: "empty id").description, "ids.txt: line 2: empty id")
    }

    /// Values given in memory are named by 0-based rows (as vectors always were), files by
    /// 1-based lines.
    func testInMemoryErrorsNameZeroBasedRows() throws {
        let dir = makeTemporaryDirectory(self)
        let rows: [[Float]] = [[1, 0], [0, 1], [1, 1]]
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ["a", "b", "a"], to: dir + "/x")) {
            XCTAssertEqual($0 as? HashIdxError, .duplicateIDInMemory(source: "ids", id: "a", firstRow: 0, secondRow: 2))
        }
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ["a", "", "c"], to: dir + "/x")) {
            XCTAssertEqual("\($0)", "ids: row 1: empty id; every item needs a non-empty id")
        }
        XCTAssertThrowsError(try AttributeTable(rows: [["p": 1], [:], ["p": "x"]])) {
            XCTAssertEqual($0 as? HashIdxError, .invalidAttributes(path: "attributes", line: 0,
                                                                   reason: #"row 2: "p" is a string here but an integer in earlier rows"#))
        }
        var table = AttributeTable()
        try table.append(["ok": true])
        XCTAssertThrowsError(try table.append(["in": 1])) { XCTAssertTrue("\($0)".hasPrefix("attributes: row 1: "), "\($0)") }
        XCTAssertEqual(table.count, 1)
        // A file keeps its lines.
        try "a\nb\na\n".write(toFile: dir + "/ids.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try IDList.read(path: dir + "/ids.txt")) {
            XCTAssertEqual($0 as? HashIdxError, .duplicateID(path: dir + "/ids.txt", id: "a", firstLine: 1, secondLine: 3))
        }
    }

    func testNaNQueryIsAQueryError() throws {
        let dir = makeTemporaryDirectory(self)
        try IndexBuilder.build(source: try InMemoryVectors(rows: clusteredVectors(count: 20, dim: 4)), to: dir + "/q.hidx",
                               options: BuildOptions(training: TrainingOptions(bits: 64)))
        let index = try Index(path: dir + "/q.hidx")
        XCTAssertThrowsError(try index.search([1, .nan, 0, 0])) {
            XCTAssertEqual($0 as? HashIdxError, .nonFiniteQuery(source: "query", row: nil))
            XCTAssertTrue("\($0)".contains("clean the query"), "\($0)")
        }
        XCTAssertThrowsError(try index.candidates(for: [1, .infinity, 0, 0])) {
            XCTAssertEqual($0 as? HashIdxError, .nonFiniteQuery(source: "query", row: nil))
        }
        let queries = try InMemoryVectors(rows: [[1, 0, 0, 0], [0, 0, .nan, 1]], name: "queries")
        XCTAssertThrowsError(try index.search(batch: queries, threads: 1)) {
            XCTAssertEqual($0 as? HashIdxError, .nonFiniteQuery(source: "queries", row: 1))
        }
        XCTAssertThrowsError(try index.search([0, 0, 0, 0])) { XCTAssertEqual($0 as? HashIdxError, .zeroVector(source: "query", row: 0)) }
    }

    // MARK: Attribute values

    func testAttributeValuesAreLiterals() {
        let attributes: Attributes = ["category": "dress", "price": 49.5, "stock": 3, "in_stock": true, "tags": ["summer", "linen"]]
        XCTAssertEqual(attributes, ["category": .string("dress"), "price": .float(49.5), "stock": .integer(3),
                                    "in_stock": .boolean(true), "tags": .tags(["summer", "linen"])])
        XCTAssertEqual(Filter.compare("price", .less, 50), Filter.compare("price", .less, .integer(50)))
    }

    func testAttributeValuesAreCodableAsJSONScalars() throws {
        let attributes: Attributes = ["category": "dress", "price": 49.5, "stock": 3, "in_stock": false, "tags": ["a", "b"], "none": []]
        let json = try JSONEncoder().encode(attributes)
        XCTAssertEqual(try JSONDecoder().decode(Attributes.self, from: json), attributes)
        let text = #"{"c": "x", "n": 7, "f": 1.25, "b": true, "t": ["p", "q"], "z": null}"#
        let decoded = try JSONDecoder().decode([String: AttributeValue?].self, from: Data(text.utf8)).compactMapValues { $0 }
        XCTAssertEqual(decoded, ["c": "x", "n": 7, "f": 1.25, "b": true, "t": ["p", "q"]])
        XCTAssertThrowsError(try JSONDecoder().decode(Attributes.self, from: Data(#"{"o": {"a": 1}}"#.utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(Attributes.self, from: Data(#"{"l": [1, 2]}"#.utf8)))
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(AttributeValue.tags(["x"])), as: UTF8.self), #"["x"]"#)
    }

    enum Colour: String, Encodable { case red, blue }

    struct Product: Encodable {
        var category: String
        var price: Double
        var stock: Int
        var weight: Float
        var inStock: Bool
        var tags: [String]
        var colour: Colour
        var colours: [Colour]
        var discontinued: String?
        var rating: AttributeValue

        enum CodingKeys: String, CodingKey {
            case category, price, stock, weight, inStock = "in_stock", tags, colour, colours, discontinued, rating
        }
    }

    func testAttributesFromAnEncodableType() throws {
        let product = Product(category: "dress", price: 49.5, stock: 3, weight: 0.5, inStock: true, tags: ["linen"],
                              colour: .red, colours: [.red, .blue], discontinued: nil, rating: 4)
        XCTAssertEqual(try Attributes(encoding: product), [
            "category": "dress", "price": 49.5, "stock": 3, "weight": 0.5, "in_stock": true, "tags": ["linen"],
            "colour": "red", "colours": ["red", "blue"], "rating": 4,
        ])
        XCTAssertEqual(try Attributes(encoding: ["a": 1, "b": 2]), ["a": 1, "b": 2])
        XCTAssertEqual(try Attributes(encoding: [String: String]()), [:])
    }

    struct Size: Encodable { var width: Int }
    struct Nested: Encodable { var name: String; var size: Size }
    struct Numbers: Encodable { var name: String; var sizes: [Int] }
    struct Huge: Encodable { var id: UInt64 }
    struct NotFinite: Encodable { var price: Double }
    struct BadName: Encodable { var and: Bool }

    func testAttributesFromAnEncodableTypeRefuseWhatIsNotAnAttribute() {
        func refused(_ value: some Encodable, _ expected: String, line: UInt = #line) {
            XCTAssertThrowsError(try Attributes(encoding: value), line: line) { error in
                guard case .invalidAttributes(_, 0, _)? = error as? HashIdxError else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual("\(error)", expected, line: line)
            }
        }
        let nested = "\"size\" holds a nested value; attributes are strings, numbers, booleans and lists of strings (flatten it into fields of their own)"
        refused(Nested(name: "a", size: Size(width: 2)), "Nested: " + nested)
        refused(Numbers(name: "a", sizes: [1]), #"Numbers: "sizes": a list may hold only strings (tags)"#)
        refused(Huge(id: .max), #"Huge: "id": 18446744073709551615 is beyond ±2^53; store it as a string"#)
        refused(Huge(id: 1 << 60), #"Huge: "id": 1152921504606846976 is beyond ±2^53; store it as a string"#)
        refused(NotFinite(price: .nan), #"NotFinite: "price": numbers must be finite"#)
        refused(BadName(and: true), #"BadName: "and" is a filter keyword and cannot name an attribute"#)
        refused(["a", "b"], "Array<String>: encodes as a list; attributes come from a struct's fields or a [String: …] dictionary")
        refused(3, "Int: encodes as a single value; attributes come from a struct's fields or a [String: …] dictionary")
        refused(["a": ["b": 1]], #"Dictionary<String, Dictionary<String, Int>>: "a" holds a nested value; "#
            + "attributes are strings, numbers, booleans and lists of strings (flatten it into fields of their own)")
    }

    // MARK: Items

    private func item(_ id: String, _ vector: [Float], _ attributes: Attributes = [:]) -> IndexItem {
        IndexItem(id: id, vector: vector, attributes: attributes)
    }

    func testBuildAddAndUpsertItems() throws {
        let rows = clusteredVectors(count: 40, dim: 8, seed: 3)
        let path = makeTemporaryDirectory(self) + "/items.hidx"
        let items = rows.indices.map { item("i\($0)", rows[$0], $0 % 2 == 0 ? ["even": true, "n": .integer(Int64($0))] : [:]) }
        let summary = try IndexBuilder.build(items: items, to: path, options: BuildOptions(training: TrainingOptions(bits: 64)))
        XCTAssertEqual(summary.rows, 40)
        var index = try Index(path: path)
        XCTAssertEqual(try index.id(ofRow: 7), "i7")
        XCTAssertEqual(try index.attributes(ofID: "i4"), ["even": true, "n": 4])
        XCTAssertEqual(try index.attributes(ofID: "i5"), [:])
        XCTAssertEqual(try index.search(rows[9], options: SearchOptions(k: 1)).first?.id, "i9")

        let writer = try IndexWriter(path: path)
        defer { writer.rollback(); try? writer.close() }
        let fresh = clusteredVectors(count: 5, dim: 8, seed: 99)
        try writer.add(item("new-0", fresh[0], ["n": 100]))
        try writer.add(contentsOf: (1..<3).map { item("new-\($0)", fresh[$0]) })
        try writer.upsert(item("i3", fresh[3], ["replaced": true]))
        try writer.upsert(contentsOf: [item("i4", fresh[4]), item("new-4", fresh[4], ["tag": ["x"]])])
        try writer.add(contentsOf: [IndexItem]())
        try writer.upsert(contentsOf: EmptyCollection<IndexItem>())
        XCTAssertEqual(writer.count, 44)
        // An existing id is refused by add, and nothing changes.
        XCTAssertThrowsError(try writer.add(item("i0", fresh[0]))) { XCTAssertTrue("\($0)".contains("\"i0\""), "\($0)") }
        XCTAssertThrowsError(try writer.add(contentsOf: [item("z", fresh[0]), item("z", fresh[1])])) {
            XCTAssertEqual($0 as? HashIdxError, .duplicateIDInMemory(source: "items", id: "z", firstRow: 0, secondRow: 1))
        }
        XCTAssertThrowsError(try writer.add(contentsOf: [item("y", fresh[0]), item("w", [1, 2])])) {
            XCTAssertEqual($0 as? HashIdxError, .dimensionMismatch(expected: 8, actual: 2, source: "items row 1"))
        }
        XCTAssertThrowsError(try writer.add(contentsOf: [item("y", fresh[0]), item("w", [Float](repeating: .nan, count: 8))])) {
            XCTAssertEqual($0 as? HashIdxError, .nonFiniteValue(source: "items", row: 1))
        }
        XCTAssertThrowsError(try writer.upsert(contentsOf: [item("y", fresh[0], ["n": "text"])])) {
            XCTAssertTrue("\($0)".contains("row 0"), "\($0)")
        }
        XCTAssertEqual(writer.count, 44)
        try writer.commit()
        index = try index.reopen()
        XCTAssertEqual(index.count, 44)
        XCTAssertEqual(try index.attributes(ofID: "new-0"), ["n": 100])
        XCTAssertEqual(try index.attributes(ofID: "i3"), ["replaced": true])
        XCTAssertEqual(try index.attributes(ofID: "i4"), [:])
        XCTAssertEqual(try index.attributes(ofID: "new-4"), ["tag": ["x"]])
        XCTAssertEqual(try index.search(fresh[3], options: SearchOptions(k: 1)).first?.id, "i3")
    }

    func testBuildFromItemsRefusesBadItems() {
        let dir = makeTemporaryDirectory(self)
        XCTAssertThrowsError(try IndexBuilder.build(items: [IndexItem](), to: dir + "/e")) {
            XCTAssertEqual($0 as? HashIdxError, .emptyInput(path: "items"))
        }
        XCTAssertThrowsError(try IndexBuilder.build(items: [item("a", [])], to: dir + "/e"))
        XCTAssertThrowsError(try IndexBuilder.build(items: [item("a", [1, 0]), item("a", [0, 1])], to: dir + "/e")) {
            XCTAssertEqual($0 as? HashIdxError, .duplicateIDInMemory(source: "items", id: "a", firstRow: 0, secondRow: 1))
        }
        XCTAssertThrowsError(try IndexBuilder.build(items: [item("a", [1, 0], ["p": 1]), item("b", [0, 1], ["p": "x"])], to: dir + "/e")) {
            XCTAssertEqual($0 as? HashIdxError, .invalidAttributes(path: "items", line: 0,
                                                                   reason: #"row 1: "p" is a string here but an integer in earlier rows"#))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/e"))
    }
}
