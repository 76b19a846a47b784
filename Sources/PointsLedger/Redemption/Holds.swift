import Foundation
public import Postgres

/// A reservation of a member's points by a checkout in progress.
public struct Hold: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let holdID: Int64
    public let member: String
    public let points: Int64
    public let expiresAt: Timestamp
    /// The member's balances after the call: spendable is available − held.
    public let available: Int64
    public let held: Int64
}

/// How a hold was resolved.
public struct HoldResolution: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Codable { case captured, voided }

    public let outcome: PostingResult.Outcome
    public let holdID: Int64
    public let member: String
    public let state: State
    /// Points the hold reserved, and the points captured (the rest was released).
    public let points: Int64
    public let captured: Int64?
    /// The capture's journal entry.
    public let entryID: Int64?
    /// The order the points were captured for: its refunds return them.
    public let order: String?
    public let available: Int64
    public let held: Int64
}

extension Ledger {
    /// Reserves `points` of a member's spendable points for `expiresIn` (whole seconds, up to 30 days): spendable drops
    /// at once; nothing is spent until the hold is captured. Idempotent by `key`.
    /// - Throws: `.insufficientPoints`, `.notFound(.member, …)`, `.invalidInput`, `.idempotencyConflict`.
    public func createHold(
        points: Int64, member: String, expiresIn: Duration, in program: Program, key: String
    ) async throws -> Hold {
        try Validate.positivePoints(points)
        try Validate.memberID(member)
        try Validate.key(key)
        let seconds = expiresIn.components.seconds
        guard seconds >= 1, seconds <= 30 * 86_400 else {
            throw LedgerError.invalidInput(field: "expires in", reason: "a hold lasts between 1 second and 30 days")
        }
        let answer = try await call(CreateHoldAnswer.self, """
            SELECT * FROM points.create_hold(\(program.id), \(member), \(points), now() + make_interval(secs => \(Double(seconds))), \(key))
            """)
        switch answer.status {
        case .held, .replayed:
            return Hold(
                outcome: answer.status == .held ? .posted : .replayed, holdID: try answer.required(\.holdID), member: member,
                points: points, expiresAt: try answer.required(\.expiresAt), available: try answer.required(\.available),
                held: try answer.required(\.held))
        case .conflict:
            throw LedgerError.idempotencyConflict(key: key, existing: .hold(try answer.required(\.holdID)))
        case .insufficientPoints:
            let spendable = try answer.required(\.available) - answer.required(\.held)
            throw LedgerError.insufficientPoints(member: member, spendable: spendable, requested: points)
        case .unknownMember:
            throw LedgerError.notFound(.member, id: member)
        }
    }

    /// Captures `points` of an open hold (default: all of it); the rest is released. The points
    /// are spent from the soonest-expiring lots, for `order` when given: the order's refunds
    /// return them in proportion. Capturing the same amount for the same order again answers
    /// with the capture.
    /// - Throws: `.refused(.holdResolved)` for a hold voided, expired or captured for another
    ///   amount or order; `.refused(.exceedsHold)` for more points than it holds; `.notFound(.hold, …)`.
    public func captureHold(_ hold: Int64, points: Int64? = nil, order: String? = nil, in program: Program) async throws -> HoldResolution {
        if let points { try Validate.positivePoints(points) }
        if let order { try Validate.reference(order, field: "order") }
        return try await resolveHold(hold, void: false, capture: points, order: order, in: program)
    }

    /// Releases an open hold. Voiding it again answers with the same.
    /// - Throws: `.refused(.holdResolved)` for a hold captured or expired; `.notFound(.hold, …)`.
    public func voidHold(_ hold: Int64, in program: Program) async throws -> HoldResolution {
        try await resolveHold(hold, void: true, capture: nil, order: nil, in: program)
    }

    private func resolveHold(_ hold: Int64, void: Bool, capture: Int64?, order: String?, in program: Program) async throws -> HoldResolution {
        // A capture of nil points captures all the hold's points.
        let answer = try await call(ResolveHoldAnswer.self, """
            SELECT * FROM points.resolve_hold(\(program.id), \(hold), \(void), \(capture), \(order))
            """)
        switch answer.status {
        case .captured, .voided, .replayed:
            let state: HoldResolution.State = switch try answer.required(\.state) {
            case .captured: .captured
            case .voided: .voided
            case let other: throw LedgerError.unexpectedAnswer(function: "resolve_hold", status: "\(answer.status.rawValue)\" of a hold \(other.rawValue)")
            }
            return HoldResolution(
                outcome: answer.status == .replayed ? .replayed : .posted, holdID: hold, member: try answer.required(\.memberID),
                state: state, points: try answer.required(\.points), captured: answer.captured, entryID: answer.entryID,
                order: answer.orderID, available: try answer.required(\.available), held: try answer.required(\.held))
        case .unknownHold:
            throw LedgerError.notFound(.hold, id: String(hold))
        case .exceedsHold:
            throw LedgerError.refused(.exceedsHold(hold: hold, requested: capture ?? 0, reserved: try answer.required(\.points)))
        case .insufficientPoints:
            throw LedgerError.insufficientPoints(
                member: try answer.required(\.memberID), spendable: try answer.required(\.available), requested: capture ?? 0)
        case .resolved:
            throw LedgerError.refused(.holdResolved(hold: hold, state: try answer.required(\.state), captured: answer.captured))
        }
    }

    /// Expires every open hold whose time ran out by `asOf`, releasing its points. Set-based,
    /// chunked, idempotent and resumable like the other jobs.
    /// - Throws: `.invalidInput` when `asOf` is in the future.
    public func expireHolds(
        _ program: Program, asOf: Timestamp, chunkSize: Int = 20_000, progress: @Sendable (JobSummary) -> Void = { _ in }
    ) async throws -> JobSummary {
        try await runJob("holds", function: "points.expire_holds", program: program, asOf: asOf, chunkSize: chunkSize, progress: progress)
    }
}

/// Where a hold stands (the database's `points.hold_state`).
public enum HoldState: String, Sendable, Codable, CaseIterable, PostgresDecodable {
    case open, captured, voided, expired

    public init(postgresText text: String) throws(PostgresError) {
        guard let state = Self(rawValue: text) else {
            throw PostgresError(kind: .decoding, message: "\"\(text)\" is not a hold state this build knows")
        }
        self = state
    }
}

/// The row `points.create_hold` answers with (Schema/functions/redemption/holds.sql).
struct CreateHoldAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case held, replayed, conflict, insufficientPoints = "insufficient_points", unknownMember = "unknown_member"
        static let function = "create_hold"
    }

    let status: Status
    let holdID: Int64?
    let expiresAt: Timestamp?
    let available: Int64?
    let held: Int64?
}

/// The row `points.resolve_hold` answers with (Schema/functions/redemption/holds.sql).
struct ResolveHoldAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case captured, voided, replayed, resolved
        case unknownHold = "unknown_hold", exceedsHold = "exceeds_hold", insufficientPoints = "insufficient_points"
        static let function = "resolve_hold"
    }

    let status: Status
    let state: HoldState?
    let memberID: String?
    let points: Int64?
    let captured: Int64?
    let entryID: Int64?
    let available: Int64?
    let held: Int64?
    let orderID: String?
}
