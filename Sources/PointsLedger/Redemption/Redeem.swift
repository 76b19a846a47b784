import Postgres

/// What a redemption took.
public struct RedemptionResult: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let entryID: Int64
    /// The points spent.
    public let points: Int64
    /// The member's available and held points after it (for a replay: now).
    public let available: Int64
    public let held: Int64
    /// The reward's stock left, when it has one (nil for a replay).
    public let stockLeft: Int64?
}

extension Ledger {
    /// Redeems `quantity` units of a reward: one round trip. Checks the reward is active, the
    /// member's effective tier, the member's limit, spendable points (available − held) and stock,
    /// and takes points (soonest-expiring lots first) and stock in one atomic step: two
    /// redemptions of the last unit or the last points never both succeed. Idempotent by `key`.
    /// - Throws: `.refused` naming the check that failed (not remembered: a retry may succeed),
    ///   `.insufficientPoints`, `.memberNotFound`, `.invalidInput` (unknown reward, quantity),
    ///   `.idempotencyConflict`.
    public func redeem(
        _ reward: String, quantity: Int = 1, member: String, in program: Program, key: String
    ) async throws -> RedemptionResult {
        guard quantity > 0, quantity <= 1_000_000 else {
            throw LedgerError.invalidInput(field: "quantity", reason: "\(quantity) must be between 1 and 1000000")
        }
        return try await redeem(reward: reward, quantity: quantity, points: nil, reason: nil, member: member, program: program, key: key)
    }

    /// Spends points for a stated reason (a plain redemption, outside the catalog): one round
    /// trip, soonest-expiring lots first. Idempotent by `key`.
    /// - Throws: `.insufficientPoints`, `.memberNotFound`, `.invalidInput`, `.idempotencyConflict`.
    public func spend(points: Int64, reason: String, member: String, in program: Program, key: String) async throws -> RedemptionResult {
        try Validate.positivePoints(points)
        let reason = try Validate.text(reason, field: "reason")
        return try await redeem(reward: nil, quantity: nil, points: points, reason: reason, member: member, program: program, key: key)
    }

    private func redeem(
        reward: String?, quantity: Int?, points: Int64?, reason: String?, member: String, program: Program, key: String
    ) async throws -> RedemptionResult {
        try Validate.memberID(member)
        try Validate.key(key)
        let row: Row
        do {
            row = try await callReturningRow("""
                SELECT status, entry_id, points, available, held, stock_left, detail
                FROM points.redeem(\(program.id), \(member), \(reward), \(quantity.map { Int32($0) })::integer, \(points), \(reason), \(key))
                """)
        } catch LedgerError.database(let error) where error.code == .uniqueViolation {
            // The same key, taken at this moment by another member's redemption.
            let entry = try await withConnection { connection in
                try connection.preparedQuery("""
                    SELECT entry_id FROM points.journal_entries
                    WHERE program_id = \(program.id) AND key_scope = 'redemption' AND idempotency_key = \(key)
                    """).single().decode(Int64.self, at: 0)
            }
            throw LedgerError.idempotencyConflict(key: key, entryID: entry)
        }
        let status: String = try row.decode(at: 0)
        let detail: String? = try row.decode(at: 6)
        let what = reward.map { "reward \($0)" } ?? "this spend"
        switch status {
        case "redeemed", "replayed":
            return RedemptionResult(
                outcome: status == "redeemed" ? .posted : .replayed, entryID: try row.decode(at: 1), points: try row.decode(at: 2),
                available: try row.decode(at: 3), held: try row.decode(at: 4), stockLeft: try row.decode(at: 5))
        case "conflict":
            throw LedgerError.idempotencyConflict(key: key, entryID: try row.decode(at: 1))
        case "unknown_member":
            throw LedgerError.memberNotFound(member: member)
        case "unknown_reward":
            throw LedgerError.invalidInput(field: "reward", reason: "\"\(reward ?? "")\" is not a reward of this program; see reward list")
        case "insufficient_points":
            let available: Int64 = try row.decode(at: 3)
            let held: Int64 = try row.decode(at: 4)
            throw LedgerError.insufficientPoints(member: member, spendable: available - held, requested: try row.decode(at: 2))
        case "out_of_stock":
            let left: Int64 = try row.decode(Int64?.self, at: 5) ?? 0
            throw LedgerError.refused(reason: "\(what.capitalizedFirst) is out of stock: \(left) left, \(quantity ?? 0) asked for")
        case "inactive":
            throw LedgerError.refused(reason: "\(what.capitalizedFirst) is not active now (active \(detail ?? ""))")
        case "tier_too_low":
            let tiers = (detail ?? ",").split(separator: ",", omittingEmptySubsequences: false)
            throw LedgerError.refused(
                reason: "\(what.capitalizedFirst) is for tier \(tiers.last ?? "") and above; member \"\(member)\" is \(tiers.first ?? "")")
        case "limit_reached":
            throw LedgerError.refused(
                reason: "Member \"\(member)\" has reached the limit of \(what): redeemed \(detail ?? ""), \(quantity ?? 0) more asked for")
        default:
            throw LedgerError.unexpectedAnswer(function: "points.redeem", status: status)
        }
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
