import ArgumentParser
import Foundation
import HashIdx
import HashIdxServer
import HashIdxService

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve an index over HTTP/JSON: search, items, upserts and deletes, metrics.",
        discussion: """
        Examples:

          hashidx serve shop.hidx --port 8080
          hashidx serve shop.hidx --host 0.0.0.0 --token-file /etc/hashidx/token --read-only

          curl -s localhost:8080/v1/search -d '{"id": "sku-17", "k": 5, "where": "in_stock"}'
          curl -s -X PUT localhost:8080/v1/items \\
               -d '{"items": [{"id": "sku-99", "vector": [0.1, …], "attributes": {"price": 20.0}}]}'
          curl -s -X DELETE localhost:8080/v1/items/sku-17
          curl -s localhost:8080/metrics

        The API is described in docs/openapi.json and docs/SERVER.md. Writes are durable and
        visible to searches when their answer arrives (group commit: the writes that queue up
        while one commit runs share the next). Generations committed by other processes
        (hashidx add, compact) are picked up within --reload-interval; with writes enabled the
        server holds the index's lock while it writes and --writer-idle seconds after.
        SIGTERM or SIGINT: stop listening, finish the requests in flight, commit the queued
        writes, exit.
        """
    )

    @Argument(help: "The index directory.")
    var index: String

    @Option(help: "The address to listen on (0.0.0.0: every interface).")
    var host = "127.0.0.1"

    @Option(help: "The TCP port (0: any free port; the one taken is printed).")
    var port = 8080

    @Option(help: "Threads that read, search and answer requests (default: all cores).")
    var threads: Int?

    @Option(help: "A file holding the bearer token that /v1 routes and /metrics require.")
    var tokenFile: String?

    @Flag(help: "Refuse writes (403); the index's lock is never taken.")
    var readOnly = false

    @Option(help: "The largest request body accepted, in bytes.")
    var maxBodyBytes = 64 << 20

    @Option(help: "Seconds between checks for a generation committed by another process.")
    var reloadInterval = 0.5

    @Option(help: "Seconds the writer keeps the index's lock after its last write.")
    var writerIdle = 2.0

    func run() async throws {
        var token: String?
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile),
                  let text = String(data: data, encoding: .utf8) else {
                writeStderr("hashidx: error: \(tokenFile): cannot read the token file\n")
                throw ExitCode.failure
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard reloadInterval > 0, writerIdle >= 0 else {
            writeStderr("hashidx: error: --reload-interval must be positive and --writer-idle not negative\n")
            throw ExitCode.failure
        }
        if let threads, threads <= 0 {
            writeStderr("hashidx: error: threads: must be positive, got \(threads)\n")
            throw ExitCode.failure
        }
        // Thread per core: NIO's loops run every task, and a search runs where its request
        // arrived (no hand-off between threads).
        let onLoops = CatalogServer.useEventLoopsAsGlobalExecutor(threads: threads)
        let configuration = ServerConfiguration(
            host: host, port: port, threads: threads, token: token, maxBodyBytes: maxBodyBytes, reloadSeconds: reloadInterval,
            service: ServiceOptions(readOnly: readOnly, writerIdleSeconds: writerIdle), searchOnEventLoops: onLoops)
        let server: CatalogServer
        do {
            server = try CatalogServer(path: index, configuration: configuration)
        } catch {
            writeStderr("hashidx: error: \(error.description)\n")
            throw ExitCode.failure
        }
        let served = server.service.index
        let mode = readOnly ? "read-only" : "writes enabled"
        let host = self.host
        try await server.run { port in
            // Unbuffered, so that a script waiting for this line sees it at once.
            writeStdout("hashidx serve: listening on http://\(host):\(port) (\(served.count) items, generation \(served.generation), \(mode))\n")
        }
    }
}
