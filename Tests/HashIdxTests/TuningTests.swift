import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Builds with a target recall (``BuildOptions/targetRecall``): the tuned settings, where
/// they are stored and who uses them.
final class TuningTests: XCTestCase {
    private func build(_ rows: [[Float]], target: Double?, threads: Int = 2, partitions: Int? = 30,
                       ids: [String]? = nil) throws -> (String, Index) {
        let path = makeTemporaryDirectory(self) + "/t.hidx"
        var options = BuildOptions(training: TrainingOptions(bits: 64), partitions: partitions, threads: threads, vectorType: .float32)
        options.targetRecall = target
        let summary = try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: ids, to: path, options: options)
        let index = try Index(path: path)
        XCTAssertEqual(summary.tunedSearch, index.tunedSearch)
        return (path, index)
    }

    /// The tuned settings reach the target on the held-out rows and about so on other
    /// queries from the same data, searches that leave probes and candidates unset run them,
    /// explicit values override them, and they are the same for any thread count.
    func testATunedBuildStoresTheCheapestSettingThatReachesTheTargetAndSearchesUseIt() throws {
        let all = clusteredVectors(count: 4200, dim: 24, clusters: 40, spread: 0.5, seed: 21)
        let rows = Array(all.prefix(4000)), queries = Array(all.suffix(200))
        let (path, index) = try build(rows, target: 0.9)
        let tuned = try XCTUnwrap(index.tunedSearch)
        XCTAssertEqual(tuned.targetRecall, Double(Float(0.9)), "stored at the index's precision")
        XCTAssertGreaterThanOrEqual(tuned.measuredRecall, tuned.targetRecall)
        XCTAssertEqual(tuned.sampleQueries, SearchTuner.sampleQueries)
        XCTAssertTrue(SearchTuner.candidateLadder.contains(tuned.candidates))
        XCTAssertLessThanOrEqual(tuned.probes, index.partitionCount)
        XCTAssertEqual(index.defaultProbes, tuned.probes)
        XCTAssertEqual(index.defaultCandidates, tuned.candidates)
        // Unset options run the tuned setting: as many candidates reach the re-rank.
        XCTAssertEqual(try index.candidates(for: queries[0]).count, tuned.candidates)
        XCTAssertEqual(try index.candidates(for: queries[0], options: SearchOptions(candidates: 17)).count, 17)
        XCTAssertEqual(try index.search(queries[1]), try index.search(queries[1], options: SearchOptions(candidates: tuned.candidates,
                                                                                                          probes: tuned.probes)))
        // Recall on queries the index never saw, at the tuned setting.
        let truth = try ExactSearch.topK(base: try InMemoryVectors(rows: rows), queries: try InMemoryVectors(rows: queries), k: 10)
        var found = 0
        for (q, t) in zip(queries, truth) { found += try index.search(q).filter { t.contains($0.row) }.count }
        XCTAssertGreaterThanOrEqual(Double(found) / 2000, 0.85, "recall of fresh queries at the tuned setting")
        // The same choice on one thread.
        XCTAssertEqual(try build(rows, target: 0.9, threads: 1).1.tunedSearch, tuned)
        // Commits and compaction keep the settings.
        let writer = try IndexWriter(path: path)
        try writer.add(try InMemoryVectors(rows: Array(all.suffix(5))))
        try writer.commit()
        XCTAssertEqual(try Index(path: path).tunedSearch, tuned)
        try writer.compact()
        try writer.close()
        XCTAssertEqual(try Index(path: path).tunedSearch, tuned)
        // An untuned index runs the built-in defaults.
        let plain = try build(rows, target: nil).1
        XCTAssertNil(plain.tunedSearch)
        XCTAssertEqual(plain.defaultProbes, SearchOptions.defaultProbes)
        XCTAssertEqual(plain.defaultCandidates, SearchOptions.defaultCandidates)
    }

    /// A higher target never gets a cheaper setting, and recall 1 is reached by re-ranking
    /// every row of every partition when nothing cheaper reaches it.
    func testHigherTargetsCostMoreAndRecallOneIsReachable() throws {
        let rows = clusteredVectors(count: 1500, dim: 16, clusters: 12, seed: 5)
        let low = try XCTUnwrap(try build(rows, target: 0.8).1.tunedSearch)
        let high = try XCTUnwrap(try build(rows, target: 1).1.tunedSearch)
        XCTAssertEqual(high.measuredRecall, 1)
        XCTAssertTrue(high.probes >= low.probes || high.candidates >= low.candidates, "\(low) then \(high)")
        // Without partitions only candidates are tuned.
        let flat = try XCTUnwrap(try build(rows, target: 0.9, partitions: 0).1.tunedSearch)
        XCTAssertEqual(flat.probes, 1)
        XCTAssertGreaterThanOrEqual(flat.measuredRecall, flat.targetRecall)
    }

    func testTargetRecallOutsideZeroToOneIsRefused() throws {
        let rows = clusteredVectors(count: 200, dim: 8)
        for bad in [0, -0.5, 1.01, .nan, .infinity] as [Double] {
            XCTAssertThrowsError(try build(rows, target: bad)) {
                guard case .invalidArgument(name: "target-recall", _) = $0 as? HashIdxError else { return XCTFail("\($0)") }
            }
        }
    }

    /// The tuned record survives the manifest's round trip; an implausible one is refused.
    func testTheManifestKeepsTheTunedSearchAndRefusesAnImplausibleOne() throws {
        let (path, index) = try build(clusteredVectors(count: 600, dim: 8), target: 0.9, partitions: 0)
        let file = path + "/" + Format.manifestName(index.generation)
        let bytes = try FileSystem.readSmallFile(file, limit: 1 << 24)
        var manifest = try bytes.withUnsafeBytes { (b) throws -> Manifest in try Manifest.decode(b, path: file) }
        XCTAssertEqual(manifest.formatVersion, 6)
        XCTAssertNotNil(manifest.tunedSearch)
        for bad in [TunedSearch(probes: 0, candidates: 10, targetRecall: 0.9, measuredRecall: 0.9, sampleQueries: 10),
                    TunedSearch(probes: 1, candidates: 0, targetRecall: 0.9, measuredRecall: 0.9, sampleQueries: 10),
                    TunedSearch(probes: 1, candidates: 10, targetRecall: 1.5, measuredRecall: 0.9, sampleQueries: 10),
                    TunedSearch(probes: 1, candidates: 10, targetRecall: .nan, measuredRecall: 0.9, sampleQueries: 10),
                    TunedSearch(probes: 1, candidates: 10, targetRecall: 0.9, measuredRecall: -1, sampleQueries: 10),
                    TunedSearch(probes: 1, candidates: 10, targetRecall: 0.9, measuredRecall: 0.9, sampleQueries: 0)] {
            manifest.tunedSearch = bad
            let encoded = manifest.encoded()
            XCTAssertThrowsError(try encoded.withUnsafeBytes { try Manifest.decode($0, path: file) }, "\(bad)") {
                XCTAssertTrue("\($0)".contains("tuned search"), "\($0)")
            }
        }
        // A version-5 manifest has no record, and reads as untuned.
        manifest.tunedSearch = TunedSearch(probes: 3, candidates: 40, targetRecall: 0.9, measuredRecall: 0.95, sampleQueries: 9)
        manifest.formatVersion = 5
        let old = try manifest.encoded().withUnsafeBytes { try Manifest.decode($0, path: file) }
        XCTAssertNil(old.tunedSearch)
        manifest.formatVersion = 6
        XCTAssertEqual(try manifest.encoded().withUnsafeBytes { try Manifest.decode($0, path: file) }, manifest)
    }
}
