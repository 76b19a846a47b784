public import Postgres

/// A lot: the points of one credit to available, spent soonest-expiring first.
public struct Lot: Sendable, Hashable, Codable {
    public let lot: Int64
    /// The entry whose credit formed it.
    public let entryID: Int64
    public let earnedAt: Timestamp
    /// The first instant it is expired; nil: never.
    public let expiresAt: Timestamp?
    public let amount: Int64
    public let remaining: Int64
}

/// Points of a purchase still inside its return window.
public struct PendingPoints: Sendable, Hashable, Codable {
    public let order: String
    public let points: Int64
    public let maturesAt: Timestamp
}

/// One journal entry of a member, with what it did to the member's accounts and lots.
public struct HistoryEntry: Sendable, Hashable, Encodable {
    public let entryID: Int64
    /// `purchase`, `refund`, `maturation`, `expiry`, `referral`, `adjustment.grant`, …
    public let kind: String
    /// Its idempotency key: the order id, refund id, adjustment key…
    public let reference: String
    public let occurredAt: Timestamp
    public let recordedAt: Timestamp
    /// What the entry did to the member's available and pending accounts: changes, not balances.
    public let availableChange: Int64
    public let pendingChange: Int64
    /// What the caller sent (order, amounts, reason, actor…), as recorded.
    public let request: RecordedRequest
    /// The lots this entry's credits formed (a purchase's one; a refund's of the points it returned).
    public let formedLots: [Int64]
    /// The lots this entry spent from, with the points taken from each (expiry included).
    public let spentFromLots: [LotAllocation]
}

/// Points taken from one lot.
public struct LotAllocation: Sendable, Hashable, Codable {
    public let lot: Int64
    public let points: Int64

    public init(lot: Int64, points: Int64) {
        self.lot = lot
        self.points = points
    }
}

extension Ledger {
    /// The member's lots with points left, in the order they will be spent (soonest-expiring first).
    public func lots(of member: String, in program: Program) async throws -> [Lot] {
        try Validate.memberID(member)
        return try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT lot_id AS lot, entry_id, earned_at, expires_at, amount, remaining FROM points.lots
                WHERE program_id = \(program.id) AND member_id = \(member) AND remaining > 0
                ORDER BY expires_at NULLS LAST, earned_at, lot_id
                """).decode(Lot.self)
        }
    }

    /// The member's purchases whose points are still pending, soonest-maturing first.
    public func pendingPoints(of member: String, in program: Program) async throws -> [PendingPoints] {
        try Validate.memberID(member)
        return try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT order_id AS "order", pending_points AS points, matures_at FROM points.purchases
                WHERE program_id = \(program.id) AND member_id = \(member) AND pending_points > 0
                ORDER BY matures_at, order_id
                """).decode(PendingPoints.self)
        }
    }

    /// The member's journal entries, newest first (the most recently recorded first), a page at
    /// a time, with their sources and lot movements.
    /// - Throws: `.notFound(.member, …)`; `.invalidInput` for a limit out of range or a cursor of
    ///   another list.
    public func history(of member: String, in program: Program, page: PageRequest = PageRequest()) async throws -> Page<HistoryEntry> {
        try await memberPage(of: member, in: program, page: page, list: "history", id: \.entryID) { connection, rows, before in
            try connection.preparedQuery("""
                SELECT e.entry_id, e.kind, e.idempotency_key AS reference, e.occurred_at, e.recorded_at,
                       coalesce((SELECT sum(p.amount) FROM points.postings AS p
                                 WHERE p.program_id = e.program_id AND p.member_id = e.member_id AND p.entry_id = e.entry_id
                                   AND p.account = 'available'), 0) AS available,
                       coalesce((SELECT sum(p.amount) FROM points.postings AS p
                                 WHERE p.program_id = e.program_id AND p.member_id = e.member_id AND p.entry_id = e.entry_id
                                   AND p.account = 'pending'), 0) AS pending,
                       e.request::text AS request,
                       ARRAY(SELECT l.lot_id FROM points.lots AS l
                             WHERE l.program_id = e.program_id AND l.member_id = e.member_id AND l.entry_id = e.entry_id
                             ORDER BY l.lot_id) AS formed_lots,
                       ARRAY(SELECT a.lot_id || ':' || a.amount FROM points.lot_allocations AS a
                             WHERE a.program_id = e.program_id AND a.member_id = e.member_id AND a.entry_id = e.entry_id
                             UNION ALL
                             SELECT l.lot_id || ':' || l.expired_amount FROM points.lots AS l
                             WHERE l.program_id = e.program_id AND l.member_id = e.member_id AND l.expired_entry_id = e.entry_id
                             ORDER BY 1) AS allocations
                FROM points.journal_entries AS e
                WHERE e.program_id = \(program.id) AND e.member_id = \(member) AND (\(before)::bigint IS NULL OR e.entry_id < \(before))
                ORDER BY e.entry_id DESC
                LIMIT \(rows)
                """).decode(HistoryRow.self).map { row in
            HistoryEntry(
                entryID: row.entryID, kind: row.kind, reference: row.reference, occurredAt: row.occurredAt,
                recordedAt: row.recordedAt, availableChange: row.available, pendingChange: row.pending,
                request: try RecordedRequest(json: row.request, exponent: program.currencyExponent),
                formedLots: row.formedLots,
                spentFromLots: try row.allocations.map { pair in
                    let parts = pair.split(separator: ":").map { Int64($0) }
                    guard parts.count == 2, let lot = parts[0], let points = parts[1] else {
                        throw LedgerError.unexpectedAnswer(function: "history", status: "lot allocation \(pair)")
                    }
                    return LotAllocation(lot: lot, points: points)
                })
            }
        }
    }
}

/// A journal entry as `history(of:in:)` reads it; `allocations` are "lot:points" pairs.
private struct HistoryRow: Decodable {
    let entryID: Int64
    let kind: String
    let reference: String
    let occurredAt: Timestamp
    let recordedAt: Timestamp
    let available: Int64
    let pending: Int64
    let request: String
    let formedLots: [Int64]
    let allocations: [String]
}
