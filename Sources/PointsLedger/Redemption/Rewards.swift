import Foundation
public import Postgres

/// A reward of the catalog, with what is left of its stock and how many were redeemed.
public struct Reward: Sendable, Hashable, Codable {
    public let reward: String
    public let name: String
    /// Points per unit.
    public let cost: Int64
    /// Units left; nil: unlimited.
    public let stock: Int64?
    /// The lowest effective tier that may redeem it; nil: any.
    public let minTier: String?
    public let limitPerMember: Int64?
    public let activeFrom: Timestamp?
    public let activeUntil: Timestamp?
    /// Units redeemed so far.
    public let redeemed: Int64
}

/// A change to some of a reward's settings; the rest keep their values. A new reward needs a
/// name and a cost. `.some(nil)` clears an optional setting.
public struct RewardChange: Sendable, Hashable {
    public var name: String?
    public var cost: Int64?
    public var stock: Int64??
    public var minTier: String??
    public var limitPerMember: Int64??
    public var activeFrom: Timestamp??
    public var activeUntil: Timestamp??

    public init(
        name: String? = nil, cost: Int64? = nil, stock: Int64?? = nil, minTier: String?? = nil, limitPerMember: Int64?? = nil,
        activeFrom: Timestamp?? = nil, activeUntil: Timestamp?? = nil
    ) {
        self.name = name
        self.cost = cost
        self.stock = stock
        self.minTier = minTier
        self.limitPerMember = limitPerMember
        self.activeFrom = activeFrom
        self.activeUntil = activeUntil
    }

    public var isEmpty: Bool { self == RewardChange() }

    func validate(_ clock: LocalClock) throws(LedgerError) {
        if let name { _ = try Validate.text(name, field: "name", maximumLength: 200) }
        if let cost, cost <= 0 { throw .invalidInput(field: "cost", reason: "\(cost) must be a whole number of points above 0") }
        if let stock = stock ?? nil, stock < 0 { throw .invalidInput(field: "stock", reason: "\(stock) must be 0 or more") }
        if let limit = limitPerMember ?? nil, limit <= 0 {
            throw .invalidInput(field: "limit per member", reason: "\(limit) must be 1 or more")
        }
        if let from = activeFrom ?? nil, let until = activeUntil ?? nil, until <= from {
            throw .invalidInput(field: "until", reason: "\(clock.text(until)) is not after the start \(clock.text(from))")
        }
    }
}

extension Ledger {
    /// The catalog, by reward code, with stock left and units redeemed.
    public func rewards(of program: Program) async throws -> [Reward] {
        try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT r.reward, r.name, r.cost, r.stock, r.min_tier, r.limit_per_member, r.active_from, r.active_until,
                       coalesce((SELECT sum(d.quantity) FROM points.redemptions AS d
                                 WHERE d.program_id = r.program_id AND d.reward = r.reward), 0)::bigint AS redeemed
                FROM points.rewards AS r WHERE r.program_id = \(program.id) ORDER BY r.reward
                """).decode(Reward.self)
        }
    }

    /// Creates a reward or changes some of its settings, recording who changed what, before and
    /// after. Setting the stock sets what is left (a restock).
    /// - Throws: `.invalidInput` for a malformed code or value, a new reward without a name and
    ///   a cost, an unknown tier, or an active window that ends before it starts.
    @discardableResult
    public func setReward(_ code: String, in program: Program, _ change: RewardChange, actor: String) async throws -> SettingsChangeOutcome {
        guard code.wholeMatch(of: /[a-z0-9][a-z0-9_.-]{0,63}/) != nil else {
            throw LedgerError.invalidInput(
                field: "reward", reason: "\"\(code)\" is not a reward code: use 1 to 64 lower-case letters, digits, '.', '-' or '_'")
        }
        guard !change.isEmpty else { throw LedgerError.invalidInput(field: "reward", reason: "no setting was given to change") }
        try change.validate(program.clock)
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        // The change as the table's column names; JSON null clears a setting.
        func number(_ value: Int64?) -> Any { value.map { NSNumber(value: $0) } ?? NSNull() }
        var fields: [String: Any] = [:]
        if let name = change.name { fields["name"] = name.trimmingCharacters(in: .whitespacesAndNewlines) }
        if let cost = change.cost { fields["cost"] = number(cost) }
        if let stock = change.stock { fields["stock"] = number(stock) }
        if let minTier = change.minTier { fields["min_tier"] = minTier ?? NSNull() }
        if let limit = change.limitPerMember { fields["limit_per_member"] = number(limit) }
        if let from = change.activeFrom { fields["active_from"] = from?.description ?? NSNull() }
        if let until = change.activeUntil { fields["active_until"] = until?.description ?? NSNull() }
        let json = PostgresJSON(text: String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self))
        let status = try await withConnection { connection in
            try connection.preparedQuery("SELECT status FROM points.set_reward(\(program.id), \(code), \(json)::jsonb, \(actor))")
                .single().decode(StatusAnswer<SetRewardStatus>.self).status
        }
        switch status {
        case .created, .changed: return .changed(effectiveAt: .now)
        case .unchanged: return .unchanged
        case .incomplete: throw LedgerError.invalidInput(field: "reward", reason: "\"\(code)\" is new: give its name and cost")
        case .unknownTier: throw try await unknownTier((change.minTier ?? nil) ?? "", in: program)
        }
    }
}

/// What `points.set_reward` answers (Schema/functions/redemption/rewards.sql).
enum SetRewardStatus: String, LedgerStatus {
    case created, changed, unchanged, incomplete, unknownTier = "unknown_tier"
    static let function = "set_reward"
}

/// A reward as one member sees it now: whether one unit would be theirs, and if not, the rule
/// that stands in the way (checked as a redemption checks it, by the same rule in the database).
public struct RewardOffer: Sendable, Hashable, Codable {
    public enum Standing: String, Sendable, Hashable, Codable, CaseIterable {
        case redeemable, inactive
        case tierTooLow = "tier_too_low", limitReached = "limit_reached", insufficientPoints = "insufficient_points"
        case outOfStock = "out_of_stock"
    }

    public let reward: String
    public let name: String
    public let cost: Int64
    public let stock: Int64?
    public let minTier: String?
    public let limitPerMember: Int64?
    public let activeFrom: Timestamp?
    public let activeUntil: Timestamp?
    public let standing: Standing
}

extension Ledger {
    /// The catalog as `member` sees it now, cheapest first: each reward with whether one unit is
    /// redeemable, else the first check a redemption would fail (inactive, tier too low, limit
    /// reached, too few spendable points, out of stock). One round trip.
    /// - Throws: `.notFound(.member, …)`.
    public func rewardOffers(to member: String, in program: Program) async throws -> [RewardOffer] {
        try Validate.memberID(member)
        let rows = try await withConnection { connection in
            let rows = try connection.preparedQuery("""
                SELECT o.*, m.member_id IS NOT NULL AS member_exists
                FROM (SELECT 1) AS one
                LEFT JOIN points.members AS m ON m.program_id = \(program.id) AND m.member_id = \(member)
                LEFT JOIN LATERAL points.reward_offers(\(program.id), \(member)) AS o ON true
                """)
            guard try rows.first?.decode(Bool.self, column: "member_exists") == true else { return nil as [OfferRow]? }
            return try rows.filter { !$0.isNull(0) }.map { try $0.decode(OfferRow.self) }
        }
        guard let rows else { throw LedgerError.notFound(.member, id: member) }
        return try rows.map { row in
            let standing: RewardOffer.Standing = switch row.redeemStatus {
            case .redeemed: .redeemable
            case .inactive: .inactive
            case .tierTooLow: .tierTooLow
            case .limitReached: .limitReached
            case .insufficientPoints: .insufficientPoints
            case .outOfStock: .outOfStock
            case .replayed, .conflict, .unknownMember, .unknownReward, .inFuture, .tooOld, .beforeSettings:
                throw LedgerError.unexpectedAnswer(function: "reward_offers", status: row.redeemStatus.rawValue)
            }
            return RewardOffer(
                reward: row.reward, name: row.name, cost: row.cost, stock: row.stock, minTier: row.minTier, limitPerMember: row.limitPerMember,
                activeFrom: row.activeFrom, activeUntil: row.activeUntil, standing: standing)
        }
    }
}

/// A row of `points.reward_offers` (Schema/functions/redemption/redeem.sql).
private struct OfferRow: Decodable {
    let reward: String
    let name: String
    let cost: Int64
    let stock: Int64?
    let minTier: String?
    let limitPerMember: Int64?
    let activeFrom: Timestamp?
    let activeUntil: Timestamp?
    let redeemStatus: RedeemAnswer.Status
}
