import HashIdxService

/// How `hashidx serve` runs: where it listens, with how many threads, who may call it.
public struct ServerConfiguration: Sendable {
    /// The address to listen on (`127.0.0.1`: this machine only; `0.0.0.0`: every interface).
    public var host: String
    /// The TCP port (0: any free port, reported once listening).
    public var port: Int
    /// Threads for network I/O and, as many again, for searches (`nil`: all cores).
    public var threads: Int?
    /// The bearer token every route but `/healthz` and `/readyz` requires (`nil`: no
    /// authentication). Whether a request needs it is decided on the route the router
    /// matched, whatever the path's spelling; a request that matches no route needs it too.
    public var token: String?
    /// The largest request body accepted, in bytes (larger: `413 payload_too_large`).
    public var maxBodyBytes: Int
    /// Connections at once, and how long a client may take over a request.
    public var connections: ConnectionLimits
    /// Seconds between checks for a generation committed by another process.
    public var reloadSeconds: Double
    /// The catalog service's own options (read-only, request limits, the writer).
    public var service: ServiceOptions
    /// Run each single search on the thread that serves its request, instead of handing it to
    /// the search pool (batch searches always use the pool). Pays off when Swift concurrency
    /// runs on NIO's event loops (``CatalogServer/useEventLoopsAsGlobalExecutor(threads:)``,
    /// as `hashidx serve` does); a search then holds its loop for its duration (a fraction of
    /// a millisecond at the defaults).
    public var searchOnEventLoops: Bool

    /// Creates a configuration; the defaults listen on 127.0.0.1:8080 with writes enabled
    /// and no token.
    public init(host: String = "127.0.0.1", port: Int = 8080, threads: Int? = nil, token: String? = nil,
                maxBodyBytes: Int = 64 << 20, connections: ConnectionLimits = ConnectionLimits(), reloadSeconds: Double = 0.5,
                service: ServiceOptions = ServiceOptions(), searchOnEventLoops: Bool = false) {
        self.host = host
        self.port = port
        self.threads = threads
        self.token = token
        self.maxBodyBytes = maxBodyBytes
        self.connections = connections
        self.reloadSeconds = reloadSeconds
        self.service = service
        self.searchOnEventLoops = searchOnEventLoops
    }
}
