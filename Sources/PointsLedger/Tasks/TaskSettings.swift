import Foundation
public import Postgres

/// A streak bonus: on the day a check-in streak reaches `days`, it pays `points` more.
public struct StreakRule: Sendable, Hashable, Codable, CustomStringConvertible {
    public let days: Int
    public let points: Int64

    public init(days: Int, points: Int64) {
        self.days = days
        self.points = points
    }

    /// Parses `DAYS:POINTS`, such as `7:20`.
    public static func parse(_ text: String) throws(LedgerError) -> StreakRule {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let days = Int(parts[0]), let points = Int64(parts[1]), (1...366).contains(days),
            (0...1_000_000_000).contains(points)
        else {
            throw .invalidInput(
                field: "streak", reason: "\"\(text)\" is not a streak rule: write DAYS:POINTS, such as 7:20 (days 1 to 366, points 0 or more)")
        }
        return StreakRule(days: days, points: points)
    }

    public var description: String { "\(days):\(points)" }
}

/// A task's settings, as in force from `effectiveAt` (RULES.md: Tasks). Caps are per member and
/// count completions that earned, in the program's local day, week (from Monday) and month.
public struct TaskSettings: Sendable, Hashable, Codable {
    public let task: String
    /// When this version took effect (nil: from the beginning).
    public let effectiveAt: Timestamp?
    /// Points per completion.
    public let points: Int64
    /// Completions that earn per day, week and month; nil: no cap.
    public let capDay: Int?
    public let capWeek: Int?
    public let capMonth: Int?
    /// Whether its points count toward tier qualification.
    public let qualifying: Bool
    public let active: Bool
    /// Whether its points are multiplied by the member's tier multiplier.
    public let tierMultiplier: Bool
    /// Check-in only: the bonuses of streak lengths, and the cycle after which they repeat.
    public let streak: [StreakRule]
    public let streakCycle: Int?
}

/// A change to some of a task's settings; the rest keep their values. A new task needs `points`.
public struct TaskChange: Sendable, Hashable {
    public var points: Int64?
    /// `.some(nil)` removes the cap.
    public var capDay: Int??
    public var capWeek: Int??
    public var capMonth: Int??
    public var qualifying: Bool?
    public var active: Bool?
    public var tierMultiplier: Bool?
    /// Replaces the streak rules (an empty list removes them).
    public var streak: [StreakRule]?
    /// `.some(nil)` removes the cycle.
    public var streakCycle: Int??

    public init(
        points: Int64? = nil, capDay: Int?? = nil, capWeek: Int?? = nil, capMonth: Int?? = nil, qualifying: Bool? = nil,
        active: Bool? = nil, streak: [StreakRule]? = nil, streakCycle: Int?? = nil, tierMultiplier: Bool? = nil
    ) {
        self.tierMultiplier = tierMultiplier
        self.points = points
        self.capDay = capDay
        self.capWeek = capWeek
        self.capMonth = capMonth
        self.qualifying = qualifying
        self.active = active
        self.streak = streak
        self.streakCycle = streakCycle
    }

    public var isEmpty: Bool { self == TaskChange() }

    /// Checks each value, naming the field and its range.
    func validate(task: String) throws(LedgerError) {
        if let points, !(0...1_000_000_000).contains(points) {
            throw .invalidInput(field: "points", reason: "\(points) must be between 0 and 1000000000")
        }
        for (name, cap) in [("day cap", capDay), ("week cap", capWeek), ("month cap", capMonth)] {
            if case .some(.some(let value)) = cap, value < 0 {
                throw .invalidInput(field: name, reason: "\(value) must be 0 or more completions (or none for no cap)")
            }
        }
        if task != "checkin", streak?.isEmpty == false || streakCycle != nil {
            throw .invalidInput(field: "streak", reason: "only the checkin task has streak bonuses")
        }
        if let streak {
            let days = streak.map(\.days)
            if Set(days).count != days.count {
                throw .invalidInput(field: "streak", reason: "each streak length may have one bonus; \(streak.map(\.description).joined(separator: ", ")) repeats one")
            }
        }
        if case .some(.some(let cycle)) = streakCycle, !(1...366).contains(cycle) {
            throw .invalidInput(field: "streak cycle", reason: "\(cycle) days must be between 1 and 366")
        }
    }

    /// The change as the database's column names and JSON values.
    var json: PostgresJSON {
        var members: [String] = []
        func add(_ key: String, _ value: String) { members.append("\"\(key)\": \(value)") }
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "null" }
        if let points { add("points", "\(points)") }
        if let capDay { add("cap_day", optional(capDay)) }
        if let capWeek { add("cap_week", optional(capWeek)) }
        if let capMonth { add("cap_month", optional(capMonth)) }
        if let qualifying { add("qualifying", "\(qualifying)") }
        if let active { add("active", "\(active)") }
        if let tierMultiplier { add("tier_multiplier", "\(tierMultiplier)") }
        if let streak {
            let sorted = streak.sorted { $0.days < $1.days }
            add("streak_days", "[" + sorted.map { "\($0.days)" }.joined(separator: ", ") + "]")
            add("streak_points", "[" + sorted.map { "\($0.points)" }.joined(separator: ", ") + "]")
        }
        if let streakCycle { add("streak_cycle", optional(streakCycle)) }
        return PostgresJSON(text: "{" + members.joined(separator: ", ") + "}")
    }
}

/// Task codes: a lowercase letter, then up to 31 lowercase letters, digits, `_` or `-`.
enum TaskCode {
    static func validate(_ code: String) throws(LedgerError) {
        guard Validate.isCode(code) else {
            throw .invalidInput(
                field: "task", reason: "\"\(code)\" is not a task code: use a lowercase letter, then up to 31 lowercase letters, digits, '_' or '-'")
        }
    }
}

extension Ledger {
    /// The tasks in force at `instant` (default: now), by code.
    public func tasks(of program: Program, at instant: Timestamp? = nil) async throws -> [TaskSettings] {
        try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT DISTINCT ON (task) task, nullif(effective_at, '-infinity') AS since,
                       points, cap_day, cap_week, cap_month, qualifying, active, streak_days, streak_points, streak_cycle,
                       tier_multiplier
                FROM points.task_settings
                WHERE program_id = \(program.id) AND effective_at <= coalesce(\(instant)::timestamptz, now())
                ORDER BY task, effective_at DESC
                """).decode(TaskSettingsRow.self).map { row in
                TaskSettings(
                    task: row.task, effectiveAt: row.since, points: row.points, capDay: row.capDay, capWeek: row.capWeek,
                    capMonth: row.capMonth, qualifying: row.qualifying, active: row.active, tierMultiplier: row.tierMultiplier,
                    streak: zip(row.streakDays, row.streakPoints).map { StreakRule(days: $0, points: $1) }, streakCycle: row.streakCycle)
            }
        }
    }

    /// Changes a task (or creates a custom one, given its points) from `effectiveAt` (default:
    /// now) on, recording who changed what, before and after. Completions at or after that time
    /// use the new values.
    /// - Throws: `.invalidInput` for a malformed code or value, an unknown task without points,
    ///   or an effective time in the past once the program has entries.
    public func changeTask(
        _ task: String, in program: Program, _ change: TaskChange, effectiveAt: Timestamp? = nil, actor: String
    ) async throws -> SettingsChangeOutcome {
        try TaskCode.validate(task)
        guard !change.isEmpty else { throw LedgerError.invalidInput(field: "task settings", reason: "no setting was given to change") }
        try change.validate(task: task)
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        return try await recordChange(
            SetTaskStatus.self,
            """
            SELECT status, nullif(effective_at, '-infinity') AS effective_at FROM points.set_task(
                \(program.id), \(task), \(change.json)::jsonb, coalesce(\(effectiveAt)::timestamptz, now()), \(actor))
            """,
            inPast: "a task cannot change in the past once the program has entries; give a time from now on",
            refusal: { status, _ in
                status == .unknownTask
                    ? .invalidInput(field: "task", reason: "\"\(task)\" does not exist yet; create it by giving its points")
                    : nil
            })
    }
}

/// A version of a task's settings as `tasks(of:at:)` reads it.
private struct TaskSettingsRow: Decodable {
    let task: String
    /// When this version took effect (nil: from the beginning).
    let since: Timestamp?
    let points: Int64
    let capDay: Int?
    let capWeek: Int?
    let capMonth: Int?
    let qualifying: Bool
    let active: Bool
    let streakDays: [Int]
    let streakPoints: [Int64]
    let streakCycle: Int?
    let tierMultiplier: Bool
}

/// What `points.set_task` answers (Schema/functions/tasks/task_settings.sql).
enum SetTaskStatus: String, SettingsChangeStatus {
    case changed, unchanged, inPast = "in_past", unknownTask = "unknown_task"
    static let function = "set_task"
}
