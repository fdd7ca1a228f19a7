import Foundation
import XCTest
import HashIdx
import HashIdxTestSupport

/// The snippets of Sources/HashIdx/HashIdx.docc/GettingStarted.md, as printed there (between
/// the `BEGIN`/`END` marks), compiled and run: in a function and inside a closure, the two
/// places where error handling compiles differently (Examples/CatalogService runs the error
/// pattern in top-level code). Change one, change the other.
final class DocSnippetTests: XCTestCase {
    /// GettingStarted.md, "Build an index", "Search it" and "Errors".
    func testGettingStartedErrorsSnippetCompilesAndRuns() throws {
        let directory = makeTemporaryDirectory(self)
        let saved = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }
        let embeddings: [[Float]] = [
            [0.9, 0.1, 0.0, 0.2], [0.8, 0.2, 0.1, 0.1], [0.0, 0.9, 0.4, 0.1],
            [0.1, 0.8, 0.5, 0.0], [0.2, 0.1, 0.9, 0.7], [0.1, 0.0, 0.8, 0.9],
        ]
        let ids = ["red-dress", "pink-dress", "blue-shirt", "navy-shirt", "green-bag", "olive-bag"]
        try IndexBuilder.build(source: try InMemoryVectors(rows: embeddings), ids: ids, to: "tiny.hidx",
                               options: BuildOptions(training: TrainingOptions(bits: 64)))
        let index = try Index(path: "tiny.hidx")
        // BEGIN GettingStarted.md: Errors
        do {
            _ = try index.search([1, 2, 3], options: SearchOptions(k: 3))   // the index has dimension 4
        } catch {
            print(error)   // "query: vector has dimension 3 but the index has dimension 4"
        }
        // END
        // BEGIN GettingStarted.md: Errors, one case
        do throws(HashIdxError) {
            let similar = try index.search(similarToID: "no-such-sku", options: SearchOptions(k: 3))
            print(similar.map(\.id))
        } catch {
            switch error {
            case .unknownID(let id): print("no item has the id \(id)")   // "no item has the id no-such-sku"
            default: print(error)
            }
        }
        // END
        // The same pattern inside a closure, followed by another `try`.
        var handled: [String] = []
        let inClosure = { () throws -> Int in
            do throws(HashIdxError) {
                _ = try index.search(similarToID: "no-such-sku", options: SearchOptions(k: 3))
            } catch {
                switch error {
                case .unknownID(let id): handled.append(id)
                default: throw error
                }
            }
            return try index.search(similarToID: "blue-shirt", options: SearchOptions(k: 2)).count
        }
        XCTAssertEqual(try inClosure(), 2)
        XCTAssertEqual(handled, ["no-such-sku"])
        do {
            _ = try index.search(similarToID: "no-such-sku")
        } catch HashIdxError.unknownID(let id) {
            handled.append(id)
        } catch {
            XCTFail("\(error)")
        }
        XCTAssertEqual(handled.count, 2)
    }

    /// GettingStarted.md, "Items one at a time".
    func testGettingStartedItemsSnippetCompilesAndRuns() throws {
        let directory = makeTemporaryDirectory(self)
        let saved = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(saved) }
        // BEGIN GettingStarted.md: Items one at a time
        let items = [
            IndexItem(id: "red-dress", vector: [0.9, 0.1, 0.0, 0.2], attributes: ["category": "dress", "price": 49.5]),
            IndexItem(id: "blue-shirt", vector: [0.0, 0.9, 0.4, 0.1], attributes: ["category": "shirt", "price": 19]),
            IndexItem(id: "green-bag", vector: [0.2, 0.1, 0.9, 0.7], attributes: ["category": "bag", "tags": ["leather"]]),
        ]
        try IndexBuilder.build(items: items, to: "shop.hidx", options: BuildOptions(training: TrainingOptions(bits: 64)))

        struct Details: Encodable { var category: String; var price: Double; var inStock: Bool }

        let writer = try IndexWriter(path: "shop.hidx")
        try writer.add(IndexItem(id: "pink-dress", vector: [0.8, 0.2, 0.1, 0.1],
                                 attributes: try Attributes(encoding: Details(category: "dress", price: 39, inStock: true))))
        try writer.upsert(IndexItem(id: "red-dress", vector: [0.9, 0.1, 0.0, 0.2], attributes: ["category": "dress", "price": 29.5]))
        try writer.commit()
        try writer.close()
        // END
        let index = try Index(path: "shop.hidx")
        XCTAssertEqual(index.count, 4)
        XCTAssertEqual(try index.attributes(ofID: "pink-dress"), ["category": "dress", "price": 39.0, "inStock": true])
        XCTAssertEqual(try index.attributes(ofID: "red-dress"), ["category": "dress", "price": 29.5])
        XCTAssertEqual(try index.attributes(ofID: "green-bag"), ["category": "bag", "tags": ["leather"]])
    }
}
