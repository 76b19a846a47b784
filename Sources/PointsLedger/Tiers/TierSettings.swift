public import Postgres

/// A tier's settings, as in force from `effectiveAt`.
public struct TierSettings: Sendable, Hashable, Codable {
    public let tier: String
    /// 0 is the entry tier.
    public let rank: Int
    /// When this version took effect (nil: from the beginning).
    public let effectiveAt: Timestamp?
    /// Points paid once a year on a member's birthday.
    public let birthdayBonus: Int64
}

extension Ledger {
    /// The tiers with their settings in force at `instant` (default: now), entry tier first.
    public func tierSettings(of program: Program, at instant: Timestamp? = nil) async throws -> [TierSettings] {
        try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT t.tier, t.rank, nullif(s.effective_at, '-infinity'), s.birthday_bonus
                FROM points.tiers AS t
                CROSS JOIN LATERAL (
                    SELECT ts.effective_at, ts.birthday_bonus FROM points.tier_settings AS ts
                    WHERE ts.program_id = t.program_id AND ts.tier = t.tier AND ts.effective_at <= coalesce(\(instant)::timestamptz, now())
                    ORDER BY ts.effective_at DESC LIMIT 1) AS s
                WHERE t.program_id = \(program.id)
                ORDER BY t.rank
                """).map { row in
                TierSettings(
                    tier: try row.decode(at: 0), rank: Int(try row.decode(Int16.self, at: 1)), effectiveAt: try row.decode(at: 2),
                    birthdayBonus: try row.decode(at: 3))
            }
        }
    }

    /// Changes a tier's birthday bonus from `effectiveAt` (default: now) on, recording who
    /// changed it, before and after.
    /// - Throws: `.invalidInput` for an unknown tier, a bonus out of range, or an effective time
    ///   in the past once the program has entries.
    public func changeTier(
        _ tier: String, in program: Program, birthdayBonus: Int64, effectiveAt: Timestamp? = nil, actor: String
    ) async throws -> SettingsChangeOutcome {
        guard (0...1_000_000_000).contains(birthdayBonus) else {
            throw LedgerError.invalidInput(field: "birthday bonus", reason: "\(birthdayBonus) must be between 0 and 1000000000 points")
        }
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        return try await recordChange(
            """
            SELECT status, effective_at FROM points.set_tier(
                \(program.id), \(tier), \(birthdayBonus), coalesce(\(effectiveAt)::timestamptz, now()), \(actor))
            """,
            inPast: "a tier cannot change in the past once the program has entries; give a time from now on",
            refusals: ["unknown_tier": .invalidInput(
                field: "tier", reason: "\"\(tier)\" is not a tier of this program; its tiers are \(program.tiers.joined(separator: ", "))")])
    }
}
