import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Online partition maintenance (issue 27): partitions fitted again to the live items as an
/// index grows or shrinks, by the merge policy after a commit or by `maintainPartitions`.
final class PartitionMaintenanceTests: XCTestCase {
    private let dim = 12

    /// An index built on 2,000 rows (string ids) and grown to 5,000 by commits: the merge
    /// policy's rebalancing steps split its lists as the rows ask for more, without
    /// rewriting a shard (only the rows that change lists are written); lists keep about
    /// their built length, and nothing is lost. (A step reassigns the rows of the lists it
    /// touched and of their nearest neighbours only: a few rows farther off may stay in a
    /// list that is no longer their nearest.)
    func testAGrowingIndexSplitsItsListsAndLosesNothing() throws {
        let path = makeTemporaryDirectory(self) + "/g.hidx"
        let rows = clusteredVectors(count: 5000, dim: dim, clusters: 30, seed: 21)
        try buildPartitioned(path, rows: Array(rows[0..<2000]), partitions: 16)
        let writer = try IndexWriter(path: path)
        var maintained: [(before: Int, after: Int)] = []
        for batch in 0..<6 {
            let range = (2000 + batch * 500)..<(2500 + batch * 500)
            try writer.add(try InMemoryVectors(rows: Array(rows[range])), ids: range.map { "r\($0)" })
            let summary = try writer.commit()
            if let p = summary.merged?.partitions { maintained.append(p) }
            XCTAssertEqual(summary.merged?.rewrittenShards ?? 0, 0, "a rebalancing step rewrites no shard")
        }
        try writer.close()
        XCTAssertFalse(maintained.isEmpty, "the merge policy never fitted the partitions again")
        XCTAssertTrue(maintained.allSatisfy { $0.after > $0.before }, "\(maintained)")
        let index = try Index(path: path)
        // 16 lists for 2,000 rows: about 16·√(5000/2000) ≈ 25 for 5,000, within the 1.15 slack.
        XCTAssertGreaterThanOrEqual(index.partitionCount, Int(25 / 1.15))
        XCTAssertLessThanOrEqual(index.partitionCount, 26)
        XCTAssertEqual(try XCTUnwrap(index.growth), 5000.0 / Double(index.manifest.trainedRows), accuracy: 1e-9)
        var live: [String: [Float]] = [:]
        for i in 0..<5000 { live["r\(i)"] = rows[i] }
        try checkPartitions(path, live: live, queries: [rows[3], rows[2700], rows[4999]], misplaced: 0.03)
    }

    /// Rows from clusters the partitions never saw (a fifth of the items, fitting their lists
    /// far worse): the merge policy refits the lists, which the new clusters get their own
    /// of, and the drift figure starts again.
    func testRowsFromNewClustersGetListsOfTheirOwn() throws {
        let path = makeTemporaryDirectory(self) + "/c.hidx"
        let old = clusteredVectors(count: 2400, dim: dim, clusters: 8, seed: 26)
        let new = clusteredVectors(count: 600, dim: dim, clusters: 4, spread: 0.3, seed: 27)
        try buildPartitioned(path, rows: old, partitions: 16)
        let writer = try IndexWriter(path: path)
        try writer.add(try InMemoryVectors(rows: new), ids: new.indices.map { "n\($0)" })
        let refit = try XCTUnwrap(try writer.commit().merged?.partitions, "the drift did not refit the partitions")
        try writer.close()
        XCTAssertEqual(refit.before, 16)
        let index = try Index(path: path)
        XCTAssertNil(index.drift, "every row now sits in lists fitted to it")
        var live: [String: [Float]] = [:]
        for (i, v) in old.enumerated() { live["r\(i)"] = v }
        for (i, v) in new.enumerated() { live["n\(i)"] = v }
        try checkPartitions(path, live: live, queries: [new[0], new[599], old[5]])
    }

    /// Rows crowding one list (near copies of items the partitions know: no drift, a
    /// quarter more rows, under the growth that splits lists) raise the lists' balance; once
    /// it is `partitionDrift`² times the fit's, the merge policy rebalances (the crowded list
    /// splits), and the step records its own balance.
    func testRowsCrowdingOneListRefitThePartitions() throws {
        let path = makeTemporaryDirectory(self) + "/b.hidx"
        let old = clusteredVectors(count: 2400, dim: dim, clusters: 8, seed: 28)
        try buildPartitioned(path, rows: old, partitions: 24)
        let built = try Index(path: path)
        let atBuild = try XCTUnwrap(built.listBalance)
        XCTAssertEqual(try XCTUnwrap(atBuild.atFit), atBuild.current, accuracy: 1e-4, "a build records its lists' balance")
        XCTAssertGreaterThanOrEqual(atBuild.current, 1)
        XCTAssertLessThan(atBuild.current, 2)
        // 600 near copies of the item that best fits its list.
        let centroids = try XCTUnwrap(built.manifest.centroids)
        func unit(_ v: [Float]) -> [Float] { let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot(); return v.map { $0 / n } }
        func fit(_ v: [Float]) -> Float {
            let u = unit(v)
            return (0..<centroids.count).map { j in (0..<dim).reduce(Float(0)) { $0 + u[$1] * centroids.rows[j * dim + $1] } }.max()!
        }
        let seedRow = old.indices.max { fit(old[$0]) < fit(old[$1]) }!
        var rng = TestRandom(seed: 29)
        let crowd = (0..<600).map { _ in old[seedRow].map { $0 + 0.25 * Float(rng.nextGaussian()) } }
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        try writer.add(try InMemoryVectors(rows: crowd), ids: crowd.indices.map { "c\($0)" })
        try writer.commit()
        let crowded = try Index(path: path)
        let balance = try XCTUnwrap(crowded.listBalance)
        XCTAssertEqual(balance.atFit, atBuild.atFit, "a commit keeps the fit's balance")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(balance.ratio), 1.15 * 1.15)
        XCTAssertLessThan(try XCTUnwrap(crowded.drift).ratio, Index.Drift.retrainAbove, "not the drift")
        XCTAssertLessThan(try XCTUnwrap(crowded.growth), 1.15 * 1.15, "nor the growth")
        // (A looser policy does not see the crowding; in an index with string ids, its
        // rebalancing still splits lists for the quarter more rows.)
        XCTAssertNotEqual(PartitionMaintainer.due(crowded, ratio: 1.01 * balance.ratio!.squareRoot()), .crowded, "a looser policy waits")
        XCTAssertEqual(PartitionMaintainer.due(crowded, ratio: 1.15), .crowded)
        let refit = try XCTUnwrap(try writer.merge(policy: IndexWriter.MergePolicy())?.partitions, "the balance did not refit")
        XCTAssertEqual(refit.before, 24)
        try writer.close()
        let index = try Index(path: path)
        let after = try XCTUnwrap(index.listBalance)
        XCTAssertEqual(try XCTUnwrap(after.atFit), after.current, accuracy: 1e-4, "the refit records its lists' balance")
        XCTAssertLessThan(after.current, balance.current)
        var live: [String: [Float]] = [:]
        for (i, v) in old.enumerated() { live["r\(i)"] = v }
        for (i, v) in crowd.enumerated() { live["c\(i)"] = v }
        try checkPartitions(path, live: live, queries: [crowd[0], old[7]])
    }

    /// The manifest keeps the balance of its lists at the fit; a version-5 manifest has a
    /// reserved word there, and values no list counts could give are refused.
    func testTheManifestKeepsTheListBalanceAndRefusesAnImplausibleOne() throws {
        let path = makeTemporaryDirectory(self) + "/m.hidx"
        try buildPartitioned(path, rows: clusteredVectors(count: 600, dim: dim, clusters: 8, seed: 30), partitions: 8)
        let index = try Index(path: path)
        let file = path + "/" + Format.manifestName(index.generation)
        var manifest = index.manifest
        manifest.listBalance = 2.5
        XCTAssertEqual(try reencoded(manifest, path: file).listBalance, 2.5)
        for bad: Float in [.nan, .infinity, -1, 0.5, 8.5] {
            manifest.listBalance = bad
            assertRefused(manifest, path: file, naming: "list balance", "\(bad)")
        }
        manifest.listBalance = 2.5
        manifest.formatVersion = 5
        XCTAssertEqual(try reencoded(manifest, path: file).listBalance, 0,
                       "version 5 writes and reads the reserved word")
        var bytes = manifest.encoded()
        bytes[92] = 1
        let crc = crc32c(Array(bytes[0..<(bytes.count - 4)]))
        for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try Manifest.decode($0, path: file) }) {
            XCTAssertTrue("\($0)".contains("reserved"), "\($0)")
        }
    }

    /// An index whose ids are its row numbers is maintained too while nothing is deleted:
    /// every shard is rewritten in order, so every row keeps its number (its id).
    func testRowNumberIDsSurviveMaintenance() throws {
        let path = makeTemporaryDirectory(self) + "/n.hidx"
        let rows = clusteredVectors(count: 4000, dim: dim, clusters: 30, seed: 25)
        try IndexBuilder.build(source: try InMemoryVectors(rows: Array(rows[0..<1500])), ids: nil, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 1500, rowsPerBlock: 16,
                                                     partitions: 12, threads: 2, vectorType: .float32))
        let writer = try IndexWriter(path: path)
        try writer.add(try InMemoryVectors(rows: Array(rows[1500..<4000])), ids: nil)
        XCTAssertEqual(try writer.commit().merged?.partitions?.before, 12)
        try writer.close()
        let index = try Index(path: path)
        XCTAssertFalse(index.hasStringIDs)
        XCTAssertGreaterThan(index.partitionCount, 12)
        for r in stride(from: 0, to: 4000, by: 97) {
            XCTAssertEqual(try index.id(ofRow: r), String(r))
            let stored = try index.vector(ofRow: r)
            for i in 0..<dim { XCTAssertEqual(stored[i], rows[r][i], accuracy: 1e-4 * max(1, abs(rows[r][i]))) }
        }
        var live: [String: [Float]] = [:]
        for i in 0..<4000 { live[String(i)] = rows[i] }
        try checkPartitions(path, live: live, queries: [rows[10], rows[3999]])
    }

    /// `maintainPartitions` after two thirds are deleted: fewer, merged lists; the deleted
    /// rows are gone; an explicit count is honoured.
    func testMaintainingAfterDeletesMergesLists() throws {
        let path = makeTemporaryDirectory(self) + "/d.hidx"
        let rows = clusteredVectors(count: 3000, dim: dim, clusters: 30, seed: 22)
        try buildPartitioned(path, rows: rows, partitions: 24)
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        try writer.delete(ids: (0..<3000).filter { $0 % 3 != 0 }.map { "r\($0)" })
        try writer.commit()
        let summary = try writer.maintainPartitions()
        XCTAssertEqual(summary.partitions?.before, 24)
        XCTAssertEqual(summary.partitions?.after, 14)            // 24·√(1000/3000) = 13.9
        XCTAssertEqual(try Index(path: path).deletedCount, 0)
        var live: [String: [Float]] = [:]
        for i in stride(from: 0, to: 3000, by: 3) { live["r\(i)"] = rows[i] }
        try checkPartitions(path, live: live, queries: [rows[0], rows[1500]])
        XCTAssertEqual(try writer.maintainPartitions(partitions: 40).partitions?.after, 40)
        XCTAssertEqual(try Index(path: path).partitionCount, 40)
        try checkPartitions(path, live: live, queries: [rows[2]])
        try writer.close()
    }

    /// What maintenance refuses, and why.
    func testBadMaintenanceIsRefused() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 600, dim: dim, clusters: 10, seed: 23)
        try buildPartitioned(dir + "/flat.hidx", rows: rows, partitions: 0)
        let flat = try IndexWriter(path: dir + "/flat.hidx")
        XCTAssertThrowsError(try flat.maintainPartitions()) {
            guard case .invalidArgument(name: "maintain", _) = $0 as? HashIdxError else { return XCTFail("\($0)") }
        }
        try flat.close()
        try buildPartitioned(dir + "/p.hidx", rows: rows, partitions: 8)
        let writer = try IndexWriter(path: dir + "/p.hidx")
        for bad in [1, 301, 1 << 21] {
            XCTAssertThrowsError(try writer.maintainPartitions(partitions: bad)) {
                guard case .invalidArgument(name: "partitions", _) = $0 as? HashIdxError else { return XCTFail("\($0)") }
            }
        }
        try writer.add(try InMemoryVectors(rows: [rows[0]]), ids: ["new"])
        XCTAssertThrowsError(try writer.maintainPartitions()) {
            guard case .invalidArgument(name: "maintain", _) = $0 as? HashIdxError else { return XCTFail("\($0)") }
        }
        writer.rollback()
        try writer.close()
        XCTAssertEqual(try Index(path: dir + "/p.hidx").partitionCount, 8, "nothing changed")
    }

    /// The split and merge steps alone: a list three times the mean is split even at the
    /// target count, and lists under a quarter of the mean merge away.
    func testRefitSplitsTheLargeAndMergesTheSmall() {
        var rng = SplitMix64(seed: 5)
        let d = 8
        // Three clusters of 1,000, 1,000 and 4,000 rows, in 3 + 1 (tiny) partitions.
        let raw = clusteredVectors(count: 6000, dim: d, clusters: 6, seed: 24)
        var sample = [Float](), assignment = [Int]()
        for (r, v) in raw.enumerated() {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            sample += v.map { $0 / n }
            assignment.append(r % 6 == 0 ? 0 : r % 6 == 1 ? 1 : r == 5 ? 3 : 2)
        }
        var centres = [Float](repeating: 0, count: 4 * d)
        for (r, p) in assignment.enumerated() { for i in 0..<d { centres[p * d + i] += sample[r * d + i] } }
        for p in 0..<4 {
            let n = (0..<d).reduce(Float(0)) { $0 + centres[p * d + $1] * centres[p * d + $1] }.squareRoot()
            for i in 0..<d { centres[p * d + i] /= n }
        }
        let refit = PartitionMaintenance.refit(sample: sample, n: 6000, d: d, assignment: assignment,
                                               old: Centroids(rows: centres, count: 4, dimension: d), target: 4,
                                               rng: &rng, threads: 2)
        // The tiny list (1 row) merged away, the 4,000-row list (2.7× the mean of 1,500 over
        // 4) split until none is over 3× the mean: at least 4 lists.
        XCTAssertGreaterThanOrEqual(refit.count, 4)
        var sizes = [Int](repeating: 0, count: refit.count)
        sample.withUnsafeBufferPointer { x in
            var out = [Int](repeating: 0, count: 6000)
            out.withUnsafeMutableBufferPointer { SphericalKMeans.assign(x.baseAddress!, n: 6000, to: refit, into: $0.baseAddress!) }
            for p in out { sizes[p] += 1 }
        }
        XCTAssertLessThanOrEqual(Double(sizes.max()!), PartitionMaintenance.splitAbove * 6000 / Double(refit.count) + 1, "\(sizes)")
        XCTAssertGreaterThan(sizes.min()!, 0, "\(sizes)")
    }
}
