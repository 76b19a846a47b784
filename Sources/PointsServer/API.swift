import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PointsLedger
import Postgres

/// What every route of `/v1` shares: the API key's authentication and scope, the request's
/// deadline, JSON in and out, and errors as problems.
struct API: Sendable {
    let ledger: Ledger
    let deadline: Duration
    let logger: Logger
    /// The keys checked already, while the server hears of every change to them; nil: check each.
    let keys: KeyCache?

    /// The largest request body read.
    static let bodyLimit = 64 * 1024

    /// Points in a request: a positive whole number that any JSON reader holds exactly (2^53 − 1).
    static let points: ClosedRange<Int64> = 1...9_007_199_254_740_991
    /// The query parameters of every list that grows: a page of `limit` items after `cursor`.
    static let pageQuery = ["limit", "cursor"]

    /// The grammar of a time in a request, as /openapi.json states it: RFC 3339, or the
    /// program's local date and time (to the minute, second or microsecond) or date, or `now`.
    static let timePattern = #"^(now|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)$"#
    nonisolated(unsafe) static let timeGrammar = try! Regex(timePattern)

    /// The longest a hold may reserve points: 30 days.
    static let holdSecondsLimit: Int64 = 30 * 24 * 3600

    /// One call of a route: the key's program (the route's), the request's headers, its path and
    /// query parameters (decoded, checked against the route's), and its body's bytes once read.
    struct Call: Sendable {
        let key: AuthenticatedKey
        let parameters: [String: String]
        let query: [String: String]
        let headers: HTTPFields
        let bytes: ByteBuffer?

        var program: Program { key.program }

        func parameter(_ name: String) -> String { parameters[name] ?? "" }

        /// The body, one flat JSON object of the fields `allowed` (`JSONBody`); with `optional`,
        /// an empty body reads as `{}`.
        func body(_ allowed: [String], optional: Bool = false) throws(Problem) -> JSONBody {
            try JSONBody(bytes, contentType: headers[.contentType], allowed: allowed, optional: optional)
        }

        /// The page a list route asks for: `limit` (1 to 1,000, default 100) items after `cursor`.
        func page() throws(Problem) -> PageRequest {
            var page = PageRequest()
            if let text = query["limit"] {
                guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let limit = Int(text),
                    PageRequest.limits.contains(limit)
                else {
                    throw .malformed(field: "limit", "limit must be a whole number from 1 to 1000, not \"\(VisibleText.escaped(text))\".")
                }
                page.limit = limit
            }
            page.cursor = query["cursor"]
            return page
        }

        /// The idempotency key: the `Idempotency-Key` header.
        func idempotencyKey() throws(Problem) -> String {
            guard let key = headers[.idempotencyKey] else {
                throw .malformed(
                    field: "Idempotency-Key",
                    "This write needs an Idempotency-Key header: a new key for each operation, the same key when retrying it.")
            }
            return key
        }

        /// A query parameter as a time (RFC 3339, or the program's local time), or nil when absent.
        func time(_ name: String, ledger: Ledger) async throws -> Timestamp? {
            try await time(query[name], field: name, ledger: ledger)
        }

        /// `text` (of the request's field `field`) as a time, or nil when absent: it must be of
        /// the document's time grammar (`API.timePattern`).
        func time(_ text: String?, field: String, ledger: Ledger) async throws -> Timestamp? {
            guard let text else { return nil }
            guard text.wholeMatch(of: API.timeGrammar) != nil else {
                throw Problem.malformed(
                    field: field,
                    "\(field) must be a time like 2026-11-22T10:00:00+08:00, 2026-11-22 10:00 (the program's local time), 2026-11-22 or now, not \"\(VisibleText.escaped(text))\" (in a query, a + is a space: send it as %2B).")
            }
            return try await ledger.instant(text, in: program, field: field)
        }
    }

    /// What a route answers: a status and a JSON body, or a body of its own.
    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let body: ResponseBody
        var contentType = "application/json"
        /// The write was a replay of an earlier one with the same key.
        var replayed = false

        init(_ status: HTTPResponse.Status, _ value: some Encodable, replayed: Bool = false) {
            self.status = status
            self.body = ResponseBody(byteBuffer: ByteBuffer(bytes: API.encode(value)))
            self.replayed = replayed
        }

        init(_ status: HTTPResponse.Status, body: ResponseBody, contentType: String) {
            self.status = status
            self.body = body
            self.contentType = contentType
        }
    }

    /// Answers a request of `roles` in the route's program: authenticates the bearer key,
    /// checks its program and role, reads the body, and runs `body` under the deadline. Every
    /// error becomes a problem.
    func respond(
        _ request: Request, _ context: some RequestContext, route: Route,
        _ body: @escaping @Sendable (Call) async throws -> Reply
    ) async -> Response {
        var request = request
        do {
            let secret = try Self.bearer(request.headers)
            let ledger = self.ledger
            let keys = self.keys
            let parameters = try RequestInput.pathParameters(context.parameters)
            // The key first, so that a caller without one costs one indexed lookup and no body; a
            // key checked before costs nothing while the server hears of every change to the keys.
            let key: AuthenticatedKey
            if let kept = keys?.key(for: secret) {
                key = kept
            } else {
                key = try await withDeadline(preferPool: true) {
                    let generation = keys?.generation()
                    guard let key = try await ledger.authenticate(secret: secret) else { throw Problem.unknownKey }
                    if let generation { keys?.keep(key, for: secret, readAt: generation) }
                    return key
                }
            }
            Caller.current?.keyID.withLock { $0 = key.keyID }
            guard key.program.name == parameters["program"] else { throw Problem.otherProgram(parameters["program"] ?? "") }
            guard route.roles.contains(key.role) else { throw Problem.role(key.role, allowed: route.roles) }
            let query = try RequestInput.query(request.uri.query, allowed: route.query)
            let bytes: ByteBuffer?
            if request.method == .post || request.method == .patch {
                do {
                    bytes = try await request.collectBody(upTo: Self.bodyLimit)
                } catch {
                    throw Problem.bodyTooLarge(limit: Self.bodyLimit)
                }
            } else {
                bytes = nil
            }
            let call = Call(key: key, parameters: parameters, query: query, headers: request.headers, bytes: bytes)
            // Writes answer small results: they run on the pool's executor, which sends and resumes
            // on one thread. Reads may encode large answers (every member's balance), which must
            // not hold that thread, so they run on the cooperative pool.
            let reply = try await withDeadline(preferPool: request.method == .post) { try await body(call) }
            var headersOut: HTTPFields = [.contentType: reply.contentType]
            if reply.replayed { headersOut[.idempotentReplayed] = "true" }
            return Response(status: reply.status, headers: headersOut, body: reply.body)
        } catch {
            let problem = Problem.from(error)
            if problem.status >= 500 {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(Self.logged(error))"])
            }
            return problem.response
        }
    }

    /// What the log says of an error: the ledger's sentence, but never where the database is
    /// (libpq's reason for an unreachable server names its host, port and user).
    static func logged(_ error: any Error) -> String {
        switch error {
        case LedgerError.unreachable: "the database cannot be reached"
        case let error as LedgerError: error.description
        case let problem as Problem: problem.detail
        default: String(describing: type(of: error))
        }
    }

    /// The API key of `Authorization: Bearer <key>`.
    static func bearer(_ headers: HTTPFields) throws(Problem) -> String {
        guard let value = headers[.authorization] else { throw .missingKey }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .missingKey }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// Runs `operation` within the deadline. Past it, the task running `operation` is cancelled,
    /// which cancels its statement in the database (libpq's cancel), and this waits for that to
    /// end before throwing `Problem.deadline`: nothing is left running.
    func withDeadline<T: Sendable>(preferPool: Bool, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = self.deadline
        return try await withThrowingTaskGroup(of: T?.self) { group in
            if preferPool {
                // The pool's executor: a one-round-trip call sends and resumes on one thread.
                group.addTask(executorPreference: ledger.pool.executor) { try await operation() }
            } else {
                group.addTask { try await operation() }
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            if let first = try await group.next() ?? nil { return first }
            group.cancelAll()
            // The operation ends now: cancelled (nothing of it applied), done meanwhile (its
            // answer stands), or failed otherwise (a broken connection: reported as it is).
            while true {
                do {
                    guard let next = try await group.next() else { break }
                    if let value = next { return value }
                } catch is CancellationError {
                    continue
                }
            }
            throw Problem.deadline
        }
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every value the API answers with encodes; a failure is a bug, answered as one.
        return (try? Array(encoder.encode(value))) ?? Array(#"{"error":"encoding"}"#.utf8)
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
