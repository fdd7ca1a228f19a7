import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// The writer as a Swift 6 program uses it: one writer shared by tasks, async commits,
/// progress, and uncommitted changes that are committed or rolled back, never dropped
/// silently. (Its changes against a model of the catalog: CatalogTests.)
final class WriterTests: XCTestCase {
    private let dim = 12

    private func rows(_ count: Int, seed: UInt64) -> [[Float]] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } }
    }

    /// An index of `rows` with ids `r0`, `r1`, … (float32 vectors: stored exactly).
    private func build(_ path: String, rows: [[Float]], shardSize: Int = 150) throws {
        try IndexBuilder.build(source: try InMemoryVectors(rows: rows), ids: rows.indices.map { "r\($0)" }, to: path,
                               options: BuildOptions(training: TrainingOptions(bits: 64), shardSize: shardSize, rowsPerBlock: 16,
                                                     partitions: 4, threads: 2, vectorType: .float32))
    }

    /// Stored vectors come back as unit vector × length: equal to a few ulps.
    private func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5 * max(1, abs(y)), file: file, line: line) }
    }

    func testCloseRefusesPendingChangesUntilCommittedOrRolledBack() throws {
        let path = makeTemporaryDirectory(self) + "/c.hidx"
        try build(path, rows: rows(40, seed: 1))
        let writer = try IndexWriter(path: path)
        try writer.delete(ids: ["r0"])
        XCTAssertThrowsError(try writer.close()) { error in
            guard case .invalidArgument(name: "close", let reason)? = error as? HashIdxError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("rollback()"), reason)
        }
        // Still open, still holding the lock, the change still pending.
        XCTAssertTrue(writer.hasChanges)
        XCTAssertThrowsError(try IndexWriter(path: path))
        writer.rollback()
        XCTAssertFalse(writer.hasChanges)
        try writer.close()
        try writer.close()   // a second close does nothing
        XCTAssertThrowsError(try writer.delete(ids: ["r1"]))
        XCTAssertEqual(try Index(path: path).count, 40, "nothing was committed")
        XCTAssertNoThrow(try IndexWriter(path: path).close(), "the lock was released")
    }

    func testTasksShareOneWriterAndCommitWithoutBlockingThePool() async throws {
        let path = makeTemporaryDirectory(self) + "/t.hidx"
        try build(path, rows: rows(40, seed: 2))
        let writer = try IndexWriter(path: path, threads: 1)
        let fresh = rows(16, seed: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    try await writer.add(try InMemoryVectors(rows: [fresh[2 * t], fresh[2 * t + 1]]), ids: ["t\(t)a", "t\(t)b"])
                }
            }
            group.addTask { try await writer.delete(ids: ["r0", "r1"]) }
            try await group.waitForAll()
        }
        XCTAssertEqual(writer.count, 40 + 16 - 2)
        let heard = Locked<[WorkProgress]>([])
        let summary = try await writer.commit { p in heard.withLock { $0.append(p) } }
        XCTAssertEqual(summary.added, 16)
        XCTAssertEqual(summary.deleted, 2)
        XCTAssertEqual(summary.count, 54)
        let progress = heard.withLock { $0 }
        XCTAssertEqual(progress.last(where: { $0.phase == .encoding }), WorkProgress(phase: .encoding, done: 16, total: 16))
        XCTAssertEqual(progress.suffix(2).map(\.phase), [.finishing, .finishing])
        XCTAssertEqual(progress.last?.fraction, 1)
        let index = try Index(path: path)
        XCTAssertEqual(index.count, 54)
        for t in 0..<8 {
            let row = try XCTUnwrap(try index.row(forID: "t\(t)b"))
            assertClose(try index.vector(ofRow: row), fresh[2 * t + 1])
        }
        XCTAssertNil(try index.row(forID: "r0"))
        try writer.close()
    }

    func testCompactionReadsEncodesAndCommitsWithProgressAndKeepsEveryVector() async throws {
        let path = makeTemporaryDirectory(self) + "/p.hidx"
        let base = rows(200, seed: 4)
        try build(path, rows: base, shardSize: 80)
        let writer = try IndexWriter(path: path, threads: 2)
        writer.mergePolicy = nil
        let gone = stride(from: 0, to: 200, by: 4).map { "r\($0)" }
        try await writer.delete(ids: gone)
        try await writer.commit()
        let heard = Locked<[WorkProgress]>([])
        let summary = try await writer.compact { p in heard.withLock { $0.append(p) } }
        XCTAssertEqual(summary.rewrittenShards, 3)
        let progress = heard.withLock { $0 }
        XCTAssertEqual(progress.last(where: { $0.phase == .reading })?.done, 150, "every live row read back")
        XCTAssertEqual(progress.last(where: { $0.phase == .encoding }), WorkProgress(phase: .encoding, done: 150, total: 150))
        XCTAssertEqual(Set(progress.map(\.phase)), [.reading, .encoding, .finishing])
        XCTAssertEqual(progress.last, WorkProgress(phase: .finishing, done: 1, total: 1))
        let index = try Index(path: path)
        XCTAssertEqual(index.count, 150)
        XCTAssertEqual(index.deletedCount, 0)
        for i in 0..<200 {
            let row = try index.row(forID: "r\(i)")
            if i % 4 == 0 { XCTAssertNil(row); continue }
            assertClose(try index.vector(ofRow: try XCTUnwrap(row)), base[i])
        }
        try writer.close()
    }
}
