import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// What the partition maintenance tests share: a small partitioned index with string ids,
/// and the check that nothing was lost and every item sits in (nearly always) its nearest
/// partition.
extension XCTestCase {
    /// Builds `rows` (ids `r0`, `r1`, …) at `path` with `partitions` partitions, 64-bit codes,
    /// shards of 1,500 rows and blocks of 16.
    func buildPartitioned(_ path: String, rows: [[Float]], partitions: Int) throws {
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: rows.indices.map { "r\($0)" }, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 1500, rowsPerBlock: 16,
                                                     partitions: partitions, threads: 2, vectorType: .float32))
    }

    /// The cosine of `a` and `b`, in double precision.
    func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { d += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i]) }
        return d / (na.squareRoot() * nb.squareRoot())
    }

    /// The live items of the index at `path` that do not sit in the partition whose
    /// centroid is nearest to them (rows within 1e-5 of two centroids count as placed:
    /// float rounding may send them either way).
    func misplacedItems(_ path: String) throws -> Int {
        let index = try Index(path: path)
        let centroids = try XCTUnwrap(index.manifest.centroids)
        let misplaced = Locked(0)
        try LiveRows(index).forEach(threads: 2) { (_, item, reader) throws(HashIdxError) in
            var unit = [Float](repeating: 0, count: centroids.dimension)
            try unit.withUnsafeMutableBufferPointer { (u) throws(HashIdxError) in try reader.unitVector(of: item, into: u.baseAddress!) }
            var best = 0, bestScore = -Float.infinity
            for j in 0..<centroids.count {
                var s: Float = 0
                for i in 0..<centroids.dimension { s += unit[i] * centroids.rows[j * centroids.dimension + i] }
                if s > bestScore + 1e-5 { best = j; bestScore = s }
            }
            if best != item.partition { misplaced.withLock { $0 += 1 } }
        }
        return misplaced.withLock { $0 }
    }

    /// Every id of `live` is found with its vector, the index counts exactly them,
    /// exhaustive searches for `queries` are the exact top 10, and at most `misplaced` of
    /// the items (a fraction) sit outside their nearest partition: a refit places all
    /// (0.001 leaves room for rounding), a rebalancing step reassigns only the rows of the
    /// lists it touched and their nearest neighbours.
    func checkPartitions(_ path: String, live: [String: [Float]], queries: [[Float]], misplaced: Double = 0.001,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let index = try Index(path: path)
        XCTAssertEqual(index.count, live.count, "items", file: file, line: line)
        try index.verify()
        XCTAssertLessThanOrEqual(try misplacedItems(path), Int(Double(live.count) * misplaced),
                                 "rows not in their nearest partition", file: file, line: line)
        for (id, v) in live.prefix(50) {
            let row = try XCTUnwrap(try index.row(forID: id), "id \(id)", file: file, line: line)
            let stored = try index.vector(ofRow: row)
            for i in v.indices { XCTAssertEqual(stored[i], v[i], accuracy: 1e-4 * max(1, abs(v[i])), file: file, line: line) }
        }
        let items = live.sorted { $0.key < $1.key }
        for q in queries {
            let got = try index.search(q, options: SearchOptions(k: 10, candidates: index.rowCount, probes: 1 << 20))
            let exact = items.map { ($0.key, cosine(q, $0.value)) }.sorted { $0.1 > $1.1 }.prefix(10)
            XCTAssertEqual(got.map(\.id), exact.map(\.0), file: file, line: line)
        }
    }

    /// `manifest` encoded and decoded again (as read from `path`).
    func reencoded(_ manifest: Manifest, path: String) throws -> Manifest {
        try manifest.encoded().withUnsafeBytes { try Manifest.decode($0, path: path) }
    }

    /// Decoding `manifest` fails as a corrupt index, with a reason that names `field`.
    func assertRefused(_ manifest: Manifest, path: String, naming field: String, _ message: String = "",
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try reencoded(manifest, path: path), message, file: file, line: line) {
            guard case .corruptIndex(_, let reason) = $0 as? HashIdxError else { return XCTFail("\($0)", file: file, line: line) }
            XCTAssertTrue(reason.contains(field), reason, file: file, line: line)
        }
    }
}
