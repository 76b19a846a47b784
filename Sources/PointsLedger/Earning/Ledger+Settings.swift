import Foundation
public import Postgres

/// What `changeSettings` did.
public enum SettingsChangeOutcome: Sendable, Hashable {
    /// A new version takes effect at `effectiveAt`.
    case changed(effectiveAt: Timestamp)
    /// The values asked for were already in force; nothing was recorded.
    case unchanged

    public var isChanged: Bool {
        if case .changed = self { true } else { false }
    }
}

extension Ledger {
    /// The program's settings in force at `instant` (default: now).
    public func settings(of program: Program, at instant: Timestamp? = nil) async throws -> ProgramSettings {
        try await withConnection { connection in
            let row = try connection.preparedQuery("""
                SELECT nullif(effective_at, '-infinity'), earn_rate, rounding,
                       return_window_days, refund_policy, expiry_kind, expiry_count, referral_bonus, backdate_days,
                       tier_period, downgrade, point_value
                FROM points.settings_at(\(program.id), coalesce(\(instant)::timestamptz, now()))
                """).single()
            let kind: String = try row.decode(at: 5)
            let count: Int? = try row.decode(at: 6)
            return ProgramSettings(
                effectiveAt: try row.decode(at: 0), earnRate: try row.decode(at: 1),
                rounding: RoundingMode(rawValue: try row.decode(at: 2))!, returnWindowDays: try row.decode(at: 3),
                refundPolicy: RefundPolicy(rawValue: try row.decode(at: 4))!,
                expiry: try ExpiryPolicy.parse(count.map { "\(kind) \($0)" } ?? kind),
                referralBonus: try row.decode(at: 7), backdateDays: try row.decode(at: 8),
                tierPeriod: TierPeriod(rawValue: try row.decode(at: 9))!, downgrade: DowngradePolicy(databaseValue: try row.decode(at: 10))!,
                pointValue: try row.decode(at: 11))
        }
    }

    /// Changes some settings from `effectiveAt` (default: now) on, recording who changed what,
    /// before and after. Postings whose occurred_at is at or after that time use the new values.
    /// - Throws: `LedgerError.invalidInput` for a value out of range, or for an effective time
    ///   in the past once the program has entries (their meaning never changes).
    public func changeSettings(
        of program: Program, _ change: SettingsChange, effectiveAt: Timestamp? = nil, actor: String
    ) async throws -> SettingsChangeOutcome {
        guard !change.isEmpty else {
            throw LedgerError.invalidInput(field: "settings", reason: "no setting was given to change")
        }
        try change.validate()
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        return try await recordChange(
            """
            SELECT status, effective_at FROM points.set_program_settings(
                \(program.id), \(change.json)::jsonb, coalesce(\(effectiveAt)::timestamptz, now()), \(actor))
            """,
            inPast: "settings cannot take effect in the past once the program has entries; give a time from now on",
            refusal: { status in
                status == "tier_period_mid_year"
                    ? .invalidInput(
                        field: "tier period",
                        reason: "once the program has entries, the tier period changes only at the start of a year in the program's time zone; give --effective-at with a 1 January, 00:00")
                    : nil
            })
    }

    /// Runs a configuration change (program settings, a task, a tier) and reads its outcome:
    /// 'changed', 'unchanged', a status `refusal` turns into an error (looking up what its message
    /// needs only then), or else 'in_past', refused with `inPast`.
    func recordChange(
        _ query: PostgresQuery, inPast: String, refusal: (String) async throws -> LedgerError? = { _ in nil }
    ) async throws -> SettingsChangeOutcome {
        let row = try await withConnection { connection in try connection.query(query).single() }
        let status = try row.decode(String.self, at: 0)
        switch status {
        case "changed": return .changed(effectiveAt: try row.decode(at: 1))
        case "unchanged": return .unchanged
        default: throw try await refusal(status) ?? LedgerError.invalidInput(field: "effective time", reason: inPast)
        }
    }

    /// Reads a time as a user writes it: ISO 8601 with a zone (`2026-11-22T10:00:00+08:00`,
    /// `…Z`) is that instant; without one (`2026-11-22 10:00`, `2026-11-22`) it is the program's
    /// local time.
    /// - Throws: `LedgerError.invalidInput` naming `field`.
    public func instant(_ text: String, in program: Program, field: String) async throws -> Timestamp {
        guard let normalised = TimeText.normalise(text.trimmingCharacters(in: .whitespaces)) else {
            throw LedgerError.invalidInput(
                field: field,
                reason: "\(TextRules.shown(text)) is not a time from the years 1900 to 9999; write it like 2026-11-22 10:00 (program time) or 2026-11-22T02:00:00Z")
        }
        let hasZone = TimeText.hasZone(normalised)
        return try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT CASE WHEN \(hasZone) THEN \(normalised)::timestamptz ELSE \(normalised)::timestamp AT TIME ZONE \(program.timeZone) END
                """).single().decode(Timestamp.self, at: 0)
        }
    }
}
