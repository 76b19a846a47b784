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

/// What a refund clawed back, and from where.
public struct RefundResult: Sendable, Hashable, Codable {
    public let outcome: PostingResult.Outcome
    public let entryID: Int64
    public let member: String
    /// Points taken back by this refund (nil on a replay).
    public let clawedBack: Int64?
    public let fromPending: Int64?
    public let fromAvailable: Int64?
    /// The part the member no longer had, forgiven under the `write_off` policy.
    public let writtenOff: Int64?
    /// Refunds of the order so far, and the order's amount, in minor units.
    public let refundedMinor: Int64
    public let orderAmountMinor: Int64
    /// The member's tier after this refund undid an upgrade of the purchase's period, if it did.
    public let tierAfter: String?
}

extension Ledger {
    /// Refunds part or all of an order: one round trip. The order's clawback is cumulative
    /// (`floor(P × R / A)` after refunds totalling R), taken from its pending points first.
    /// Idempotent by refund id.
    /// - Throws: `.invalidInput` for an unknown order, a refund beyond what is left of the
    ///   order, a malformed amount or time; `.idempotencyConflict`.
    public func refund(_ request: RefundRequest, in program: Program) async throws -> RefundResult {
        try Validate.reference(request.order, field: "order")
        try Validate.reference(request.refund, field: "refund")
        try Validate.amount(request.amount, in: program, field: "amount")
        let row = try await callReturningRow("""
            SELECT status, entry_id, member_id, clawed_back, from_pending, from_available, written_off,
                   refunded_minor, order_amount_minor, tier
            FROM points.refund(\(program.id), \(request.order), \(request.refund), \(request.amount.minorUnits),
                           \(request.occurredAt), \(request.backdated))
            """)
        let status: String = try row.decode(at: 0)
        let exponent = program.currencyExponent
        switch status {
        case "refunded", "replayed":
            return RefundResult(
                outcome: status == "refunded" ? .posted : .replayed, entryID: try row.decode(at: 1), member: try row.decode(at: 2),
                clawedBack: try row.decode(at: 3), fromPending: try row.decode(at: 4), fromAvailable: try row.decode(at: 5),
                writtenOff: try row.decode(at: 6), refundedMinor: try row.decode(at: 7), orderAmountMinor: try row.decode(at: 8),
                tierAfter: try row.decode(at: 9))
        case "conflict":
            throw LedgerError.idempotencyConflict(key: request.refund, entryID: try row.decode(at: 1))
        case "unknown_order":
            throw LedgerError.invalidInput(field: "order", reason: "no purchase with order id \"\(request.order)\" exists in this program")
        case "exceeds_order":
            let refunded = Money(minorUnits: try row.decode(at: 7), exponent: exponent)
            let amount = Money(minorUnits: try row.decode(at: 8), exponent: exponent)
            let left = Money(minorUnits: amount.minorUnits - refunded.minorUnits, exponent: exponent)
            throw LedgerError.invalidInput(
                field: "amount", reason: "\(request.amount) is more than what is left of order \(request.order): \(left) of \(amount) (\(refunded) refunded)")
        case "before_purchase":
            throw LedgerError.invalidInput(field: "occurred at", reason: "a refund cannot happen before its purchase")
        default:
            throw try await timeError(status, occurredAt: request.occurredAt, program: program)
        }
    }
}
