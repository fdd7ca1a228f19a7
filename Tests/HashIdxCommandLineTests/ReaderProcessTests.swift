import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Reader processes while a writer commits: `hashidx query`, run again and again, opens the
/// newest generation each time, and every answer it prints is some committed generation's.
/// (Readers in the writer's process: HashIdxTests' CatalogTests.)
final class ReaderProcessTests: XCTestCase {
    func testQueryProcessesDuringOneHundredCommitsSeeOnlyCommittedGenerations() throws {
        let path = makeTemporaryDirectory(self) + "/r.hidx"
        var rng = TestRandom(seed: 9)
        let rows = (0..<400).map { _ in (0..<12).map { _ in Float(rng.nextGaussian()) } }
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: (0..<400).map { "r\($0)" }, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: 150, rowsPerBlock: 16,
                                                     partitions: 6, threads: 2, vectorType: .float32))
        let query = rows[0]
        let options = SearchOptions(k: 8, candidates: 100, probes: 3)
        var committed: Set<[String]> = [try Index(path: path).search(query, options: options).map(\.id)]
        let answers = Locked<[[String]]>([])
        let failures = Locked<[String]>([])
        let done = Locked(false)
        let vectorText = query.map { String($0) }.joined(separator: ",")
        let reader = Thread {
            while !done.withLock({ $0 }) {
                guard let r = try? runCLI(["query", path, "--vector", vectorText, "--k", "8", "--probes", "3",
                                           "--candidates", "100", "--format", "json"]) else { continue }
                if r.status != 0 { failures.withLock { $0.append(r.err) }; continue }
                let ids = r.out.components(separatedBy: "\"id\":\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
                answers.withLock { $0.append(ids) }
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
            try writer.commit()
            committed.insert(try Index(path: path).search(query, options: options).map(\.id))
            // Let a few reader processes start between commits.
            if i % 10 == 9 { usleep(50_000) }
        }
        try writer.close()
        done.withLock { $0 = true }
        while !reader.isFinished { usleep(1000) }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let all = answers.withLock { $0 }
        XCTAssertGreaterThan(all.count, 0)
        for ids in all { XCTAssertTrue(committed.contains(ids), "a reader process got \(ids), no generation's answer") }
        print("reader processes during commits: \(all.count) answers")
    }
}
