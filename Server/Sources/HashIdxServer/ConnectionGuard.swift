import HashIdxService
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// How long a connection may take over each part of its life, and how many may be open at
/// once (`docs/SERVER.md`, "Limits and security"). The defaults hold against slow clients
/// (slowloris: headers or bodies sent a byte at a time) without cutting off a real client on
/// a slow link.
public struct ConnectionLimits: Sendable, Equatable {
    /// Connections open at once; past it, new connections wait in the listen backlog until
    /// one closes.
    public var maxConnections: Int
    /// Seconds a connection may stay open with no request in progress (keep-alive), or with an
    /// answer the client does not read.
    public var idleSeconds: Double
    /// Seconds from the first byte of a request to the end of its headers.
    public var headerSeconds: Double
    /// Seconds from the end of a request's headers to the end of its body.
    public var bodySeconds: Double

    /// Creates limits; the defaults: 512 connections, 60 s idle, 10 s for headers, 30 s for a body.
    public init(maxConnections: Int = 512, idleSeconds: Double = 60, headerSeconds: Double = 10, bodySeconds: Double = 30) {
        self.maxConnections = maxConnections
        self.idleSeconds = idleSeconds
        self.headerSeconds = headerSeconds
        self.bodySeconds = bodySeconds
    }
}

/// The HTTP/1.1 connection of `hashidx serve`: Hummingbird's pipeline and request loop, with
/// a ``ConnectionGuard`` on both sides of the HTTP decoder. It enforces ``ConnectionLimits``'
/// timeouts, and answers a request the decoder cannot read (a bad request line, a bad chunk
/// size, headers over the size limit) with the JSON error body every other error has.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let guardian = ConnectionGuard(limits: limits)
            let pipeline = channel.pipeline.syncOperations
            // Raw bytes first: the header timeout runs from a request's first byte.
            try pipeline.addHandler(ConnectionGuard.RawSide(guardian))
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: NIOHTTPDecoderLimitConfiguration())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(guardian)
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 through ``GuardedHTTP1Channel``.
    static func guarded(_ limits: ConnectionLimits) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GuardedHTTP1Channel(responder: responder, limits: limits) }
    }
}

/// Watches one connection from both sides of the HTTP decoder and closes it when a client
/// takes too long: no request for ``ConnectionLimits/idleSeconds`` (or an answer it does not
/// read for as long), headers not complete ``ConnectionLimits/headerSeconds`` after their
/// first byte, a body not complete ``ConnectionLimits/bodySeconds`` after its headers. A
/// request cut off before any answer began is answered `408 request_timeout` first.
///
/// It also turns the bare `400` that Hummingbird writes when the decoder fails into the JSON
/// error body (`malformed_request`, or `431 headers_too_large`).
///
/// One timer per connection, re-armed lazily: activity only moves deadlines later, so the
/// timer fires, finds the new deadline and sleeps again.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    /// The raw side's context: where a 408 is written (below the HTTP encoder).
    fileprivate var rawContext: ChannelHandlerContext?

    /// When the first byte of a request whose headers are not complete arrived.
    private var headStarted: NIODeadline?
    /// When the headers of the request whose body is being read were complete.
    private var bodyStarted: NIODeadline?
    /// Requests whose headers arrived and whose answer has not ended (an answer may end before
    /// its request's body does: a 401 or 413 is sent without reading the body).
    private var open = 0
    /// Whether an answer began for the request being read (then a timeout only closes).
    private var answerStarted = false
    /// The last sign of life: a read, or the end of an answer.
    private var lastActivity = NIODeadline.now()
    /// Since when the channel has not been writable while an answer is pending.
    private var stalledSince: NIODeadline?
    /// The decoder's error, when it failed.
    private var parseError: HTTPParserError?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    // MARK: Events

    /// Bytes arrived (the raw side).
    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        if headStarted == nil && bodyStarted == nil { headStarted = now }
        lastActivity = now
        arm(context.eventLoop)
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        arm(context.eventLoop)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context.eventLoop) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headStarted = nil
            bodyStarted = .now()
            answerStarted = false
            open += 1
        case .body:
            break
        case .end:
            bodyStarted = nil
        }
        arm(context.eventLoop)
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError { parseError = error }
        context.fireErrorCaught(error)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalledSince = context.channel.isWritable ? nil : .now()
        arm(context.eventLoop)
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case let .head(head):
            answerStarted = true
            if let parseError, head.status == .badRequest, head.headerFields[.contentLength] == "0" {
                // Hummingbird's answer to a request the decoder could not read: give it our body.
                let (status, error) = Self.error(for: parseError)
                var buffer = context.channel.allocator.buffer(capacity: 256)
                buffer.writeString(error.json)
                var fields: HTTPFields = [.contentType: "application/json", .connection: "close"]
                fields[.contentLength] = String(buffer.readableBytes)
                context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: promise)
                context.write(wrapOutboundOut(.body(buffer)), promise: nil)
                return
            }
        case .body:
            break
        case .end:
            open = max(0, open - 1)
            lastActivity = .now()
            if open == 0 { stalledSince = nil }
            arm(context.eventLoop)
        }
        context.write(data, promise: promise)
    }

    // MARK: Deadlines

    private enum Phase {
        case idle, head, body, stalled
    }

    /// The next deadline and what it bounds; `nil` while an answer is being computed.
    private var deadline: (at: NIODeadline, phase: Phase)? {
        if let bodyStarted { return (bodyStarted + Self.amount(limits.bodySeconds), .body) }
        if let headStarted { return (headStarted + Self.amount(limits.headerSeconds), .head) }
        if open > 0 {
            guard let stalledSince else { return nil }
            return (stalledSince + Self.amount(limits.idleSeconds), .stalled)
        }
        return (lastActivity + Self.amount(limits.idleSeconds), .idle)
    }

    /// Makes sure the timer fires at or before the current deadline.
    private func arm(_ loop: any EventLoop) {
        guard let next = deadline else { return }
        if let timerDeadline, timer != nil, timerDeadline <= next.at { return }
        timer?.cancel()
        timerDeadline = next.at
        timer = loop.assumeIsolated().scheduleTask(deadline: next.at) { [self] in
            timer = nil
            timerDeadline = nil
            fire(loop)
        }
    }

    private func fire(_ loop: any EventLoop) {
        guard let next = deadline else { return }
        guard NIODeadline.now() >= next.at else { return arm(loop) }
        guard let raw = rawContext else { return }
        switch next.phase {
        case .idle, .stalled:
            raw.close(promise: nil)
        case .head, .body:
            // Answer 408 unless an answer (to this request or an earlier one) is under way: for
            // headers, no request may be open; for a body, only its own, not yet answered.
            if next.phase == .head ? open == 0 : (open == 1 && !answerStarted) {
                let what = next.phase == .head
                    ? "the request's headers did not arrive within \(Self.seconds(limits.headerSeconds)) (--header-timeout)"
                    : "the request's body did not arrive within \(Self.seconds(limits.bodySeconds)) of its headers (--body-timeout)"
                let error = ServiceError(status: 408, code: "request_timeout", message: what + "; send requests at once")
                let body = error.json
                var buffer = raw.channel.allocator.buffer(capacity: body.utf8.count + 128)
                buffer.writeString("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n")
                buffer.writeString(body)
                let channel = raw.channel
                raw.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                raw.close(promise: nil)
            }
        }
    }

    private static func amount(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(min(seconds, 1e9) * 1e9))
    }

    private static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    /// The status and error body for a request the decoder could not read.
    static func error(for error: HTTPParserError) -> (HTTPResponse.Status, ServiceError) {
        switch error {
        case .headerOverflow:
            return (.init(code: 431), ServiceError(status: 431, code: "headers_too_large",
                                                   message: "the request's headers are larger than the server reads (80 KiB); send less in them"))
        case .invalidEOFState:
            return (.badRequest, ServiceError(status: 400, code: "malformed_request",
                                              message: "the connection ended in the middle of the request (a body shorter than its Content-Length?)"))
        case .invalidChunkSize:
            return (.badRequest, ServiceError(status: 400, code: "malformed_request",
                                              message: "a chunk size of the chunked body is not valid; send a body as HTTP/1.1 says"))
        default:
            return (.badRequest, ServiceError(status: 400, code: "malformed_request",
                                              message: "the request is not valid HTTP/1.1 (\(error)); see docs/SERVER.md"))
        }
    }

    /// The side below the HTTP decoder: reports bytes as they arrive, and is where a 408 is
    /// written (the encoder is above it).
    final class RawSide: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        private let guardian: ConnectionGuard

        init(_ guardian: ConnectionGuard) {
            self.guardian = guardian
        }

        func handlerAdded(context: ChannelHandlerContext) {
            guardian.rawContext = context
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            guardian.rawContext = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guardian.bytesArrived(context)
            context.fireChannelRead(data)
        }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

@available(*, unavailable)
extension ConnectionGuard.RawSide: Sendable {}
