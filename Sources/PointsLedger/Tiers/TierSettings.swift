public import Foundation
public import Postgres

/// A tier's settings, as in force from `effectiveAt` (RULES.md: Tiers).
public struct TierSettings: Sendable, Hashable, Codable {
    public let tier: String
    /// 0 is the entry tier.
    public let rank: Int
    /// When this version took effect (nil: from the beginning).
    public let effectiveAt: Timestamp?
    /// Qualifying points in one period that reach the tier.
    public let entryPoints: Int64
    /// Qualifying spend in one period that reaches the tier (nil: spend does not qualify).
    public let entrySpend: Money?
    /// Qualifying points, or spend, in a period that keep the tier at its end (default: the entry thresholds).
    public let retainPoints: Int64
    public let retainSpend: Money?
    /// Multiplies purchase points (and those of tasks configured for it), exact.
    public let multiplier: Decimal
    /// Points paid once a year on a member's birthday.
    public let birthdayBonus: Int64
}

/// A change to some of a tier's settings; the rest keep the values in force. Creating a tier
/// takes its rank and entry points.
public struct TierChange: Sendable, Hashable {
    public var rank: Int?
    public var entryPoints: Int64?
    /// `.some(nil)` removes the spend threshold.
    public var entrySpend: Money??
    public var retainPoints: Int64??
    public var retainSpend: Money??
    public var multiplier: Decimal?
    public var birthdayBonus: Int64?

    public init(
        rank: Int? = nil, entryPoints: Int64? = nil, entrySpend: Money?? = nil, retainPoints: Int64?? = nil,
        retainSpend: Money?? = nil, multiplier: Decimal? = nil, birthdayBonus: Int64? = nil
    ) {
        self.rank = rank
        self.entryPoints = entryPoints
        self.entrySpend = entrySpend
        self.retainPoints = retainPoints
        self.retainSpend = retainSpend
        self.multiplier = multiplier
        self.birthdayBonus = birthdayBonus
    }

    public var isEmpty: Bool { self == TierChange() }

    /// Checks each value, naming the field and its range.
    func validate() throws(LedgerError) {
        if let rank, !(0...100).contains(rank) {
            throw .invalidInput(field: "rank", reason: "\(rank) must be between 0 and 100")
        }
        for (field, value) in [("entry points", entryPoints), ("retain points", retainPoints ?? nil), ("birthday bonus", birthdayBonus)] {
            if let value, !(0...1_000_000_000_000).contains(value) {
                throw .invalidInput(field: field, reason: "\(value) must be between 0 and 1000000000000 points")
            }
        }
        for (field, value) in [("entry spend", entrySpend ?? nil), ("retain spend", retainSpend ?? nil)] {
            if let value, value.minorUnits < 0 {
                throw .invalidInput(field: field, reason: "\(value.grouped) must not be negative")
            }
        }
        if let multiplier {
            guard multiplier >= 0, multiplier <= 100, max(0, -multiplier.exponent) <= 4 else {
                throw .invalidInput(field: "multiplier", reason: "\(multiplier) must be between 0 and 100 with at most 4 decimals")
            }
        }
    }

    /// The change as the database's column names and values (all numbers).
    var json: PostgresJSON {
        var numbers: [String: String] = [:]
        if let entryPoints { numbers["entry_points"] = "\(entryPoints)" }
        if let entrySpend { numbers["entry_spend_minor"] = entrySpend.map { "\($0.minorUnits)" } ?? "null" }
        if let retainPoints { numbers["retain_points"] = retainPoints.map { "\($0)" } ?? "null" }
        if let retainSpend { numbers["retain_spend_minor"] = retainSpend.map { "\($0.minorUnits)" } ?? "null" }
        if let multiplier { numbers["multiplier"] = "\(multiplier)" }
        if let birthdayBonus { numbers["birthday_bonus"] = "\(birthdayBonus)" }
        return PostgresJSON(text: "{" + numbers.map { "\"\($0.key)\": \($0.value)" }.sorted().joined(separator: ", ") + "}")
    }
}

extension Ledger {
    /// The tiers with their settings in force at `instant` (default: now), entry tier first.
    public func tierSettings(of program: Program, at instant: Timestamp? = nil) async throws -> [TierSettings] {
        try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT tier, rank, nullif(effective_at, '-infinity') AS effective_at, entry_points, entry_spend_minor, retain_points,
                       retain_spend_minor, multiplier, birthday_bonus
                FROM points.tiers_at(\(program.id), coalesce(\(instant)::timestamptz, now()))
                ORDER BY rank
                """).decode(TierRow.self).map { row in
                let money = { (minor: Int64?) in minor.map { Money(minorUnits: $0, exponent: program.currencyExponent) } }
                return TierSettings(
                    tier: row.tier, rank: row.rank, effectiveAt: row.effectiveAt, entryPoints: row.entryPoints,
                    entrySpend: money(row.entrySpendMinor), retainPoints: row.retainPoints, retainSpend: money(row.retainSpendMinor),
                    multiplier: row.multiplier, birthdayBonus: row.birthdayBonus)
            }
        }
    }

    /// Creates a tier (the change names its rank and entry points) or changes a tier's settings
    /// from `effectiveAt` (default: now) on, recording who changed what, before and after.
    /// - Throws: `.invalidInput` for an unknown tier, a value out of range, a rank taken or
    ///   changed, thresholds that would not rise with rank, or an effective time in the past once
    ///   the program has entries.
    public func changeTier(
        _ tier: String, in program: Program, _ change: TierChange, effectiveAt: Timestamp? = nil, actor: String
    ) async throws -> SettingsChangeOutcome {
        guard !change.isEmpty else {
            throw LedgerError.invalidInput(field: "tier", reason: "no setting was given to change")
        }
        try change.validate()
        for (field, money) in [("entry spend", change.entrySpend ?? nil), ("retain spend", change.retainSpend ?? nil)] {
            if let money, money.exponent != program.currencyExponent {
                throw LedgerError.invalidInput(field: field, reason: "\(money) is not an amount in \(program.currency)")
            }
        }
        guard Validate.isCode(tier) else {
            throw LedgerError.invalidInput(
                field: "tier", reason: "\"\(tier)\" is not a tier name: use 1 to 32 lower-case letters, digits, - or _, starting with a letter")
        }
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        do {
            return try await recordChange(
                SetTierStatus.self,
                """
                SELECT status, nullif(effective_at, '-infinity') AS effective_at, detail FROM points.set_tier(
                    \(program.id), \(tier), \(change.rank.map { Int16($0) })::smallint, \(change.json)::jsonb,
                    coalesce(\(effectiveAt)::timestamptz, now()), \(actor))
                """,
                inPast: "a tier cannot change in the past once the program has entries; give a time from now on",
                refusal: { status, _ in
                    switch status {
                    case .unknownTier:
                        let tiers = try await self.tierSettings(of: program, at: effectiveAt).map(\.tier)
                        return .invalidInput(
                            field: "tier",
                            reason: "\"\(tier)\" is not a tier of this program (its tiers are \(tiers.joined(separator: ", "))); "
                                + "to create it, give its rank and entry points")
                    case .rankTaken: return .invalidInput(field: "rank", reason: "rank \(change.rank ?? 0) belongs to another tier; give a free rank")
                    case .rankFixed: return .invalidInput(field: "rank", reason: "the rank of tier \(tier) cannot change")
                    case .changed, .unchanged, .inPast: return nil
                    }
                })
        } catch LedgerError.database(let error) where error.code == .checkViolation {
            throw LedgerError.invalidInput(
                field: "thresholds",
                reason: (error.constraint == "tier_thresholds_rise" ? error.message : "retention thresholds must not exceed the entry thresholds")
                    + "; thresholds rise with rank")
        }
    }
}

/// A tier's settings as `points.tiers_at` reads them.
private struct TierRow: Decodable {
    let tier: String
    let rank: Int
    let effectiveAt: Timestamp?
    let entryPoints: Int64
    let entrySpendMinor: Int64?
    let retainPoints: Int64
    let retainSpendMinor: Int64?
    let multiplier: Decimal
    let birthdayBonus: Int64
}

/// What `points.set_tier` answers (Schema/functions/tiers/tier_settings.sql).
enum SetTierStatus: String, SettingsChangeStatus {
    case changed, unchanged, inPast = "in_past", unknownTier = "unknown_tier", rankTaken = "rank_taken", rankFixed = "rank_fixed"
    static let function = "set_tier"
}
