import Postgres

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
    /// Idempotent by `key` (scope: adjustments of the program): replaying the same grant returns
    /// the original entry; the same key with other content throws `.idempotencyConflict`.
    public func grant(
        points: Int64, to member: String, in program: Program, reason: String, actor: String, key: String
    ) async throws -> PostingResult {
        try Validate.positivePoints(points)
        return try await adjust(points: points, member: member, program: program, reason: reason, actor: actor, key: key)
    }

    /// An admin deducts points from a member: member's `available` → `adjustments`.
    ///
    /// Refused with `.insufficientPoints` when spendable points (available − held) are short;
    /// that refusal is not remembered, so a retry after the member earns may succeed.
    public func deduct(
        points: Int64, from member: String, in program: Program, reason: String, actor: String, key: String
    ) async throws -> PostingResult {
        try Validate.positivePoints(points)
        return try await adjust(points: -points, member: member, program: program, reason: reason, actor: actor, key: key)
    }

    private func adjust(
        points: Int64, member: String, program: Program, reason: String, actor: String, key: String
    ) async throws -> PostingResult {
        try Validate.memberID(member)
        let reason = try Validate.text(reason, field: "reason")
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        try Validate.key(key)
        let answer = try await call(AdjustAnswer.self, """
            SELECT * FROM points.adjust(\(program.id), \(member), \(points), \(reason), \(actor), \(key))
            """)
        switch answer.status {
        case .posted, .replayed:
            let balance = MemberBalance(
                available: try answer.required(\.available), pending: try answer.required(\.pending), held: try answer.required(\.held))
            let result = PostingResult(
                outcome: answer.status == .posted ? .posted : .replayed, entryID: try answer.required(\.entryID), balance: balance)
            logger.debug("adjustment", metadata: ["outcome": "\(answer.status.rawValue)", "entry": "\(result.entryID)", "points": "\(points)"])
            return result
        case .conflict:
            throw LedgerError.idempotencyConflict(key: key, existing: .entry(try answer.required(\.entryID)))
        case .insufficientPoints:
            let spendable = try answer.required(\.available) - answer.required(\.held)
            throw LedgerError.insufficientPoints(member: member, spendable: spendable, requested: -points)
        case .unknownMember:
            throw LedgerError.notFound(.member, id: member)
        }
    }
}

/// The row `points.adjust` answers with (Schema/functions/adjustment.sql).
struct AdjustAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case posted, replayed, conflict, insufficientPoints = "insufficient_points", unknownMember = "unknown_member"
        static let function = "adjust"
    }

    let status: Status
    let entryID: Int64?
    let available: Int64?
    let pending: Int64?
    let held: Int64?
}
