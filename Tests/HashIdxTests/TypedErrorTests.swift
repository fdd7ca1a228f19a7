import Foundation
import XCTest
import HashIdx
import HashIdxTestSupport

/// The library's bad inputs are typed errors (the command line's: HashIdxCommandLineTests'
/// BadInputTests), and a failed build leaves nothing behind.
final class TypedErrorTests: XCTestCase {
    func testLibraryErrorsAreTyped() throws {
        let dir = makeTemporaryDirectory(self)
        let good = dir + "/good.npy"
        writeNpy(good, rows: clusteredVectors(count: 200, dim: 8))
        let path = dir + "/lib.hidx"
        try IndexBuilder.build(vectorsPath: good, to: path)
        let index = try Index(path: path)
        XCTAssertThrowsError(try index.search([1, 2])) {
            XCTAssertEqual($0 as? HashIdxError, .dimensionMismatch(expected: 8, actual: 2, source: "query"))
        }
        XCTAssertThrowsError(try index.search([Float](repeating: 1, count: 8), options: SearchOptions(k: 0)))
        XCTAssertThrowsError(try index.search([Float](repeating: 1, count: 8), options: SearchOptions(k: 3, candidates: 0)))
        XCTAssertThrowsError(try index.search(similarToID: "x")) { XCTAssertEqual($0 as? HashIdxError, .unknownID("x")) }
        XCTAssertThrowsError(try InMemoryVectors(values: [1, 2, 3], dimension: 2))
        XCTAssertThrowsError(try InMemoryVectors(rows: [[1, 2], [3]]))
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: [[1, 2], [3, 4]]), ids: ["a"], to: dir + "/x"))
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: [[1, 2], [3, 4]]), ids: ["a", "a"], to: dir + "/x"))
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(values: [], dimension: 2), to: dir + "/x")) {
            XCTAssertEqual($0 as? HashIdxError, .emptyInput(path: "in-memory vectors"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x"), "a failed build left its output behind")
    }
}
