import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Input from outside, read by the library for every door (CLI, server, linked programs):
/// filters nested past the depth limit are errors, not stack overflows; ids compare as bytes
/// everywhere (NFC and NFD spellings are two ids) and hold no control characters.
final class OutsideInputTests: XCTestCase {
    // MARK: Filters

    private func filterError(_ text: String) -> (offset: Int, reason: String)? {
        do {
            _ = try Filter(text)
            return nil
        } catch {
            guard case let .invalidFilter(_, offset, reason) = error else { XCTFail("\(error)"); return nil }
            return (offset, reason)
        }
    }

    func testDeepNestingIsAnErrorNotACrash() {
        // What crashed the server (SIGSEGV): 25,000 `not`, 50,000 `(`.
        let nots = filterError(String(repeating: "not ", count: 25_000) + "in_stock")
        XCTAssertNotNil(nots)
        XCTAssertTrue(nots?.reason.contains("deeper than \(Filter.maximumDepth) levels") == true, nots?.reason ?? "")
        XCTAssertEqual(nots?.offset, 4 * Filter.maximumDepth, "the error points at the first 'not' past the limit")
        let parens = filterError(String(repeating: "(", count: 50_000) + "in_stock" + String(repeating: ")", count: 50_000))
        XCTAssertTrue(parens?.reason.contains("deeper than") == true, parens?.reason ?? "")
        XCTAssertEqual(parens?.offset, Filter.maximumDepth)
        let mixed = filterError(String(repeating: "not (", count: 40) + "a" + String(repeating: ")", count: 40))
        XCTAssertTrue(mixed?.reason.contains("deeper than") == true, "40 × 'not (' is 80 levels")
        // The description of such an error quotes the place, not 100,000 characters.
        let error = HashIdxError.invalidFilter(expression: String(repeating: "(", count: 50_000), offset: 64, reason: "r")
        XCTAssertLessThan(error.description.count, 400)
    }

    func testNestingUpToTheLimitParsesAndMatches() throws {
        let depth = Filter.maximumDepth
        let parens = try Filter(String(repeating: "(", count: depth) + "in_stock" + String(repeating: ")", count: depth))
        XCTAssertEqual(parens.node, .compare("in_stock", .equal, .boolean(true)))
        let nots = try Filter(String(repeating: "not ", count: depth) + "in_stock")
        XCTAssertTrue(nots.matches(["in_stock": .boolean(true)]), "an even number of 'not' is the predicate itself")
        XCTAssertEqual(try Filter(Filter(nots.node).description), nots, "the canonical text of a deep filter parses back")
        // Long flat filters are fine: the limit is on depth, not on length.
        let wide = try Filter((0..<5000).map { "a\($0) = \($0)" }.joined(separator: " or "))
        guard case let .or(parts) = wide.node else { return XCTFail("expected an or") }
        XCTAssertEqual(parts.count, 5000)
    }

    func testOverlongFilterIsRefused() {
        let text = "sku in (" + Array(repeating: "\"abcdefgh\"", count: 100_000).joined(separator: ",") + ")"
        XCTAssertGreaterThan(text.utf8.count, Filter.maximumLength)
        XCTAssertTrue(filterError(text)?.reason.contains("limited to \(Filter.maximumLength) bytes") == true)
    }

    // MARK: Ids

    func testIdsCompareAsBytesEverywhere() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        XCTAssertEqual(nfc, nfd, "Swift strings: canonically equivalent")
        XCTAssertNotEqual(IDKey(nfc), IDKey(nfd), "ids: different bytes, different ids")
        XCTAssertNoThrow(try IDList.validate([nfc, nfd], path: "ids"), "not duplicates")

        let dir = makeTemporaryDirectory(self)
        let path = dir + "/ids.hidx"
        let rows = clusteredVectors(count: 40, dim: 8, seed: 3)
        try IndexBuilder.build(source: try InMemoryVectors(rows: Array(rows[0..<38])), ids: (0..<37).map { "id-\($0)" } + [nfc], to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), threads: 1))
        var index = try Index(path: path)
        XCTAssertNotNil(try index.row(forID: nfc))
        XCTAssertNil(try index.row(forID: nfd), "the NFD spelling is not the NFC item")

        // A writer adds the NFD id as a new item beside the NFC one, and deletes only it.
        let writer = try IndexWriter(path: path, threads: 1)
        try writer.add(try InMemoryVectors(rows: [rows[38]]), ids: [nfd])
        XCTAssertEqual(try writer.delete(ids: [nfd], ignoringMissing: true), [], "the pending NFD item is found by its bytes")
        try writer.add(try InMemoryVectors(rows: [rows[38]]), ids: [nfd])
        try writer.commit()
        index = try Index(path: path)
        XCTAssertEqual(index.count, 39)
        let a = try XCTUnwrap(try index.row(forID: nfc)), b = try XCTUnwrap(try index.row(forID: nfd))
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(Array(try index.id(ofRow: b).utf8), Array(nfd.utf8))
        try writer.delete(ids: [nfd])
        try writer.commit()
        try writer.close()
        index = try Index(path: path)
        XCTAssertNotNil(try index.row(forID: nfc), "deleting the NFD id left the NFC item")
        XCTAssertNil(try index.row(forID: nfd))
    }

    func testIdsWithControlCharactersAreRefused() throws {
        for bad in ["a\r\nb", "a\nb", "a\rb", "tab\there", "nul\u{0}", "del\u{7F}"] {
            XCTAssertNotNil(IDList.check(bad), bad.debugDescription)
            XCTAssertThrowsError(try IDList.validate(["ok", bad], path: "ids")) { error in
                // Ids in memory: a 0-based row, not a line.
                guard case let .invalidID(_, line, reason) = error as? HashIdxError else { return XCTFail("\(error)") }
                XCTAssertEqual(line, 0)
                XCTAssertTrue(reason.hasPrefix("row 1: "), reason)
                XCTAssertTrue(reason.contains("control character"), reason)
            }
        }
        XCTAssertNil(IDList.check("sku/17 café 東京"))
        XCTAssertNotNil(IDList.check(""))
        XCTAssertNotNil(IDList.check(String(repeating: "x", count: IDList.maximumIDLength + 1)))
        // The writer applies the same rule.
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/ids.hidx"
        try IndexBuilder.build(source: try InMemoryVectors(rows: clusteredVectors(count: 30, dim: 8, seed: 4)), ids: (0..<30).map { "id-\($0)" },
                               to: path, options: BuildOptions(training: TrainingOptions(bits: 64), threads: 1))
        let writer = try IndexWriter(path: path, threads: 1)
        XCTAssertThrowsError(try writer.upsert(try InMemoryVectors(rows: [[1, 2, 3, 4, 5, 6, 7, 8]]), ids: ["x\r\ny"]))
        try writer.close()
    }
}
