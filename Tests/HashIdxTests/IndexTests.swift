import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

final class IndexTests: XCTestCase {
    private func build(_ rows: [[Float]], ids: [String]? = nil, options: BuildOptions = BuildOptions()) throws -> (String, Index) {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/i.hidx"
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ids, to: path, options: options)
        return (path, try Index(path: path))
    }

    func testManifestRoundTrip() throws {
        let data = try InMemoryVectors(rows: clusteredVectors(count: 300, dim: 16))
        let model = try Trainer.train(source: data, options: TrainingOptions(bits: 64))
        let m = Manifest(rows: 300, model: model, hasStringIDs: true, vectorType: .float32, rowsPerBlock: 64,
                         training: TrainingInfo(sampleSize: 300, iterations: 50, seed: 1),
                         shards: [ShardRecord(fileName: "shard-000001-000000.hidx", firstRow: 0, rows: 200, fileSize: 1234, headerCRC: 7),
                                  ShardRecord(fileName: "shard-000001-000001.hidx", firstRow: 200, rows: 100, fileSize: 99, headerCRC: 8)])
        let bytes = m.encoded()
        let back = try bytes.withUnsafeBytes { try Manifest.decode($0, path: "m") }
        XCTAssertEqual(back, m)
    }

    /// Vectors, norms, ids and codes survive the trip to disk, for every codec and for
    /// several shards.
    func testFormatRoundTrip() throws {
        let rows = clusteredVectors(count: 700, dim: 12)
        let ids = (0..<700).map { "item-\($0)-é" }
        for (codec, type) in [(CodecChoice.none, VectorType.float32), (.lz4, .float32), (.auto, .float32), (.auto, .float16), (.lz4, .float16)] {
            var options = BuildOptions(training: TrainingOptions(bits: 128), shardSize: 250, rowsPerBlock: 32, vectorType: type)
            options.vectorCodec = codec
            options.idCodec = codec
            let (_, index) = try build(rows, ids: ids, options: options)
            XCTAssertEqual(index.count, 700)
            XCTAssertEqual(index.dimension, 12)
            XCTAssertEqual(index.bits, 128)
            XCTAssertEqual(index.shardCount, 3)
            if codec == .lz4 { XCTAssertEqual(index.vectorCodecs, [.lz4, .lz4, .lz4]) }
            if codec == .none || codec == .auto { XCTAssertEqual(index.vectorCodecs, [.none, .none, .none]) }
            XCTAssertEqual(index.vectorType, type)
            try index.verify()
            for r in [0, 1, 249, 250, 499, 500, 699] {
                XCTAssertEqual(try index.id(ofRow: r), ids[r])
                XCTAssertEqual(try index.row(forID: ids[r]), r)
                let v = try index.vector(ofRow: r)
                // float32 keeps the vector (to rounding); float16 to half precision (2⁻¹¹ relative).
                let tolerance: Float = type == .float32 ? 1e-5 : 1e-3
                for j in 0..<12 { XCTAssertEqual(v[j], rows[r][j], accuracy: tolerance * max(1, abs(rows[r][j]))) }
                // Stored codes equal a fresh encoding of the input row, normalised.
                var unit = rows[r]
                _ = try unit.withUnsafeMutableBufferPointer { try Vectors.normalize($0, source: "test", row: r) }
                let (shard, local) = (index.shards[r / 250], r % 250)
                let stored = shard.codes.code(at: local)
                XCTAssertEqual(stored, index.model.encode(unit))
            }
            XCTAssertNil(try index.row(forID: "absent"))
        }
    }

    func testRowNumberIDs() throws {
        let (_, index) = try build(clusteredVectors(count: 100, dim: 8), options: BuildOptions(training: TrainingOptions(bits: 64)))
        XCTAssertFalse(index.hasStringIDs)
        XCTAssertEqual(try index.id(ofRow: 42), "42")
        XCTAssertEqual(try index.row(forID: "42"), 42)
        XCTAssertNil(try index.row(forID: "042"))
        XCTAssertNil(try index.row(forID: "100"))
        let hits = try index.search(similarToID: "3", options: SearchOptions(k: 5))
        XCTAssertFalse(hits.contains { $0.row == 3 })
    }

    /// Results equal an exhaustive cosine ranking when every row is a candidate, best
    /// first, and a multi-shard index answers exactly like a single-shard one.
    func testSearchIsExactWhenAllRowsAreCandidates() throws {
        let rows = clusteredVectors(count: 500, dim: 10)
        // Exact scores need exact vectors: float32.
        let (_, one) = try build(rows, options: BuildOptions(training: TrainingOptions(bits: 64), vectorType: .float32))
        let (_, many) = try build(rows, options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 77, vectorType: .float32))
        var rng = TestRandom(seed: 4)
        for _ in 0..<20 {
            let q = (0..<10).map { _ in Float(rng.nextGaussian()) }
            let a = try one.search(q, options: SearchOptions(k: 10, candidates: 500))
            XCTAssertEqual(a.map(\.row), exactTopK(q, rows, k: 10))
            XCTAssertEqual(a.map(\.score), a.map(\.score).sorted(by: >))
            let b = try many.search(q, options: SearchOptions(k: 10, candidates: 500))
            XCTAssertEqual(a, b)
            // Fewer candidates still return k results from the same index, deterministically.
            let c1 = try many.search(q, options: SearchOptions(k: 10, candidates: 30))
            let c2 = try many.search(q, options: SearchOptions(k: 10, candidates: 30))
            XCTAssertEqual(c1.count, 10)
            XCTAssertEqual(c1, c2)
        }
    }

    func testTiesAreBrokenByRowOrder() throws {
        // Rows 1, 3 and 4 are the same direction as the query; they tie at cosine 1.
        let rows: [[Float]] = [[0, 1, 0], [1, 0, 0], [0, 0, 1], [2, 0, 0], [5, 0, 0], [-1, 0, 0]]
        let (_, index) = try build(rows, options: BuildOptions(training: TrainingOptions(bits: 64)))
        let hits = try index.search([3, 0, 0], options: SearchOptions(k: 4, candidates: 6))
        XCTAssertEqual(hits.map(\.row), [1, 3, 4, 0])
        XCTAssertEqual(hits[0].score, 1, accuracy: 1e-6)
    }

    /// k beyond the number of items returns them all, best first (issue 23: as every peer
    /// does; it was an error before), an item's "more like this" the others; k ≤ 0 is still
    /// an error, and absurd option values allocate nothing.
    func testKLargerThanIndexReturnsEveryItem() throws {
        let rows = clusteredVectors(count: 7, dim: 4)
        let (_, index) = try build(rows, options: BuildOptions(training: TrainingOptions(bits: 64)))
        let seven = try index.search(rows[0], options: SearchOptions(k: 7))
        XCTAssertEqual(seven.count, 7)
        XCTAssertEqual(try index.search(rows[0], options: SearchOptions(k: 8)), seven)
        XCTAssertEqual(try index.search(rows[0], options: SearchOptions(k: Int.max)), seven)
        XCTAssertEqual(seven.map(\.score), seven.map(\.score).sorted(by: >), "best first")
        let others = try index.search(similarToID: "0", options: SearchOptions(k: 7))
        XCTAssertEqual(others.map(\.row).sorted(), Array(1..<7))
        XCTAssertEqual(try index.search(similarToID: "0", options: SearchOptions(k: 6)), others)
        XCTAssertEqual(try index.search(batch: try InMemoryVectors(rows: [rows[0]]), options: SearchOptions(k: 1 << 40)), [seven])
        XCTAssertEqual(try index.candidates(for: rows[0], options: SearchOptions(k: Int.max)), Array(0..<7))
        XCTAssertThrowsError(try index.search(rows[0], options: SearchOptions(k: 0))) {
            XCTAssertEqual($0 as? HashIdxError, .invalidArgument(name: "k", reason: "must be a positive number of results, got 0"))
        }
        XCTAssertThrowsError(try index.search(similarToID: "0", options: SearchOptions(k: -1)))
        // Candidates and probes far beyond the index are fine: at most every row is read.
        let all = try index.search(rows[0], options: SearchOptions(k: 7, candidates: Int.max, probes: Int.max, shortlistFactor: 1000))
        XCTAssertEqual(all.map(\.row).sorted(), Array(0..<7))
        XCTAssertEqual(try index.candidates(for: rows[0], options: SearchOptions(k: 1, candidates: Int.max)), Array(0..<7))
    }

    /// With partitions, k at or beyond the item count probes them all: every item comes back,
    /// with a filter every matching one, though `probes` alone would reach a few.
    func testKBeyondTheItemsProbesEveryPartition() throws {
        let rows = clusteredVectors(count: 400, dim: 8, clusters: 8, seed: 21)
        let attributes = try AttributeTable(rows: rows.indices.map { ["even": .boolean($0 % 2 == 0)] })
        let path = makeTemporaryDirectory(self) + "/p.hidx"
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), attributes: attributes, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), partitions: 8))
        let index = try Index(path: path)
        XCTAssertEqual(index.partitionCount, 8)
        XCTAssertLessThan(try index.search(rows[0], options: SearchOptions(k: 399, probes: 1)).count, 399)
        let all = try index.search(rows[0], options: SearchOptions(k: 400, probes: 1))
        XCTAssertEqual(all.map(\.row).sorted(), Array(0..<400))
        XCTAssertEqual(all.map(\.score), all.map(\.score).sorted(by: >))
        XCTAssertEqual(try index.search(similarToID: "5", options: SearchOptions(k: 399, probes: 1)).count, 399)
        let even = try index.search(rows[0], options: SearchOptions(k: 1000, probes: 1, filter: try Filter("even")))
        XCTAssertEqual(even.map(\.row).sorted(), Array(stride(from: 0, to: 400, by: 2)))
    }

    /// Recall@10 over the GloVe words shipped in Data/, against exact cosine computed here.
    /// (Slow: scripts/test.sh runs it once, under AddressSanitizer; its `slow` pattern.)
    func testRecallOnShippedGloVe() throws {
        let npy = repositoryRoot + "/Data/glove-20k.npy"
        let words = repositoryRoot + "/Data/glove-20k.txt"
        let file = try VectorFile(path: npy)
        XCTAssertEqual(file.count, 20_000)
        let dir = makeTemporaryDirectory(self)
        try IndexBuilder.build(vectorsPath: npy, idsPath: words, to: dir + "/g.hidx")
        let index = try Index(path: dir + "/g.hidx")
        let ids = try IDList.read(path: words)

        // All rows unit-normalised, for the exact ranking.
        let d = file.dimension
        var unit = [Float](repeating: 0, count: file.count * d)
        unit.withUnsafeMutableBufferPointer { u in
            for r in 0..<file.count {
                let row = UnsafeMutableBufferPointer(rebasing: u[(r * d)..<((r + 1) * d)])
                file.copyRow(r, into: row)
                _ = try! Vectors.normalize(row, source: "test", row: r)
            }
        }
        var found = 0, total = 0
        var rng = TestRandom(seed: 2026)
        for _ in 0..<300 {
            let q = Int(rng.next() % UInt64(file.count))
            // The exact top 10 (higher score first, ties by lower row), kept sorted as rows go by.
            var best: [(row: Int, score: Float)] = []
            unit.withUnsafeBufferPointer { u in
                for r in 0..<file.count where r != q {
                    let score = Vectors.dot(u.baseAddress! + q * d, u.baseAddress! + r * d, count: d)
                    guard best.count < 10 || score > best[9].score else { continue }
                    let at = best.firstIndex { score > $0.score } ?? best.count
                    best.insert((r, score), at: at)
                    if best.count > 10 { best.removeLast() }
                }
            }
            let truth = Set(best.map { ids[$0.row] })
            let hits = try index.search(similarToID: ids[q])
            XCTAssertEqual(hits.count, 10)
            XCTAssertFalse(hits.contains { $0.id == ids[q] })
            found += hits.filter { truth.contains($0.id) }.count
            total += 10
        }
        let recall = Double(found) / Double(total)
        XCTAssertGreaterThanOrEqual(recall, 0.95, "recall@10 \(recall)")
        let king = try index.search(similarToID: "king", options: SearchOptions(k: 5)).map(\.id)
        XCTAssertTrue(king.contains("queen") && king.contains("prince"), "\(king)")
    }

    /// Eight threads searching one index get exactly what one thread gets.
    func testConcurrentSearchesMatchSequential() throws {
        let rows = clusteredVectors(count: 2000, dim: 16)
        let (_, index) = try build(rows, ids: (0..<2000).map { "id\($0)" },
                                   options: BuildOptions(training: TrainingOptions(bits: 128), shardSize: 600, vectorCodec: .lz4))
        let queries = Array(rows.prefix(64))
        let sequential = try queries.map { try index.search($0, options: SearchOptions(k: 10, candidates: 100)) }
        let results = Locked<[Int: [SearchResult]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for (i, q) in queries.enumerated() where i % 8 == t || true {
                let r = try! index.search(q, options: SearchOptions(k: 10, candidates: 100))
                if i % 8 == t { results.withLock { $0[i] = r } }
                XCTAssertEqual(r, sequential[i])
            }
        }
        XCTAssertEqual(results.withLock { $0.count }, 64)
        let batch = try index.search(batch: try InMemoryVectors(rows: queries), options: SearchOptions(k: 10, candidates: 100), threads: 8)
        XCTAssertEqual(batch, sequential)
    }
}

