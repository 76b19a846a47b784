public import Postgres

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
    /// `at` (default now) dates it, as a purchase's time: the reward's window and the member's
    /// tier are those of that time; older than the program's back-dating window only with
    /// `backdated`, recorded (a program moving its history in).
    /// - Throws: `.refused` naming the check that failed (not remembered: a retry may succeed),
    ///   `.insufficientPoints`, `.notFound(.member, …)`, `.invalidInput` (unknown reward, quantity),
    ///   `.idempotencyConflict`.
    public func redeem(
        _ reward: String, quantity: Int = 1, member: String, in program: Program, key: String,
        at occurredAt: Timestamp? = nil, backdated: Bool = false
    ) async throws -> RedemptionResult {
        guard quantity > 0, quantity <= 1_000_000 else {
            throw LedgerError.invalidInput(field: "quantity", reason: "\(quantity) must be between 1 and 1000000")
        }
        return try await redeem(
            reward: reward, quantity: quantity, points: nil, reason: nil, member: member, program: program, key: key,
            timing: (occurredAt, backdated))
    }

    /// Spends points for a stated reason (a plain redemption, outside the catalog): one round
    /// trip, soonest-expiring lots first. Idempotent by `key`; `at` and `backdated` as for `redeem`.
    /// - Throws: `.insufficientPoints`, `.notFound(.member, …)`, `.invalidInput`, `.idempotencyConflict`.
    public func spend(
        points: Int64, reason: String, member: String, in program: Program, key: String,
        at occurredAt: Timestamp? = nil, backdated: Bool = false
    ) async throws -> RedemptionResult {
        try Validate.positivePoints(points)
        let reason = try Validate.text(reason, field: "reason")
        return try await redeem(
            reward: nil, quantity: nil, points: points, reason: reason, member: member, program: program, key: key,
            timing: (occurredAt, backdated))
    }

    private func redeem(
        reward: String?, quantity: Int?, points: Int64?, reason: String?, member: String, program: Program, key: String,
        timing: (at: Timestamp?, backdated: Bool)
    ) async throws -> RedemptionResult {
        try Validate.memberID(member)
        try Validate.key(key)
        let answer: RedeemAnswer
        do {
            answer = try await call(RedeemAnswer.self, """
                SELECT * FROM points.redeem(\(program.id), \(member), \(reward), \(quantity.map { Int32($0) })::integer, \(points), \(reason), \(key),
                                            \(timing.at), \(timing.backdated))
                """)
        } catch LedgerError.database(let error) where error.code == .uniqueViolation {
            // The same key, taken at this moment by another member's redemption.
            let entry = try await withConnection { connection in
                try connection.preparedQuery("""
                    SELECT entry_id FROM points.journal_entries
                    WHERE program_id = \(program.id) AND key_scope = 'redemption' AND idempotency_key = \(key)
                    """).single().decode(Int64.self, column: "entry_id")
            }
            throw LedgerError.idempotencyConflict(key: key, existing: .entry(entry))
        }
        let window = try await backdateWindow(for: answer.status, program)
        return try Self.redemption(answer, reward: reward, quantity: quantity, member: member, key: key, occurredAt: timing.at, window: window)
    }

    /// A reward's window as the database states it (`from 2026-12-01 00:00:00+00`, `until …`)
    /// on the program's clock: `from 2026-12-01 08:00:00 +08:00`, `until the end of 2026-12-31`.
    static func localWindow(_ detail: String, _ clock: LocalClock) -> String {
        guard let space = detail.firstIndex(of: " "), let instant = try? Timestamp(postgresText: String(detail[detail.index(after: space)...]))
        else { return detail }
        let word = detail[..<space]
        return word + " " + (word == "until" ? clock.end(instant) : clock.text(instant))
    }

    /// What `points.redeem` answered, as the caller reads it: the redemption, or the refusal.
    /// `window`: the program's back-dating window, named by a time refusal.
    static func redemption(
        _ answer: RedeemAnswer, reward: String?, quantity: Int?, member: String, key: String, occurredAt: Timestamp?, window: BackdateWindow
    ) throws -> RedemptionResult {
        let detail = answer.detail ?? ""
        switch answer.status {
        case .redeemed, .replayed:
            return RedemptionResult(
                outcome: answer.status == .redeemed ? .posted : .replayed, entryID: try answer.required(\.entryID),
                points: try answer.required(\.points), available: try answer.required(\.available), held: try answer.required(\.held),
                stockLeft: answer.stockLeft)
        case .conflict:
            throw LedgerError.idempotencyConflict(key: key, existing: .entry(try answer.required(\.entryID)))
        case .unknownMember:
            throw LedgerError.notFound(.member, id: member)
        case .inFuture, .tooOld, .beforeSettings:
            throw timeRefusal(answer.status, occurredAt: occurredAt, window: window)
        case .unknownReward:
            throw LedgerError.notFound(.reward, id: reward ?? "")
        case .insufficientPoints:
            let spendable = try answer.required(\.available) - answer.required(\.held)
            throw LedgerError.insufficientPoints(member: member, spendable: spendable, requested: try answer.required(\.points))
        case .outOfStock:
            throw LedgerError.refused(.outOfStock(reward: reward ?? "", left: answer.stockLeft ?? 0, requested: quantity ?? 0))
        case .inactive:
            throw LedgerError.refused(.rewardInactive(reward: reward ?? "", window: Self.localWindow(detail, window.clock)))
        case .tierTooLow:
            // detail: the member's tier and the reward's lowest tier, comma-separated.
            let tiers = detail.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            throw LedgerError.refused(
                .tierTooLow(reward: reward ?? "", member: member, memberTier: tiers.first ?? "", minimumTier: tiers.last ?? ""))
        case .limitReached:
            // detail: "<redeemed> of <limit>".
            let figures = detail.split(separator: " of ").map { Int64($0) ?? 0 }
            throw LedgerError.refused(
                .limitReached(reward: reward ?? "", member: member, redeemed: figures.first ?? 0, limit: figures.last ?? 0, requested: quantity ?? 0))
        }
    }
}

/// The row `points.redeem` answers with (Schema/functions/redemption/redeem.sql).
struct RedeemAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case redeemed, replayed, conflict, unknownMember = "unknown_member", unknownReward = "unknown_reward", inactive
        case tierTooLow = "tier_too_low", limitReached = "limit_reached", insufficientPoints = "insufficient_points"
        case outOfStock = "out_of_stock", inFuture = "in_future", tooOld = "too_old", beforeSettings = "before_settings"
        static let function = "redeem"
    }

    let status: Status
    let entryID: Int64?
    let points: Int64?
    let available: Int64?
    let held: Int64?
    let stockLeft: Int64?
    let detail: String?
}
