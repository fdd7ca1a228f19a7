import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The write log and the write buffer (issue 27): commits that append to `LOG-<generation>`
/// instead of writing shards, searched from memory by the writer's snapshot and by every
/// reader that replays the log, written to shards by a later commit.
final class WriteLogTests: XCTestCase {
    private let dim = 12

    private func build(_ path: String, rows: [[Float]], ids: Bool = true) throws {
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ids ? rows.indices.map { "r\($0)" } : nil, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 700, rowsPerBlock: 16,
                                                     partitions: 8, threads: 2, vectorType: .float32))
    }

    private func files(_ path: String) throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: path)) }

    /// `index` holds exactly `live` (id → vector, attributes): counts, look-ups, vectors,
    /// attributes, exhaustive searches (plain, filtered, "more like this") equal to exact ones.
    private func check(_ index: Index, live: [String: (vector: [Float], price: Int64?)], queries: [[Float]],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(index.count, live.count, "items", file: file, line: line)
        let items = live.sorted { $0.key < $1.key }
        for (id, item) in items.prefix(400) {
            let row = try XCTUnwrap(try index.row(forID: id), "id \(id)", file: file, line: line)
            XCTAssertEqual(try index.id(ofRow: row), id, file: file, line: line)
            let stored = try index.vector(ofRow: row)
            for i in item.vector.indices { XCTAssertEqual(stored[i], item.vector[i], accuracy: 1e-4 * max(1, abs(item.vector[i])), file: file, line: line) }
            XCTAssertEqual(try index.attributes(ofRow: row)["price"], item.price.map { .integer($0) }, "price of \(id)", file: file, line: line)
        }
        let everything = SearchOptions(k: 10, candidates: index.rowCount, probes: 1 << 20)
        for q in queries {
            let exact = items.map { ($0.key, cosine(q, $0.value.vector)) }.sorted { $0.1 > $1.1 }
            XCTAssertEqual(try index.search(q, options: everything).map(\.id), exact.prefix(10).map(\.0), file: file, line: line)
            var cheap = everything
            cheap.filter = try Filter("price < 50")
            cheap.fields = ["price"]
            let filtered = try index.search(q, options: cheap)
            let exactCheap = exact.filter { (live[$0.0]!.price ?? 1000) < 50 }.prefix(10).map(\.0)
            XCTAssertEqual(filtered.map(\.id), Array(exactCheap), "filtered", file: file, line: line)
            for r in filtered { XCTAssertEqual(r.attributes["price"], live[r.id]!.price.map { .integer($0) }, file: file, line: line) }
            // More like the best hit, which leaves itself out.
            let seed = exact[0].0
            let similar = try index.search(similarToID: seed, options: everything).map(\.id)
            let v = live[seed]!.vector
            let exactSimilar = items.filter { $0.key != seed }.map { ($0.key, cosine(v, $0.value.vector)) }
                .sorted { $0.1 > $1.1 }.prefix(10).map(\.0)
            XCTAssertEqual(similar, Array(exactSimilar), "more like \(seed)", file: file, line: line)
        }
    }

    /// Upserts, new items with attributes, and deletes committed to the log: no shard is
    /// written and the generation stays; the writer's snapshot, a reader opening the index,
    /// and a reader reopening it all hold exactly the live items; a writer opened later
    /// replays the log, and a commit to shards writes it out and removes it.
    func testLogCommitsAreSearchedFromTheBufferByEveryReaderAndWrittenOutLater() throws {
        let path = makeTemporaryDirectory(self) + "/l.hidx"
        let base = clusteredVectors(count: 2000, dim: dim, clusters: 12, seed: 3)
        try build(path, rows: base)
        var live: [String: (vector: [Float], price: Int64?)] = [:]
        for (i, v) in base.enumerated() { live["r\(i)"] = (v, nil) }
        let reader = try Index(path: path)
        let filesBefore = try files(path)
        let generation = reader.generation
        let queries = [base[5], base[1500]] + clusteredVectors(count: 3, dim: dim, clusters: 3, seed: 99)

        var rng = TestRandom(seed: 27)
        let writer = try IndexWriter(path: path)
        let fresh = clusteredVectors(count: 300, dim: dim, clusters: 5, seed: 41)   // new clusters
        for batch in 0..<3 {
            let ids = (0..<100).map { "n\(batch * 100 + $0)" }
            let rows = Array(fresh[(batch * 100)..<(batch * 100 + 100)])
            let prices = (0..<100).map { Int64(($0 * 7 + batch) % 100) }
            try writer.add(try InMemoryVectors(rows: rows), ids: ids, attributes: try AttributeTable(rows: prices.map { ["price": .integer($0)] }))
            for (i, id) in ids.enumerated() { live[id] = (rows[i], prices[i]) }
            // Replace some built items and some buffered ones, delete others of each.
            let replaced = ["r\(batch * 10 + 1)", "r\(batch * 10 + 2)"] + (batch > 0 ? ["n\(batch * 100 - 1)"] : [])
            let vectors = replaced.map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } }
            try writer.upsert(try InMemoryVectors(rows: vectors), ids: replaced,
                              attributes: try AttributeTable(rows: replaced.map { _ in ["price": .integer(10)] }))
            for (i, id) in replaced.enumerated() { live[id] = (vectors[i], 10) }
            let deleted = ["r\(1000 + batch * 20)", "r\(1001 + batch * 20)", "n\(batch * 100 + 5)"]
            try writer.delete(ids: deleted)
            for id in deleted { live[id] = nil }
            let summary = try writer.commit(durability: .log)
            XCTAssertEqual(summary.generation, generation)
            XCTAssertEqual(summary.count, live.count)
            XCTAssertFalse(writer.hasChanges)
        }
        XCTAssertEqual(try files(path), filesBefore.union([Format.logName(generation)]), "a log commit writes no shard")
        XCTAssertGreaterThan(writer.logBytes, 300 * dim * 4)
        XCTAssertEqual(writer.bufferedRows, live.keys.filter { $0.hasPrefix("n") }.count + 6 + 0)
        let snapshot = try writer.snapshot()
        XCTAssertEqual(snapshot.generation, generation)
        XCTAssertEqual(snapshot.bufferedCount, writer.bufferedRows)
        try check(snapshot, live: live, queries: queries)
        // The reader that opened before keeps its snapshot; reopening replays the log.
        XCTAssertEqual(reader.count, 2000)
        let reopened = try reader.reopen()
        XCTAssertFalse(reopened === reader)
        XCTAssertEqual(reopened.logLength, writer.logBytes)
        XCTAssertTrue(try reopened.reopen() === reopened, "nothing new: the same snapshot")
        try check(reopened, live: live, queries: queries)
        try check(try Index(path: path), live: live, queries: queries)

        // A writer closed with its changes in the log only; the next one replays them.
        try writer.close()
        let next = try IndexWriter(path: path)
        XCTAssertEqual(next.count, live.count)
        XCTAssertEqual(next.bufferedRows, snapshot.bufferedCount)
        let buffered = try next.snapshot()
        try check(buffered, live: live, queries: queries)
        // The learned score and the blend rank buffered rows as they rank the same rows in a shard.
        func ranked(_ index: Index, _ mode: Rerank) throws -> [[String]] {
            try queries.map { try index.search($0, options: SearchOptions(k: 10, candidates: index.rowCount, probes: 1 << 20, rerank: mode)).map(\.id) }
        }
        let learned = try ranked(buffered, .learned), blended = try ranked(buffered, .blend)
        let written = try next.commit()
        XCTAssertEqual(written.generation, generation + 1)
        XCTAssertFalse(try files(path).contains(Format.logName(generation)), "the log is removed once its changes are in shards")
        XCTAssertEqual(next.bufferedRows + next.bufferedDeletes + next.logBytes, 0)
        try next.close()
        let after = try Index(path: path)
        XCTAssertEqual(after.bufferedCount, 0)
        try after.verify()
        try check(after, live: live, queries: queries)
        XCTAssertEqual(try ranked(after, .learned), learned)
        XCTAssertEqual(try ranked(after, .blend), blended)
    }

    /// `flush()` writes the log to shards without holding the writer: commits to the log go
    /// on meanwhile on another thread, their records are carried into the new generation's
    /// log, and nothing is lost or doubled; a background merge carries the whole log.
    func testFlushAndMergeRunBesideLogCommits() throws {
        let path = makeTemporaryDirectory(self) + "/f.hidx"
        let base = clusteredVectors(count: 3000, dim: dim, seed: 21)
        try build(path, rows: base)
        let writer = try IndexWriter(path: path, threads: 1)
        let big = clusteredVectors(count: 20000, dim: dim, clusters: 30, seed: 22)
        try writer.add(try InMemoryVectors(rows: big), ids: (0..<20000).map { "b\($0)" })
        try writer.delete(ids: (0..<100).map { "r\($0)" })
        try writer.commit(durability: .log)
        let generation = writer.generation
        let started = Locked(false), finished = Locked(false)
        let flusher = Thread {
            started.withLock { $0 = true }
            XCTAssertNotNil(try? writer.flush())
            finished.withLock { $0 = true }
        }
        flusher.start()
        while !started.withLock({ $0 }) { usleep(100) }
        var during = 0
        var next = 0
        let extra = clusteredVectors(count: 400, dim: dim, clusters: 4, seed: 23)
        while next < 400 {
            if !finished.withLock({ $0 }) { during += 1 }
            try writer.add(try InMemoryVectors(rows: [extra[next]]), ids: ["e\(next)"])
            if next % 3 == 0 { try writer.delete(ids: ["r\(100 + next)", "b\(next)"]) }
            try writer.commit(durability: .log)
            next += 1
        }
        while !finished.withLock({ $0 }) { usleep(1000) }
        XCTAssertGreaterThan(during, 0, "no log commit ran while the flush wrote its shard")
        XCTAssertEqual(writer.generation, generation + 1)
        let deletedExtra = (0..<400).filter { $0 % 3 == 0 }.count
        let expected = 3000 + 20000 - 100 + 400 - 2 * deletedExtra
        XCTAssertEqual(writer.count, expected)
        // The records appended during the flush are in the new generation's log.
        let directory = try files(path)
        XCTAssertFalse(directory.contains(Format.logName(generation)))
        if during > 0 { XCTAssertTrue(directory.contains(Format.logName(generation + 1)), "\(directory.sorted())") }
        let reader = try Index(path: path)
        XCTAssertEqual(reader.count, expected)
        XCTAssertLessThan(reader.bufferedCount, 401)
        for id in ["b5", "b19999", "e0", "e399", "r150"] { XCTAssertNotNil(try reader.row(forID: id), id) }
        for id in ["r0", "r99", "r100", "b0", "b399"] { XCTAssertNil(try reader.row(forID: id), id) }
        XCTAssertEqual(try writer.snapshot().count, expected)
        // A merge in the background carries the whole log; the tiny shards it leaves do not matter.
        _ = try writer.merge(policy: IndexWriter.MergePolicy(deletedFraction: 0.001))
        let merged = try Index(path: path)
        XCTAssertEqual(merged.count, expected)
        XCTAssertEqual(merged.bufferedCount, reader.bufferedCount)
        if merged.bufferedCount > 0 { XCTAssertNotNil(try writer.flush()) }   // the log goes to shards
        XCTAssertNil(try writer.flush(), "nothing left to flush")
        try writer.close()
        let final = try Index(path: path)
        XCTAssertEqual(final.count, expected)
        XCTAssertEqual(final.bufferedCount, 0)
        XCTAssertEqual(final.logLength, 0)
    }

    /// A rollback drops what was not committed and keeps what the log holds; a compaction
    /// writes the buffer out first.
    func testRollbackKeepsTheLogAndCompactionWritesItOut() throws {
        let path = makeTemporaryDirectory(self) + "/r.hidx"
        let base = clusteredVectors(count: 1500, dim: dim, seed: 8)
        try build(path, rows: base)
        let writer = try IndexWriter(path: path)
        let kept = clusteredVectors(count: 40, dim: dim, clusters: 2, seed: 9)
        try writer.add(try InMemoryVectors(rows: kept), ids: (0..<40).map { "k\($0)" })
        try writer.delete(ids: ["r1", "r2"])
        try writer.commit(durability: .log)
        try writer.add(try InMemoryVectors(rows: [kept[0]]), ids: ["dropped"])
        try writer.delete(ids: ["k3", "r3"])
        XCTAssertTrue(writer.hasChanges)
        writer.rollback()
        XCTAssertFalse(writer.hasChanges)
        XCTAssertEqual(writer.count, 1500 + 40 - 2)
        let snapshot = try writer.snapshot()
        XCTAssertNil(try snapshot.row(forID: "dropped"))
        XCTAssertNotNil(try snapshot.row(forID: "k3"))
        XCTAssertNotNil(try snapshot.row(forID: "r3"))
        XCTAssertNil(try snapshot.row(forID: "r1"))
        // Deleting a buffered item and upserting it again, across log commits.
        try writer.delete(ids: ["k5"])
        try writer.commit(durability: .log)
        try writer.upsert(try InMemoryVectors(rows: [base[0]]), ids: ["k5"])
        try writer.commit(durability: .log)
        XCTAssertEqual(try writer.snapshot().search(base[0], options: SearchOptions(k: 2)).map(\.id).sorted(), ["k5", "r0"])
        let compaction = try writer.compact()
        XCTAssertGreaterThan(compaction.generation, snapshot.generation)
        XCTAssertEqual(writer.bufferedRows + writer.logBytes, 0)
        try writer.close()
        let index = try Index(path: path)
        XCTAssertEqual(index.count, 1500 + 40 - 2)
        XCTAssertEqual(index.bufferedCount, 0)
        XCTAssertNotNil(try index.row(forID: "k39"))
    }

    /// An index whose ids are row numbers: logged rows take the next numbers, and keep them
    /// when written to shards.
    func testRowNumberIDsCarryOverFromTheLogToShards() throws {
        let path = makeTemporaryDirectory(self) + "/n.hidx"
        let base = clusteredVectors(count: 1000, dim: dim, seed: 12)
        try build(path, rows: base, ids: false)
        let writer = try IndexWriter(path: path)
        let extra = clusteredVectors(count: 30, dim: dim, clusters: 3, seed: 13)
        try writer.add(try InMemoryVectors(rows: extra))
        try writer.delete(ids: ["1005", "7"])
        try writer.commit(durability: .log)
        let snapshot = try writer.snapshot()
        XCTAssertEqual(snapshot.rowCount, 1030)
        XCTAssertEqual(try snapshot.search(extra[3], options: SearchOptions(k: 1)).first?.id, "1003")
        XCTAssertNil(try snapshot.row(forID: "1005"))
        XCTAssertThrowsError(try snapshot.id(ofRow: 1005))
        try writer.commit()
        try writer.close()
        let index = try Index(path: path)
        XCTAssertEqual(index.count, 1028)
        XCTAssertEqual(try index.search(extra[3], options: SearchOptions(k: 1)).first?.id, "1003")
        XCTAssertEqual(try index.row(forID: "1029"), 1029)
    }

    /// A record cut short at the end of the log (a writer killed mid-append) was never
    /// committed: readers skip it and the next writer cuts it off. A damaged record with
    /// others after it is corruption, and a log of another generation is refused.
    func testATornTailIsSkippedAndDamageIsRefused() throws {
        let path = makeTemporaryDirectory(self) + "/t.hidx"
        let base = clusteredVectors(count: 1200, dim: dim, seed: 14)
        try build(path, rows: base)
        let writer = try IndexWriter(path: path)
        for i in 0..<3 {
            try writer.add(try InMemoryVectors(rows: [base[i].map { -$0 }]), ids: ["x\(i)"])
            try writer.commit(durability: .log)
        }
        let length = writer.logBytes
        try writer.close()
        let log = path + "/" + Format.logName(try Index(path: path).generation)
        let whole = try XCTUnwrap(FileManager.default.contents(atPath: log))
        XCTAssertEqual(whole.count, length)
        // A fourth record, half written.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data([200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]))
        try handle.close()
        XCTAssertEqual(try Index(path: path).count, 1203)
        let next = try IndexWriter(path: path)
        XCTAssertEqual(next.logBytes, length, "the torn record is cut off")
        XCTAssertEqual(next.count, 1203)
        try next.close()
        XCTAssertEqual(try FileManager.default.contents(atPath: log)?.count, length)
        // A flipped byte in the first record's vectors.
        var damaged = [UInt8](whole)
        damaged[WriteLog.headerSize + 30] ^= 0x40
        writeFile(log, damaged)
        XCTAssertThrowsError(try Index(path: path)) { error in
            guard case HashIdxError.corruptIndex(_, let reason)? = error as? HashIdxError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("checksum"), reason)
        }
        XCTAssertThrowsError(try IndexWriter(path: path))
        // A log that claims another generation.
        var foreign = [UInt8](whole)
        let header = WriteLog.header(dimension: dim, generation: 99)
        foreign.replaceSubrange(0..<header.count, with: header)
        writeFile(log, foreign)
        XCTAssertThrowsError(try Index(path: path))
        // An oversized record length is refused before anything is allocated.
        var huge = [UInt8](whole.prefix(WriteLog.headerSize))
        huge += [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 64)
        writeFile(log, huge)
        XCTAssertThrowsError(try Index(path: path))
    }

    private func readLog(_ bytes: [UInt8]) -> Result<(records: [[LoggedChange]], length: Int), HashIdxError> {
        do throws(HashIdxError) {
            return .success(try WriteLog.read(bytes, dimension: 3, generation: 4, path: "log"))
        } catch {
            return .failure(error)
        }
    }

    /// Records round-trip every kind of change and attribute value, and decoding random
    /// bytes never crashes.
    func testRecordsRoundTripAndRandomBytesAreRefused() throws {
        let changes: [LoggedChange] = [
            .add(rows: [1, 2, 3, 4, 5, 6], ids: ["a", "ü"], attributes: [["s": .string("x"), "t": .tags(["p", "q"])],
                                                                        ["i": .integer(-3), "f": .float(2.5), "b": .boolean(true)]], replacing: true),
            .add(rows: [7, 8, 9], ids: nil, attributes: nil, replacing: false),
            .delete(ids: ["a", "b"], ignoringMissing: true),
            .delete(ids: [], ignoringMissing: false),
        ]
        let file = WriteLog.header(dimension: 3, generation: 4) + WriteLog.record(changes, dimension: 3) + WriteLog.record([changes[2]], dimension: 3)
        let read = try readLog(file).get()
        XCTAssertEqual(read.records, [changes, [changes[2]]])
        XCTAssertEqual(read.length, file.count)
        var rng = TestRandom(seed: 5)
        for _ in 0..<2000 {
            var bytes = file
            for _ in 0..<(1 + Int(rng.next() % 4)) { bytes[WriteLog.headerSize + Int(rng.next() % UInt64(bytes.count - WriteLog.headerSize))] = UInt8(rng.next() % 256) }
            if case let .success(r) = readLog(bytes) { XCTAssertLessThanOrEqual(r.records.count, 2) }
            let cut = Int(rng.next() % UInt64(file.count))
            if case let .success(r) = readLog(Array(file.prefix(cut))) { XCTAssertLessThanOrEqual(r.length, cut) }
        }
    }
}
