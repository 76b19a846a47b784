import Foundation
public import Hummingbird
public import Logging
public import PointsLedger

/// points-server: the ledger over HTTP for checkout systems, member apps and finance (issue 21).
/// This first step serves `GET /health` and logs one line per request; the resources follow.
public enum PointsServer {
    /// The application: its routes over `ledger`, listening on `host` and `port` (0: any free port).
    public static func application(ledger: Ledger, host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLog(logger: logger))
        router.get("health") { _, _ -> Response in
            do {
                try await ledger.ping()
                return try jsonResponse(Health(status: "ok", database: "reachable"), status: .ok, contentType: "application/json")
            } catch {
                return try jsonResponse(
                    Problem(
                        type: "https://pointsledger.dev/problems/database-unreachable", title: "The database cannot be reached",
                        status: 503, detail: "points-server cannot reach its database; try again shortly."),
                    status: .serviceUnavailable, contentType: "application/problem+json")
            }
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "points-server"), logger: logger)
    }

    static func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status, contentType: String) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// What `GET /health` answers when the database is reachable.
struct Health: Codable {
    let status: String
    let database: String
}

/// An error as RFC 9457 problem details: a stable type per kind of error, never a stack trace,
/// an SQL text or a connection string.
struct Problem: Codable {
    let type: String
    let title: String
    let status: Int
    let detail: String
}

/// One log line per request: method, path (never the query string, which could carry a secret),
/// status and duration.
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, status: Int(response.status.code), since: start)
            return response
        } catch let error as any HTTPResponseError {
            log(request, status: Int(error.status.code), since: start)
            throw error
        } catch {
            log(request, status: 500, since: start)
            throw error
        }
    }

    private func log(_ request: Request, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("\(request.method) \(request.uri.path) \(status) \(String(format: "%.1f", milliseconds)) ms")
    }
}
