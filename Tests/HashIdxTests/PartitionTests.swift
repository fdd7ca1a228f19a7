import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Indexes built with partitions: layout, row mapping and search.
final class PartitionTests: XCTestCase {
    private func build(_ rows: [[Float]], ids: [String]? = nil, partitions: Int, shardSize: Int = 1_000_000,
                       codec: CodecChoice = .auto, vectorType: VectorType = .float32) throws -> Index {
        // float32 by default here: these tests compare with exact search.
        let dir = makeTemporaryDirectory(self)
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ids, to: dir + "/p.hidx",
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: shardSize,
                                                     rowsPerBlock: 32, vectorCodec: codec, idCodec: codec,
                                                     partitions: partitions, threads: 2, vectorType: vectorType))
        return try Index(path: dir + "/p.hidx")
    }

    func testCentroidsTrainAndAssignToTheNearest() {
        var rng = SplitMix64(seed: 1)   // the library's own generator, which train takes
        let rows = clusteredVectors(count: 2000, dim: 8, clusters: 5)
        let unit = rows.flatMap { r -> [Float] in
            let n = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return r.map { $0 / n }
        }
        let c = SphericalKMeans.train(unit, n: 2000, d: 8, k: 5, iterations: 10, rng: &rng)
        let scorer = CentroidScorer(c)
        XCTAssertEqual(c.count, 5)
        for j in 0..<5 {
            let norm = (0..<8).reduce(Float(0)) { $0 + c.rows[j * 8 + $1] * c.rows[j * 8 + $1] }
            XCTAssertEqual(norm, 1, accuracy: 1e-4)
        }
        var assignment = [Int](repeating: 0, count: 2000)
        unit.withUnsafeBufferPointer { u in
            assignment.withUnsafeMutableBufferPointer { SphericalKMeans.assign(u.baseAddress!, n: 2000, to: c, into: $0.baseAddress!) }
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scorer.scratchSize())
        defer { scratch.deallocate() }
        for r in stride(from: 0, to: 2000, by: 37) {
            var best = 0
            var bestScore = -Float.infinity
            for j in 0..<5 {
                let s = (0..<8).reduce(Float(0)) { $0 + unit[r * 8 + $1] * c.rows[j * 8 + $1] }
                if s > bestScore { best = j; bestScore = s }
            }
            XCTAssertEqual(assignment[r], best)
            let top = unit.withUnsafeBufferPointer { scorer.nearest($0.baseAddress! + r * 8, n: 3, scratch: scratch) }
            XCTAssertTrue(top.contains(best))
            XCTAssertEqual(top.count, 3)
            XCTAssertEqual(top, top.sorted())
            // The three are the three highest scores.
            let scores = (0..<5).map { j in (0..<8).reduce(Float(0)) { $0 + unit[r * 8 + $1] * c.rows[j * 8 + $1] } }
            let expected = (0..<5).sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(3).sorted()
            XCTAssertEqual(top, expected)
        }
    }

    /// A PCA + ITQ model with fewer bits than dimensions scores probes in its projected space:
    /// the score differs from the exact `q·c` by exactly `−r⊥·c⊥`, so by at most `‖r⊥‖`
    /// (`r⊥` the part of `q − μ` outside the projection's rows, `c` a unit centroid); the
    /// probes agree with exact scoring up to that margin. Other models score exactly.
    func testProbesOfAPCAModelAreScoredInItsProjectedSpaceWithinTheResidual() throws {
        let d = 96, bits = 64
        let rows = clusteredVectors(count: 3000, dim: d, clusters: 12)
        let data = try InMemoryVectors(rows: rows)
        let model = try Trainer.train(source: data, options: TrainingOptions(bits: bits, sampleSize: 2000, iterations: 10))
        XCTAssertEqual(model.scheme, .pcaITQ)
        var rng = SplitMix64(seed: 3)
        let unit = rows.flatMap { r -> [Float] in
            let n = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return r.map { $0 / n }
        }
        let centroids = SphericalKMeans.train(unit, n: 3000, d: d, k: 40, iterations: 5, rng: &rng)
        let scorer = CentroidScorer(centroids, model: model)
        let projected = try XCTUnwrap(scorer.projected)
        var approx = [Float](repeating: 0, count: scorer.scratchSize())
        var exact = approx
        var checked = 0
        for r in stride(from: 0, to: 3000, by: 97) {
            let q = Array(unit[(r * d)..<((r + 1) * d)])
            let y = model.margins(q)
            // r⊥ = (q − μ) − Pᵀ P (q − μ), P's rows orthonormal.
            let centred = zip(q, model.mean).map { $0 - $1 }
            let coords = (0..<bits).map { j in (0..<d).reduce(Float(0)) { $0 + model.projection[j * d + $1] * centred[$1] } }
            let residual = (0..<d).map { i in centred[i] - (0..<bits).reduce(Float(0)) { $0 + model.projection[$1 * d + i] * coords[$1] } }
            let bound = residual.reduce(0) { $0 + $1 * $1 }.squareRoot()
            y.withUnsafeBufferPointer { projected.scores(margins: $0.baseAddress!, into: &approx) }
            q.withUnsafeBufferPointer { scorer.scores($0.baseAddress!, into: &exact) }
            for c in 0..<centroids.count {
                XCTAssertEqual(approx[c], exact[c], accuracy: bound + 1e-4, "row \(r), centroid \(c)")
            }
            // The probes: the n highest approximate scores.
            let probes = q.withUnsafeBufferPointer { qb in
                y.withUnsafeBufferPointer { scorer.nearest(qb.baseAddress!, margins: $0.baseAddress!, n: 5, scratch: &approx) }
            }
            let expected = (0..<centroids.count).sorted { approx[$0] > approx[$1] || (approx[$0] == approx[$1] && $0 < $1) }
            XCTAssertEqual(probes, expected.prefix(5).sorted())
            checked += 1
        }
        XCTAssertEqual(checked, 31)
        // A random frame (bits > dimension) and a model without one score exactly.
        let wide = try Trainer.train(source: data, options: TrainingOptions(bits: 128, sampleSize: 2000, iterations: 5))
        XCTAssertEqual(wide.scheme, .centredRandomFrame)
        XCTAssertNil(CentroidScorer(centroids, model: wide).projected)
        XCTAssertNil(CentroidScorer(centroids).projected)
    }

    /// Probing every partition with every row a candidate is an exact search, identical to an
    /// index without partitions; ids, vectors and rows map back through the layout.
    func testProbingEverythingIsExactAndRowsMapBack() throws {
        let rows = clusteredVectors(count: 1200, dim: 10)
        let ids = (0..<1200).map { "w\($0)" }
        let plain = try build(rows, ids: ids, partitions: 0)
        for (partitions, shardSize, codec) in [(12, 1_000_000, CodecChoice.none), (7, 500, .lz4)] {
            let index = try build(rows, ids: ids, partitions: partitions, shardSize: shardSize, codec: codec)
            XCTAssertEqual(index.partitionCount, partitions)
            try index.verify()
            for r in [0, 1, 499, 500, 777, 1199] {
                XCTAssertEqual(try index.id(ofRow: r), ids[r])
                XCTAssertEqual(try index.row(forID: ids[r]), r)
                let v = try index.vector(ofRow: r)
                for j in 0..<10 { XCTAssertEqual(v[j], rows[r][j], accuracy: 1e-5 * max(1, abs(rows[r][j]))) }
            }
            var rng = TestRandom(seed: 3)
            for _ in 0..<10 {
                let q = (0..<10).map { _ in Float(rng.nextGaussian()) }
                let all = SearchOptions(k: 10, candidates: 1200, probes: partitions)
                let hits = try index.search(q, options: all)
                XCTAssertEqual(hits.map(\.row), exactTopK(q, rows, k: 10))
                XCTAssertEqual(hits, try plain.search(q, options: all))
                XCTAssertEqual(try index.candidates(for: q, options: SearchOptions(k: 10, candidates: 1200, probes: partitions, shortlistFactor: 1)), Array(0..<1200))
            }
            let like = try index.search(similarToID: "w5", options: SearchOptions(k: 5, candidates: 1200, probes: partitions))
            XCTAssertEqual(like.map(\.row), exactTopK(rows[5], rows, k: 5, excluding: 5))
        }
    }

    /// With fewer probes, candidates come only from the partitions nearest to the query.
    func testProbesLimitTheScanToTheNearestPartitions() throws {
        let rows = clusteredVectors(count: 3000, dim: 12, clusters: 30)
        let index = try build(rows, partitions: 30)
        let centroids = CentroidScorer(index.manifest.centroids!)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: centroids.scratchSize())
        defer { scratch.deallocate() }
        func partition(of v: [Float]) -> Int {
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let unit = v.map { $0 / n }
            return unit.withUnsafeBufferPointer { centroids.nearest($0.baseAddress!, scratch: scratch) }
        }
        let q = rows[17]
        let probed = Set(q.map { $0 }.withUnsafeBufferPointer { _ -> [Int] in
            let n = q.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let unit = q.map { $0 / n }
            return unit.withUnsafeBufferPointer { centroids.nearest($0.baseAddress!, n: 3, scratch: scratch) }
        })
        let candidates = try index.candidates(for: q, options: SearchOptions(k: 10, candidates: 3000, probes: 3, shortlistFactor: 1))
        XCTAssertFalse(candidates.isEmpty)
        XCTAssertLessThan(candidates.count, 3000)
        for r in candidates { XCTAssertTrue(probed.contains(partition(of: rows[r])), "row \(r) is outside the probed partitions") }
        // Every row of the probed partitions is a candidate when C is large.
        let expected = (0..<3000).filter { probed.contains(partition(of: rows[$0])) }
        XCTAssertEqual(candidates, expected)
        // And the search finds the query's own row first.
        XCTAssertEqual(try index.search(q, options: SearchOptions(k: 1, candidates: 100, probes: 3)).first?.row, 17)
    }

    func testDefaultPartitionCount() {
        XCTAssertEqual(BuildOptions.defaultPartitions(rows: 19_999), 0)
        XCTAssertEqual(BuildOptions.defaultPartitions(rows: 20_000), 283)
        XCTAssertEqual(BuildOptions.defaultPartitions(rows: 390_000), 1_249)
        XCTAssertEqual(BuildOptions.defaultPartitions(rows: 10_000_000), 6_325, "no longer capped by the training sample")
    }

    /// The k-means sample: the training sample within 32…64 rows a partition, inside the
    /// memory bound, never more than the input.
    func testPartitionSampleGrowsWithThePartitionsWithinItsBounds() {
        let train = TrainingOptions.defaultSampleSize
        XCTAssertEqual(Partitioning.sampleSize(count: 490, rows: 60_000, dimension: 784, sampleSize: train), 31_360, "64 a partition")
        XCTAssertEqual(Partitioning.sampleSize(count: 1_249, rows: 390_000, dimension: 50, sampleSize: train), 79_936)
        XCTAssertEqual(Partitioning.sampleSize(count: 3_125, rows: 10_000_000, dimension: 96, sampleSize: train), train,
                       "the training sample")
        XCTAssertEqual(Partitioning.sampleSize(count: 6_325, rows: 10_000_000, dimension: 96, sampleSize: train), 202_400, "32 a partition")
        XCTAssertEqual(Partitioning.sampleSize(count: 6_325, rows: 100_000, dimension: 96, sampleSize: train), 100_000, "the input")
        XCTAssertEqual(Partitioning.sampleSize(count: 4096, rows: 1 << 30, dimension: 4096, sampleSize: train),
                       Partitioning.maximumSampleBytes / (4 * 4096), "the memory bound")
        XCTAssertEqual(Partitioning.sampleSize(count: 1 << 20, rows: 1 << 30, dimension: 65_536, sampleSize: train), 1 << 20,
                       "one a partition, past the memory bound")
    }

    func testRejectsBadPartitionOptions() {
        let data = try! InMemoryVectors(rows: clusteredVectors(count: 50, dim: 4))
        XCTAssertThrowsError(try IndexBuilder.build(source: data, to: makeTemporaryDirectory(self) + "/x",
                                                    options: BuildOptions(partitions: -1)))
        XCTAssertThrowsError(try IndexBuilder.build(source: data, to: makeTemporaryDirectory(self) + "/x",
                                                    options: BuildOptions(threads: 0)))
        XCTAssertThrowsError(try SearchOptions(k: 3, probes: 0).validate())
    }
}
