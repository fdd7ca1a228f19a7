import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HashIdx
import HashIdxTestSupport
import XCTest

/// `hashidx serve` as a process on loopback: stopped by SIGTERM it loses nothing it
/// acknowledged; killed by SIGKILL in the middle of writes it restarts into the last committed
/// generation, which holds every acknowledged write.
final class ServeProcessTests: XCTestCase {
    func testSigtermLosesNothingAcknowledged() async throws {
        try await writeThenStop(signal: SIGTERM)
    }

    func testSigkillDuringWritesRestartsIntoTheLastCommit() async throws {
        try await writeThenStop(signal: SIGKILL)
    }

    /// With a write buffer of 16 items, the flusher writes a shard and
    /// the merge policy merges all the time beside the group commits: SIGKILL at five moments
    /// of that loses nothing acknowledged either.
    func testSigkillWhileTheBufferIsWrittenOutAndMergedLosesNothing() async throws {
        for round in 0..<5 {
            try await writeThenStop(signal: SIGKILL, arguments: ["--buffer-items", "16"], acknowledgedBeforeKill: 60 + 45 * round)
        }
    }

    private func writeThenStop(signal: Int32, arguments: [String] = [], acknowledgedBeforeKill: Int = 40) async throws {
        let directory = makeTemporaryDirectory(self)
        let (path, vectors) = try makeIndex(in: directory)
        var server = try ServeProcess(index: path, arguments: arguments)
        // Eight clients upsert one item per request for as long as the server answers.
        let acknowledged = Acknowledged()
        let base = server.url
        let writers = (0..<8).map { w in
            Task {
                var i = 0
                while !Task.isCancelled {
                    let id = "w\(w)-\(i)"
                    let body = jsonText(["items": [["id": id, "vector": vectors[(w * 31 + i) % vectors.count].map { Double($0) + 0.01 },
                                                    "attributes": ["price": Double(i)]]]])
                    guard let (status, _) = try? await http("PUT", base + "/v1/items", body) else { break }
                    if status == 200 { acknowledged.add(id) } else if status != 503 { break }
                    i += 1
                }
            }
        }
        // Let writes flow, then stop the server in the middle of them.
        while acknowledged.count < acknowledgedBeforeKill { try await Task.sleep(for: .milliseconds(5)) }
        let status = server.stop(signal)
        for w in writers { _ = await w.value }
        if signal == SIGTERM {
            XCTAssertEqual(status, 0, "a SIGTERM'd server exits cleanly")
        }
        // The directory opens at its last committed generation, with every acknowledged item.
        let index = try Index(path: path)
        try index.verify()
        if !arguments.isEmpty {
            XCTAssertGreaterThan(index.generation, 1, "the buffer was never written to a shard before the kill")
        }
        let ids = acknowledged.all
        XCTAssertGreaterThanOrEqual(ids.count, acknowledgedBeforeKill)
        for id in ids { XCTAssertNotNil(try index.row(forID: id), "acknowledged \(id) was lost") }
        XCTAssertGreaterThanOrEqual(index.count, 600 + ids.count)
        // And it serves again, writes included (the lock died with the process).
        server = try ServeProcess(index: path, arguments: arguments)
        let (ready, text) = try await http("GET", server.url + "/readyz")
        XCTAssertEqual(ready, 200, text)
        let (put, answer) = try await http("PUT", server.url + "/v1/items", jsonText(["items": [["id": "after", "vector": vectors[0].map(Double.init)]]]))
        XCTAssertEqual(put, 200, answer)
        XCTAssertEqual(server.stop(SIGTERM), 0)
        XCTAssertNotNil(try Index(path: path).row(forID: "after"))
    }
}

/// Ids the server acknowledged, from several tasks.
final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func add(_ id: String) { lock.lock(); ids.append(id); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return ids.count }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return ids }
}

/// One request; `nil` when the connection failed.
func http(_ method: String, _ url: String, _ body: String? = nil) async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body.map { Data($0.utf8) }
    request.timeoutInterval = 30
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
}

/// A `hashidx-serve` process (what `hashidx serve` runs) on a free port of 127.0.0.1.
struct ServeProcess {
    let process = Process()
    let url: String

    init(index: String, arguments: [String] = []) throws {
        process.executableURL = productsDirectory.appendingPathComponent("hashidx-serve")
        process.arguments = [index, "--port", "0", "--threads", "2"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first line it prints names the port.
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("\n") && Date() < deadline {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else {
            process.terminate()
            throw NSError(domain: "hashidx serve did not start: \(text)", code: 1)
        }
        url = String(text[range])
    }

    /// Sends `signal` and waits for the exit; returns the exit status.
    func stop(_ signal: Int32) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }
}
