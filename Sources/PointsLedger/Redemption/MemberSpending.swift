public import Postgres

/// A hold as a member's list shows it. A hold past its expiry reads `expired` from that moment,
/// whether or not a job has recorded it: it reserves nothing.
public struct HoldRecord: Sendable, Hashable, Codable {
    public let holdID: Int64
    /// Its idempotency key.
    public let key: String
    public let points: Int64
    public let createdAt: Timestamp
    public let expiresAt: Timestamp
    public let state: HoldState
    /// Points captured (the rest was released), the order they paid for, and the capture's entry.
    public let captured: Int64?
    public let order: String?
    public let entryID: Int64?
    /// When it was captured, voided or expired.
    public let resolvedAt: Timestamp?
}

/// A redemption as a member's list shows it: a reward (and its quantity), or points spent for a reason.
public struct RedemptionRecord: Sendable, Hashable, Encodable {
    public let entryID: Int64
    /// Its idempotency key.
    public let key: String
    public let occurredAt: Timestamp
    public let reward: String?
    public let quantity: Int?
    public let points: Int64
    public let reason: String?
}

extension Ledger {
    /// The member's holds, newest first, a page at a time (`HoldRecord`).
    /// - Throws: `.notFound(.member, …)`; `.invalidInput` for a limit or cursor.
    public func holds(of member: String, in program: Program, page: PageRequest = PageRequest()) async throws -> Page<HoldRecord> {
        try await memberPage(of: member, in: program, page: page, list: "holds", id: \.holdID) { connection, rows, before in
            try connection.preparedQuery("""
                SELECT h.hold_id, h.hold_key AS key, h.points, h.created_at, h.expires_at,
                       CASE WHEN h.state = 'open' AND h.expires_at <= now() THEN 'expired' ELSE h.state END AS state,
                       h.captured, h.order_id AS "order", h.entry_id,
                       CASE WHEN h.state = 'open' AND h.expires_at <= now() THEN h.expires_at ELSE h.resolved_at END AS resolved_at
                FROM points.holds AS h
                WHERE h.program_id = \(program.id) AND h.member_id = \(member) AND (\(before)::bigint IS NULL OR h.hold_id < \(before))
                ORDER BY h.hold_id DESC
                LIMIT \(rows)
                """).decode(HoldRecord.self)
        }
    }

    /// The member's redemptions, newest first, a page at a time (`RedemptionRecord`).
    /// - Throws: `.notFound(.member, …)`; `.invalidInput` for a limit or cursor.
    public func redemptions(of member: String, in program: Program, page: PageRequest = PageRequest()) async throws -> Page<RedemptionRecord> {
        try await memberPage(of: member, in: program, page: page, list: "redemptions", id: \.entryID) { connection, rows, before in
            try connection.preparedQuery("""
                SELECT r.entry_id, e.idempotency_key AS key, e.occurred_at, r.reward, r.quantity, r.points, r.reason
                FROM points.redemptions AS r
                JOIN points.journal_entries AS e ON e.program_id = r.program_id AND e.member_id = r.member_id AND e.entry_id = r.entry_id
                WHERE r.program_id = \(program.id) AND r.member_id = \(member) AND (\(before)::bigint IS NULL OR r.entry_id < \(before))
                ORDER BY r.entry_id DESC
                LIMIT \(rows)
                """).decode(RedemptionRow.self).map {
                RedemptionRecord(
                    entryID: $0.entryID, key: $0.key, occurredAt: $0.occurredAt, reward: $0.reward, quantity: $0.quantity.map(Int.init),
                    points: $0.points, reason: $0.reason)
            }
        }
    }
}

private struct RedemptionRow: Decodable {
    let entryID: Int64
    let key: String
    let occurredAt: Timestamp
    let reward: String?
    let quantity: Int32?
    let points: Int64
    let reason: String?
}
