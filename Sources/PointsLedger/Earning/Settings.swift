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
                SELECT nullif(effective_at, '-infinity') AS effective_at, earn_rate, rounding,
                       return_window_days, refund_policy, expiry_kind, expiry_count, referral_bonus, backdate_days,
                       tier_period, downgrade, point_value
                FROM points.settings_at(\(program.id), coalesce(\(instant)::timestamptz, now()))
                """).single().decode(SettingsRow.self)
            func known<Value>(_ value: Value?, _ column: String, _ text: String) throws -> Value {
                guard let value else { throw LedgerError.unexpectedAnswer(function: "settings_at", status: "\(column) \(text)") }
                return value
            }
            return ProgramSettings(
                effectiveAt: row.effectiveAt, earnRate: row.earnRate,
                rounding: try known(RoundingMode(rawValue: row.rounding), "rounding", row.rounding), returnWindowDays: row.returnWindowDays,
                refundPolicy: try known(RefundPolicy(rawValue: row.refundPolicy), "refund_policy", row.refundPolicy),
                expiry: try ExpiryPolicy.parse(row.expiryCount.map { "\(row.expiryKind) \($0)" } ?? row.expiryKind),
                referralBonus: row.referralBonus, backdateDays: row.backdateDays,
                tierPeriod: try known(TierPeriod(rawValue: row.tierPeriod), "tier_period", row.tierPeriod),
                downgrade: try known(DowngradePolicy(databaseValue: row.downgrade), "downgrade", row.downgrade),
                pointValue: row.pointValue)
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
            SetProgramSettingsStatus.self,
            """
            SELECT status, nullif(effective_at, '-infinity') AS effective_at FROM points.set_program_settings(
                \(program.id), \(change.json)::jsonb, coalesce(\(effectiveAt)::timestamptz, now()), \(actor))
            """,
            inPast: "settings cannot take effect in the past once the program has entries; give a time from now on",
            refusal: { status, _ in
                status == .tierPeriodMidYear
                    ? .invalidInput(
                        field: "tier period",
                        reason: "once the program has entries, the tier period changes only at the start of a year in the program's time zone; make it effective at a 1 January, 00:00")
                    : nil
            })
    }

    /// Runs a configuration change (program settings, a task, a tier) and reads its outcome:
    /// changed, unchanged, a status `refusal` turns into an error (looking up what its message
    /// needs only then), or else in the past, refused with `inPast`.
    func recordChange<Status: SettingsChangeStatus>(
        _ status: Status.Type, _ query: PostgresQuery, inPast: String,
        refusal: (Status, _ detail: String?) async throws -> LedgerError? = { _, _ in nil }
    ) async throws -> SettingsChangeOutcome {
        let answer = try await call(SettingsChangeAnswer<Status>.self, query)
        switch answer.status {
        case .changed: return .changed(effectiveAt: try answer.required(\.effectiveAt))
        case .unchanged: return .unchanged
        default: throw try await refusal(answer.status, answer.detail) ?? LedgerError.invalidInput(field: "effective time", reason: inPast)
        }
    }

    /// Reads a time as a user writes it: ISO 8601 with a zone (`2026-11-22T10:00:00+08:00`,
    /// `…Z`) is that instant; without one (`2026-11-22 10:00`, `2026-11-22`) it is the program's
    /// local time; `now` (in any case) is the present moment.
    /// - Throws: `LedgerError.invalidInput` naming `field`.
    public func instant(_ text: String, in program: Program, field: String) async throws -> Timestamp {
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "now" { return .now }
        guard let normalised = TimeText.normalise(text.trimmingCharacters(in: .whitespaces)) else {
            throw LedgerError.invalidInput(
                field: field,
                reason: "\(TextRules.shown(text)) is not a time from the years 1900 to 9999; write it like 2026-11-22 10:00 (program time), 2026-11-22T02:00:00Z or now")
        }
        let hasZone = TimeText.hasZone(normalised)
        return try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT CASE WHEN \(hasZone) THEN \(normalised)::timestamptz ELSE \(normalised)::timestamp AT TIME ZONE \(program.timeZone) END
                    AS instant
                """).single().decode(Timestamp.self, column: "instant")
        }
    }
}

/// The statuses of a configuration change (program settings, a task, a tier): each has these
/// three, and may have refusals of its own.
protocol SettingsChangeStatus: LedgerStatus {
    static var changed: Self { get }
    static var unchanged: Self { get }
    static var inPast: Self { get }
}

/// The row a configuration change answers with: its status, when the change takes effect, and
/// for some refusals a detail.
struct SettingsChangeAnswer<Status: SettingsChangeStatus>: Decodable, LedgerAnswer {
    let status: Status
    let effectiveAt: Timestamp?
    let detail: String?
}

/// What `points.set_program_settings` answers (Schema/functions/earning/settings.sql).
enum SetProgramSettingsStatus: String, SettingsChangeStatus {
    case changed, unchanged, inPast = "in_past", tierPeriodMidYear = "tier_period_mid_year"
    static let function = "set_program_settings"
}

/// The program's settings as `points.settings_at` reads them.
private struct SettingsRow: Decodable {
    let effectiveAt: Timestamp?
    let earnRate: Decimal
    let rounding: String
    let returnWindowDays: Int
    let refundPolicy: String
    let expiryKind: String
    let expiryCount: Int?
    let referralBonus: Int64
    let backdateDays: Int
    let tierPeriod: String
    let downgrade: String
    let pointValue: Decimal
}
