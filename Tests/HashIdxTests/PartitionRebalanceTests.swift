import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Bounded partition maintenance (issue 27): rebalancing steps that split lists one by one
/// and rewrite only the rows that change lists.
final class PartitionRebalanceTests: XCTestCase {
    private let dim = 12

    /// Every item of `live` is in the index exactly once, under its id, with its vector.
    private func checkEveryItem(_ path: String, live: [String: [Float]], file: StaticString = #filePath, line: UInt = #line) throws {
        let index = try Index(path: path)
        XCTAssertEqual(index.count, live.count, file: file, line: line)
        var rows = Set<Int>()
        for (id, v) in live {
            guard let row = try index.row(forID: id) else { return XCTFail("id \(id) is lost", file: file, line: line) }
            XCTAssertTrue(rows.insert(row).inserted, file: file, line: line)
            let stored = try index.vector(ofRow: row)
            XCTAssertEqual(zip(stored, v).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-4, "id \(id)", file: file, line: line)
        }
    }

    /// The rows a plan reads: the live rows of its lists.
    private func rowsRead(_ plan: PartitionRebalancer.Plan, in index: Index) -> Int {
        let sizes = index.listLengths
        return plan.lists.reduce(0) { $0 + sizes[$1] }
    }

    /// An index built on 2,000 rows and grown to 5,000 without maintenance, then rebalanced
    /// a bounded step at a time: each step reads within its bound (or one split's rows),
    /// keeps every shard of the one before (rows that move are deleted there and written as
    /// a new shard), and adds lists until the count the rows ask for; shards written before
    /// a step cover fewer partitions than the index. Nothing is lost, searches over every
    /// partition are exact, and nearly every row sits in its nearest list.
    func testGrowthAddsListsStepByStepRewritingOnlyTheRowsThatMove() throws {
        let path = makeTemporaryDirectory(self) + "/g.hidx"
        let rows = clusteredVectors(count: 5000, dim: dim, clusters: 30, seed: 41)
        try buildPartitioned(path, rows: Array(rows[0..<2000]), partitions: 16)
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        try writer.add(try InMemoryVectors(rows: Array(rows[2000...])), ids: (2000..<5000).map { "r\($0)" })
        try writer.commit()
        let grown = try Index(path: path)
        let (_, target) = try XCTUnwrap(PartitionMaintainer.target(of: grown.manifest))
        XCTAssertEqual(target, 25, "16·√(5000/2000)")
        XCTAssertEqual(PartitionMaintainer.due(grown, ratio: 1.15), .grown)
        var steps = 0
        while true {
            let before = try Index(path: path)
            guard let plan = PartitionRebalancer.plan(before, target: target, limit: target, maxRows: 700) else { break }
            XCTAssertTrue(rowsRead(plan, in: before) <= 700 || plan.splits.count == 1, "a step reads within its bound")
            let summary = try XCTUnwrap(try writer.rebalancePartitions(maxRows: 700))
            steps += 1
            XCTAssertEqual(summary.rewrittenShards, 0)
            let after = try Index(path: path)
            XCTAssertEqual(after.partitionCount, plan.partitions)
            XCTAssertEqual(summary.partitions?.after, plan.partitions)
            let kept = Set(after.manifest.shards.map(\.fileName))
            XCTAssertTrue(Set(before.manifest.shards.map(\.fileName)).isSubset(of: kept), "shards are kept, not rewritten")
            let moved = after.manifest.shards.filter { !before.manifest.shards.map(\.fileName).contains($0.fileName) }
            XCTAssertLessThanOrEqual(moved.reduce(0) { $0 + Int($1.rows) }, rowsRead(plan, in: before))
            XCTAssertEqual(after.manifest.partitionTarget, plan.partitions < target ? target : 0)
            XCTAssertLessThan(steps, 40, "steps do not end")
            if steps >= 40 { break }
        }
        XCTAssertGreaterThan(steps, 1, "the bound spread the growth over several steps")
        try writer.close()
        let index = try Index(path: path)
        XCTAssertEqual(index.partitionCount, target)
        XCTAssertNil(PartitionMaintainer.due(index, ratio: 1.15), "nothing left to do")
        XCTAssertEqual(try XCTUnwrap(index.growth), 5000.0 / Double(index.manifest.trainedRows), accuracy: 1e-9)
        let asked = 16 * (5000.0 / 2000).squareRoot()   // 25.3, rounded to 25 lists
        XCTAssertEqual(try XCTUnwrap(index.growth), (asked / 25) * (asked / 25), accuracy: 1e-3,
                       "the lists stand for the rows they hold now")
        XCTAssertTrue(index.shards.contains { ($0.partitionOffsets?.count ?? 0) > 0 && $0.record.fileName.hasPrefix("shard-") })
        var live: [String: [Float]] = [:]
        for i in 0..<5000 { live["r\(i)"] = rows[i] }
        try checkEveryItem(path, live: live)
        try checkPartitions(path, live: live, queries: [rows[3], rows[2700], rows[4999]], misplaced: 0.03)
        // Probing a fifth of the lists finds the true nearest item of nearly every query.
        var found = 0
        for q in rows[0..<200] {
            let got = try index.search(q, options: SearchOptions(k: 1, candidates: 50, probes: 5))
            found += got.first.map { cosine(live[$0.id]!, q) > 0.9999 ? 1 : 0 } ?? 0
        }
        XCTAssertGreaterThanOrEqual(found, 190)
    }

    /// Rows crowding a few lists while others empty: the merge policy's rebalancing splits
    /// the crowded lists into the places of the emptied ones (the count stays), rewrites
    /// only the rows that move, and records the balance it reached.
    func testCrowdedListsSplitIntoThePlacesOfEmptiedOnes() throws {
        let path = makeTemporaryDirectory(self) + "/c.hidx"
        let old = clusteredVectors(count: 2400, dim: dim, clusters: 8, seed: 42)
        try buildPartitioned(path, rows: old, partitions: 24)
        let built = try Index(path: path)
        let sizes = built.listLengths
        // Empty the three smallest lists, and crowd the largest with 500 near copies of its rows.
        let smallest = sizes.indices.sorted { sizes[$0] < sizes[$1] }.prefix(3)
        let goneIDs = Locked<[String]>([])
        var crowdSeed: [Float]? = nil
        let largest = sizes.indices.max { sizes[$0] < sizes[$1] }!
        try LiveRows(built).forEach(threads: 1) { (_, item, reader) throws(HashIdxError) in
            if smallest.contains(item.partition!) { let id = try reader.id(of: item); goneIDs.withLock { $0.append(id) } }
        }
        // And as many other rows as the crowd adds (outside the largest list), so that the
        // rows ask for the same count: the halves must take the emptied lists' places.
        var gone = goneIDs.withLock { $0 }
        var rng = TestRandom(seed: 43)
        let spare = old.indices.filter { !gone.contains("r\($0)") }.shuffled(using: &rng)
        let centroids = try XCTUnwrap(built.manifest.centroids)
        func nearest(_ v: [Float]) -> Int {
            (0..<centroids.count).max { a, b in
                (0..<dim).reduce(Float(0)) { $0 + v[$1] * centroids.rows[a * dim + $1] }
                    < (0..<dim).reduce(Float(0)) { $0 + v[$1] * centroids.rows[b * dim + $1] }
            }!
        }
        // The row that best fits the largest list: its near copies crowd it, without drift.
        func fit(_ v: [Float]) -> Float {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return (0..<dim).reduce(Float(0)) { $0 + v[$1] / n * centroids.rows[largest * dim + $1] }
        }
        crowdSeed = old.filter { nearest($0) == largest }.max { fit($0) < fit($1) }
        gone += spare.filter { nearest(old[$0]) != largest }.prefix(500 - gone.count).map { "r\($0)" }
        let crowd = (0..<500).map { _ in try! XCTUnwrap(crowdSeed).map { $0 + 0.15 * Float(rng.nextGaussian()) } }
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        _ = try writer.delete(ids: gone)
        try writer.add(try InMemoryVectors(rows: crowd), ids: crowd.indices.map { "c\($0)" })
        try writer.commit()
        let crowded = try Index(path: path)
        let balance = try XCTUnwrap(crowded.listBalance)
        XCTAssertEqual(PartitionMaintainer.due(crowded, ratio: 1.15), .crowded)
        guard case .rebalance = PartitionMaintainer.work(crowded, policy: IndexWriter.MergePolicy()) else {
            return XCTFail("crowded lists are rebalanced")
        }
        let summary = try XCTUnwrap(try writer.merge(policy: IndexWriter.MergePolicy()))
        try writer.close()
        XCTAssertEqual(summary.rewrittenShards, 0)
        let index = try Index(path: path)
        XCTAssertEqual(index.partitionCount, 24, "halves took the emptied lists' places")
        let after = try XCTUnwrap(index.listBalance)
        XCTAssertLessThan(after.current, balance.current)
        XCTAssertEqual(try XCTUnwrap(after.atFit), after.current, accuracy: 1e-3, "a complete step records its balance")
        XCTAssertNil(PartitionMaintainer.due(index, ratio: 1.15))
        var live: [String: [Float]] = [:]
        for (i, v) in old.enumerated() where !gone.contains("r\(i)") { live["r\(i)"] = v }
        for (i, v) in crowd.enumerated() { live["c\(i)"] = v }
        try checkEveryItem(path, live: live)
        try checkPartitions(path, live: live, queries: [crowd[0], old[7]], misplaced: 0.03)
    }

    /// Indexes whose ids are row numbers are not rebalanced (rows that move would lose their
    /// numbers): the call says what to do instead; a bad bound is refused.
    func testRebalancingNeedsStringIDsAndABound() throws {
        let path = makeTemporaryDirectory(self) + "/n.hidx"
        let rows = clusteredVectors(count: 800, dim: dim, clusters: 8, seed: 44)
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), partitions: 8, threads: 2))
        let writer = try IndexWriter(path: path)
        defer { try? writer.close() }
        XCTAssertThrowsError(try writer.rebalancePartitions()) {
            guard case .invalidArgument(name: "rebalance", let reason) = $0 as? HashIdxError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("maintainPartitions"), reason)
        }
        let named = makeTemporaryDirectory(self) + "/s.hidx"
        try buildPartitioned(named, rows: rows, partitions: 8)
        let other = try IndexWriter(path: named)
        defer { try? other.close() }
        XCTAssertThrowsError(try other.rebalancePartitions(maxRows: 0)) {
            guard case .invalidArgument(name: "maxRows", _) = $0 as? HashIdxError else { return XCTFail("\($0)") }
        }
        XCTAssertNil(try other.rebalancePartitions(), "a fresh build has no list to split")
    }

    /// The manifest keeps the partition count a rebalancing grows toward; a target at or
    /// under the partition count is refused. A shard covering more partitions than its
    /// manifest is refused too.
    func testThePartitionTargetAndShardsCoveringFewerPartitions() throws {
        let path = makeTemporaryDirectory(self) + "/t.hidx"
        try buildPartitioned(path, rows: clusteredVectors(count: 600, dim: dim, clusters: 8, seed: 45), partitions: 8)
        let index = try Index(path: path)
        let file = path + "/" + Format.manifestName(index.generation)
        var manifest = index.manifest
        manifest.partitionTarget = 11
        let decoded = try reencoded(manifest, path: file)
        XCTAssertEqual(decoded.partitionTarget, 11)
        for bad in [8, 3, (1 << 20) + 1] {
            manifest.partitionTarget = bad
            assertRefused(manifest, path: file, naming: "partition target", "target \(bad)")
        }
        // The same shard under a manifest of fewer partitions: its offsets cover too many.
        var fewer = index.manifest
        fewer.centroids = Centroids(rows: Array(fewer.centroids!.rows.prefix(6 * dim)), count: 6, dimension: dim)
        let record = fewer.shards[0]
        XCTAssertThrowsError(try Shard(path: path + "/" + record.fileName, record: record, manifest: fewer)) {
            guard case .corruptIndex(_, let reason) = $0 as? HashIdxError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("partition offsets cover 8 partitions"), reason)
        }
        // …and under one of more, the partitions past its own are empty in it.
        var more = index.manifest
        more.centroids = Centroids(rows: more.centroids!.rows + more.centroids!.rows.prefix(2 * dim), count: 10, dimension: dim)
        let shard = try Shard(path: path + "/" + record.fileName, record: record, manifest: more)
        XCTAssertEqual(shard.partitionOffsets?.count, 11)
        XCTAssertEqual(shard.partitionOffsets?.suffix(3), [shard.rows, shard.rows, shard.rows])
        var lists = [Int](repeating: 0, count: 10)
        shard.countLiveRows(perPartition: &lists)
        XCTAssertEqual(lists.reduce(0, +), shard.rows)
        XCTAssertEqual(lists.suffix(2), [0, 0])
    }
}
