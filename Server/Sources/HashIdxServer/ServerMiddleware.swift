import Foundation
import HashIdxService
import Hummingbird
import NIOCore

/// Wraps every route, the unmatched ones too: checks the bearer token, turns every error into
/// the JSON error body (`{"error": {"code", "message"}}`), and records the request's count and
/// latency.
///
/// The token is checked on the route the router matched (`context.endpointPath`), not on the
/// path's text: `//v1/items/x`, `/metrics/` and any other spelling the router accepts need it
/// as the canonical one does, and a request that matches no route needs it too (deny by
/// default). Only ``Routes/open`` (`/healthz`, `/readyz`) never do.
struct ServerMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: CatalogServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            try authenticate(request, route: context.endpointPath)
            response = try await next(request, context)
        } catch let error as ServiceError {
            response = errorResponse(error, path: request.uri.path)
        } catch let error as HTTPError {
            response = errorResponse(Self.serviceError(error, request: request), path: request.uri.path)
        } catch let error as HTTPResponseError {
            response = errorResponse(ServiceError(status: Int(error.status.code), code: "invalid_request", message: "\(error)"), path: request.uri.path)
        } catch {
            server.logger.error("\(request.method) \(request.uri.path): \(error)")
            response = errorResponse(ServiceError(status: 500, code: "internal", message: "internal error: \(error)"), path: request.uri.path)
        }
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        server.metrics.record(route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                              status: Int(response.status.code), nanoseconds: nanoseconds)
        return response
    }

    private func authenticate(_ request: Request, route: String?) throws(ServiceError) {
        guard let token = server.configuration.token else { return }
        if let route, Routes.open.contains(route) { return }
        let given = request.headers[.authorization] ?? ""
        guard let credentials = Self.bearerCredentials(given) else {
            throw ServiceError(status: 401, code: "unauthorized",
                               message: given.isEmpty ? "this server needs \"Authorization: Bearer <token>\""
                                                      : "the Authorization header must be \"Bearer <token>\"")
        }
        guard Self.constantTimeEqual(Array(credentials.utf8), Array(token.utf8)) else {
            throw ServiceError(status: 401, code: "unauthorized", message: "the bearer token is not this server's")
        }
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme in any case, RFC 9110
    /// § 11.1), or `nil` for another scheme.
    static func bearerCredentials(_ header: String) -> String? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard let space = text.firstIndex(where: \.isWhitespace), text[..<space].lowercased() == "bearer" else { return nil }
        let token = text[space...].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// Compares without stopping at the first difference (the time says nothing about the token).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }

    static func serviceError(_ error: HTTPError, request: Request) -> ServiceError {
        switch error.status {
        case .notFound:
            let methods = Routes.methods(forPath: request.uri.path)
            if !methods.isEmpty {
                return ServiceError(status: 405, code: "method_not_allowed",
                                    message: "\(request.uri.path) takes \(methods.joined(separator: ", ")), not \(request.method)")
            }
            return ServiceError(status: 404, code: "not_found", message: "no route \(request.method) \(request.uri.path); see docs/openapi.json")
        case .methodNotAllowed:
            return ServiceError(status: 405, code: "method_not_allowed", message: "\(request.uri.path) does not take \(request.method)")
        case .contentTooLarge:
            return ServiceError(status: 413, code: "payload_too_large", message: error.body ?? "the body is too large")
        default:
            return ServiceError(status: Int(error.status.code), code: "invalid_request", message: error.body ?? "\(error.status)")
        }
    }

    private func errorResponse(_ error: ServiceError, path: String) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        if error.status == 405 { headers[.allow] = Routes.methods(forPath: path).joined(separator: ", ") }
        // The request's framing is broken: nothing after it on this connection can be read.
        if error.code == "malformed_request" { headers[.connection] = "close" }
        return Response(status: .init(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: error.json)))
    }
}
