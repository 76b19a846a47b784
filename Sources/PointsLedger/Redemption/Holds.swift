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
    public let available: Int64
    public let held: Int64
}

extension Ledger {
    /// Reserves `points` of a member's spendable points for `expiresIn` (whole seconds, up to 30 days): spendable drops
    /// at once; nothing is spent until the hold is captured. Idempotent by `key`.
    /// - Throws: `.insufficientPoints`, `.memberNotFound`, `.invalidInput`, `.idempotencyConflict`.
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
        let row = try await callReturningRow("""
            SELECT status, hold_id, expires_at, available, held
            FROM points.create_hold(\(program.id), \(member), \(points), now() + make_interval(secs => \(Double(seconds))), \(key))
            """)
        let status: String = try row.decode(at: 0)
        switch status {
        case "held", "replayed":
            return Hold(
                outcome: status == "held" ? .posted : .replayed, holdID: try row.decode(at: 1), member: member, points: points,
                expiresAt: try row.decode(at: 2), available: try row.decode(at: 3), held: try row.decode(at: 4))
        case "conflict":
            throw LedgerError.invalidInput(
                field: "key", reason: "\"\(key)\" already names hold \(try row.decode(Int64.self, at: 1)) of other content; use a new key")
        case "insufficient_points":
            let available: Int64 = try row.decode(at: 3)
            let held: Int64 = try row.decode(at: 4)
            throw LedgerError.insufficientPoints(member: member, spendable: available - held, requested: points)
        case "unknown_member":
            throw LedgerError.memberNotFound(member: member)
        default:
            throw LedgerError.unexpectedAnswer(function: "points.create_hold", status: status)
        }
    }

    /// Captures `points` of an open hold (default: all of it); the rest is released. The points
    /// are spent from the soonest-expiring lots. Capturing the same amount again answers with the
    /// capture.
    /// - Throws: `.refused` for a hold voided, expired or captured for another amount;
    ///   `.invalidInput` for an unknown hold or more points than it holds.
    public func captureHold(_ hold: Int64, points: Int64? = nil, in program: Program) async throws -> HoldResolution {
        if let points { try Validate.positivePoints(points) }
        return try await resolveHold(hold, void: false, capture: points, in: program)
    }

    /// Releases an open hold. Voiding it again answers with the same.
    /// - Throws: `.refused` for a hold captured or expired; `.invalidInput` for an unknown hold.
    public func voidHold(_ hold: Int64, in program: Program) async throws -> HoldResolution {
        try await resolveHold(hold, void: true, capture: nil, in: program)
    }

    private func resolveHold(_ hold: Int64, void: Bool, capture: Int64?, in program: Program) async throws -> HoldResolution {
        // A capture of nil points captures all the hold's points.
        let row = try await callReturningRow("""
            SELECT status, state, member_id, points, captured, entry_id, available, held
            FROM points.resolve_hold(\(program.id), \(hold), \(void), \(capture))
            """)
        let status: String = try row.decode(at: 0)
        let state: String? = try row.decode(at: 1)
        let member: String? = try row.decode(at: 2)
        let points: Int64? = try row.decode(at: 3)
        let captured: Int64? = try row.decode(at: 4)
        switch status {
        case "captured", "voided", "replayed":
            return HoldResolution(
                outcome: status == "replayed" ? .replayed : .posted, holdID: hold, member: member ?? "",
                state: HoldResolution.State(rawValue: state ?? "voided") ?? .voided, points: points ?? 0, captured: captured,
                entryID: try row.decode(at: 5), available: try row.decode(at: 6), held: try row.decode(at: 7))
        case "unknown_hold":
            throw LedgerError.invalidInput(field: "hold", reason: "\(hold) is not a hold of this program")
        case "exceeds_hold":
            throw LedgerError.invalidInput(field: "points", reason: "\(capture ?? 0) is more than the \(points ?? 0) points hold \(hold) reserves")
        case "insufficient_points":
            let available: Int64 = try row.decode(at: 6)
            throw LedgerError.insufficientPoints(member: member ?? "", spendable: available, requested: capture ?? 0)
        default:
            let how = switch state {
            case "captured": "was captured (\(captured ?? 0) points)"
            case "voided": "was voided"
            default: "expired"
            }
            throw LedgerError.refused(reason: "Hold \(hold) \(how); a hold resolves only once")
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
