import Foundation
import Synchronization
public import Hummingbird
public import Logging
public import PointsLedger

/// points-server: the ledger over HTTP for checkout systems, member apps and finance.
public enum PointsServer {
    /// How the server answers: its time limit per request, and where its figures go.
    public struct Options: Sendable {
        /// A request still running after this is answered 503, its statement cancelled in the database.
        public var deadline: Duration
        public var metrics: ServerMetrics
        /// The period jobs, when this server runs them (`--jobs`).
        public var jobs: JobSchedule?
        /// Keep the API keys checked while listening for changes to them (`KeyCache`); false:
        /// check every request's key in the database.
        public var keepKeys: Bool

        public init(
            deadline: Duration = .seconds(10), metrics: ServerMetrics = ServerMetrics(), jobs: JobSchedule? = nil, keepKeys: Bool = true
        ) {
            self.deadline = deadline
            self.metrics = metrics
            self.jobs = jobs
            self.keepKeys = keepKeys
        }
    }

    /// The application: its routes over `ledger`, listening on `host` and `port` (0: any free port).
    public static func application(
        ledger: Ledger, host: String, port: Int, logger: Logger, options: Options = Options(),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: RequestLog(logger: logger, metrics: options.metrics))
        router.get("health") { _, _ -> Response in
            do {
                try await ledger.ping()
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: API.encode(Health(status: "ok", database: "reachable")))))
            } catch {
                return Problem.from(LedgerError.unreachable(reason: "")).response
            }
        }
        router.get("metrics") { _, _ -> Response in
            var pools = [(name: "requests", pool: ledger.pool)]
            if let jobs = options.jobs { pools.append((name: "jobs", pool: jobs.ledger.pool)) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: options.metrics.exposition(pools: pools))))
        }
        router.get("openapi.json") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: openAPIDocument)))
        }
        let keys = options.keepKeys ? KeyCache(configuration: ledger.pool.configuration, logger: logger) : nil
        let api = API(ledger: ledger, deadline: options.deadline, logger: logger, keys: keys)
        for route in Route.all {
            router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
                await api.respond(request, context, route: route) { call in try await route.handler(ledger, call) }
            }
        }
        var app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "points-server"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }, logger: logger)
        if let keys { app.addServices(keys) }
        if let jobs = options.jobs { app.addServices(jobs) }
        return app
    }

    /// The routes of `/v1` as /openapi.json names them: method, path template, and the roles
    /// whose keys may call them.
    public static var routes: [(method: String, path: String, roles: [String])] {
        Route.all.map { (method: $0.method.rawValue, path: $0.path, roles: $0.roles.map(\.rawValue)) }
    }

    /// The grammar the server holds every time of a request to, as /openapi.json states it.
    public static var timePattern: String { API.timePattern }

    /// The paths served besides `/v1`'s, each to GET only.
    static let operationalPaths = ["/health", "/metrics", "/openapi.json"]

    /// The methods served at `path` (as requested, still percent-encoded): empty when no route
    /// has its shape, so that a wrong method is told apart from a wrong path.
    static func methods(servedAt path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        func matches(_ template: String) -> Bool {
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == segments.count && zip(parts, segments).allSatisfy { part, segment in
                part.hasPrefix("{") ? !segment.isEmpty : part == segment
            }
        }
        var methods = Route.all.filter { matches($0.path) }.map(\.method.rawValue)
        if operationalPaths.contains(path) { methods.append("GET") }
        return Array(Set(methods)).sorted()
    }

    /// The OpenAPI 3.1 document of every route (Sources/PointsServer/openapi.json), as served.
    public static var openAPIDocument: [UInt8] { PackageResources.openapi_json }
}

/// What `GET /health` answers when the database is reachable.
struct Health: Codable {
    let status: String
    let database: String
}

/// One log line per request (method, path without the query string, which could carry a
/// secret, status and duration; the key's id once known) and its metrics by route template.
/// Requests to no route are answered as problems.
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        let caller = Caller()
        do {
            response = try await Caller.$current.withValue(caller) { try await next(request, context) }
        } catch let error as any HTTPResponseError where error.status == .notFound || error.status == .methodNotAllowed {
            let allowed = PointsServer.methods(servedAt: request.uri.path)
            response = allowed.isEmpty
                ? Problem.routeNotFound(request.method.rawValue, request.uri.path).response
                : Problem.methodNotAllowed(request.method.rawValue, request.uri.path, allowed: allowed).response
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            response = Problem.internalError.response
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let route = context.endpointPath ?? "unmatched"
        metrics.request(route: route, method: request.method.rawValue, status: Int(response.status.code), seconds: seconds)
        let key = caller.keyID.withLock { $0 }.map { " key \($0)" } ?? ""
        logger.info("\(request.method) \(request.uri.path) \(response.status.code) \(String(format: "%.1f", seconds * 1000)) ms\(key)")
        return response
    }
}

/// The API key a request authenticated with, for its log line: set by the route, read by `RequestLog`.
final class Caller: Sendable {
    let keyID = Mutex<Int64?>(nil)

    @TaskLocal static var current: Caller?
}
