import Foundation
import HashIdxTestSupport
import XCTest

/// `hashidx serve …` runs `hashidx-serve …` (built by the Server package) in its place, with
/// the same arguments, found through $HASHIDX_SERVE, beside hashidx, or on PATH; without it,
/// one error line says how to build it. (The server itself: Server/Tests.)
final class ServeCommandTests: XCTestCase {
    /// A stand-in hashidx-serve that prints its arguments, one per line, and exits 7.
    private func makeStandIn(_ folder: String) throws -> String {
        let path = folder + "/hashidx-serve"
        writeFile(path, Array("#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done\nexit 7\n".utf8))
        XCTAssertEqual(chmod(path, 0o755), 0)
        return path
    }

    func testServeRunsHashIdxServeWithTheSameArguments() throws {
        let dir = makeTemporaryDirectory(self)
        let standIn = try makeStandIn(dir)
        let arguments = ["shop.hidx", "--port", "0", "--token-file", "a file with spaces", "--help", "--", "-x"]
        let r = try runCLI(["serve"] + arguments, environment: ["HASHIDX_SERVE": standIn])
        XCTAssertEqual(r.status, 7, r.err)
        let printed = r.out.split(separator: "\n").filter { $0.hasPrefix("arg:") }.map { String($0.dropFirst(4)) }
        XCTAssertEqual(printed, arguments)
        XCTAssertEqual(r.err, "")
        // Found on PATH too.
        let onPath = try runCLI(["serve", "x.hidx"], environment: ["PATH": dir + ":/usr/bin:/bin", "HASHIDX_SERVE": ""])
        XCTAssertEqual(onPath.status, 7, onPath.err)
        XCTAssertTrue(onPath.out.contains("arg:x.hidx"), onPath.out)
    }

    func testWithoutTheServerProgramServeSaysHowToBuildIt() throws {
        let dir = makeTemporaryDirectory(self)
        let missing = try runCLI(["serve", "x.hidx"], environment: ["HASHIDX_SERVE": dir + "/nothing-here"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.hasPrefix("hashidx: error: hashidx serve runs hashidx-serve, which was not found"), missing.err)
        XCTAssertTrue(missing.err.contains("swift build -c release --package-path Server"), missing.err)
        XCTAssertEqual(missing.err.split(separator: "\n").count, 1, missing.err)
        let help = try runCLI(["help", "serve"])
        XCTAssertTrue(help.out.contains("hashidx-serve"), help.out)
    }
}
