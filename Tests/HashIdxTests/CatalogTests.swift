import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The living catalog (issue 11): adds, deletes, upserts and compaction through
/// `IndexWriter`, checked against a simple in-memory model of the catalog; snapshots; the
/// writer lock; row-number ids; bad input.
final class CatalogTests: XCTestCase {
    private let dim = 12

    private func vector(_ rng: inout TestRandom) -> [Float] {
        (0..<dim).map { _ in Float(rng.nextGaussian()) }
    }

    /// Builds an index of `rows` with ids (float32 vectors: exact re-rank scores).
    private func build(_ path: String, rows: [[Float]], ids: [String]?, partitions: Int = 6, shardSize: Int = 150) throws {
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ids, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: shardSize, rowsPerBlock: 16,
                                                     partitions: partitions, threads: 2, vectorType: .float32))
    }

    /// Every query answered exhaustively (all partitions, every row a candidate) must be the
    /// exact top k of the model's live items; every model id must be found with its vector;
    /// `gone` ids must not.
    private func check(_ path: String, model: [String: [Float]], gone: [String], queries: [[Float]],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let index = try Index(path: path)
        XCTAssertEqual(index.count, model.count, "item count", file: file, line: line)
        for id in gone { XCTAssertNil(try index.row(forID: id), "deleted id \(id) still found", file: file, line: line) }
        for (id, v) in model.prefix(40) {
            guard let row = try index.row(forID: id) else { XCTFail("id \(id) not found", file: file, line: line); continue }
            XCTAssertEqual(try index.id(ofRow: row), id, file: file, line: line)
            let stored = try index.vector(ofRow: row)
            for i in v.indices { XCTAssertEqual(stored[i], v[i], accuracy: 1e-4 * max(1, abs(v[i])), file: file, line: line) }
        }
        guard model.count >= 5 else { return }
        let live = model.sorted { $0.key < $1.key }
        for q in queries {
            let got = try index.search(q, options: SearchOptions(k: 5, candidates: index.rowCount, probes: 1 << 20))
            let exact = live.map { ($0.key, cosine(q, $0.value)) }.sorted { $0.1 > $1.1 }.prefix(5)
            XCTAssertEqual(got.map(\.id), exact.map(\.0), "query results differ from the exact top 5 of the live items", file: file, line: line)
            for (g, e) in zip(got, exact) { XCTAssertEqual(Double(g.score), e.1, accuracy: 1e-4, file: file, line: line) }
        }
    }

    /// A reader querying in a loop while a writer commits 100 generations: every answer is
    /// the answer of the generation the reader had open. (Reader processes during commits:
    /// HashIdxCommandLineTests.)
    func testReaderDuringOneHundredCommitsSeesOnlyCommittedGenerations() throws {
        let path = makeTemporaryDirectory(self) + "/r.hidx"
        var rng = TestRandom(seed: 9)
        let rows = (0..<400).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: (0..<400).map { "r\($0)" })
        let query = rows[0]
        let options = SearchOptions(k: 8, candidates: 100, probes: 3)
        let expected = Locked<[UInt64: [SearchResult]]>([:])
        let first = try Index(path: path)
        expected.withLock { $0[first.generation] = try! first.search(query, options: options) }
        let seen = Locked<[(UInt64, [SearchResult])]>([])
        let done = Locked(false)
        let failures = Locked<[String]>([])
        let reader = Thread {
            var index = first
            while !done.withLock({ $0 }) {
                do {
                    index = try index.reopen()
                    let got = try index.search(query, options: options)
                    seen.withLock { $0.append((index.generation, got)) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        reader.start()
        let writer = try IndexWriter(path: path, threads: 1)
        writer.mergePolicy = nil   // one generation per commit: the test knows each one's answer
        for i in 0..<100 {
            // Delete one of the current nearest items, or bring one back with a new vector.
            if i % 3 == 2 {
                try writer.upsert(try InMemoryVectors(rows: [query.map { $0 * 1.01 + 0.01 * Float(i) }]), ids: ["r\(i)"])
            } else {
                try writer.delete(ids: ["r\(i)"], ignoringMissing: true)
            }
            let summary = try writer.commit()
            let answer = try Index(path: path).search(query, options: options)
            expected.withLock { $0[summary.generation] = answer }
        }
        try writer.close()
        done.withLock { $0 = true }
        while !reader.isFinished { usleep(1000) }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let all = seen.withLock { $0 }
        let truth = expected.withLock { $0 }
        XCTAssertGreaterThan(all.count, 0)
        for (generation, got) in all {
            XCTAssertEqual(got, truth[generation], "generation \(generation) answered differently")
        }
        print("reader during commits: \(all.count) answers over \(Set(all.map(\.0)).count) generations")
    }


    /// Thousands of random adds, deletes, upserts, commits, compactions and writer reopenings
    /// against a dictionary of the live items.
    /// (Slow: scripts/test.sh runs it once, under AddressSanitizer; its `slow` pattern.)
    func testRandomOperationsAgreeWithAModelOfTheCatalog() throws {
        let path = makeTemporaryDirectory(self) + "/c.hidx"
        var rng = TestRandom(seed: 1101)
        var model: [String: [Float]] = [:]
        var committed: [String: [Float]] = [:]
        var gone = Set<String>()
        var nextID = 0
        func newID() -> String { nextID += 1; return "item-\(nextID)" }
        let initial = (0..<300).map { _ in (newID(), vector(&rng)) }
        try build(path, rows: initial.map(\.1), ids: initial.map(\.0))
        for (id, v) in initial { model[id] = v }
        committed = model
        let queries = (0..<4).map { _ in vector(&rng) }

        var writer = try IndexWriter(path: path, threads: 2)
        var operations = 0, commits = 0, compactions = 0
        for step in 0..<2400 {
            switch rng.next() % 10 {
            case 0, 1, 2:   // add new items
                let n = 1 + Int(rng.next() % 6)
                let items = (0..<n).map { _ in (newID(), vector(&rng)) }
                try writer.add(try InMemoryVectors(rows: items.map(\.1)), ids: items.map(\.0))
                for (id, v) in items { model[id] = v }
            case 3, 4, 5:   // delete live items, sometimes with an unknown id
                let keys = Array(model.keys)
                guard !keys.isEmpty else { continue }
                var ids = (0..<(1 + Int(rng.next() % 3))).map { _ in keys[Int(rng.next() % UInt64(keys.count))] }
                ids = Array(Set(ids))
                if rng.next() % 4 == 0 {
                    XCTAssertThrowsError(try writer.delete(ids: ids + ["never-\(step)"]))
                    XCTAssertEqual(try writer.delete(ids: ids + ["never-\(step)"], ignoringMissing: true), ["never-\(step)"])
                } else {
                    XCTAssertEqual(try writer.delete(ids: ids), [])
                }
                for id in ids { model[id] = nil; gone.insert(id) }
            case 6, 7:      // upsert a mix of existing and new ids
                let keys = Array(model.keys)
                var ids = keys.isEmpty ? [] : [keys[Int(rng.next() % UInt64(keys.count))]]
                ids.append(newID())
                let vs = ids.map { _ in vector(&rng) }
                try writer.upsert(try InMemoryVectors(rows: vs), ids: ids)
                for (id, v) in zip(ids, vs) { model[id] = v; gone.remove(id) }
            case 8:         // adding an existing id is refused and changes nothing
                guard let id = model.keys.first else { continue }
                XCTAssertThrowsError(try writer.add(try InMemoryVectors(rows: [vector(&rng)]), ids: [id])) { error in
                    XCTAssertEqual(error as? HashIdxError, .idExists(id: id))
                    XCTAssertEqual("\(error)", "id \"\(id)\" is already in the index; use upsert to replace it, or delete it first")
                }
            default:        // commit; now and then compact or reopen the writer
                try writer.commit()
                commits += 1
                committed = model
                gone.subtract(model.keys)
                if rng.next() % 6 == 0 {
                    try writer.compact(options: BuildOptions(shardSize: 150))
                    compactions += 1
                }
                if rng.next() % 5 == 0 {
                    try writer.close()
                    writer = try IndexWriter(path: path, threads: 2)
                }
                try check(path, model: committed, gone: Array(gone.prefix(30)), queries: queries)
            }
            operations += 1
            XCTAssertEqual(writer.count, model.count)
        }
        try writer.commit()
        try writer.compact(options: BuildOptions(shardSize: 150))
        committed = model
        gone.subtract(model.keys)
        try check(path, model: committed, gone: Array(gone), queries: queries)
        let index = try Index(path: path)
        try index.verify()
        XCTAssertEqual(index.deletedCount, 0, "a compaction leaves no deleted rows")
        try writer.close()
        print("catalog model test: \(operations) operations, \(commits) commits, \(compactions) compactions, \(model.count) items at the end, \(index.shardCount) shards")
        XCTAssertGreaterThan(compactions, 3)
    }

    /// An open index keeps answering from its generation while a writer commits; `reopen`
    /// gives the newest; files of old generations are gone from the directory.
    func testOpenIndexIsASnapshot() throws {
        let path = makeTemporaryDirectory(self) + "/s.hidx"
        var rng = TestRandom(seed: 3)
        let rows = (0..<200).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: (0..<200).map { "r\($0)" })
        let old = try Index(path: path)
        let options = SearchOptions(k: 5, candidates: 200, probes: 100)
        let before = try old.search(rows[10], options: options)
        XCTAssertEqual(before.first?.id, "r10")

        let writer = try IndexWriter(path: path)
        try writer.delete(ids: ["r10"])
        try writer.upsert(try InMemoryVectors(rows: [rows[10].map { -$0 }]), ids: ["r11"])
        XCTAssertEqual(try Index(path: path).search(rows[10], options: options), before, "nothing is visible before the commit")
        try writer.commit()
        try writer.close()

        XCTAssertEqual(try old.search(rows[10], options: options), before, "the open snapshot changed")
        XCTAssertNotNil(try old.row(forID: "r10"))
        let new = try old.reopen()
        XCTAssertGreaterThan(new.generation, old.generation)
        XCTAssertTrue(try new.reopen() === new)
        XCTAssertNil(try new.row(forID: "r10"))
        let after = try new.search(rows[10], options: options)
        XCTAssertFalse(after.contains { $0.id == "r10" || $0.id == "r11" })
        XCTAssertEqual(try new.search(rows[10].map { -$0 }, options: options).first?.id, "r11")
        XCTAssertThrowsError(try new.search(similarToID: "r10", options: options))
        XCTAssertEqual(new.count, 199)
        XCTAssertEqual(new.rowCount, 201)
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        XCTAssertFalse(files.contains(Format.manifestName(old.generation)), "the old generation's manifest was not removed")
    }

    /// One writer at a time; the second gets an error that names the first.
    func testSecondWriterIsRefusedWithTheHolderNamed() throws {
        let path = makeTemporaryDirectory(self) + "/l.hidx"
        var rng = TestRandom(seed: 4)
        try build(path, rows: (0..<50).map { _ in vector(&rng) }, ids: (0..<50).map { "r\($0)" }, partitions: 0)
        let first = try IndexWriter(path: path, holder: "the catalog feed")
        XCTAssertThrowsError(try IndexWriter(path: path)) { error in
            XCTAssertTrue("\(error)".contains("the catalog feed"), "\(error)")
        }
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: [[1, 2, 3]]), to: path))
        try first.close()
        XCTAssertThrowsError(try first.commit(), "a closed writer refuses work")
        XCTAssertNoThrow(try IndexWriter(path: path).close())
    }

    /// Bad input: every case a clear error, nothing changed.
    func testBadChangesAreRefused() throws {
        let path = makeTemporaryDirectory(self) + "/b.hidx"
        var rng = TestRandom(seed: 5)
        let rows = (0..<60).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: (0..<60).map { "r\($0)" }, partitions: 0)
        let writer = try IndexWriter(path: path)
        func refused(_ body: () throws -> Void, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { XCTAssertTrue("\($0)".contains(fragment), "\($0)", line: line) }
        }
        refused({ try writer.add(try InMemoryVectors(rows: [[1, 2]]), ids: ["x"]) }, "dimension")
        refused({ try writer.add(try InMemoryVectors(rows: [rows[0]]), ids: nil) }, "give one id per added row")
        refused({ try writer.add(try InMemoryVectors(rows: [rows[0]]), ids: ["a", "b"]) }, "ids")
        refused({ try writer.add(try InMemoryVectors(rows: [rows[0], rows[1]]), ids: ["n", "n"]) }, "n")
        refused({ try writer.add(try InMemoryVectors(rows: [rows[0]]), ids: ["r3"]) }, "r3")
        refused({ try writer.add(try InMemoryVectors(rows: [[Float](repeating: 0, count: self.dim)]), ids: ["z"]) }, "zero")
        refused({ try writer.add(try InMemoryVectors(rows: [[Float](repeating: .nan, count: self.dim)]), ids: ["z"]) }, "NaN")
        refused({ try writer.delete(ids: ["nope"]) }, "nope")
        XCTAssertFalse(writer.hasChanges, "a refused change left something pending")
        try writer.add(try InMemoryVectors(rows: [rows[0]]), ids: ["new"])
        refused({ try writer.compact() }, "uncommitted")
        writer.rollback()
        XCTAssertEqual(try writer.commit().added, 0)
        try writer.close()
        XCTAssertEqual(try Index(path: path).count, 60)
    }

    /// An index whose ids are row numbers: adds get the next numbers, deletes take numbers,
    /// and the compaction that drops rows keeps every item's number as its string id.
    func testRowNumberIDsSurviveAddDeleteAndCompaction() throws {
        let path = makeTemporaryDirectory(self) + "/n.hidx"
        var rng = TestRandom(seed: 6)
        let rows = (0..<120).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: nil, partitions: 4, shardSize: 50)
        let extra = (0..<10).map { _ in vector(&rng) }
        let writer = try IndexWriter(path: path)
        XCTAssertThrowsError(try writer.add(try InMemoryVectors(rows: extra), ids: (0..<10).map { "e\($0)" }))
        XCTAssertThrowsError(try writer.upsert(try InMemoryVectors(rows: extra), ids: (0..<10).map { "e\($0)" }))
        try writer.add(try InMemoryVectors(rows: extra))
        try writer.delete(ids: ["3", "60", "125"])
        try writer.commit()
        var model: [String: [Float]] = [:]
        for (i, v) in (rows + extra).enumerated() where ![3, 60, 125].contains(i) { model[String(i)] = v }
        try check(path, model: model, gone: ["3", "60", "125"], queries: [rows[7], extra[2]])
        XCTAssertFalse(try Index(path: path).hasStringIDs)
        let summary = try writer.compact(options: BuildOptions(shardSize: 50))
        XCTAssertGreaterThan(summary.rewrittenShards, 0)
        let compacted = try Index(path: path)
        XCTAssertTrue(compacted.hasStringIDs)
        XCTAssertEqual(compacted.deletedCount, 0)
        try check(path, model: model, gone: ["3", "60", "125"], queries: [rows[7], extra[2]])
        try writer.close()
    }

    /// `compact(retrain:)` trains a new model on the live items and keeps every item.
    func testRetrainingCompactionKeepsEveryItem() throws {
        let path = makeTemporaryDirectory(self) + "/t.hidx"
        var rng = TestRandom(seed: 8)
        let rows = (0..<300).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: (0..<300).map { "r\($0)" })
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = nil
        try writer.delete(ids: (0..<100).map { "r\($0)" })
        try writer.commit()
        XCTAssertEqual(try XCTUnwrap(try Index(path: path).growth), 200.0 / 300.0, accuracy: 1e-9)
        let summary = try writer.compact(retrain: true, options: BuildOptions(training: TrainingOptions(bits: 128), partitions: 5, vectorType: .float32))
        try writer.close()
        XCTAssertLessThan(summary.bytesAfter, summary.bytesBefore)
        let index = try Index(path: path)
        XCTAssertEqual(index.bits, 128)
        XCTAssertEqual(index.growth, 1, "retraining resets the growth")
        XCTAssertNil(index.drift, "and the rows added since training")
        XCTAssertEqual(index.partitionCount, 5)
        var model: [String: [Float]] = [:]
        for i in 100..<300 { model["r\(i)"] = rows[i] }
        try check(path, model: model, gone: ["r0", "r99"], queries: [rows[150], rows[5]])
    }

    /// A catalog whose every item is deleted and compacted away still opens, holds nothing,
    /// and takes new items.
    func testEmptiedCatalogOpensAndGrowsAgain() throws {
        let path = makeTemporaryDirectory(self) + "/e.hidx"
        var rng = TestRandom(seed: 10)
        let rows = (0..<40).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: (0..<40).map { "r\($0)" }, partitions: 0)
        let writer = try IndexWriter(path: path)
        try writer.delete(ids: (0..<40).map { "r\($0)" })
        try writer.commit()
        let emptied = try Index(path: path)
        XCTAssertEqual(emptied.count, 0)
        // An empty index answers every search with no results (issue 23; it threw before).
        XCTAssertEqual(try emptied.search(rows[0], options: SearchOptions(k: 1)), [])
        XCTAssertEqual(try emptied.search(batch: try InMemoryVectors(rows: [rows[0], rows[1]])), [[], []])
        XCTAssertEqual(try emptied.candidates(for: rows[0]), [])
        XCTAssertThrowsError(try emptied.search(similarToID: "r0")) { XCTAssertEqual($0 as? HashIdxError, .unknownID("r0")) }
        XCTAssertThrowsError(try emptied.search([1, 2])) { XCTAssertEqual($0 as? HashIdxError, .dimensionMismatch(expected: self.dim, actual: 2, source: "query")) }
        try writer.add(try InMemoryVectors(rows: Array(rows[0..<10])), ids: (0..<10).map { "n\($0)" })
        try writer.commit()
        try writer.close()
        var model: [String: [Float]] = [:]
        for i in 0..<10 { model["n\(i)"] = rows[i] }
        try check(path, model: model, gone: ["r0", "r39"], queries: [rows[3]])
    }

    /// The merge policy compacts after a commit once a third of a shard is deleted or more
    /// than its number of small shards piled up, and never without reason.
    func testMergePolicyCompactsWhenDeletionsOrSmallShardsPileUp() throws {
        let path = makeTemporaryDirectory(self) + "/m.hidx"
        var rng = TestRandom(seed: 14)
        let rows = (0..<300).map { _ in vector(&rng) }
        try build(path, rows: rows, ids: (0..<300).map { "r\($0)" }, partitions: 4, shardSize: 1000)
        let writer = try IndexWriter(path: path)
        writer.mergePolicy = IndexWriter.MergePolicy(deletedFraction: 1.0 / 3, smallShards: 10)
        try writer.delete(ids: (0..<90).map { "r\($0)" })           // 30 %: below a third
        XCTAssertNil(try writer.commit().merged)
        try writer.delete(ids: (90..<110).map { "r\($0)" })         // 36 %
        let merged = try XCTUnwrap(try writer.commit().merged)
        XCTAssertEqual(merged.rewrittenShards, 1)
        XCTAssertEqual(try Index(path: path).deletedCount, 0)
        for i in 0..<10 {                                           // 10 small shards next to the big one
            try writer.add(try InMemoryVectors(rows: [vector(&rng)]), ids: ["a\(i)"])
            let summary = try writer.commit()
            XCTAssertNil(summary.merged, "commit \(i)")
        }
        try writer.add(try InMemoryVectors(rows: [vector(&rng)]), ids: ["a10"])  // 11: merged, the big one kept
        XCTAssertEqual(try writer.commit().merged?.rewrittenShards, 11)
        XCTAssertEqual(try Index(path: path).shardCount, 2)
        XCTAssertEqual(try Index(path: path).count, 190 + 11)
        try writer.close()
    }

    /// The drift figure stays low for rows like the training rows and flags rows from
    /// elsewhere.
    func testDriftFlagsRowsFromOutsideTheTrainingDistribution() throws {
        let dir = makeTemporaryDirectory(self)
        let rows = clusteredVectors(count: 1200, dim: dim, clusters: 8, seed: 12)
        var rng = TestRandom(seed: 13)
        for (name, added) in [("like", clusteredVectors(count: 300, dim: dim, clusters: 8, seed: 12)),
                              ("unlike", (0..<300).map { _ in vector(&rng) })] {
            let path = dir + "/\(name).hidx"
            try build(path, rows: rows, ids: (0..<1200).map { "r\($0)" }, partitions: 8, shardSize: 2000)
            XCTAssertNil(try Index(path: path).drift, "no rows written since training yet")
            let writer = try IndexWriter(path: path)
            writer.mergePolicy?.partitionDrift = .infinity   // (the policy would refit the partitions: PartitionMaintenanceTests)
            try writer.add(try InMemoryVectors(rows: added), ids: (0..<300).map { "a\($0)" })
            try writer.commit()
            try writer.close()
            let drift = try XCTUnwrap(try Index(path: path).drift)
            XCTAssertEqual(drift.recentRows, 300)
            if name == "like" {
                XCTAssertLessThan(drift.ratio, Index.Drift.retrainAbove, "\(drift)")
            } else {
                XCTAssertGreaterThan(drift.ratio, Index.Drift.retrainAbove, "\(drift)")
            }
        }
    }
}
