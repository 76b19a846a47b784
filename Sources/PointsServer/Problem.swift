import Foundation
import Hummingbird
import PointsLedger
import Postgres

/// An error as RFC 9457 problem details (`application/problem+json`): a stable `type` per kind of
/// error, a sentence that names the problem and what to do, and the fields a client acts on
/// (which field, which check failed, the figures). Never a stack trace, an SQL text or a
/// connection string.
struct Problem: Error, Sendable, Encodable {
    /// The last part of `type`: `https://pointsledger.dev/problems/<kind>`.
    let kind: String
    let title: String
    let status: Int
    let detail: String
    /// The request field at fault (`amount`, `member`, the `Idempotency-Key` header).
    var field: String? = nil
    /// The check that refused the request (`out_of_stock`, `tier_too_low`, `spendable_points`).
    var check: String? = nil
    /// For `not-found`: what does not exist (`member`, `order`, `hold`, `reward`, `task`).
    var entity: String? = nil
    /// For `insufficient-points`.
    var spendable: Int64? = nil
    var requested: Int64? = nil
    /// For `idempotency-conflict`: what the key already names (`entry 12`, `hold 3`).
    var existing: String? = nil
    /// For `method-not-allowed`: the methods the path takes, sent as the `Allow` header.
    var allow: [String]? = nil

    static let typeBase = "https://pointsledger.dev/problems/"

    private enum CodingKeys: String, CodingKey {
        case type, title, status, detail, field, check, entity, spendable, requested, existing
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.typeBase + kind, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(field, forKey: .field)
        try container.encodeIfPresent(check, forKey: .check)
        try container.encodeIfPresent(entity, forKey: .entity)
        try container.encodeIfPresent(spendable, forKey: .spendable)
        try container.encodeIfPresent(requested, forKey: .requested)
        try container.encodeIfPresent(existing, forKey: .existing)
    }

    var response: Response {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == 401 { headers[.wwwAuthenticate] = #"Bearer realm="points-server""# }
        if status == 503 { headers[.retryAfter] = "1" }
        if let allow { headers[.allow] = allow.joined(separator: ", ") }
        return Response(
            status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: API.encode(self))))
    }

    // MARK: The problems of the HTTP layer

    /// The request is not what /openapi.json describes (syntax, types, fields, patterns): 400.
    static func malformed(field: String?, _ detail: String) -> Problem {
        Problem(kind: "malformed-request", title: "A field of the request is malformed", status: 400, detail: detail, field: field)
    }

    /// Well-formed by the document, but a field breaks a rule of the ledger: 422.
    static func invalidInput(field: String, _ detail: String) -> Problem {
        Problem(kind: "invalid-input", title: "A field breaks a rule of the ledger", status: 422, detail: detail, field: field)
    }

    static let missingKey = Problem(
        kind: "unauthorized", title: "No API key in force", status: 401,
        detail: "Send an API key as the header Authorization: Bearer plk_…; points-admin api-key create makes one.")
    static let unknownKey = Problem(
        kind: "unauthorized", title: "No API key in force", status: 401,
        detail: "The API key is unknown or revoked; ask the program's admin for a key in force.")

    static func otherProgram(_ program: String) -> Problem {
        Problem(
            kind: "forbidden", title: "Outside the key's program or role", status: 403,
            detail: "This API key belongs to another program than \"\(VisibleText.escaped(program))\"; use a key of that program.")
    }

    static func role(_ role: APIRole, allowed: [APIRole], doing: String = "do this") -> Problem {
        Problem(
            kind: "forbidden", title: "Outside the key's program or role", status: 403,
            detail: "\(role == .app ? "An" : "A") \(role.rawValue) key may not \(doing); it takes a key of role \(allowed.map(\.rawValue).joined(separator: " or ")).")
    }

    static let exportsBusy = Problem(
        kind: "busy", title: "Busy", status: 503,
        detail: "\(JournalStream.concurrentLimit) journal exports are running; retry when one has finished.")

    static let deadline = Problem(
        kind: "deadline-exceeded", title: "The request took too long", status: 503,
        detail: "The request ran past the server's time limit and was cancelled in the database; nothing of it was applied. Retry it with the same key.")

    static func routeNotFound(_ method: String, _ path: String) -> Problem {
        Problem(
            kind: "route-not-found", title: "No such route", status: 404,
            detail: "\(method) \(VisibleText.escaped(path)) is not a route of points-server; /openapi.json lists them.")
    }

    static func methodNotAllowed(_ method: String, _ path: String, allowed: [String]) -> Problem {
        Problem(
            kind: "method-not-allowed", title: "The route does not take this method", status: 405,
            detail: "\(VisibleText.escaped(path)) takes \(allowed.joined(separator: " or ")), not \(VisibleText.escaped(method)); /openapi.json lists its operations.",
            allow: allowed)
    }

    static func unsupportedMediaType(_ contentType: String?) -> Problem {
        Problem(
            kind: "unsupported-media-type", title: "The body is not JSON", status: 415,
            detail: contentType.map { "The body is sent as \"\(VisibleText.escaped($0))\"; send it as Content-Type: application/json." }
                ?? "The body has no Content-Type; send it as Content-Type: application/json.",
            field: "Content-Type")
    }

    static func bodyTooLarge(limit: Int) -> Problem {
        Problem(kind: "body-too-large", title: "The request body is too large", status: 413, detail: "A request body holds at most \(limit) bytes.")
    }

    static let internalError = Problem(
        kind: "internal", title: "The server failed", status: 500,
        detail: "The server could not complete the request; its log says why. Retry it with the same key: nothing half-done is kept.")

    // MARK: The ledger's errors

    /// The problem for an error of the ledger (or of the HTTP layer), by `LedgerError` case.
    static func from(_ error: any Error) -> Problem {
        if let problem = error as? Problem { return problem }
        if error is CancellationError { return .deadline }
        guard let error = error as? LedgerError else { return .internalError }
        let detail = error.description
        switch error {
        case .invalidInput(let field, _):
            // Well-formed by the document, refused by a rule of the ledger (an id's text rules,
            // a currency's decimals, a time outside the program's window, a cursor of another list).
            return .invalidInput(field: apiField[field] ?? field, detail)
        case .notFound(let entity, _):
            return Problem(
                kind: "not-found", title: "Not found", status: 404, detail: detail,
                entity: entity == .apiKey ? "api_key" : entity.rawValue)
        case .programConflict:
            return Problem(kind: "program-conflict", title: "The program exists with other settings", status: 409, detail: detail)
        case .insufficientPoints(_, let spendable, let requested):
            return Problem(
                kind: "insufficient-points", title: "Too few spendable points", status: 422, detail: detail, check: "spendable_points",
                spendable: spendable, requested: requested)
        case .refused(.busy):
            return Problem(kind: "busy", title: "Busy", status: 503, detail: detail)
        case .refused(let refusal):
            return Problem(kind: "refused", title: "Refused by a rule of the program", status: 422, detail: detail, check: refusal.check)
        case .idempotencyConflict(let key, let existing):
            return Problem(
                kind: "idempotency-conflict", title: "The key was used for another request", status: 409, detail: detail,
                field: { if case .member = existing { "referrer" } else { key.isEmpty ? nil : "key" } }(), existing: existing.description)
        case .amountOutOfRange(let field):
            return Problem(
                kind: "amount-out-of-range", title: "A balance would leave its range", status: 422, detail: detail, field: apiField[field] ?? field)
        case .unreachable:
            return Problem(
                kind: "database-unreachable", title: "The database cannot be reached", status: 503,
                detail: "points-server cannot reach its database; try again shortly.")
        case .schemaNotMigrated:
            return Problem(
                kind: "schema-not-migrated", title: "The database is not migrated", status: 503,
                detail: "The database has no PointsLedger schema, or an older one; its admin must run points-admin db migrate.")
        case .permissionDenied:
            return Problem(
                kind: "server-misconfigured", title: "The server's database role may not do this", status: 500,
                detail: "points-server's database role lacks a privilege this request needs; its operator must connect it as the ledger's writer role.")
        case .migrationEdited, .migrationUnknown, .migrationFailed, .unexpectedAnswer, .database:
            return .internalError
        }
    }
}

/// The library's names of fields (as the CLI's users read them) as the API's requests spell them.
private let apiField = [
    "occurred at": "occurredAt", "points paid": "pointsPaid", "expires in": "expiresInSeconds", "as of": "asOf", "as-of time": "asOf",
    "time": "occurredAt",
]

extension Refusal {
    /// The check that refused, as a problem's `check` field.
    var check: String {
        switch self {
        case .outOfStock: "out_of_stock"
        case .rewardInactive: "reward_inactive"
        case .tierTooLow: "tier_too_low"
        case .limitReached: "limit_reached"
        case .holdResolved: "hold_resolved"
        case .exceedsHold: "exceeds_hold"
        case .exceedsOrder: "exceeds_order"
        case .journalIncomplete: "journal_incomplete"
        case .busy: "busy"
        }
    }
}
