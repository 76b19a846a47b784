import Foundation
public import Logging
public import PointsLedger
public import Postgres

/// Databases for tests: each test gets its own, so tests run in parallel and leave nothing behind.
///
/// The server comes from `POINTS_TEST_DATABASE_URL` (set by `Scripts/test.sh`), else the `PG*`
/// variables. Migrated databases are cloned from a template migrated once per run.
public enum TestDatabase {
    public static let server: ConnectionConfiguration = {
        let url = ProcessInfo.processInfo.environment["POINTS_TEST_DATABASE_URL"] ?? ""
        return (try? ConnectionConfiguration(url)) ?? .environment
    }()

    /// The server's URL as given, for tests that run the CLI.
    public static var serverURL: String { ProcessInfo.processInfo.environment["POINTS_TEST_DATABASE_URL"] ?? "" }

    private static let admin = PostgresPool(configuration: server, maximumConnections: 2)

    private static let template: Task<String, any Error> = Task {
        let name = "points_template_\(ProcessInfo.processInfo.processIdentifier)"
        try await admin.withConnection { connection in
            try connection.execute(script: "DROP DATABASE IF EXISTS \(quoteIdentifier(name)) WITH (FORCE)")
            try connection.execute(script: "CREATE DATABASE \(quoteIdentifier(name))")
        }
        let ledger = Ledger(configuration: server.replacingDatabase(with: name), maximumConnections: 1, logger: quietLogger)
        try await ledger.migrate()
        await ledger.pool.closeIdleConnections()
        return name
    }

    public static let quietLogger: Logger = {
        var logger = Logger(label: "points-ledger-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a fresh database that has the ledger's schema, then drops it.
    public static func withMigrated<T>(_ body: (ConnectionConfiguration) async throws -> T) async throws -> T {
        let template = try await template.value
        return try await withDatabase(template: template, body)
    }

    /// Makes sure the standard roles exist on the server (migrating the template creates them),
    /// for a test that restores a dump naming them.
    public static func standardRolesExist() async throws {
        _ = try await template.value
    }

    /// Runs `body` with a fresh, empty database, then drops it.
    public static func withEmpty<T>(_ body: (ConnectionConfiguration) async throws -> T) async throws -> T {
        try await withDatabase(template: "template0", body)
    }

    /// Runs `body` with a migrated database, a ledger over it and a program `default` in CNY,
    /// readied as an admin readies a program to load its history: its settings in force since
    /// 2000, so that writes may be dated back to then.
    public static func withLedger<T>(
        connections: Int = 4, _ body: (Ledger, Program, ConnectionConfiguration) async throws -> T
    ) async throws -> T {
        try await withMigrated { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: connections, logger: quietLogger)
            let program = try await ledger.createProgram(name: "default", currency: "CNY", actor: "tests").program
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: 1), effectiveAt: settingsSince, actor: "tests")
            defer { Task { await ledger.pool.closeIdleConnections() } }
            return try await body(ledger, program, configuration)
        }
    }

    /// When the settings of `withLedger`'s program are in force from: 2000-01-01T00:00:00Z.
    public static let settingsSince = Timestamp(Date(timeIntervalSince1970: 946_684_800))

    /// `configuration` as a login role of the ledger's writer role (`points_writer`), as a
    /// checkout system or points-server connects; the role is made once per test server.
    public static func asWriter(_ configuration: ConnectionConfiguration) throws -> ConnectionConfiguration {
        try sql(configuration, """
            DO $$ BEGIN
                CREATE ROLE points_writer_login LOGIN IN ROLE points_writer;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$
            """)
        return configuration.replacingUser(with: "points_writer_login")
    }

    private static func withDatabase<T>(template: String, _ body: (ConnectionConfiguration) async throws -> T) async throws -> T {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await admin.withConnection { connection in
            try connection.execute(script: "CREATE DATABASE \(quoteIdentifier(String(name))) TEMPLATE \(quoteIdentifier(template))")
        }
        do {
            let result = try await body(server.replacingDatabase(with: String(name)))
            try await drop(String(name))
            return result
        } catch {
            try? await drop(String(name))
            throw error
        }
    }

    private static func drop(_ name: String) async throws {
        try await admin.withConnection { connection in
            try connection.execute(script: "DROP DATABASE IF EXISTS \(quoteIdentifier(name)) WITH (FORCE)")
        }
    }

    /// A URL of the test server for the database `configuration` names, for the CLI.
    public static func url(of configuration: ConnectionConfiguration) throws -> String {
        let database = try sql(configuration, "SELECT current_database()").single().decode(String.self, at: 0)
        guard !serverURL.isEmpty else { return "dbname=\(database)" }
        return serverURL.replacingOccurrences(of: "postgresql:///postgres?", with: "postgresql:///\(database)?")
    }

    /// Runs SQL on the database as the superuser of the test server (or as `role`, with SET ROLE).
    @discardableResult
    public static func sql(
        _ configuration: ConnectionConfiguration, as role: String? = nil, _ query: PostgresQuery
    ) throws -> QueryResult {
        let connection = try PostgresConnection(configuration: configuration)
        if let role { try connection.execute(script: "SET ROLE \(quoteIdentifier(role))") }
        return try connection.query(query)
    }
}
