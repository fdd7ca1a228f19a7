import Foundation
import HashIdx
import HashIdxService
import HashIdxTestSupport
import XCTest

/// The catalog as a service without HTTP: group-committed writes from many tasks at once,
/// searches beside them on immutable snapshots, a failing write alone in its group, read-only
/// services picking up generations that another writer commits, and shutting down. These run
/// under ThreadSanitizer in scripts/test.sh (the HTTP layer's tests are in Server/).
final class CatalogServiceTests: XCTestCase {
    private let dim = 16

    /// A service over a fresh index of `count` items `item-N` (attributes `group`, `price`).
    private func makeService(count: Int = 300, options: ServiceOptions = ServiceOptions(writerIdleSeconds: 0.2, writerThreads: 1))
        throws -> (service: CatalogService, vectors: [[Float]]) {
        let path = makeTemporaryDirectory(self) + "/catalog.hidx"
        let vectors = clusteredVectors(count: count, dim: dim, clusters: 8)
        let attributes = try AttributeTable(rows: (0..<count).map { ["group": .string("g\($0 % 4)"), "price": .integer(Int64($0 % 50))] })
        try IndexBuilder.build(source: try InMemoryVectors(rows: vectors), ids: (0..<count).map { "item-\($0)" },
                               attributes: attributes, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64, sampleSize: count), partitions: 4, threads: 1))
        let service = try CatalogService(path: path, options: options)
        addTeardownBlock { service.close() }
        return (service, vectors)
    }

    func testConcurrentWritesAreDurableAndVisibleWhenAnsweredWhileSearchesRun() async throws {
        let (service, vectors) = try makeService()
        let writes = 40
        let stop = Locked(false)
        // Searches on whatever snapshot is newest, all through the writes: none may fail.
        let searchers = (0..<2).map { s in
            Task.detached { () -> Int in
                var done = 0
                while !stop.withLock({ $0 }) {
                    let request = SearchRequest(query: .vector(vectors[(s * 7 + done) % vectors.count]), k: 5, filter: "price < 40")
                    let results = try service.search(request)
                    XCTAssertEqual(results.count, 5)
                    done += 1
                }
                return done
            }
        }
        let summaries = try await withThrowingTaskGroup(of: (Int, WriteSummary).self) { group in
            for w in 0..<writes {
                group.addTask {
                    let vector = vectors[w].map { $0 + 0.01 }
                    let upsert = IndexItem(id: "new-\(w)", vector: vector, attributes: ["group": .string("new"), "price": .integer(1)])
                    let summary = try await service.write(.upsert([upsert]))
                    // Visible to searches as soon as the answer arrives.
                    let item = try service.item(id: "new-\(w)", fields: ["group"], vector: false)
                    XCTAssertTrue(item.contains("\"new\""), item)
                    XCTAssertGreaterThanOrEqual(service.index.generation, summary.generation)
                    return (w, summary)
                }
            }
            var out: [Int: WriteSummary] = [:]
            for try await (w, summary) in group { out[w] = summary }
            return out
        }
        stop.withLock { $0 = true }
        var searched = 0
        for searcher in searchers { searched += try await searcher.value }
        XCTAssertGreaterThan(searched, 0)
        XCTAssertEqual(summaries.count, writes)
        XCTAssertTrue(summaries.values.allSatisfy { $0.kind == "upserted" && $0.items == 1 })
        // Writes that queue up while one commit runs share the next: never more commits
        // than writes, and the last one holds every item.
        let generations = Set(summaries.values.map(\.generation))
        XCTAssertLessThanOrEqual(generations.count, writes)
        XCTAssertEqual(summaries.values.map(\.count).max(), 300 + writes)
        service.close()
        // Durable: a fresh open of the directory has them all.
        let reopened = try Index(path: service.path)
        XCTAssertEqual(reopened.count, 300 + writes)
        for w in 0..<writes { XCTAssertNotNil(try reopened.row(forID: "new-\(w)"), "new-\(w)") }
    }

    func testAFailingWriteIsAnsweredWithItsErrorAndTheOthersLand() async throws {
        let (service, vectors) = try makeService()
        async let good = service.write(.upsert([IndexItem(id: "fine", vector: vectors[3])]))
        async let wrongDimension = service.write(.upsert([IndexItem(id: "short", vector: [1, 2, 3])]))
        async let unknown = service.write(.delete(["no-such-item"], ignoringMissing: false))
        async let ignored = service.write(.delete(["no-such-item", "item-5"], ignoringMissing: true))
        let landed = try await good
        XCTAssertEqual(landed.items, 1)
        do {
            _ = try await wrongDimension
            XCTFail("a vector of the wrong dimension was accepted")
        } catch let error as ServiceError {
            XCTAssertEqual(error.status, 400)
            XCTAssertTrue(error.message.contains("dimension"), error.message)
        }
        do {
            _ = try await unknown
            XCTFail("deleting an unknown id succeeded")
        } catch let error as ServiceError {
            XCTAssertEqual(error.status, 404, error.description)
        }
        let skipped = try await ignored
        XCTAssertEqual(skipped.items, 1)
        let index = service.index
        XCTAssertNotNil(try index.row(forID: "fine"))
        XCTAssertNil(try index.row(forID: "short"))
        XCTAssertNil(try index.row(forID: "item-5"))
        XCTAssertEqual(index.count, 300)
    }

    func testReadOnlyServiceRefusesWritesAndPicksUpAnotherWritersGenerations() async throws {
        let (service, vectors) = try makeService(options: ServiceOptions(readOnly: true))
        do {
            _ = try await service.write(.delete(["item-1"], ignoringMissing: false))
            XCTFail("a read-only service wrote")
        } catch {
            XCTAssertEqual(error.code, "read_only")
        }
        XCTAssertFalse(try service.refresh())
        let before = service.index
        // Another writer (as `hashidx add` would) commits while the service answers.
        let writer = try IndexWriter(path: service.path, threads: 1)
        try await writer.upsert(try InMemoryVectors(rows: [vectors[0]]), ids: ["from-elsewhere"])
        try await writer.commit()
        try writer.close()
        XCTAssertTrue(try service.refresh())
        XCTAssertNotNil(try service.index.row(forID: "from-elsewhere"))
        // The snapshot taken before is unchanged.
        XCTAssertNil(try before.row(forID: "from-elsewhere"))
        XCTAssertEqual(before.count, 300)
    }

    /// Without a write buffer (`bufferItems` 0), writes one after another, each its own
    /// group and its own small shard: the merge policy's merges run after the answers (a
    /// commit of their own), so the shards do not pile up, and every answered write is there.
    func testMergesRunAfterTheAnswersAndLoseNothing() async throws {
        let (service, vectors) = try makeService(options: ServiceOptions(writerIdleSeconds: 0.2, writerThreads: 1, bufferItems: 0))
        var answered: [UInt64] = []
        for w in 0..<12 {
            let item = IndexItem(id: "m-\(w)", vector: vectors[w].map { $0 * 2 + 0.1 }, attributes: ["group": .string("m")])
            answered.append(try await service.write(.upsert([item])).generation)
        }
        XCTAssertEqual(answered, answered.sorted())
        service.close()
        let index = try Index(path: service.path)
        XCTAssertEqual(index.count, 312)
        for w in 0..<12 { XCTAssertNotNil(try index.row(forID: "m-\(w)"), "m-\(w)") }
        XCTAssertLessThan(index.shardCount, 1 + 12, "the small shards were never merged")
        // Each merge is a generation of its own between two answered commits.
        XCTAssertGreaterThan(answered.last! - answered.first!, 11, "\(answered)")
    }

    func testClosedServiceCommitsWhatItTookAndRefusesMore() async throws {
        let (service, vectors) = try makeService()
        let summary = try await service.write(.upsert([IndexItem(id: "last", vector: vectors[9])]))
        service.close()
        do {
            _ = try await service.write(.upsert([IndexItem(id: "late", vector: vectors[10])]))
            XCTFail("a closed service wrote")
        } catch {
            XCTAssertEqual(error.code, "shutting_down")
        }
        let reopened = try Index(path: service.path)
        XCTAssertEqual(reopened.generation, summary.generation + 1, "closing writes the buffer to a shard")
        XCTAssertEqual(reopened.bufferedCount, 0)
        XCTAssertEqual(reopened.logLength, 0)
        XCTAssertNotNil(try reopened.row(forID: "last"))
        XCTAssertNil(try reopened.row(forID: "late"))
    }

    /// Writes go to the write log (no shard, the generation stays) and are searched from the
    /// buffer as soon as they are answered; once the buffer passes `bufferItems`, the writer
    /// writes it to one shard after the answers; a reader in another process sees the log.
    func testWritesAreBufferedInTheLogAndWrittenToAShardWhenTheBufferIsFull() async throws {
        let (service, vectors) = try makeService(options: ServiceOptions(writerIdleSeconds: 0.2, writerThreads: 1, bufferItems: 20))
        let before = service.index
        for w in 0..<19 {
            let item = IndexItem(id: "b-\(w)", vector: vectors[w].map { -$0 }, attributes: ["price": .integer(1)])
            let summary = try await service.write(.upsert([item]))
            XCTAssertEqual(summary.generation, before.generation, "a buffered write makes no generation")
            XCTAssertEqual(summary.count, 301 + w)
            // Visible at once: the nearest item to its own vector, and through a filter.
            let hit = try service.search(SearchRequest(query: .vector(item.vector), k: 1, filter: "price == 1"))
            XCTAssertEqual(hit.map(\.id), ["b-\(w)"])
        }
        XCTAssertEqual(service.index.shardCount, before.shardCount)
        XCTAssertEqual(service.index.bufferedCount, 19)
        let elsewhere = try Index(path: service.path)
        XCTAssertEqual(elsewhere.count, 319, "another reader replays the log")
        XCTAssertNotNil(try elsewhere.row(forID: "b-18"))
        // The twentieth fills the buffer: one shard after the answer.
        let last = try await service.write(.upsert([IndexItem(id: "b-19", vector: vectors[19].map { -$0 })]))
        XCTAssertEqual(last.generation, before.generation)
        var written = service.index
        for _ in 0..<200 where written.generation == before.generation {
            usleep(10_000)
            written = service.index
        }
        XCTAssertEqual(written.generation, before.generation + 1)
        XCTAssertEqual(written.bufferedCount, 0)
        XCTAssertEqual(written.shardCount, before.shardCount + 1)
        XCTAssertEqual(written.count, 320)
        for w in 0..<20 { XCTAssertNotNil(try written.row(forID: "b-\(w)"), "b-\(w)") }
    }

    func testRequestsAboveALimitAreRefusedNamingItsFlag() throws {
        let limits = RequestLimits(maxK: 20)
        XCTAssertEqual(try RequestDecoder.search(ArraySlice(#"{"id": "item-1", "k": 20}"#.utf8), limits: limits).k, 20)
        XCTAssertThrowsError(try RequestDecoder.search(ArraySlice(#"{"id": "item-1", "k": 21}"#.utf8), limits: limits)) {
            let error = $0 as? ServiceError
            XCTAssertEqual(error?.code, "limit_exceeded")
            XCTAssertTrue(error?.message.contains("--max-k") == true, "\(String(describing: error))")
        }
    }
}
