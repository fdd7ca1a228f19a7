import Foundation
import XCTest
@testable import HashIdx
import HashIdxTestSupport

/// `hashidx build` killed with SIGKILL at random moments (issue 5): afterwards the index
/// directory holds the old index intact or the new one complete, never a half-written one
/// that opens; a first build killed early leaves nothing that opens; the next build cleans
/// the leftovers.
final class CrashSafetyTests: XCTestCase {
    func testBuildsKilledAtRandomMomentsLeaveTheOldOrTheNewIndex() throws {
        let dir = makeTemporaryDirectory(self)
        let sources = [dir + "/a.npy", dir + "/b.npy"]
        let data = [clusteredVectors(count: 6000, dim: 24, seed: 1), clusteredVectors(count: 6000, dim: 24, seed: 2)]
        for (path, rows) in zip(sources, data) { writeNpy(path, rows: rows) }
        let queries = [data[0][5], data[1][17], data[0][4000]]
        func answers(_ path: String) throws -> [[SearchResult]] {
            let index = try Index(path: path)
            try index.verify()
            return try queries.map { try index.search($0, options: SearchOptions(k: 5)) }
        }
        func build(_ source: String, _ out: String) throws -> Process {
            let p = Process()
            p.executableURL = productsDirectory.appendingPathComponent("hashidx")
            p.arguments = ["build", source, "-o", out, "--shard-size", "1000", "--threads", "2"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            try p.run()
            return p
        }
        // Complete builds: the two possible answers, and how long a build takes.
        var expected: [[[SearchResult]]] = []
        var seconds = 0.0
        for (i, source) in sources.enumerated() {
            let start = Date()
            let p = try build(source, dir + "/ref-\(i).hidx")
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            seconds = max(seconds, Date().timeIntervalSince(start))
            expected.append(try answers(dir + "/ref-\(i).hidx"))
        }
        XCTAssertNotEqual(expected[0], expected[1])

        let path = dir + "/live.hidx"
        var p = try build(sources[0], path)
        p.waitUntilExit()
        var holds = 0   // which data set the live index holds
        var rng = TestRandom(seed: 20261127)
        var outcome = ["old": 0, "new": 0, "none": 0]
        let runs = 24
        for run in 0..<runs {
            // 20 runs replace the live index with the other data set; 4 are first builds.
            let replacing = run < 20
            let target = replacing ? path : dir + "/fresh-\(run).hidx"
            let other = 1 - holds
            p = try build(sources[other], target)
            let delay = Double(rng.next() % 1000) / 1000 * seconds * 1.1
            usleep(useconds_t(delay * 1e6))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            do {
                let got = try answers(target)
                if replacing {
                    XCTAssertTrue(got == expected[holds] || got == expected[other], "run \(run): results are neither the old nor the new index's")
                    if got == expected[other] { holds = other; outcome["new"]! += 1 } else { outcome["old"]! += 1 }
                } else {
                    XCTAssertEqual(got, expected[other], "run \(run): a first build that opens must be complete")
                    outcome["new"]! += 1
                }
            } catch {
                XCTAssertFalse(replacing, "run \(run): the old index no longer opens after a kill at \(delay) s: \(error)")
                XCTAssertTrue("\(error)".contains("no CURRENT file") || "\(error)".contains("no such file"), "run \(run): \(error)")
                outcome["none"]! += 1
            }
        }
        print("crash safety: \(runs) builds killed (\(outcome["old"]!) kept the old index, \(outcome["new"]!) had completed the new one, \(outcome["none"]!) first builds left nothing that opens)")
        XCTAssertGreaterThan(outcome["old"]!, 0, "some kills should land before the commit point")

        // The next complete build removes every leftover of the killed ones.
        p = try build(sources[1 - holds], path)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try answers(path), expected[1 - holds])
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        let generations = Set(files.compactMap { Format.generation(ofFile: $0) })
        XCTAssertEqual(generations.count, 1, "\(files.sorted())")
        XCTAssertEqual(Set(files).subtracting(["CURRENT", "LOCK"]).count, files.count - 2, "\(files.sorted())")
        XCTAssertTrue(files.allSatisfy { $0 == "CURRENT" || $0 == "LOCK" || Format.generation(ofFile: $0) != nil }, "\(files.sorted())")
    }

    /// `hashidx add`, `delete`, `compact`, `compact --maintain` (partitions split or
    /// merged, every shard rewritten: issue 27) and `compact --rebalance` (one bounded step:
    /// lists split, the rows that move deleted and written as a new shard), and `add --log` and `delete --log` (a record
    /// appended to the write log, issue 27), killed with SIGKILL at random moments, 20 times
    /// each (issue 11): the index then opens at the previous state or the new one, verifies,
    /// and answers exactly like one of them; the next writer cleans up (and cuts off a log
    /// record left half-written). The plain adds and compactions write the log out.
    func testWritersKilledAtRandomMomentsLeaveThePreviousOrTheNewGeneration() throws {
        let dir = makeTemporaryDirectory(self)
        let path = dir + "/live.hidx"
        var rng = TestRandom(seed: 20261201)
        let dim = 16
        func rows(_ n: Int) -> [[Float]] { (0..<n).map { _ in (0..<dim).map { _ in Float(rng.nextGaussian()) } } }
        let base = rows(1200)
        writeNpy(dir + "/base.npy", rows: base)
        try (0..<1200).map { "b\($0)" }.joined(separator: "\n").appending("\n").write(toFile: dir + "/base.txt", atomically: true, encoding: .utf8)
        let queries = [base[3], base[1100]] + rows(2)
        func answers(_ path: String) throws -> [[SearchResult]] {
            let index = try Index(path: path)
            try index.verify()
            return try queries.map { try index.search($0, options: SearchOptions(k: 6, candidates: 200, probes: 4)) }
        }
        func launch(_ arguments: [String]) throws -> Process {
            let p = Process()
            p.executableURL = productsDirectory.appendingPathComponent("hashidx")
            p.arguments = arguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            try p.run()
            return p
        }
        var p = try launch(["build", dir + "/base.npy", "--ids", dir + "/base.txt", "-o", path, "--shard-size", "500",
                            "--partitions", "8", "--threads", "2"])
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)

        var live = Set((0..<1200).map { "b\($0)" })
        var nextID = 0
        var outcome = ["add": [0, 0], "delete": [0, 0], "compact": [0, 0], "maintain": [0, 0], "rebalance": [0, 0],
                       "add --log": [0, 0], "delete --log": [0, 0]]   // [kept the old, had the new]
        let kinds = ["add --log", "add", "delete --log", "delete", "add --log", "compact", "delete --log", "maintain",
                     "add --log", "add", "rebalance", "add --log", "delete --log"]
        var runs = 0
        while outcome.values.contains(where: { $0[0] + $0[1] < 20 }) {
            let run = runs
            runs += 1
            let kind = kinds[run % kinds.count]
            if outcome[kind]![0] + outcome[kind]![1] >= 20 { continue }
            var arguments: [String]
            var added: [String] = [], deleted: [String] = []
            switch kind {
            case "add", "add --log":
                added = (0..<200).map { _ in nextID += 1; return "n\(nextID)" }
                writeNpy(dir + "/add.npy", rows: rows(200))
                try added.joined(separator: "\n").appending("\n").write(toFile: dir + "/add.txt", atomically: true, encoding: .utf8)
                arguments = ["add", path, dir + "/add.npy", "--ids", dir + "/add.txt", "--threads", "2", "--no-merge"]
            case "delete", "delete --log":
                deleted = Array(live.sorted().shuffled(using: &rng).prefix(100))
                try deleted.joined(separator: "\n").appending("\n").write(toFile: dir + "/delete.txt", atomically: true, encoding: .utf8)
                arguments = ["delete", path, "--ids", dir + "/delete.txt", "--no-merge"]
            case "maintain":
                arguments = ["compact", path, "--maintain", "--partitions", String(6 + run % 7)]
            case "rebalance":   // one bounded step: lists split, only the rows that move rewritten
                arguments = ["compact", path, "--rebalance", "--steps", "1", "--max-rows", "400"]
            default:
                arguments = ["compact", path, "--shard-size", "500"]
            }
            if kind.hasSuffix("--log") { arguments.append("--log") }
            // The new generation's answers, from the same change run to completion on a copy.
            let before = try answers(path)
            let generationBefore = try Index(path: path).generation
            let countBefore = try Index(path: path).count
            // A compaction first writes a non-empty write log to a shard, as a commit of its
            // own (the same items): a kill may leave that generation.
            var flushed: [[SearchResult]]? = nil
            if try (kind == "compact" || kind == "maintain" || kind == "rebalance") && Index(path: path).logLength > 0 {
                let copy = dir + "/flushed-\(run).hidx"
                try FileManager.default.copyItem(atPath: path, toPath: copy)
                let writer = try IndexWriter(path: copy)
                writer.mergePolicy = nil
                try writer.commit()
                try writer.close()
                flushed = try answers(copy)
                try FileManager.default.removeItem(atPath: copy)
            }
            let copy = dir + "/copy-\(run).hidx"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            let start = Date()
            p = try launch(arguments.map { $0 == path ? copy : $0 })
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "\(kind) on the copy failed")
            let seconds = Date().timeIntervalSince(start)
            let after = try answers(copy)
            try FileManager.default.removeItem(atPath: copy)

            p = try launch(arguments)
            usleep(useconds_t(Double(rng.next() % 1000) / 1000 * seconds * 1.1 * 1e6))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let got: [[SearchResult]]
            let generation: UInt64, count: Int
            do { (got, generation, count) = (try answers(path), try Index(path: path).generation, try Index(path: path).count) } catch {
                XCTFail("run \(run) (\(kind)): the index does not open after a kill: \(error)")
                break
            }
            // (A log commit keeps the generation; its items count says whether it landed.)
            let landed: Bool
            if let flushed, generation == generationBefore + 1, got != after {
                XCTAssertEqual(got, flushed, "run \(run) (\(kind)): answers are neither the previous, the log written out, nor the new generation's")
                landed = false
            } else if generation > generationBefore || count != countBefore {
                XCTAssertEqual(got, after, "run \(run) (\(kind)): the new generation answers differently from the same change run to completion")
                landed = true
            } else {
                XCTAssertEqual(got, before, "run \(run) (\(kind)): answers are neither the previous nor the new generation's")
                landed = false
            }
            outcome[kind]![landed ? 1 : 0] += 1
            if !landed {
                // Make the change for real, so that the runs go on from a known state.
                p = try launch(arguments)
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0)
                XCTAssertEqual(try answers(path), after)
            }
            live.formUnion(added)
            live.subtract(deleted)
            XCTAssertEqual(try Index(path: path).count, live.count, "run \(run) (\(kind))")
        }
        print("writer crash safety: kills that kept the old / had committed the new generation: \(outcome)")
        for (kind, counts) in outcome { XCTAssertGreaterThanOrEqual(counts[0] + counts[1], 20, kind) }
        XCTAssertGreaterThan(outcome.values.reduce(0) { $0 + $1[0] }, 0, "some kills should land before the commit point")
        // The next writer removes every leftover of the killed ones.
        let writer = try IndexWriter(path: path)
        try writer.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: path)
        let index = try Index(path: path)
        let expected = index.liveFiles.union(["CURRENT", "LOCK"]).filter { $0 != Format.logName(index.generation) || index.logLength > 0 }
        XCTAssertEqual(Set(files), expected, "\(files.sorted())")
    }
}
