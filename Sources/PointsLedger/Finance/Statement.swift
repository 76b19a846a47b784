public import Postgres

/// One entry on a member's statement: what moved their available and pending points, and why.
public struct StatementLine: Sendable, Hashable, Codable {
    public let occurredAt: Timestamp
    public let entryID: Int64
    public let kind: String
    /// Where the entry came from: its key's namespace and key (the order, refund, reward, task…)
    /// and the reason given, if any.
    public let source: String
    public let available: Int64
    public let pending: Int64
    /// The member's balances after this entry.
    public let availableAfter: Int64
    public let pendingAfter: Int64
}

/// A member's account over [from, to): the opening balances, every entry, the closing balances.
public struct MemberStatement: Sendable, Hashable, Codable {
    public let program: String
    public let member: String
    public let from: Timestamp
    public let to: Timestamp
    public let openingAvailable: Int64
    public let openingPending: Int64
    public let lines: [StatementLine]
    public let closingAvailable: Int64
    public let closingPending: Int64
}

extension Ledger {
    /// A member's statement over [from, to), in the order entries occurred.
    /// - Throws: `.notFound(.member, …)`, `.invalidInput` for a period that is empty or in the future.
    public func statement(of member: String, in program: Program, from: Timestamp, to: Timestamp) async throws -> MemberStatement {
        try Validate.memberID(member)
        try checkPeriod(from: from, to: to, in: program)
        let (opening, rows) = try await readSnapshot { connection in
            let exists = try connection.query("""
                SELECT EXISTS (SELECT 1 FROM points.members WHERE program_id = \(program.id) AND member_id = \(member)) AS present
                """).single().decode(Bool.self, column: "present")
            guard exists else { throw LedgerError.notFound(.member, id: member) }
            let opening = try connection.query("""
                SELECT coalesce(sum(amount) FILTER (WHERE account = 'available'), 0)::bigint AS available,
                       coalesce(sum(amount) FILTER (WHERE account = 'pending'), 0)::bigint AS pending
                FROM points.postings
                WHERE program_id = \(program.id) AND member_id = \(member) AND occurred_at < \(from)
                """).single()
            let rows = try connection.query("""
                SELECT e.occurred_at, e.entry_id, e.kind::text,
                       e.key_scope::text || ' ' || e.idempotency_key || coalesce(': ' || (e.request ->> 'reason'), '') AS source,
                       coalesce(sum(p.amount) FILTER (WHERE p.account = 'available'), 0)::bigint AS available,
                       coalesce(sum(p.amount) FILTER (WHERE p.account = 'pending'), 0)::bigint AS pending
                FROM points.journal_entries AS e
                LEFT JOIN points.postings AS p
                  ON p.program_id = e.program_id AND p.member_id = e.member_id AND p.entry_id = e.entry_id
                WHERE e.program_id = \(program.id) AND e.member_id = \(member) AND e.occurred_at >= \(from) AND e.occurred_at < \(to)
                GROUP BY e.entry_id, e.occurred_at, e.kind, e.key_scope, e.idempotency_key, e.request
                ORDER BY e.occurred_at, e.entry_id
                """).decode(StatementRow.self).map { row in
                (at: row.occurredAt, entry: row.entryID, kind: row.kind, source: row.source, available: row.available, pending: row.pending)
            }
            return ((try opening.decode(Int64.self, column: "available"), try opening.decode(Int64.self, column: "pending")), rows)
        }
        var available = opening.0
        var pending = opening.1
        var lines: [StatementLine] = []
        for row in rows {
            available += row.available
            pending += row.pending
            lines.append(StatementLine(
                occurredAt: row.at, entryID: row.entry, kind: row.kind, source: row.source, available: row.available, pending: row.pending,
                availableAfter: available, pendingAfter: pending))
        }
        return MemberStatement(
            program: program.name, member: member, from: from, to: to, openingAvailable: opening.0, openingPending: opening.1,
            lines: lines, closingAvailable: available, closingPending: pending)
    }
}

/// An entry of a member's statement: its movements of available and pending points.
private struct StatementRow: Decodable {
    let occurredAt: Timestamp
    let entryID: Int64
    let kind: String
    let source: String
    let available: Int64
    let pending: Int64
}
