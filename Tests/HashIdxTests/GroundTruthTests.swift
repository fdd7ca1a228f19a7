import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

final class GroundTruthTests: XCTestCase {
    func testExactSearchMatchesDoublePrecisionRanking() throws {
        let base = clusteredVectors(count: 1500, dim: 9)
        let queries = clusteredVectors(count: 70, dim: 9, seed: 99)
        let got = try ExactSearch.topK(base: try InMemoryVectors(rows: base), queries: try InMemoryVectors(rows: queries),
                                       k: 25, threads: 2)
        XCTAssertEqual(got.count, 70)
        for (i, q) in queries.enumerated() {
            XCTAssertEqual(got[i], exactTopK(q, base, k: 25), "query \(i)")
        }
        // Duplicated base rows tie exactly: the lower row comes first.
        let dup = try ExactSearch.topK(base: try InMemoryVectors(rows: [[1, 0], [0, 1], [2, 0], [1, 0]]),
                                       queries: try InMemoryVectors(rows: [[1, 0.001]]), k: 3)
        XCTAssertEqual(dup, [[0, 2, 3]])
    }

    /// Agrees with `exact_top` of ../shared/datasets/glove50.py (the code behind the
    /// benchmark's gt.npy) on a slice of GloVe: the same neighbours in the same order, except
    /// that neighbours whose cosines are equal to float32 precision may be swapped (numpy ranks
    /// them by float32 scores, hashidx by exact ones).
    func testAgreesWithGlove50ScriptOnASlice() throws {
        let fixtures = repositoryRoot + "/Tests/HashIdxTests/Fixtures"
        let base = try VectorFile(path: repositoryRoot + "/Data/glove-20k.npy")
        let queries = try VectorFile(path: fixtures + "/glove-queries-40.npy")
        let expected = try GroundTruthFile(path: fixtures + "/glove-gt-40x100.npy")
        XCTAssertEqual(expected.count, 40)
        XCTAssertEqual(expected.columns, 100)
        let got = try ExactSearch.topK(base: base, queries: queries, k: 100)
        let b = try base.unitRows(), q = try queries.unitRows()
        func cosine(_ qi: Int, _ r: Int) -> Double {
            (0..<50).reduce(0.0) { $0 + Double(q[qi * 50 + $1]) * Double(b[r * 50 + $1]) }
        }
        var identical = 0
        for i in 0..<40 {
            let want = Array(expected.row(i))
            XCTAssertEqual(Set(got[i]), Set(want), "query \(i): different neighbours")
            if got[i] == want { identical += 1; continue }
            for j in 0..<100 where got[i][j] != want[j] {
                XCTAssertEqual(cosine(i, got[i][j]), cosine(i, want[j]), accuracy: 1e-6, "query \(i) rank \(j): not a float32 tie")
            }
        }
        XCTAssertGreaterThanOrEqual(identical, 38)
    }

    func testReadsAndWritesEveryFormat() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = [[3, 1, 4], [1, 5, 9], [2, 6, 5]]
        for ext in ["npy", "ivecs", "ibin"] {
            let path = dir + "/gt." + ext
            try GroundTruthFile.write(rows, to: path)
            let back = try GroundTruthFile(path: path)
            XCTAssertEqual(back.count, 3)
            XCTAssertEqual(back.columns, 3)
            XCTAssertEqual((0..<3).map { Array(back.row($0)) }, rows)
        }
        let payload64 = [7, 8, 9, 10].flatMap { v in withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) } }
        writeFile(dir + "/g64.npy", npyBytes(descr: "<i8", shape: [2, 2], payload: payload64))
        XCTAssertEqual(try GroundTruthFile(path: dir + "/g64.npy").neighbours, [7, 8, 9, 10])
    }

    func testRejectsBadGroundTruth() {
        let dir = makeTemporaryDirectory(self)
        func assertFails(_ path: String, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try GroundTruthFile(path: path), line: line) {
                let d = ($0 as! HashIdxError).description
                XCTAssertTrue(d.contains(path) && d.contains(text), d, line: line)
            }
        }
        writeFile(dir + "/f.npy", npyBytes(descr: "<f4", shape: [1, 2], payload: float32Bytes([1, 2])))
        assertFails(dir + "/f.npy", "unsupported dtype '<f4'")
        writeFile(dir + "/short.npy", npyBytes(descr: "<i4", shape: [2, 2], payload: [1, 0, 0, 0]))
        assertFails(dir + "/short.npy", "does not match its header")
        writeFile(dir + "/a.ivecs", [2, 0, 0, 0, 1, 0, 0, 0])
        assertFails(dir + "/a.ivecs", "not a whole number of rows")
        writeFile(dir + "/a.ibin", [5, 0, 0, 0, 5, 0, 0, 0, 1])
        assertFails(dir + "/a.ibin", "does not match its header")
        writeFile(dir + "/e.ibin", [])
        assertFails(dir + "/e.ibin", "no vectors")
        writeFile(dir + "/g.txt", [1])
        assertFails(dir + "/g.txt", "unknown extension")
        assertFails(dir + "/missing.npy", "cannot open")
    }

    /// Evaluation's recall equals a count made here, and candidate recall bounds it.
    func testEvaluationRecallIsExact() throws {
        let dir = makeTemporaryDirectory(self)
        let base = clusteredVectors(count: 800, dim: 10)
        let queries = clusteredVectors(count: 50, dim: 10, seed: 5)
        try IndexBuilder.build(source: try InMemoryVectors(rows: base), to: dir + "/e.hidx",
                               options: BuildOptions(training: TrainingOptions(bits: 64)))
        let truth = queries.map { exactTopK($0, base, k: 10) }
        try GroundTruthFile.write(truth, to: dir + "/gt.ivecs")
        let report = try Evaluation.run(indexPath: dir + "/e.hidx", queries: try InMemoryVectors(rows: queries),
                                        groundTruth: try GroundTruthFile(path: dir + "/gt.ivecs"), k: 10,
                                        candidates: [15, 800], threads: 2)
        let index = try Index(path: dir + "/e.hidx")
        var found = 0
        for (i, q) in queries.enumerated() {
            let hits = try index.search(q, options: SearchOptions(k: 10, candidates: 15))
            found += hits.filter { truth[i].contains($0.row) }.count
        }
        XCTAssertEqual(report.points[0].recall, Double(found) / 500, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(report.points[0].recall, report.points[0].candidateRecall + 1e-12)
        XCTAssertEqual(report.points[1].recall, 1.0)
        XCTAssertEqual(report.rows, 800)
        XCTAssertEqual(report.queries, 50)
        XCTAssertGreaterThan(report.points[0].qps, 0)
        XCTAssertLessThanOrEqual(report.points[0].p50ms, report.points[0].p99ms)
        XCTAssertGreaterThan(report.peakRSSBytes, 0)
        // Ground truth that does not fit the queries is refused.
        try GroundTruthFile.write(Array(truth.prefix(10)), to: dir + "/few.npy")
        XCTAssertThrowsError(try Evaluation.run(indexPath: dir + "/e.hidx", queries: try InMemoryVectors(rows: queries),
                                                groundTruth: try GroundTruthFile(path: dir + "/few.npy"), k: 10, candidates: [10]))
        XCTAssertThrowsError(try Evaluation.run(indexPath: dir + "/e.hidx", queries: try InMemoryVectors(rows: queries),
                                                groundTruth: try GroundTruthFile(path: dir + "/gt.ivecs"), k: 11, candidates: [10]))
    }
}
