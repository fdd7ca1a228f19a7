import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import ServiceLifecycle

/// How a test talks to the application: straight to its router, in process (no sockets; the
/// server as a process is ServeProcessTests' and the hostile suite's job).
enum TestSetup {
    case router
}

/// A response as the router gave it: head and the whole body.
struct RouterResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer
}

/// Sends requests to an application's responder and collects the answers, while the
/// application's services (the generation reloader) run beside them.
struct RouterClient<Responder: HTTPResponder>: Sendable
    where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let logger: Logger

    /// `method uri` with `headers` and `body`; `check` gets the response.
    func execute<Value>(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                        _ check: (RouterResponse) async throws -> Value) async throws -> Value {
        var headers = headers
        if let body { headers[.contentLength] = String(body.readableBytes) }
        let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: uri, headerFields: headers),
                              body: RequestBody(buffer: body ?? ByteBuffer()))
        let context = Responder.Context(source: ApplicationRequestContextSource(channel: EmbeddedChannel(), logger: logger))
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch {
            // (The server's middleware answers every error it knows; what escapes it is a 500.)
            response = Response(status: .internalServerError)
        }
        let writer = CollectingWriter()
        try await response.body.write(writer)
        return try await check(RouterResponse(status: response.status, headers: response.headers, body: writer.collected.withLockedValue { $0 }))
    }

    private struct CollectingWriter: ResponseBodyWriter {
        let collected = NIOLockedValueBox(ByteBuffer())
        func write(_ buffer: ByteBuffer) async throws { collected.withLockedValue { $0.writeImmutableBuffer(buffer) } }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

extension ApplicationProtocol where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    /// Runs `body` with a client of this application's router, its services running until
    /// `body` returns.
    func test<Value: Sendable>(_ setup: TestSetup, _ body: @Sendable (RouterClient<Responder>) async throws -> Value) async throws -> Value {
        let client = RouterClient(responder: try await responder, logger: logger)
        guard !services.isEmpty else { return try await body(client) }
        let (started, markStarted) = AsyncStream.makeStream(of: Void.self)
        let group = ServiceGroup(configuration: .init(services: services + [StartedSignal(signal: markStarted)], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Services first, so that a shutdown never comes before they run.
            await started.first { _ in true }
            do {
                let value = try await body(client)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}

/// A service that says when the group runs, then waits for the shutdown.
private struct StartedSignal: Service {
    let signal: AsyncStream<Void>.Continuation
    func run() async throws {
        signal.finish()
        try? await gracefulShutdown()
    }
}
