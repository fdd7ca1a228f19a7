import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Indexes built with another index's trained model (`BuildOptions.trainedModel`): the groups
/// of a catalog, built apart from one training, must hash and partition every row as the
/// model's own index does, so that searching each and merging by score is one search.
final class TrainedModelTests: XCTestCase {
    private let rows = clusteredVectors(count: 3000, dim: 24, clusters: 30, seed: 21)

    private func groups(_ dir: String, model: TrainedModel) throws -> [Index] {
        let halves = [Array(rows[0..<1400]), Array(rows[1400...])]
        return try halves.enumerated().map { (g, part) in
            var options = BuildOptions(training: TrainingOptions(bits: 128, seed: 99), partitions: 7)   // ignored
            options.trainedModel = model
            let ids = (0..<part.count).map { String((g == 0 ? 0 : 1400) + $0) }
            try IndexBuilder.build(source: try InMemoryVectors(rows: part), ids: ids, to: "\(dir)/g\(g).hidx", options: options)
            return try Index(path: "\(dir)/g\(g).hidx")
        }
    }

    func testGroupsHashAndPartitionEveryRowAsTheModelsIndex() throws {
        let dir = makeTemporaryDirectory(self)
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: "\(dir)/all.hidx",
                               options: BuildOptions(training: TrainingOptions(bits: 64), partitions: 20))
        let all = try Index(path: "\(dir)/all.hidx")
        let parts = try groups(dir, model: all.trainedModel)
        for part in parts {
            XCTAssertEqual(part.trainedModel, all.trainedModel)
            XCTAssertEqual(part.bits, 64)
            XCTAssertEqual(part.partitionCount, 20)
        }
        // Every row gets the code and the partition it has in the model's own index.
        for (g, part) in parts.enumerated() {
            for local in 0..<part.rowCount {
                let row = (g == 0 ? 0 : 1400) + local
                XCTAssertEqual(try placement(all, row), try placement(part, local), "row \(row)")
            }
        }
        // Exhaustive settings: the merge is the whole index's answer, ids and scores.
        let every = SearchOptions(k: 10, candidates: rows.count, probes: 20)
        for q in stride(from: 5, to: rows.count, by: 211) {
            let query = rows[q].map { $0 + 0.05 }
            let whole = try all.search(query, options: every)
            let merged = try parts.flatMap { try $0.search(query, options: every) }
                .sorted { ($0.score, Int($1.id)!) > ($1.score, Int($0.id)!) }.prefix(10)
            XCTAssertEqual(whole.map { String($0.row) }, merged.map(\.id))
            XCTAssertEqual(whole.map(\.score), merged.map(\.score))
        }
    }

    /// Row `row`'s stored code and partition.
    private func placement(_ index: Index, _ row: Int) throws -> [UInt64] {
        let (shard, position) = try index.searcher.locateLive(row)
        var code = [UInt64](repeating: 0, count: index.bits / 64)
        code.withUnsafeMutableBufferPointer { shard.codes.copy(position, into: $0.baseAddress!) }
        let partition = shard.partition(ofPosition: position)!
        return code + [UInt64(partition)]
    }

    func testAModelOfAnotherDimensionIsRefused() throws {
        let dir = makeTemporaryDirectory(self)
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), to: "\(dir)/all.hidx",
                               options: BuildOptions(training: TrainingOptions(bits: 64), partitions: 0))
        var options = BuildOptions()
        options.trainedModel = try Index(path: "\(dir)/all.hidx").trainedModel
        let narrow = rows.map { Array($0.prefix(10)) }
        XCTAssertThrowsError(try IndexBuilder.build(source: try InMemoryVectors(rows: narrow), to: "\(dir)/n.hidx", options: options)) {
            guard case HashIdxError.dimensionMismatch(expected: 24, actual: 10, _) = $0 else { return XCTFail("\($0)") }
        }
    }
}
