import HashIdx
import HashIdxService
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `hashidx serve`: a ``CatalogService`` over HTTP/JSON (`docs/openapi.json`, `docs/SERVER.md`).
///
/// Requests are read and answered by Hummingbird on the network threads; searches run on a
/// pool of their own, so that a burst of slow queries never stalls the network; writes go
/// through the service's one group-committing writer. Start and stop follow
/// swift-service-lifecycle: SIGTERM or SIGINT stop the listener, let requests in flight finish,
/// commit the writes already queued, and release the index's lock.
///
/// ```swift
/// let server = try CatalogServer(path: "catalog.hidx", configuration: ServerConfiguration(port: 8080))
/// try await server.run()
/// ```
public final class CatalogServer: Sendable {
    /// The service the routes call.
    public let service: CatalogService
    /// How the server runs.
    public let configuration: ServerConfiguration
    let metrics = ServerMetrics()
    let searchPool: NIOThreadPool
    /// The server's own loops, made only when the singleton loops are not the global executor.
    let eventLoopGroup: MultiThreadedEventLoopGroup?
    let logger: Logger

    /// Opens the index at `path` (the errors of ``Index/init(path:)``).
    public init(path: String, configuration: ServerConfiguration = ServerConfiguration(), logger: Logger? = nil) throws(HashIdxError) {
        if let threads = configuration.threads, threads <= 0 {
            throw .invalidArgument(name: "threads", reason: "must be positive, got \(threads)")
        }
        guard configuration.maxBodyBytes > 0 else {
            throw .invalidArgument(name: "max-body-bytes", reason: "must be positive, got \(configuration.maxBodyBytes)")
        }
        let c = configuration.connections
        guard c.maxConnections > 0 else {
            throw .invalidArgument(name: "max-connections", reason: "must be positive, got \(c.maxConnections)")
        }
        for (name, seconds) in [("idle-timeout", c.idleSeconds), ("header-timeout", c.headerSeconds), ("body-timeout", c.bodySeconds)]
        where !(seconds > 0 && seconds.isFinite) {
            throw .invalidArgument(name: name, reason: "must be a positive number of seconds, got \(seconds)")
        }
        do throws(ServiceError) { try configuration.service.limits.validate() } catch {
            throw .invalidArgument(name: "limits", reason: error.message)
        }
        guard (0...65535).contains(configuration.port) else {
            throw .invalidArgument(name: "port", reason: "must be 0…65535, got \(configuration.port)")
        }
        if let token = configuration.token, token.isEmpty {
            throw .invalidArgument(name: "token", reason: "is empty; put a long random secret in the token file")
        }
        service = try CatalogService(path: path, options: configuration.service)
        self.configuration = configuration
        let threads = configuration.threads ?? System.coreCount
        searchPool = NIOThreadPool(numberOfThreads: threads)
        searchPool.start()
        eventLoopGroup = singletonLoops.withLockedValue { $0 } ? nil : MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.logger = logger ?? Logger(label: "hashidx.serve")
    }

    /// The Hummingbird application (routes, middleware, the lifecycle service); `run()` runs
    /// it, tests drive it with HummingbirdTesting. `onListening` gets the bound port.
    public func makeApplication(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ServerMiddleware(server: self))
        addRoutes(to: router)
        return Application(
            router: router,
            server: .guarded(configuration.connections),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "hashidx",
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.connections.maxConnections)),
            services: [CatalogLifecycle(server: self)],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            eventLoopGroupProvider: eventLoopGroup.map { .shared($0) } ?? .singleton,
            logger: logger
        )
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (see the type's overview).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeApplication(onListening: onListening).runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

extension CatalogServer {
    /// Makes NIO's event loops (`threads` of them; all cores when `nil`) Swift concurrency's
    /// global executor for the whole process, so that a request is read, searched and
    /// answered on one thread, without hand-offs. Call it once, at the start of the process,
    /// before any other task runs; a server created afterwards listens on those loops and,
    /// with ``ServerConfiguration/searchOnEventLoops``, searches on them. Returns false when
    /// the executor could not be installed (something ran first).
    ///
    /// Measured with `Benchmarks/server/load.py` (GloVe-50, wrk, 2 cores): about 10 % less CPU
    /// per request than handing each search to the search pool.
    @discardableResult
    public static func useEventLoopsAsGlobalExecutor(threads: Int?) -> Bool {
        NIOSingletons.groupLoopCountSuggestion = threads ?? System.coreCount
        let installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        if installed { singletonLoops.withLockedValue { $0 = true } }
        return installed
    }
}

/// Whether ``CatalogServer/useEventLoopsAsGlobalExecutor(threads:)`` installed NIO's singleton
/// loops as the global executor (servers then listen on them rather than on loops of their own).
let singletonLoops = NIOLockedValueBox(false)

/// Runs beside the HTTP server: picks up generations committed by other processes, and at
/// shutdown (after the server has answered every request in flight) commits the queued
/// writes and stops the search threads.
struct CatalogLifecycle: Service {
    let server: CatalogServer

    func run() async throws {
        let interval = server.configuration.reloadSeconds
        let service = server.service
        let logger = server.logger
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                do {
                    if try service.refresh() { logger.info("now serving generation \(service.index.generation)") }
                } catch {
                    logger.error("could not open the newest generation, still serving \(service.index.generation): \(error)")
                }
            }
        }
        service.close()
        try await server.searchPool.shutdownGracefully()
    }
}
