public import Logging
public import Postgres

/// The points ledger of one PostgreSQL database: the entry point for checkout systems, apps,
/// admins and finance.
///
/// `Sendable` and safe to share: every operation borrows a connection of the pool for one
/// round trip (a prepared call of one server-side function) and gives it back. Errors are
/// `LedgerError`; state-dependent refusals (too few points) are never remembered, so a retry
/// may succeed, while replays of an idempotency key return the original entry.
public final class Ledger: Sendable {
    public let pool: PostgresPool
    let logger: Logger

    /// A ledger over an existing pool; `logger` receives the ledger's own log lines.
    public init(pool: PostgresPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    /// A ledger over a new pool of up to `maximumConnections` connections.
    /// The server's notices (a warning a function raised, a shutdown's reason) go to `logger`, one
    /// escaped line each, unless `configuration` has a `noticeHandler` of its own. Every statement
    /// waits for a row or table another transaction holds at most `lockWaitSeconds` (PostgreSQL's
    /// `lock_timeout`), unless `configuration` sets its own, then is refused as busy.
    /// How long a write waits for rows another transaction holds (a member another write is
    /// changing, or one a stuck session has locked) before it is refused as busy: nothing is written,
    /// and a retry may succeed.
    public static let lockWaitSeconds = 5

    public convenience init(configuration: ConnectionConfiguration, maximumConnections: Int = 8, logger: Logger) {
        var configuration = configuration
        if configuration.noticeHandler == nil {
            configuration.noticeHandler = { notice in
                logger.warning("The database says: \(VisibleText.escaped(notice.description))")
            }
        }
        if configuration.sessionSettings["lock_timeout"] == nil {
            configuration.sessionSettings["lock_timeout"] = "\(Ledger.lockWaitSeconds)s"
        }
        self.init(pool: PostgresPool(configuration: configuration, maximumConnections: maximumConnections), logger: logger)
    }

    /// Runs `body` on a pooled connection, mapping database errors to `LedgerError`.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch {
            throw LedgerError.wrap(error)
        }
    }

    /// Runs read-only queries on one consistent snapshot (reports, audit), with memory for grouping millions of rows.
    func readSnapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { connection in
            try connection.withTransaction(isolation: .repeatableRead) { connection in
                try connection.execute(script: "SET TRANSACTION READ ONLY; SET LOCAL work_mem = '256MB'; SET LOCAL jit = off")
                return try body(connection)
            }
        }
    }

    /// Whether the database answers: one round trip (points-server's health check).
    public func ping() async throws {
        _ = try await withConnection { try $0.query("SELECT 1") }
    }

    /// The migrations this build carries and whether each is applied.
    public func migrationStatus() async throws -> [MigrationStatus] {
        try await withConnection { connection in
            try Migrator(migrations: Migration.all, modules: FunctionModule.all).status(connection)
        }
    }

    /// Applies every pending migration and re-creates this build's functions, in one
    /// transaction; `roles` names the database roles at the first migration. (Never part of the
    /// history: this build's functions need the schema all of its migrations leave.)
    /// - Returns: the migrations applied now (empty when the database was up to date).
    @discardableResult
    public func migrate(roles: RoleNames? = nil) async throws -> [Migration] {
        try roles?.validate()
        let applied = try await withConnection { connection in
            try Migrator(migrations: Migration.all, modules: FunctionModule.all).migrate(connection, roles: roles)
        }
        for migration in applied {
            logger.info("applied migration", metadata: ["migration": "\(migration.fileName)"])
        }
        return applied
    }
}
