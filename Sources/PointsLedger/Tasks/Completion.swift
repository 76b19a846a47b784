import Foundation
public import Postgres

/// A task completion as an app reports it.
public struct TaskCompletionRequest: Sendable, Hashable {
    public var task: String
    public var member: String
    /// The app's reference for this completion (a post id, a share id): with the task, the
    /// idempotency key. A check-in's reference is its local date (`2026-11-22`) and may be left out.
    public var ref: String?
    /// When it happened (default: now); within the back-dating window unless `backdated`.
    public var occurredAt: Timestamp?
    /// A permission, recorded on the entry, to load a completion older than the program's
    /// back-dating window (a program moving its history in).
    public var backdated: Bool

    public init(task: String, member: String, ref: String? = nil, occurredAt: Timestamp? = nil, backdated: Bool = false) {
        self.task = task
        self.member = member
        self.ref = ref
        self.occurredAt = occurredAt
        self.backdated = backdated
    }
}

/// What a completion earned.
public struct TaskCompletionResult: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let entryID: Int64
    /// The task's points (0 when a cap was full), the streak bonus apart.
    public let points: Int64
    public let streakBonus: Int64
    /// Check-ins: the days in a row this check-in makes.
    public let streak: Int?
    /// The cap that was already full (`day`, `week` or `month`): this completion earned nothing.
    public let cappedBy: String?
    /// Whether a cap is now full, so that another completion in the same period earns nothing
    /// (nil on a replay).
    public let capReached: Bool?
    /// The member's available balance after the completion.
    public let available: Int64
    /// The completion's day in the program's time zone (`2026-11-22`).
    public let localDay: String
}

/// A task's use today by one member, against its caps.
public struct TaskProgress: Sendable, Hashable, Codable {
    public let task: String
    public let points: Int64
    /// Completions that earned today, this week and this month.
    public let today: Int
    public let thisWeek: Int
    public let thisMonth: Int
    public let capDay: Int?
    public let capWeek: Int?
    public let capMonth: Int?
    public let active: Bool
}

/// A member's check-in streak: days in a row up to today (or up to yesterday, when today's
/// check-in is still to come).
public struct CheckinStreak: Sendable, Hashable, Codable {
    public let days: Int
    public let lastCheckin: String?
    public let checkedInToday: Bool
}

extension Ledger {
    /// Records a task completion: one round trip. Idempotent by (task, ref); a check-in by
    /// (member, local date). A completion beyond a cap is recorded and earns nothing: a normal
    /// result, not an error.
    /// - Throws: `.notFound(.member or .task, …)`, `.invalidInput` (an inactive task, a check-in ref
    ///   that is not its local date, a time outside the back-dating window or in the future),
    ///   `.idempotencyConflict`.
    public func completeTask(_ request: TaskCompletionRequest, in program: Program) async throws -> TaskCompletionResult {
        try TaskCode.validate(request.task)
        try Validate.memberID(request.member)
        // Its key is the task's code, a colon and the ref: at most 200 characters in all.
        if let ref = request.ref { try Validate.id(ref, field: "ref", noun: "a reference", maximumLength: 160) }
        let answer = try await call(CompleteTaskAnswer.self, """
            SELECT status, entry_id, points, streak_bonus, streak, capped_by, cap_reached, available,
                   to_char(local_day, 'YYYY-MM-DD') AS local_day
            FROM points.complete_task(\(program.id), \(request.member), \(request.task), \(request.ref), \(request.occurredAt),
                                      \(request.backdated))
            """)
        let window = try await backdateWindow(for: answer.status, program)
        return try Self.completion(answer, request: request, window: window)
    }

    /// What `points.complete_task` answered, as the caller reads it: the completion, or the
    /// refusal. `window`: the program's back-dating window in days, named by a time refusal.
    static func completion(_ answer: CompleteTaskAnswer, request: TaskCompletionRequest, window: BackdateWindow) throws -> TaskCompletionResult {
        switch answer.status {
        case .completed, .replayed:
            return TaskCompletionResult(
                outcome: answer.status == .completed ? .posted : .replayed, entryID: try answer.required(\.entryID),
                points: try answer.required(\.points), streakBonus: try answer.required(\.streakBonus), streak: answer.streak,
                cappedBy: answer.cappedBy, capReached: answer.capReached, available: try answer.required(\.available),
                localDay: try answer.required(\.localDay))
        case .conflict:
            throw LedgerError.idempotencyConflict(
                key: "\(request.task) \(request.ref ?? "")", existing: .entry(try answer.required(\.entryID)))
        case .unknownMember:
            throw LedgerError.notFound(.member, id: request.member)
        case .unknownTask:
            throw LedgerError.notFound(.task, id: request.task)
        case .inactive:
            throw LedgerError.invalidInput(
                field: "task", reason: "\"\(request.task)\" is inactive at that time; an admin can make it active again")
        case .badRef:
            if request.task == "checkin" {
                throw LedgerError.invalidInput(
                    field: "ref",
                    reason: "a check-in's ref is its local date, \(try answer.required(\.localDay)) for that time, not \"\(request.ref ?? "")\"; leave it out")
            }
            throw LedgerError.invalidInput(field: "ref", reason: "a \(request.task) completion needs the app's reference for it")
        case .inFuture, .tooOld, .beforeSettings:
            throw timeRefusal(answer.status, occurredAt: request.occurredAt, window: window)
        }
    }

    /// The member's use of each task today, this week and this month, in the program's time zone.
    /// - Throws: `.notFound(.member, …)`.
    public func taskProgress(of member: String, in program: Program) async throws -> [TaskProgress] {
        try Validate.memberID(member)
        return try await withConnection { connection in
            _ = try Self.loadMember(member, program: program, connection: connection)
            return try connection.preparedQuery("""
                WITH today AS (SELECT (now() AT TIME ZONE \(program.timeZone))::date AS day),
                settings AS (
                    SELECT DISTINCT ON (task) * FROM points.task_settings
                    WHERE program_id = \(program.id) AND effective_at <= now() ORDER BY task, effective_at DESC)
                SELECT s.task, s.points,
                       count(c.entry_id) FILTER (WHERE c.local_day = t.day) AS today,
                       count(c.entry_id) FILTER (WHERE c.local_day >= date_trunc('week', t.day)) AS this_week,
                       count(c.entry_id) AS this_month,
                       s.cap_day, s.cap_week, s.cap_month, s.active
                FROM settings AS s CROSS JOIN today AS t
                LEFT JOIN points.task_completions AS c
                    ON c.program_id = s.program_id AND c.member_id = \(member) AND c.task = s.task AND c.capped_by IS NULL
                   AND c.local_day >= date_trunc('month', t.day) AND c.local_day <= t.day
                GROUP BY s.task, s.points, s.cap_day, s.cap_week, s.cap_month, s.active
                ORDER BY s.task
                """).decode(TaskProgress.self)
        }
    }

    /// The member's current check-in streak.
    public func checkinStreak(of member: String, in program: Program) async throws -> CheckinStreak {
        try Validate.memberID(member)
        return try await call(CheckinStreak.self, """
            WITH today AS (SELECT (now() AT TIME ZONE \(program.timeZone))::date AS day)
            SELECT coalesce((SELECT c.streak FROM points.task_completions AS c, today AS t
                         WHERE c.program_id = \(program.id) AND c.member_id = \(member) AND c.task = 'checkin'
                               AND c.local_day >= t.day - 1 AND c.local_day <= t.day
                             ORDER BY c.local_day DESC LIMIT 1), 0) AS days,
                   (SELECT to_char(max(c.local_day), 'YYYY-MM-DD') FROM points.task_completions AS c
                    WHERE c.program_id = \(program.id) AND c.member_id = \(member) AND c.task = 'checkin') AS last_checkin,
                   EXISTS (SELECT 1 FROM points.task_completions AS c, today AS t
                           WHERE c.program_id = \(program.id) AND c.member_id = \(member) AND c.task = 'checkin' AND c.local_day = t.day)
                       AS checked_in_today
            """)
    }
}

/// The row `points.complete_task` answers with (Schema/functions/tasks/completion.sql).
struct CompleteTaskAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case completed, replayed, conflict, unknownMember = "unknown_member", unknownTask = "unknown_task", inactive
        case badRef = "bad_ref", inFuture = "in_future", tooOld = "too_old", beforeSettings = "before_settings"
        static let function = "complete_task"
    }

    let status: Status
    let entryID: Int64?
    let points: Int64?
    let streakBonus: Int64?
    let streak: Int?
    let cappedBy: String?
    let capReached: Bool?
    let available: Int64?
    let localDay: String?
}
