import Foundation
public import Postgres

/// Where a member stands in the tiers now: the tiers held, the current period's qualifying
/// totals, and what reaching the next tier or keeping this one takes.
public struct TierStanding: Sendable, Hashable, Codable {
    /// The tier the member earned (by qualifying, evaluation or override).
    public let earnedTier: String
    /// The tier that applies now (grants can raise it above the earned tier).
    public let effectiveTier: String
    public let period: TierPeriodLabel
    public let qualifyingPoints: Int64
    public let qualifyingSpend: Money
    /// Reached during this period: kept at least through the next one.
    public let reachedThisPeriod: Bool
    /// The next tier up and what is missing to reach it this period (nil at the top).
    public let nextTier: String?
    public let pointsToNextTier: Int64?
    /// nil when spend does not qualify for the next tier.
    public let spendToNextTier: Money?
    /// What is missing to keep the earned tier at this period's end (0 when met).
    public let pointsToKeep: Int64
    public let spendToKeep: Money?
}

/// One change of a member's tier and why.
public struct TierChangeRecord: Sendable, Hashable, Codable {
    public let from: String
    public let to: String
    /// upgrade, evaluation, refund, grant, override, grant_end or override_end.
    public let cause: String
    /// When the event behind it happened (a period's end for an evaluation).
    public let occurredAt: Timestamp
    public let recordedAt: Timestamp
    /// The period and its qualifying totals behind the change.
    public let period: String?
    public let qualifyingPoints: Int64?
    public let qualifyingSpend: Money?
    /// The entry that crossed a threshold (upgrade) or took it back (refund).
    public let entryID: Int64?
    public let reason: String?
    public let actor: String?
}

extension Ledger {
    /// The member's tiers, the current period's qualifying totals, and what the next tier and
    /// keeping this one take.
    /// - Throws: `.notFound(.member, …)`.
    public func tierStanding(of member: String, in program: Program) async throws -> TierStanding {
        try Validate.memberID(member)
        let exponent = program.currencyExponent
        let row = try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT m.tier AS earned_tier,
                       points.tier_at(m.program_id, m.member_id, m.tier, m.override_until, m.override_previous,
                                      m.granted_until, now()) AS effective_tier,
                       s.tier_period, period.start::text AS period_start, tot.points AS qualifying_points,
                       tot.spend_minor AS qualifying_spend_minor,
                       m.tier_reached_period IS NOT DISTINCT FROM period.start AS reached_this_period, up.tier AS next_tier,
                       greatest(up.entry_points - tot.points, 0) AS points_to_next_tier,
                       CASE WHEN up.entry_spend_minor IS NOT NULL THEN greatest(up.entry_spend_minor - tot.spend_minor, 0) END
                           AS spend_to_next_tier_minor,
                       greatest(cur.retain_points - tot.points, 0) AS points_to_keep,
                       CASE WHEN cur.retain_spend_minor IS NOT NULL THEN greatest(cur.retain_spend_minor - tot.spend_minor, 0) END
                           AS spend_to_keep_minor,
                       (cur.retain_spend_minor IS NOT NULL AND cur.retain_spend_minor <= tot.spend_minor) AS kept_by_spend
                FROM points.members AS m
                JOIN points.programs AS p ON p.program_id = m.program_id
                CROSS JOIN LATERAL points.settings_at(p.program_id, now()) AS s
                CROSS JOIN LATERAL (SELECT points.tier_period_start(s.tier_period, now(), p.time_zone) AS start) AS period
                LEFT JOIN points.qualifying_totals AS q
                    ON q.program_id = m.program_id AND q.member_id = m.member_id AND q.period_start = period.start
                -- The member's latest period is on the member's row; others in qualifying_totals.
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN m.q_period = period.start THEN m.q_points ELSE coalesce(q.points, 0) END AS points,
                           CASE WHEN m.q_period = period.start THEN m.q_spend ELSE coalesce(q.spend_minor, 0) END AS spend_minor) AS tot
                LEFT JOIN LATERAL (SELECT * FROM points.tiers_at(p.program_id, now()) AS t WHERE t.tier = m.tier) AS cur ON true
                LEFT JOIN LATERAL (
                    SELECT * FROM points.tiers_at(p.program_id, now()) AS t WHERE t.rank > cur.rank ORDER BY t.rank LIMIT 1) AS up ON true
                WHERE m.program_id = \(program.id) AND m.member_id = \(member)
                """).first?.decode(StandingRow.self)
        }
        guard let row else { throw LedgerError.notFound(.member, id: member) }
        let money = { (minor: Int64) in Money(minorUnits: minor, exponent: exponent) }
        guard let kind = TierPeriod(rawValue: row.tierPeriod) else {
            throw LedgerError.unexpectedAnswer(function: "settings_at", status: "tier_period \(row.tierPeriod)")
        }
        return TierStanding(
            earnedTier: row.earnedTier, effectiveTier: row.effectiveTier, period: TierPeriodLabel(kind: kind, start: row.periodStart),
            qualifyingPoints: row.qualifyingPoints, qualifyingSpend: money(row.qualifyingSpendMinor),
            reachedThisPeriod: row.reachedThisPeriod, nextTier: row.nextTier, pointsToNextTier: row.pointsToNextTier,
            spendToNextTier: row.spendToNextTierMinor.map(money),
            pointsToKeep: row.keptBySpend ? 0 : row.pointsToKeep, spendToKeep: row.spendToKeepMinor.map(money))
    }

    /// Every change of the member's tier, oldest first: from, to, cause, when, and the
    /// qualifying totals behind it.
    /// - Throws: `.notFound(.member, …)`.
    public func tierChanges(of member: String, in program: Program) async throws -> [TierChangeRecord] {
        try Validate.memberID(member)
        let exponent = program.currencyExponent
        return try await withConnection { connection in
            _ = try Self.loadMember(member, program: program, connection: connection)
            return try connection.preparedQuery("""
                SELECT c.from_tier, c.to_tier, c.cause::text, c.occurred_at, c.recorded_at, c.period_start::text, s.tier_period,
                       c.qualifying_points, c.qualifying_spend_minor, c.entry_id, c.reason, c.actor
                FROM points.tier_changes AS c
                JOIN points.programs AS p ON p.program_id = c.program_id
                LEFT JOIN LATERAL points.settings_at(p.program_id, c.period_start::timestamp AT TIME ZONE p.time_zone) AS s ON true
                WHERE c.program_id = \(program.id) AND c.member_id = \(member)
                ORDER BY c.change_id
                """).decode(TierChangeRow.self).map { row in
                TierChangeRecord(
                    from: row.fromTier, to: row.toTier, cause: row.cause, occurredAt: row.occurredAt, recordedAt: row.recordedAt,
                    period: row.periodStart.map { TierPeriodLabel(kind: TierPeriod(rawValue: row.tierPeriod ?? "year") ?? .year, start: $0).description },
                    qualifyingPoints: row.qualifyingPoints,
                    qualifyingSpend: row.qualifyingSpendMinor.map { Money(minorUnits: $0, exponent: exponent) },
                    entryID: row.entryID, reason: row.reason, actor: row.actor)
            }
        }
    }
}

/// How long a tier grant lasts.
public enum GrantTerm: String, Sendable, Hashable, Codable, CaseIterable {
    case month, quarter, year
}

/// A tier granted for a term.
public struct TierGrant: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let grantID: Int64
    public let tier: String
    public let startsAt: Timestamp
    public let endsAt: Timestamp
    /// The member's effective tier at the grant's start, before and after it.
    public let effectiveBefore: String
    public let effectiveAfter: String
}

extension Ledger {
    /// Grants a member a tier for a month, a quarter or a year from `from` (default: now): the
    /// effective tier is the higher of the earned tier and the active grants; the earned tier does
    /// not change. The same grant again is returned, not repeated: by `key` when given (so a
    /// retried grant without a stated start is one grant), else by member, tier, term and start.
    /// - Throws: `.notFound(.member, …)`, `.invalidInput` for an unknown tier, `.idempotencyConflict`
    ///   for a key naming another grant.
    public func grantTier(
        _ tier: String, to member: String, term: GrantTerm, from: Timestamp? = nil, in program: Program, actor: String,
        key: String? = nil
    ) async throws -> TierGrant {
        try Validate.memberID(member)
        if let key { try Validate.key(key) }
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        let answer = try await call(GrantTierAnswer.self, """
            SELECT * FROM points.grant_tier(\(program.id), \(member), \(tier), \(term.rawValue), \(from)::timestamptz, \(actor), \(key))
            """)
        switch answer.status {
        case .unknownMember: throw LedgerError.notFound(.member, id: member)
        case .unknownTier: throw try await unknownTier(tier, in: program)
        case .conflict: throw LedgerError.idempotencyConflict(key: key ?? "", existing: .tierGrant(try answer.required(\.grantID)))
        case .granted, .exists:
            return TierGrant(
                outcome: answer.status == .granted ? .posted : .replayed, grantID: try answer.required(\.grantID), tier: tier,
                startsAt: try answer.required(\.startsAt), endsAt: try answer.required(\.endsAt),
                effectiveBefore: try answer.required(\.tierBefore), effectiveAfter: try answer.required(\.tierAfter))
        }
    }

    /// Sets a member's earned tier by hand, with a reason, until `until` (nil: until the next
    /// evaluation or upgrade). Not a floor: evaluations apply normally afterwards. Returns the
    /// earned tier before, or nil when the member already had this override.
    /// - Throws: `.notFound(.member, …)`, `.invalidInput` for an unknown tier, an empty reason or an
    ///   end that is not in the future.
    @discardableResult
    public func overrideTier(
        _ tier: String, of member: String, reason: String, until: Timestamp? = nil, in program: Program, actor: String
    ) async throws -> String? {
        try Validate.memberID(member)
        let reason = try Validate.text(reason, field: "reason", maximumLength: 500)
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        if let until, until <= Timestamp.now {
            throw LedgerError.invalidInput(field: "until", reason: "\(program.clock.text(until)) is not in the future; an override ends later than now")
        }
        let answer = try await call(OverrideTierAnswer.self, """
            SELECT * FROM points.override_tier(\(program.id), \(member), \(tier), \(reason), \(until), \(actor))
            """)
        switch answer.status {
        case .unknownMember: throw LedgerError.notFound(.member, id: member)
        case .unknownTier: throw try await unknownTier(tier, in: program)
        case .unchanged: return nil
        case .overridden: return try answer.required(\.tierBefore)
        }
    }

    func unknownTier(_ tier: String, in program: Program) async throws -> LedgerError {
        let tiers = try await tierSettings(of: program).map(\.tier)
        return .invalidInput(field: "tier", reason: "\"\(tier)\" is not a tier of this program; its tiers are \(tiers.joined(separator: ", "))")
    }
}

/// A member's standing as `tierStanding(of:in:)` reads it.
private struct StandingRow: Decodable {
    let earnedTier: String
    let effectiveTier: String
    let tierPeriod: String
    let periodStart: String
    let qualifyingPoints: Int64
    let qualifyingSpendMinor: Int64
    let reachedThisPeriod: Bool
    let nextTier: String?
    let pointsToNextTier: Int64?
    let spendToNextTierMinor: Int64?
    let pointsToKeep: Int64
    let spendToKeepMinor: Int64?
    let keptBySpend: Bool
}

/// A row of `points.tier_changes`, with the kind of period it names.
private struct TierChangeRow: Decodable {
    let fromTier: String
    let toTier: String
    let cause: String
    let occurredAt: Timestamp
    let recordedAt: Timestamp
    let periodStart: String?
    let tierPeriod: String?
    let qualifyingPoints: Int64?
    let qualifyingSpendMinor: Int64?
    let entryID: Int64?
    let reason: String?
    let actor: String?
}

/// The row `points.grant_tier` answers with (Schema/functions/tiers/tier_standing.sql).
struct GrantTierAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case granted, exists, conflict, unknownMember = "unknown_member", unknownTier = "unknown_tier"
        static let function = "grant_tier"
    }

    let status: Status
    let grantID: Int64?
    let startsAt: Timestamp?
    let endsAt: Timestamp?
    let tierBefore: String?
    let tierAfter: String?
}

/// The row `points.override_tier` answers with (Schema/functions/tiers/tier_standing.sql).
struct OverrideTierAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case overridden, unchanged, unknownMember = "unknown_member", unknownTier = "unknown_tier"
        static let function = "override_tier"
    }

    let status: Status
    let tierBefore: String?
}
