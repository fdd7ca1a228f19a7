import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// Every bad input gets one clear error line naming the file and the problem, a non-zero
/// exit status, and leaves no index behind.
final class BadInputTests: XCTestCase {
    private var dir = ""
    private var good = ""

    override func setUp() {
        dir = makeTemporaryDirectory(self)
        good = dir + "/good.npy"
        writeNpy(good, rows: clusteredVectors(count: 200, dim: 8))
    }

    /// Runs the CLI, expects failure with one stderr line containing every `fragment`.
    private func assertCLIFails(_ args: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runCLI(args)
        XCTAssertNotEqual(r.status, 0, "exit status for \(args)", file: file, line: line)
        // Progress lines may come first; the error is one line, the last.
        let lines = r.err.split(separator: "\n")
        let errors = lines.filter { $0.lowercased().contains("error") }
        XCTAssertEqual(errors.count, 1, "stderr: \(r.err)", file: file, line: line)
        XCTAssertEqual(errors.last, lines.last, "stderr: \(r.err)", file: file, line: line)
        XCTAssertTrue(lines.last?.hasPrefix("hashidx: error: ") == true, r.err, file: file, line: line)
        for f in fragments {
            XCTAssertTrue(r.err.contains(f), "'\(r.err)' lacks '\(f)'", file: file, line: line)
        }
        XCTAssertFalse(r.err.contains("Fatal error"), file: file, line: line)
    }

    private func assertNoIndex(_ path: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "\(path) was left behind", file: file, line: line)
    }

    func testBuildRejectsBadVectorFiles() throws {
        let out = dir + "/out.hidx"
        try assertCLIFails(["build", dir + "/missing.npy", "-o", out], ["missing.npy", "cannot open"])
        writeFile(dir + "/v.csv", Array("1,2\n".utf8))
        try assertCLIFails(["build", dir + "/v.csv", "-o", out], ["v.csv", "unknown extension"])
        writeFile(dir + "/bad.npy", Array("garbage".utf8))
        try assertCLIFails(["build", dir + "/bad.npy", "-o", out], ["bad.npy", "bad magic"])
        writeFile(dir + "/int.npy", npyBytes(descr: "<i8", shape: [2, 2], payload: [UInt8](repeating: 0, count: 32)))
        try assertCLIFails(["build", dir + "/int.npy", "-o", out], ["int.npy", "unsupported dtype"])
        writeFile(dir + "/cut.npy", npyBytes(descr: "<f4", shape: [10, 4], payload: float32Bytes([1, 2, 3])))
        try assertCLIFails(["build", dir + "/cut.npy", "-o", out], ["cut.npy", "does not match its header"])
        writeFile(dir + "/empty.npy", npyBytes(descr: "<f4", shape: [0, 4], payload: []))
        try assertCLIFails(["build", dir + "/empty.npy", "-o", out], ["empty.npy", "no vectors"])
        writeFile(dir + "/hdr.fbin", [1, 0])
        try assertCLIFails(["build", dir + "/hdr.fbin", "-o", out], ["hdr.fbin", "truncated header"])
        assertNoIndex(out)
    }

    func testUnreadableFile() throws {
        guard getuid() != 0 else { throw XCTSkip("root reads every file; covered by the missing-file case") }
        let path = dir + "/locked.npy"
        writeNpy(path, rows: [[1, 2]])
        chmod(path, 0)
        try assertCLIFails(["build", path, "-o", dir + "/o.hidx"], ["locked.npy", "cannot open"])
    }

    func testBuildRejectsNonFiniteAndZeroVectors() throws {
        let out = dir + "/out.hidx"
        var rows = clusteredVectors(count: 300, dim: 8)
        rows[250][3] = .nan
        writeNpy(dir + "/nan.npy", rows: rows)
        try assertCLIFails(["build", dir + "/nan.npy", "-o", out], ["nan.npy", "row 250", "NaN or an infinite"])
        assertNoIndex(out)
        rows[250][3] = .infinity
        writeNpy(dir + "/inf.npy", rows: rows)
        try assertCLIFails(["build", dir + "/inf.npy", "-o", out], ["inf.npy", "row 250", "NaN or an infinite"])
        rows[250] = [Float](repeating: 0, count: 8)
        writeNpy(dir + "/zero.npy", rows: rows)
        try assertCLIFails(["build", dir + "/zero.npy", "-o", out], ["zero.npy", "row 250", "all zeros"])
        assertNoIndex(out)
    }

    func testBuildRejectsBadIDsAndOptions() throws {
        let out = dir + "/out.hidx"
        writeFile(dir + "/few.txt", Array((0..<199).map { "w\($0)\n" }.joined().utf8))
        try assertCLIFails(["build", good, "--ids", dir + "/few.txt", "-o", out], ["few.txt", "199 ids", "200 rows"])
        writeFile(dir + "/dup.txt", Array(((0..<199).map { "w\($0)\n" }.joined() + "w7\n").utf8))
        try assertCLIFails(["build", good, "--ids", dir + "/dup.txt", "-o", out], ["dup.txt", "\"w7\"", "line 8", "line 200"])
        try assertCLIFails(["build", good, "--ids", dir + "/none.txt", "-o", out], ["none.txt", "cannot open"])
        try assertCLIFails(["build", good, "-o", out, "--bits", "100"], ["bits", "multiple of 64"])
        try assertCLIFails(["build", good, "-o", out, "--bits", "0"], ["bits", "multiple of 64"])
        try assertCLIFails(["build", good, "-o", out, "--shard-size", "0"], ["shard-size"])
        try assertCLIFails(["build", good, "-o", out, "--train-sample", "0"], ["train-sample"])
        assertNoIndex(out)
        writeFile(dir + "/afile", [1])
        try assertCLIFails(["build", good, "-o", dir + "/afile"], ["afile", "is a file"])
        try FileManager.default.createDirectory(atPath: dir + "/other", withIntermediateDirectories: false)
        writeFile(dir + "/other/notes.txt", [1])
        try assertCLIFails(["build", good, "-o", dir + "/other"], ["other", "not a hashidx index"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/other/notes.txt"))
    }

    func testQueryRejectsBadQueries() throws {
        let index = dir + "/ok.hidx"
        let words = dir + "/words.txt"
        writeFile(words, Array((0..<200).map { "w\($0)\n" }.joined().utf8))
        XCTAssertEqual(try runCLI(["build", good, "--ids", words, "-o", index]).status, 0)
        try assertCLIFails(["query", index, "--vector", "1,2,3"], ["dimension 3", "dimension 8"])
        try assertCLIFails(["query", index, "--vector", "1,2,3,4,5,6,7,nan"], ["NaN or an infinite"])
        try assertCLIFails(["query", index, "--vector", "1,2,3,4,5,6,7,inf"], ["NaN or an infinite"])
        try assertCLIFails(["query", index, "--vector", "0,0,0,0,0,0,0,0"], ["all zeros"])
        try assertCLIFails(["query", index, "--vector", "1,2,x,4,5,6,7,8"], ["element 2", "not a number"])
        try assertCLIFails(["query", index, "--id", "w0", "--k", "0"], ["k", "positive"])
        try assertCLIFails(["query", index, "--id", "w0", "--k=-5"], ["k", "positive"])
        try assertCLIFails(["query", index, "--id", "nope"], ["\"nope\"", "not in the index"])
        try assertCLIFails(["query", index], ["exactly one of"])
        try assertCLIFails(["query", index, "--id", "w1", "--vector", "1"], ["exactly one of"])
        writeNpy(dir + "/q3.npy", rows: [[1, 2, 3]])
        try assertCLIFails(["query", index, "--queries", dir + "/q3.npy"], ["q3.npy", "dimension 3", "dimension 8"])
        try assertCLIFails(["query", index, "--queries", dir + "/q.bin"], ["q.bin", "unknown extension"])
        var qrows = clusteredVectors(count: 5, dim: 8)
        qrows[3][0] = .nan
        writeNpy(dir + "/qnan.npy", rows: qrows)
        try assertCLIFails(["query", index, "--queries", dir + "/qnan.npy"], ["qnan.npy", "row 3"])
    }

    func testOpeningSomethingThatIsNotAnIndex() throws {
        try assertCLIFails(["info", dir + "/nothing"], ["nothing", "no such file"])
        try assertCLIFails(["info", good], ["good.npy", "not a hashidx index"])
        try FileManager.default.createDirectory(atPath: dir + "/emptydir", withIntermediateDirectories: false)
        try assertCLIFails(["query", dir + "/emptydir", "--id", "1"], ["emptydir", "not a hashidx index"])
    }
}
