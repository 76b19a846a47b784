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
            // The statement is worked out by the server (format's %L quotes any name a writer
            // chose) and sent alone through the extended protocol, which runs one statement only.
            let found = try connection.query("""
                SELECT gid, owner::text AS role, prepared, pg_catalog.format('ROLLBACK PREPARED %L', gid) AS rollback,
                       gid ~ '^citus_[0-9]+_[0-9]+_[0-9]+_[0-9]+$'
                           AND EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus') AS citus
                FROM pg_catalog.pg_prepared_xacts
                WHERE database = pg_catalog.current_database()
                  AND prepared < pg_catalog.now() - pg_catalog.make_interval(secs => \(seconds))
                ORDER BY prepared
                """)
            var answers: [PreparedTransaction] = []
            for row in found {
                let name = try row.decode(String.self, column: "gid")
                let role = try row.decode(String.self, column: "role")
                let preparedAt = try row.decode(Timestamp.self, column: "prepared")
                func answer(_ rolledBack: Bool, _ reason: String?) {
                    answers.append(PreparedTransaction(name: name, role: role, preparedAt: preparedAt, rolledBack: rolledBack, reason: reason))
                }
                if try row.decode(Bool.self, column: "citus") {
                    // Citus commits or rolls back its own by its records, every minute; one it has
                    // left for five is reported, never settled here against those records.
                    if preparedAt.microsecondsSinceEpoch < Timestamp.now.microsecondsSinceEpoch - 300_000_000 {
                        answer(false, "Citus settles its own prepared transactions; this one has waited five minutes: check Citus's recovery")
                    }
                    continue
                }
                do {
                    try connection.query(PostgresQuery(unsafeSQL: try row.decode(String.self, column: "rollback")))
                    answer(true, nil)
                } catch let error as PostgresError {
                    let stillThere = try connection.query("SELECT 1 FROM pg_catalog.pg_prepared_xacts WHERE gid = \(name)")
                    guard !stillThere.isEmpty else { continue }  // committed or rolled back by its owner meanwhile
                    answer(false, error.code == .insufficientPrivilege
                        ? "only \(role) or a superuser may roll it back: run this job as one of them"
                        : "it could not be rolled back: \(error.message)")
                }
            }
            return answers
        }
    }
}
