import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The partition arena (issue 27): an index of several shards with deleted rows scans the
/// live codes of its shards partition by partition from memory, and finds what a scan of
/// the shards themselves finds.
final class PartitionArenaTests: XCTestCase {
    private let dim = 16
    private let partitions = 12

    /// An index of `rows` in shards of 400 rows, then `deleted` ids deleted by a commit to
    /// shards without merging.
    private func index(_ rows: [[Float]], deleting deleted: [String]) throws -> String {
        let path = makeTemporaryDirectory(self) + "/a.hidx"
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: rows.indices.map { "r\($0)" }, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 400, rowsPerBlock: 16,
                                                     partitions: partitions, threads: 2, vectorType: .float32))
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        _ = try writer.delete(ids: deleted)
        _ = try writer.commit()
        try writer.close()
        return path
    }

    private func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    /// The Hamming distance of the code stored at `position` of shard `shard` to `query`'s code.
    private func distance(_ s: Searcher, shard: Int, position: Int, to code: [UInt64]) -> Int {
        zip(s.shards[shard].codes.code(at: position), code).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
    }

    func testTheArenaHoldsEveryLiveRowOfItsShardsOnceAndSearchesFindWhatTheShardsHold() throws {
        let rows = clusteredVectors(count: 1900, dim: dim, clusters: 9, seed: 5)
        var rng = TestRandom(seed: 8)
        let deleted = Set((0..<1900).filter { _ in rng.next() % 100 < 15 }.map { "r\($0)" })
        let index = try Index(path: try index(rows, deleting: Array(deleted)))
        let s = index.searcher
        XCTAssertEqual(s.shards.count, 5)
        let arena = try XCTUnwrap(s.arena, "several shards: an arena")
        XCTAssertEqual(arena.covered, Array(0..<5))
        XCTAssertNil(s.arenaDropped, "rows deleted before the arena was made are not in it")
        XCTAssertEqual(arena.count, 1900 - deleted.count)
        XCTAssertGreaterThanOrEqual(index.partitionArenaBytes, arena.count * (index.manifest.model.words * 8 + 8), "codes and origins")
        XCTAssertLessThan(index.partitionArenaBytes, arena.count * (index.manifest.model.words * 8 + 8) + (1 << 16))

        // Every arena row maps back to a live (shard, position) of its partition with the same
        // code, and every live row is there exactly once.
        var seen = Set<[Int]>()
        for p in 0..<partitions {
            for offset in 0..<(arena.listStarts[p + 1] - arena.listStarts[p]) {
                let (shard, position) = arena.locate(arena.listStarts[p] + offset)
                let offsets = try XCTUnwrap(s.shards[shard].partitionOffsets)
                XCTAssertTrue(offsets[p] <= position && position < offsets[p + 1], "partition \(p)")
                XCTAssertFalse(s.shards[shard].isDeleted(position: position))
                XCTAssertTrue(seen.insert([shard, position]).inserted)
                var code = [UInt64](repeating: 0, count: arena.words)
                code.withUnsafeMutableBufferPointer { arena.copy(arena.listStarts[p] + offset, into: $0.baseAddress!) }
                XCTAssertEqual(code, s.shards[shard].codes.code(at: position))
                XCTAssertEqual(arena.offset(list: p, shard: shard, position: position), offset)
                XCTAssertNil(arena.offset(list: (p + 1) % partitions, shard: shard, position: position))
            }
        }
        XCTAssertEqual(seen.count, index.count)

        // The same searches without the arena (the shards scanned in place).
        let plain = Searcher(manifest: s.manifest, shards: s.shards, arenaBudget: 0)
        XCTAssertNil(plain.arena)
        let queries = clusteredVectors(count: 12, dim: dim, clusters: 9, seed: 77).map(unit)
        for q in queries {
            // Every row of all but one partition re-ranked: the same results, none deleted.
            let all = try index.checked(SearchOptions(k: 20, candidates: index.rowCount, probes: partitions - 1), leavingOut: 0)
            let found = try s.search(unit: q, options: all, filter: .none)
            XCTAssertEqual(found.map(\.row), try plain.search(unit: q, options: all, filter: .none).map(\.row))
            XCTAssertTrue(found.allSatisfy { !deleted.contains($0.id) })
            // Explicit exclusions ("more like this") reach rows in the arena.
            let excluded = RowFilter(excluding: found.prefix(3).map(\.row))
            let without = try s.search(unit: q, options: all, filter: excluded)
            XCTAssertEqual(without.map(\.row), try plain.search(unit: q, options: all, filter: excluded).map(\.row))
            XCTAssertEqual(Array(without.prefix(5).map(\.row)), Array(found.dropFirst(3).prefix(5).map(\.row)))
            // A narrow scan picks candidates at the same Hamming distances (ties at the cut may
            // fall on other rows: the arena scans partition by partition).
            let narrow = try index.checked(SearchOptions(k: 10, candidates: 40, probes: 3, shortlistFactor: 1), leavingOut: 0)
            let scratch = s.takeScratch()
            s.prepareQuery(q, scratch: scratch)
            let code = scratch.query
            s.returnScratch(scratch)
            func distances(_ searcher: Searcher) -> [Int] {
                let sc = searcher.takeScratch()
                defer { searcher.returnScratch(sc) }
                return searcher.rerankCandidates(q, want: 40, options: narrow, filter: .none, scratch: sc)
                    .map { distance(searcher, shard: $0.0, position: $0.1, to: code) }.sorted()
            }
            XCTAssertEqual(distances(s), distances(plain))
            XCTAssertEqual(distances(s).count, 40)
        }
    }

    /// A writer's snapshots of one generation share its arena; rows deleted by log commits
    /// since are left out through the snapshot's own bitmap, and a commit to shards makes a
    /// new arena without them.
    func testSnapshotsShareTheArenaAndLeaveOutRowsDeletedSince() throws {
        let rows = clusteredVectors(count: 1600, dim: dim, clusters: 7, seed: 11)
        let path = try index(rows, deleting: (0..<40).map { "r\($0 * 7)" })
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        let before = try writer.snapshot()
        let arena = try XCTUnwrap(before.searcher.arena)
        // Delete the best hits of a few queries through the log.
        let queries = clusteredVectors(count: 6, dim: dim, clusters: 7, seed: 12)
        let options = SearchOptions(k: 5, candidates: 1600, probes: partitions - 1)
        let gone = Set(try queries.flatMap { try before.search($0, options: options).prefix(2).map(\.id) })
        _ = try writer.delete(ids: Array(gone))
        _ = try writer.commit(durability: .log)
        let after = try writer.snapshot()
        XCTAssertTrue(after.searcher.arena === arena, "the same generation: the arena is shared")
        let dropped = try XCTUnwrap(after.searcher.arenaDropped)
        XCTAssertEqual(dropped.reduce(0) { $0 + $1.nonzeroBitCount }, gone.count)
        for q in queries {
            let found = try after.search(q, options: options)
            XCTAssertTrue(found.allSatisfy { !gone.contains($0.id) })
            let reference = Searcher(manifest: after.searcher.manifest, shards: after.searcher.shards, arenaBudget: 0)
            let checked = try after.checked(options, leavingOut: 0)
            XCTAssertEqual(try after.searcher.search(unit: unit(q), options: checked, filter: .none).map(\.row),
                           try reference.search(unit: unit(q), options: checked, filter: .none).map(\.row))
        }
        _ = try writer.commit()
        let written = try writer.snapshot()
        XCTAssertFalse(written.searcher.arena === arena)
        XCTAssertNil(written.searcher.arenaDropped)
        XCTAssertEqual(written.searcher.arena?.count, written.count)
        try writer.close()
    }

    /// One shard with few deletions, or shards over the budget: no arena (their partitions
    /// are runs already); one shard with many deletions: an arena of its live rows.
    func testArenaForSeveralShardsOrOneWithManyDeletionsWithinTheBudget() throws {
        let rows = clusteredVectors(count: 900, dim: dim, clusters: 5, seed: 2)
        let s = try Index(path: try index(rows, deleting: ["r1", "r2", "r3"])).searcher
        XCTAssertEqual(s.shards.count, 3)
        XCTAssertNotNil(s.arena)
        XCTAssertNil(PartitionArena(shards: [s.shards[0]], partitions: partitions, words: 1), "3 of 400 deleted")
        XCTAssertEqual(try Index(path: try index(Array(rows[0..<400]), deleting: [])).partitionArenaBytes, 0, "one shard, none deleted")
        let few = try Index(path: try index(rows, deleting: (1...7).map { "r\($0)" })).searcher
        XCTAssertNotNil(PartitionArena(shards: [few.shards[0]], partitions: partitions, words: 1), "7 of 400 deleted: over a 64th")
        let half = try Index(path: try index(rows, deleting: (0..<450).map { "r\($0 * 2)" })).searcher
        let one = try XCTUnwrap(PartitionArena(shards: [half.shards[0]], partitions: partitions, words: 1), "200 of 400 deleted")
        XCTAssertEqual(one.count, 200)
        // A budget for one shard's codes (400 rows of one word, 100 for the smallest): the two
        // smallest fit together only with 500 rows' worth.
        let small = s.shards.map(\.rows).sorted()
        XCTAssertNil(PartitionArena(shards: s.shards, partitions: partitions, words: 1, budgetBytes: (small[0] + small[1]) * 8 - 1))
        let two = try XCTUnwrap(PartitionArena(shards: s.shards, partitions: partitions, words: 1,
                                               budgetBytes: (small[0] + small[1]) * 8))
        XCTAssertEqual(two.covered.count, 2)
        XCTAssertEqual(two.count, small[0] + small[1] - 3)
    }
}
