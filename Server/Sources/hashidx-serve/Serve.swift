import ArgumentParser
import Foundation
import HashIdx
import HashIdxServer
import HashIdxService

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `hashidx-serve INDEX [options]`, also run as `hashidx serve INDEX [options]`.
@main
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hashidx-serve",
        abstract: "Serve an index over HTTP/JSON: search, items, upserts and deletes, metrics.",
        discussion: """
        Examples (hashidx serve … runs this program with the same arguments):

          hashidx serve shop.hidx --port 8080
          hashidx serve shop.hidx --host 0.0.0.0 --token-file /etc/hashidx/token --read-only

          curl -s localhost:8080/v1/search -d '{"id": "sku-17", "k": 5, "where": "in_stock"}'
          curl -s -X PUT localhost:8080/v1/items \\
               -d '{"items": [{"id": "sku-99", "vector": [0.1, …], "attributes": {"price": 20.0}}]}'
          curl -s -X DELETE localhost:8080/v1/items/sku-17
          curl -s localhost:8080/v1/items:delete -d '{"ids": ["sku-1", "sku-2"]}'
          curl -s localhost:8080/metrics

        The API is described in docs/openapi.json and docs/SERVER.md. Writes are durable and
        visible to searches when their answer arrives (group commit: the writes that queue up
        while one commit runs share the next, appended to the index's write log in one synced
        record and searched from memory; they go to a shard once they pass --buffer-items). Generations committed by other processes
        (hashidx add, compact) are picked up within --reload-interval; with writes enabled the
        server holds the index's lock while it writes and --writer-idle seconds after.
        SIGTERM or SIGINT: stop listening, finish the requests in flight, commit the queued
        writes, exit.

        Every request is bounded (the limits below): k, candidates, probes, searches and
        results per batch, answer bytes, items per write, body bytes, connections, and the
        time a client may take to send its headers and body. With --token-file, every route
        but /healthz and /readyz needs "Authorization: Bearer <token>", however its path is
        spelt.
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

    @Option(help: "A file holding the bearer token that every route but /healthz and /readyz then requires (keep it private: chmod 600).")
    var tokenFile: String?

    @Flag(help: "Refuse writes (403); the index's lock is never taken.")
    var readOnly = false

    @Option(help: "Seconds between checks for a generation committed by another process.")
    var reloadInterval = 0.5

    @Option(help: "Seconds the writer keeps the index's lock after its last write.")
    var writerIdle = 2.0

    @Option(name: .customLong("buffer-items"), help: "Written items (upserted, or deleted) kept in the write log and searched from memory before a flusher thread writes them to a shard (0: a shard at every group commit). Every search scans the buffered items' codes.")
    var bufferItems = 4096

    @OptionGroup(title: "Limits (a request above one is answered 400 limit_exceeded or 413; docs/SERVER.md, \"Limits and security\")")
    var limits: ServeLimits

    func run() async throws {
        var token: String?
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile),
                  let text = String(data: data, encoding: .utf8) else {
                writeStderr("hashidx: error: \(tokenFile): cannot read the token file\n")
                throw ExitCode.failure
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            var info = stat()
            if stat(tokenFile, &info) == 0, info.st_mode & 0o077 != 0 {
                writeStderr("hashidx serve: warning: the token file \(tokenFile) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))); restrict it with chmod 600 \(tokenFile)\n")
            }
        }
        guard reloadInterval > 0, writerIdle >= 0 else {
            writeStderr("hashidx: error: --reload-interval must be positive and --writer-idle not negative\n")
            throw ExitCode.failure
        }
        guard (0...(1 << 20)).contains(bufferItems) else {
            writeStderr("hashidx: error: --buffer-items must be 0…1048576, got \(bufferItems)\n")
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
            host: host, port: port, threads: threads, token: token, maxBodyBytes: limits.maxBodyBytes,
            connections: ConnectionLimits(maxConnections: limits.maxConnections, idleSeconds: limits.idleTimeout,
                                          headerSeconds: limits.headerTimeout, bodySeconds: limits.bodyTimeout),
            reloadSeconds: reloadInterval,
            service: ServiceOptions(readOnly: readOnly, limits: limits.request, writerIdleSeconds: writerIdle,
                                    bufferItems: bufferItems), searchOnEventLoops: onLoops)
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

/// The bounds of `hashidx serve`: per request, per connection.
struct ServeLimits: ParsableArguments {
    @Option(help: "Results one search may ask for (k).")
    var maxK = RequestLimits().maxK

    @Option(help: "Candidates one search may ask to re-rank.")
    var maxCandidates = RequestLimits().maxCandidates

    @Option(help: "Partitions one search may ask to probe.")
    var maxProbes = RequestLimits().maxProbes

    @Option(help: "Searches in one batch.")
    var maxBatch = RequestLimits().maxQueriesPerBatch

    @Option(help: "Results one batch may ask for: the sum of k over its searches.")
    var maxBatchResults = RequestLimits().maxResultsPerBatch

    @Option(help: "Bytes of one answer (larger ones are refused before any byte is sent; large batch answers stream).")
    var maxAnswerBytes = RequestLimits().maxAnswerBytes

    @Option(help: "Items (or ids) in one write request.")
    var maxItems = RequestLimits().maxItemsPerRequest

    @Option(help: "Bytes of one request body (larger: 413).")
    var maxBodyBytes = 64 << 20

    @Option(help: "Connections open at once; more wait until one closes.")
    var maxConnections = ConnectionLimits().maxConnections

    @Option(help: "Seconds a connection may stay open without a request in progress (or with an answer it does not read).")
    var idleTimeout = ConnectionLimits().idleSeconds

    @Option(help: "Seconds from a request's first byte to the end of its headers (slower: 408, closed).")
    var headerTimeout = ConnectionLimits().headerSeconds

    @Option(help: "Seconds from the end of a request's headers to the end of its body (slower: 408, closed).")
    var bodyTimeout = ConnectionLimits().bodySeconds

    var request: RequestLimits {
        RequestLimits(maxK: maxK, maxCandidates: maxCandidates, maxProbes: maxProbes, maxQueriesPerBatch: maxBatch,
                      maxResultsPerBatch: maxBatchResults, maxAnswerBytes: maxAnswerBytes, maxItemsPerRequest: maxItems)
    }
}

func writeStderr(_ s: String) { writeAll(s, to: STDERR_FILENO) }

/// Writes `s` to standard output at once (no buffering), so that a script waiting for the
/// "listening" line sees it.
func writeStdout(_ s: String) { writeAll(s, to: STDOUT_FILENO) }

private func writeAll(_ s: String, to fd: Int32) {
    var s = s
    s.withUTF8 { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n <= 0 { break }
            done += n
        }
    }
}
