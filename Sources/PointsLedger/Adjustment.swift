public import Postgres

/// The result of a write: the journal entry and whether this call posted it or replayed it.
public struct PostingResult: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// This call posted the entry.
        case posted
        /// The key was used before with the same content: nothing was posted, the original is returned.
        case replayed
    }

    public let outcome: Outcome
    public let entryID: Int64
    /// The member's balances after the call.
    public let balance: MemberBalance
}

extension Ledger {
    /// An admin grants points to a member: `adjustments` → member's `available`.
    ///
    /// `at` (default now) dates the grant, as a purchase's time: up to five minutes ahead, and
    /// older than the program's back-dating window only with `backdated`, which the entry records
    /// (a program moving its history in). The points form a lot that expires at `expiresAt`
    /// when given (an opening balance keeps its original expiry), else by the program's rule
    /// counted from `at`.
    /// Idempotent by `key` (scope: adjustments of the program): replaying the same grant returns
    /// the original entry; the same key with other content throws `.idempotencyConflict`.
    public func grant(
        points: Int64, to member: String, in program: Program, reason: String, actor: String, key: String,
        at occurredAt: Timestamp? = nil, backdated: Bool = false, expiresAt: Timestamp? = nil
    ) async throws -> PostingResult {
        try Validate.positivePoints(points)
        if let expiresAt, expiresAt <= (occurredAt ?? .now) {
            throw LedgerError.invalidInput(
                field: "expires at", reason: "\(program.clock.text(expiresAt)) is not after the grant's time \(program.clock.text(occurredAt ?? .now)); give a later expiry, or none to use the program's rule")
        }
        return try await adjust(
            points: points, member: member, program: program, reason: reason, actor: actor, key: key,
            timing: (occurredAt, backdated), expiresAt: expiresAt)
    }

    /// An admin deducts points from a member: member's `available` → `adjustments`.
    ///
    /// `at` and `backdated` date it as for a grant. Refused with `.insufficientPoints` when
    /// spendable points (available − held) are short; that refusal is not remembered, so a retry
    /// after the member earns may succeed.
    public func deduct(
        points: Int64, from member: String, in program: Program, reason: String, actor: String, key: String,
        at occurredAt: Timestamp? = nil, backdated: Bool = false
    ) async throws -> PostingResult {
        try Validate.positivePoints(points)
        return try await adjust(
            points: -points, member: member, program: program, reason: reason, actor: actor, key: key,
            timing: (occurredAt, backdated), expiresAt: nil)
    }

    private func adjust(
        points: Int64, member: String, program: Program, reason: String, actor: String, key: String,
        timing: (at: Timestamp?, backdated: Bool), expiresAt: Timestamp?
    ) async throws -> PostingResult {
        try Validate.memberID(member)
        let reason = try Validate.text(reason, field: "reason")
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        try Validate.key(key)
        let answer = try await call(AdjustAnswer.self, """
            SELECT * FROM points.adjust(\(program.id), \(member), \(points), \(reason), \(actor), \(key),
                                        \(timing.at), \(timing.backdated), \(expiresAt))
            """)
        let window = try await backdateWindow(for: answer.status, program)
        let result = try Self.posting(answer, points: points, member: member, key: key, occurredAt: timing.at, window: window)
        logger.debug("adjustment", metadata: ["outcome": "\(answer.status.rawValue)", "entry": "\(result.entryID)", "points": "\(points)"])
        return result
    }

    /// What `points.adjust` answered, as the caller reads it: the posting, or the refusal.
    /// `window`: the program's back-dating window in days, named by a time refusal.
    static func posting(
        _ answer: AdjustAnswer, points: Int64, member: String, key: String, occurredAt: Timestamp?, window: BackdateWindow
    ) throws -> PostingResult {
        switch answer.status {
        case .posted, .replayed:
            let balance = MemberBalance(
                available: try answer.required(\.available), pending: try answer.required(\.pending), held: try answer.required(\.held))
            return PostingResult(
                outcome: answer.status == .posted ? .posted : .replayed, entryID: try answer.required(\.entryID), balance: balance)
        case .conflict:
            throw LedgerError.idempotencyConflict(key: key, existing: .entry(try answer.required(\.entryID)))
        case .insufficientPoints:
            let spendable = try answer.required(\.available) - answer.required(\.held)
            throw LedgerError.insufficientPoints(member: member, spendable: spendable, requested: -points)
        case .unknownMember:
            throw LedgerError.notFound(.member, id: member)
        case .inFuture, .tooOld, .beforeSettings:
            throw timeRefusal(answer.status, occurredAt: occurredAt, window: window)
        }
    }
}

/// The row `points.adjust` answers with (Schema/functions/adjustment.sql).
struct AdjustAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case posted, replayed, conflict, insufficientPoints = "insufficient_points", unknownMember = "unknown_member"
        case inFuture = "in_future", tooOld = "too_old", beforeSettings = "before_settings"
        static let function = "adjust"
    }

    let status: Status
    let entryID: Int64?
    let available: Int64?
    let pending: Int64?
    let held: Int64?
}
