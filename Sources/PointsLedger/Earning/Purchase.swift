public import Postgres

/// A purchase as a checkout system reports it.
public struct PurchaseRequest: Sendable, Hashable {
    public var member: String
    /// The order id: the purchase's idempotency key within the program.
    public var order: String
    /// The order's amount, in the program's currency.
    public var amount: Money
    /// The part paid with points, which earns nothing.
    public var pointsPaid: Money?
    /// When it happened (default: now). Older than the back-dating window needs `backdated`.
    public var occurredAt: Timestamp?
    /// Recorded permission to be older than the back-dating window (loading history).
    public var backdated: Bool

    public init(
        member: String, order: String, amount: Money, pointsPaid: Money? = nil, occurredAt: Timestamp? = nil,
        backdated: Bool = false
    ) {
        self.member = member
        self.order = order
        self.amount = amount
        self.pointsPaid = pointsPaid
        self.occurredAt = occurredAt
        self.backdated = backdated
    }
}

/// What a purchase earned.
public struct PurchaseResult: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let entryID: Int64
    /// Points earned (0 when nothing was eligible).
    public let points: Int64
    /// When the points become spendable; nil when they were available at once.
    public let maturesAt: Timestamp?
    /// The referrer's bonus entry, when this first purchase paid one.
    public let referralEntryID: Int64?
    public let available: Int64
    public let pending: Int64
    /// The tier this purchase moved the member up to, if it did (it earned at the old tier's
    /// multiplier).
    public let upgradedTo: String?
}

extension Ledger {
    /// Posts a purchase: one round trip. Idempotent by order id: the same order with the same
    /// content returns the original entry; with other content it throws `.idempotencyConflict`.
    /// - Throws: `.notFound(.member, …)`, `.invalidInput` (amounts, time outside the back-dating
    ///   window or in the future), `.idempotencyConflict`.
    public func purchase(_ request: PurchaseRequest, in program: Program) async throws -> PurchaseResult {
        try Validate.memberID(request.member)
        try Validate.reference(request.order, field: "order")
        try Validate.amount(request.amount, in: program, field: "amount")
        if let paid = request.pointsPaid {
            try Validate.amount(paid, in: program, field: "points paid", allowZero: true)
            guard paid.minorUnits <= request.amount.minorUnits else {
                throw LedgerError.invalidInput(field: "points paid", reason: "\(paid.grouped) is more than the order's amount \(request.amount.grouped)")
            }
        }
        let answer = try await call(PurchaseAnswer.self, """
            SELECT * FROM points.purchase(\(program.id), \(request.member), \(request.order), \(request.amount.minorUnits),
                                      \(request.pointsPaid?.minorUnits ?? 0), \(request.occurredAt), \(request.backdated))
            """)
        switch answer.status {
        case .posted, .replayed:
            return PurchaseResult(
                outcome: answer.status == .posted ? .posted : .replayed, entryID: try answer.required(\.entryID),
                points: try answer.required(\.points), maturesAt: answer.maturesAt, referralEntryID: answer.referralEntryID,
                available: try answer.required(\.available), pending: try answer.required(\.pending), upgradedTo: answer.upgradedTo)
        case .conflict:
            throw LedgerError.idempotencyConflict(key: request.order, existing: .entry(try answer.required(\.entryID)))
        case .unknownMember:
            throw LedgerError.notFound(.member, id: request.member)
        case .inFuture, .tooOld, .beforeSettings:
            throw Self.timeRefusal(answer.status, occurredAt: request.occurredAt, window: try await backdateWindow(program))
        }
    }

    /// The program's back-dating window when `status` refuses a time (its refusal names it), else
    /// an empty one: a write pays no round trip for it unless refused.
    func backdateWindow(for status: some LedgerStatus, _ program: Program) async throws -> BackdateWindow {
        guard TimeRefusal(rawValue: status.rawValue) != nil else { return BackdateWindow(days: 0, timeZone: program.timeZone) }
        return try await backdateWindow(program)
    }

    /// The program's back-dating window in force now, and the first moment a write may be dated.
    func backdateWindow(_ program: Program) async throws -> BackdateWindow {
        try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT (points.settings_at(\(program.id), now())).backdate_days AS days,
                       points.first_write_at(\(program.id)) AS first_write_at
                """).single().decode(BackdateWindowRow.self)
        }.window(timeZone: program.timeZone)
    }

    /// The error for an occurred-at time the database refused (`status`: 'in_future', 'too_old' or
    /// 'before_settings'), given the program's back-dating window: every write that can happen in
    /// the past takes the same explicit back-dating permission, and none is dated before the
    /// program's settings were first in force.
    static func timeRefusal(
        _ status: some LedgerStatus, occurredAt: Timestamp?, window: BackdateWindow, field: String = "occurred at"
    ) -> LedgerError {
        let when = occurredAt.map(window.clock.text) ?? "now"
        switch TimeRefusal(rawValue: status.rawValue) {
        case .inFuture:
            return .invalidInput(field: field, reason: "\(when) is more than 5 minutes in the future")
        case .tooOld:
            return .invalidInput(
                field: field,
                reason: "\(when) is older than the program's back-dating window of \(window.days) days; loading history needs an explicit back-dating permission")
        case .beforeSettings, nil:
            let first = window.firstWriteAt.map(window.clock.text) ?? "its creation"
            return .invalidInput(
                field: field,
                reason: "\(when) is before the program existed and before any settings it has, so only built-in defaults would apply; date it from \(first) on, or have an admin set the program's settings from an earlier moment before loading its history")
        }
    }
}

/// Why the database refused a write's time: the statuses every write that takes a time shares.
enum TimeRefusal: String {
    case inFuture = "in_future", tooOld = "too_old", beforeSettings = "before_settings"
}

/// A program's back-dating window, the first moment a write may be dated, and the zone its
/// refusals name times in (its clock is made only when a refusal needs it: every single write
/// carries a window).
struct BackdateWindow: Sendable {
    let days: Int
    let timeZone: String
    /// No write may be dated before this (`points.first_write_at`).
    var firstWriteAt: Timestamp? = nil
    var clock: LocalClock { LocalClock(timeZone: timeZone) }
}

private struct BackdateWindowRow: Decodable {
    let days: Int32?
    let firstWriteAt: Timestamp?

    func window(timeZone: String) -> BackdateWindow {
        BackdateWindow(days: Int(days ?? 0), timeZone: timeZone, firstWriteAt: firstWriteAt)
    }
}

/// The row `points.purchase` answers with (Schema/functions/earning/purchase.sql).
struct PurchaseAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case posted, replayed, conflict
        case unknownMember = "unknown_member", inFuture = "in_future", tooOld = "too_old", beforeSettings = "before_settings"
        static let function = "purchase"

    }

    let status: Status
    let entryID: Int64?
    let points: Int64?
    let maturesAt: Timestamp?
    let referralEntryID: Int64?
    let available: Int64?
    let pending: Int64?
    let upgradedTo: String?
}
