public import Postgres

/// A refund of part or all of an order.
public struct RefundRequest: Sendable, Hashable {
    public var order: String
    /// The refund's own id: its idempotency key within the program.
    public var refund: String
    public var amount: Money
    public var occurredAt: Timestamp?
    public var backdated: Bool

    public init(order: String, refund: String, amount: Money, occurredAt: Timestamp? = nil, backdated: Bool = false) {
        self.order = order
        self.refund = refund
        self.amount = amount
        self.occurredAt = occurredAt
        self.backdated = backdated
    }
}

/// What a refund clawed back, and from where, and the points paid on the order it returned.
public struct RefundResult: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let entryID: Int64
    public let member: String
    /// Points taken back by this refund (on a replay: what the original took back).
    public let clawedBack: Int64
    public let fromPending: Int64
    public let fromAvailable: Int64
    /// The part the member no longer had, forgiven under the `write_off` policy.
    public let writtenOff: Int64
    /// Points paid on the order (holds captured for it) that this refund returned, in proportion
    /// to the amount refunded; of them, `pointsReturnedExpired` came back from lots already
    /// past their expiry, and expired at once.
    public let pointsReturned: Int64
    public let pointsReturnedExpired: Int64
    /// Refunds of the order so far, and the order's amount.
    public let refunded: Money
    public let orderAmount: Money
    /// The member's tier after this refund undid an upgrade of the purchase's period, if it did.
    public let tierAfter: String?
}

extension Ledger {
    /// Refunds part or all of an order: one round trip. The order's clawback is cumulative
    /// (`floor(P × R / A)` after refunds totalling R), taken from its pending points first.
    /// Idempotent by refund id.
    /// - Throws: `.notFound(.order, …)`; `.refused(.exceedsOrder)` for a refund beyond what is
    ///   left of the order; `.invalidInput` for a malformed amount or time; `.idempotencyConflict`.
    public func refund(_ request: RefundRequest, in program: Program) async throws -> RefundResult {
        try Validate.reference(request.order, field: "order")
        try Validate.reference(request.refund, field: "refund")
        try Validate.amount(request.amount, in: program, field: "amount")
        let answer = try await call(RefundAnswer.self, """
            SELECT * FROM points.refund(\(program.id), \(request.order), \(request.refund), \(request.amount.minorUnits),
                                    \(request.occurredAt), \(request.backdated))
            """)
        let window = try await backdateWindow(for: answer.status, program)
        return try Self.refund(answer, request: request, program: program, window: window)
    }

    /// What `points.refund` answered, as the caller reads it: the refund, or the refusal.
    /// `window`: the program's back-dating window in days, named by a time refusal.
    static func refund(_ answer: RefundAnswer, request: RefundRequest, program: Program, window: BackdateWindow) throws -> RefundResult {
        switch answer.status {
        case .refunded, .replayed:
            let exponent = program.currencyExponent
            return RefundResult(
                outcome: answer.status == .refunded ? .posted : .replayed, entryID: try answer.required(\.entryID),
                member: try answer.required(\.memberID), clawedBack: try answer.required(\.clawedBack),
                fromPending: try answer.required(\.fromPending), fromAvailable: try answer.required(\.fromAvailable),
                writtenOff: try answer.required(\.writtenOff), pointsReturned: try answer.required(\.returned),
                pointsReturnedExpired: try answer.required(\.returnedExpired),
                refunded: Money(minorUnits: try answer.required(\.refundedMinor), exponent: exponent),
                orderAmount: Money(minorUnits: try answer.required(\.orderAmountMinor), exponent: exponent), tierAfter: answer.tier)
        case .conflict:
            throw LedgerError.idempotencyConflict(key: request.refund, existing: .entry(try answer.required(\.entryID)))
        case .unknownOrder:
            throw LedgerError.notFound(.order, id: request.order)
        case .exceedsOrder:
            let exponent = program.currencyExponent
            let refunded = Money(minorUnits: try answer.required(\.refundedMinor), exponent: exponent)
            let amount = Money(minorUnits: try answer.required(\.orderAmountMinor), exponent: exponent)
            let left = Money(minorUnits: amount.minorUnits - refunded.minorUnits, exponent: exponent)
            throw LedgerError.refused(
                .exceedsOrder(order: request.order, requested: request.amount, left: left, amount: amount, refunded: refunded))
        case .beforePurchase:
            throw LedgerError.invalidInput(field: "occurred at", reason: "a refund cannot happen before its purchase")
        case .inFuture, .tooOld, .beforeSettings:
            throw timeRefusal(answer.status, occurredAt: request.occurredAt, window: window)
        }
    }
}

/// The row `points.refund` answers with (Schema/functions/earning/refund.sql).
struct RefundAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case refunded, replayed, conflict
        case unknownOrder = "unknown_order", exceedsOrder = "exceeds_order", beforePurchase = "before_purchase"
        case inFuture = "in_future", tooOld = "too_old", beforeSettings = "before_settings"
        static let function = "refund"
    }

    let status: Status
    let entryID: Int64?
    let memberID: String?
    let clawedBack: Int64?
    let fromPending: Int64?
    let fromAvailable: Int64?
    let writtenOff: Int64?
    let refundedMinor: Int64?
    let orderAmountMinor: Int64?
    let tier: String?
    let returned: Int64?
    let returnedExpired: Int64?
}
