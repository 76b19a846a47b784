public import Postgres

/// An order as the ledger knows it: what it earned, what its refunds took back and what is still
/// refundable, and the points paid on it (holds captured for it) and returned by its refunds.
public struct Order: Sendable, Hashable, Encodable {
    public let order: String
    public let member: String
    /// The purchase's journal entry.
    public let entryID: Int64
    public let occurredAt: Timestamp
    public let amount: Money
    /// The part of the amount paid with points, which earned nothing.
    public let pointsPaid: Money
    public let refunded: Money
    /// What refunds may still take: the amount less what was refunded.
    public let refundable: Money
    /// Points the purchase earned, those still pending (until `maturesAt`), and those its refunds took back.
    public let points: Int64
    public let pendingPoints: Int64
    public let maturesAt: Timestamp?
    public let clawedBack: Int64
    /// Points captured for the order by holds, and those its refunds returned.
    public let pointsCaptured: Int64
    public let pointsReturned: Int64
    /// Its refunds, oldest first.
    public let refunds: [Refund]

    /// One refund of an order.
    public struct Refund: Sendable, Hashable, Encodable {
        public let refund: String
        public let entryID: Int64
        public let occurredAt: Timestamp
        public let amount: Money
    }
}

extension Ledger {
    /// The order `order` (`Order`).
    /// - Throws: `.notFound(.order, …)`.
    public func order(_ order: String, in program: Program) async throws -> Order {
        try Validate.reference(order, field: "order")
        return try await withConnection { connection in
            let rows = try connection.preparedQuery("""
                \(unsafeSQL: Self.orderColumns)
                WHERE pu.program_id = \(program.id) AND pu.order_id = \(order) AND pu.member_id = (
                    SELECT e.member_id FROM points.journal_entries AS e
                    WHERE e.program_id = \(program.id) AND e.key_scope = 'purchase' AND e.idempotency_key = \(order))
                """).decode(OrderRow.self)
            guard let row = rows.first else { throw LedgerError.notFound(.order, id: order) }
            let refunds = try Self.refunds(of: row.memberID, orders: [order], program: program, connection: connection)
            return row.order(refunds: refunds[order] ?? [], exponent: program.currencyExponent)
        }
    }

    /// The member's orders, newest first, a page at a time (`Order`).
    /// - Throws: `.notFound(.member, …)`; `.invalidInput` for a limit or cursor.
    public func purchases(of member: String, in program: Program, page: PageRequest = PageRequest()) async throws -> Page<Order> {
        try await memberPage(of: member, in: program, page: page, list: "purchases", id: \.entryID) { connection, rows, before in
            let orders = try connection.preparedQuery("""
                \(unsafeSQL: Self.orderColumns)
                WHERE pu.program_id = \(program.id) AND pu.member_id = \(member) AND (\(before)::bigint IS NULL OR pu.entry_id < \(before))
                ORDER BY pu.entry_id DESC
                LIMIT \(rows)
                """).decode(OrderRow.self)
            let refunds = try Self.refunds(of: member, orders: Set(orders.map(\.order)), program: program, connection: connection)
            return orders.map { $0.order(refunds: refunds[$0.order] ?? [], exponent: program.currencyExponent) }
        }
    }

    private static let orderColumns = """
        SELECT pu.order_id AS "order", pu.member_id, pu.entry_id, pu.occurred_at, pu.amount_minor, pu.points_paid_minor,
               pu.refunded_minor, pu.points, pu.pending_points, pu.matures_at, pu.clawed_back, pu.points_returned,
               coalesce((SELECT sum(h.captured) FROM points.holds AS h
                         WHERE h.program_id = pu.program_id AND h.member_id = pu.member_id AND h.order_id = pu.order_id
                           AND h.state = 'captured'), 0)::bigint AS points_captured
        FROM points.purchases AS pu
        """

    /// The refunds of `orders` of `member`, by order, oldest first: one pass over the member's refunds.
    private static func refunds(
        of member: String, orders: Set<String>, program: Program, connection: PostgresConnection
    ) throws -> [String: [Order.Refund]] {
        guard !orders.isEmpty else { return [:] }
        let rows = try connection.preparedQuery("""
            SELECT e.request ->> 'order' AS "order", e.idempotency_key AS refund, e.entry_id, e.occurred_at,
                   (e.request ->> 'amount_minor')::bigint AS amount_minor
            FROM points.journal_entries AS e
            WHERE e.program_id = \(program.id) AND e.member_id = \(member) AND e.key_scope = 'refund'
            ORDER BY e.entry_id
            """).decode(RefundRow.self)
        var refunds: [String: [Order.Refund]] = [:]
        for row in rows where orders.contains(row.order) {
            refunds[row.order, default: []].append(Order.Refund(
                refund: row.refund, entryID: row.entryID, occurredAt: row.occurredAt,
                amount: Money(minorUnits: row.amountMinor, exponent: program.currencyExponent)))
        }
        return refunds
    }
}

private struct OrderRow: Decodable {
    let order: String
    let memberID: String
    let entryID: Int64
    let occurredAt: Timestamp
    let amountMinor: Int64
    let pointsPaidMinor: Int64
    let refundedMinor: Int64
    let points: Int64
    let pendingPoints: Int64
    let maturesAt: Timestamp?
    let clawedBack: Int64
    let pointsReturned: Int64
    let pointsCaptured: Int64

    func order(refunds: [Order.Refund], exponent: Int) -> Order {
        func money(_ minor: Int64) -> Money { Money(minorUnits: minor, exponent: exponent) }
        return Order(
            order: order, member: memberID, entryID: entryID, occurredAt: occurredAt, amount: money(amountMinor),
            pointsPaid: money(pointsPaidMinor), refunded: money(refundedMinor), refundable: money(amountMinor - refundedMinor),
            points: points, pendingPoints: pendingPoints, maturesAt: maturesAt, clawedBack: clawedBack, pointsCaptured: pointsCaptured,
            pointsReturned: pointsReturned, refunds: refunds)
    }
}

private struct RefundRow: Decodable {
    let order: String
    let refund: String
    let entryID: Int64
    let occurredAt: Timestamp
    let amountMinor: Int64
}
