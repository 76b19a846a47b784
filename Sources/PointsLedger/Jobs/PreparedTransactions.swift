public import Postgres

/// A transaction someone prepared for two-phase commit (`PREPARE TRANSACTION`) and left: it keeps
/// its row locks past its session and past a restart, so a writer that prepares one after
/// changing a member would hold that member hostage. The ledger itself never prepares one; Citus
/// does, and settles its own.
public struct PreparedTransaction: Sendable, Hashable, Codable {
    /// The name it was prepared under.
    public let name: String
    /// The login role that prepared it.
    public let role: String
    public let preparedAt: Timestamp
    /// Whether this run rolled it back; if not, `reason` says why.
    public let rolledBack: Bool
    public let reason: String?
}

/// Where a stale prepared transaction comes from and what to do about one.
public enum PreparedTransactions {
    /// How long a transaction may stay prepared before the job rolls it back.
    public static let defaultBound: Duration = .seconds(60)

    static let advice = """
        a transaction may have been left prepared: `points-admin jobs prepared` rolls back those older than a minute
        """
}

extension Ledger {
    /// Rolls back every transaction prepared in the ledger's database more than `olderThan` ago
    /// (but Citus's own, which Citus settles), and answers each one it found, rolled back or not.
    /// Run it as the role that prepared them or as a superuser: PostgreSQL lets no one else roll
    /// one back, and a transaction this role may not roll back is answered with the reason. On a
    /// single server, `max_prepared_transactions = 0` (PostgreSQL's default) keeps any from being
    /// prepared at all.
    public func rollBackPreparedTransactions(olderThan bound: Duration = PreparedTransactions.defaultBound) async throws -> [PreparedTransaction] {
        let seconds = Double(bound.components.seconds) + Double(bound.components.attoseconds) / 1e18
        return try await withConnection { connection in
            let found = try connection.query("""
                SELECT gid, owner::text AS role, prepared
                FROM pg_catalog.pg_prepared_xacts
                WHERE database = pg_catalog.current_database()
                  AND prepared < pg_catalog.now() - pg_catalog.make_interval(secs => \(seconds))
                  AND NOT (gid LIKE 'citus\\_%' AND EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus'))
                ORDER BY prepared
                """)
            var answers: [PreparedTransaction] = []
            for row in found {
                let name = try row.decode(String.self, column: "gid")
                let role = try row.decode(String.self, column: "role")
                let preparedAt = try row.decode(Timestamp.self, column: "prepared")
                // A utility statement takes no parameters: the name goes in as a quoted literal.
                let literal = "'" + String(name.flatMap { $0 == "'" ? ["'", "'"] : [$0] }) + "'"
                do {
                    try connection.execute(script: "ROLLBACK PREPARED \(literal)")
                    answers.append(PreparedTransaction(name: name, role: role, preparedAt: preparedAt, rolledBack: true, reason: nil))
                } catch let error as PostgresError where error.code == .insufficientPrivilege {
                    answers.append(PreparedTransaction(
                        name: name, role: role, preparedAt: preparedAt, rolledBack: false,
                        reason: "only \(role) or a superuser may roll it back: run this job as one of them"))
                } catch let error as PostgresError where error.code == SQLState("42704") {
                    // Committed or rolled back by its owner meanwhile.
                    continue
                }
            }
            return answers
        }
    }
}
