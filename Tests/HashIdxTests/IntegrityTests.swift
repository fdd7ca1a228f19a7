import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Changed or cut bytes are reported, and builds replace indexes atomically.
final class IntegrityTests: XCTestCase {
    private func buildSmall(_ path: String, codec: CodecChoice = .lz4, seed: UInt64 = 7) throws -> [[Float]] {
        let rows = clusteredVectors(count: 300, dim: 8, seed: seed)
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: (0..<300).map { "id-\($0)" }, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 200, rowsPerBlock: 16,
                                                     vectorCodec: codec, idCodec: codec, partitions: 4))
        return rows
    }

    private func files(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    /// Opens the index and runs queries touching every block; returns the error, if any.
    private func useFully(_ path: String) -> HashIdxError? {
        do {
            let index = try Index(path: path)
            try index.verify()
            for r in stride(from: 0, to: index.count, by: 7) { _ = try index.search(similarToID: "id-\(r)", options: SearchOptions(k: 3, candidates: 300)) }
            return nil
        } catch let e as HashIdxError {
            return e
        } catch {
            XCTFail("untyped error \(error)")
            return nil
        }
    }

    // Every single-byte change: HardeningTests.testEverySingleByteChangeIsCaught.

    func testTruncationIsDetected() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/t.hidx"
        _ = try buildSmall(path, codec: .none)
        for name in try files(path) where name.hasPrefix("shard") || name.hasPrefix("MANIFEST") || name == "CURRENT" {
            let file = path + "/" + name
            let original = try Data(contentsOf: URL(fileURLWithPath: file))
            for cut in [0, 1, original.count / 3, original.count - 1] {
                try original.prefix(cut).write(to: URL(fileURLWithPath: file))
                XCTAssertNotNil(useFully(path), "\(name) cut to \(cut) bytes went unnoticed")
            }
            var longer = original
            longer.append(0)
            try longer.write(to: URL(fileURLWithPath: file))
            XCTAssertNotNil(useFully(path), "\(name) with an extra byte went unnoticed")
            try original.write(to: URL(fileURLWithPath: file))
        }
        XCTAssertNil(useFully(path))
        let shard = try files(path).first { $0.hasPrefix("shard") }!
        try FileManager.default.removeItem(atPath: path + "/" + shard)
        XCTAssertNotNil(useFully(path))
    }

    /// A build that fails part-way leaves the previous index as it was; a successful one
    /// replaces it and removes the old generation and leftovers of interrupted builds.
    func testFailedRebuildKeepsOldIndexAndSuccessfulRebuildReplacesIt() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/a.hidx"
        let rowsA = try buildSmall(path)
        let before = try Index(path: path).search(rowsA[0])
        let filesBefore = try files(path)

        var bad = clusteredVectors(count: 500, dim: 8, seed: 3)
        bad[450][0] = .nan
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: bad), to: path,
                                                    options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 100)))
        XCTAssertEqual(try files(path), filesBefore, "nothing of the failed build is left")
        XCTAssertEqual(try Index(path: path).search(rowsA[0]), before)

        // Leftovers of a build killed before its commit point.
        writeFile(path + "/shard-000009-000000.hidx", [1, 2, 3])
        writeFile(path + "/MANIFEST-000009", [4, 5])
        writeFile(path + "/CURRENT.tmp-9", Array("MANIFEST-000009\n".utf8))
        XCTAssertEqual(try Index(path: path).search(rowsA[0]), before, "leftovers are ignored by open")

        let rowsB = try buildSmall(path, seed: 99)
        let after = try Index(path: path)
        XCTAssertEqual(try after.search(rowsB[0], options: SearchOptions(k: 1)).first?.row, 0)
        let remaining = try files(path)
        XCTAssertFalse(remaining.contains("shard-000009-000000.hidx"))
        XCTAssertFalse(remaining.contains("CURRENT.tmp-9"))
        XCTAssertEqual(remaining.filter { $0.hasPrefix("MANIFEST") }.count, 1)
        XCTAssertEqual(Set(remaining.filter { $0.hasPrefix("shard") }.map { Format.generation(ofFile: $0)! }).count, 1)
    }

    func testInterruptedFirstBuildDoesNotOpen() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/new.hidx"
        _ = try buildSmall(path)
        // Simulate a crash before the commit point of a first build: no CURRENT.
        try FileManager.default.removeItem(atPath: path + "/CURRENT")
        XCTAssertThrowsError(try Index(path: path)) {
            XCTAssertTrue(($0 as! HashIdxError).description.contains("no CURRENT file"))
        }
        // The next build over it succeeds.
        _ = try buildSmall(path)
        XCTAssertNoThrow(try Index(path: path))
    }
}
