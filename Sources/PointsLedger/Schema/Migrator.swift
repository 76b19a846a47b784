import Foundation
public import Postgres

/// Where a migration stands in one database.
public struct MigrationStatus: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Codable {
        case applied
        case pending
    }

    public let version: Int
    public let fileName: String
    public let state: State
    /// When it was applied (nil while pending).
    public let appliedAt: Timestamp?
}

/// Applies `Schema/migrations/` in order and re-creates the functions of `Schema/functions/`,
/// all in one transaction. Migrations are tracked in `points_meta.schema_migrations` with a
/// SHA-256 checksum of each file, and the function modules by one checksum of them all in
/// `points_meta.function_modules`. It refuses to run when an applied migration was edited, or
/// when the database has migrations this build does not know.
///
/// When a migration is pending or a module changed, every function of the `points` schema (and
/// the triggers that call them) is dropped, the pending migrations run (in plain SQL: they cannot
/// call the ledger's functions), and every module runs again; the bodies are then checked by
/// their languages' validators, so a module that names something missing fails the migration.
/// A migration that some other object depends on a function of the ledger (a constraint, a
/// default, an index) stops the drop with an error rather than losing that object.
struct Migrator {
    let migrations: [Migration]
    let modules: [FunctionModule]

    private static let lockKey: Int64 = 0x5049_4E54_4C45_4447  // "PINTLEDG": one migrator at a time per database

    func status(_ connection: PostgresConnection) throws -> [MigrationStatus] {
        let applied = try appliedMigrations(connection)
        try check(applied: applied, checksums: try checksums(connection))
        return migrations.map { migration in
            let record = applied[migration.version]
            return MigrationStatus(
                version: migration.version, fileName: migration.fileName,
                state: record == nil ? .pending : .applied, appliedAt: record?.appliedAt)
        }
    }

    /// Applies every pending migration and re-creates the functions if anything changed; returns
    /// the migrations it applied.
    func migrate(_ connection: PostgresConnection, roles requested: RoleNames?) throws -> [Migration] {
        // Any session may take an advisory lock, so the wait for one is bounded and named.
        do {
            let sessionWait = try connection.query("SELECT current_setting('lock_timeout') AS wait").single().decode(String.self, column: "wait")
            defer { _ = try? connection.query("SELECT set_config('lock_timeout', \(sessionWait), false)") }
            try connection.execute(script: "SET lock_timeout = '60s'")
            try connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
        } catch {
            guard error.code == .lockNotAvailable else { throw error }
            throw LedgerError.refused(.busy(
                detail: "another migration has held this database's migration lock for a minute (or another session holds it); migrate again when it has finished"))
        }
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))") }

        try connection.execute(script: """
            CREATE SCHEMA IF NOT EXISTS points_meta;
            CREATE TABLE IF NOT EXISTS points_meta.schema_migrations (
                version integer PRIMARY KEY,
                file_name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                applied_by text NOT NULL DEFAULT session_user
            );
            CREATE TABLE IF NOT EXISTS points_meta.function_modules (
                only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                modules integer NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                applied_by text NOT NULL DEFAULT session_user
            );
            CREATE OR REPLACE FUNCTION points_meta.settle_temporary_objects(p_owner text, p_writer text, p_auditor text)
            RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $settle$
            BEGIN
                IF EXISTS (SELECT FROM pg_database AS d WHERE d.datname = current_database()
                           AND pg_has_role(current_user, d.datdba, 'USAGE')) THEN
                    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, %I, %I', current_database(), p_writer, p_auditor);
                    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), p_owner);
                END IF;
            END
            $settle$;
            REVOKE ALL ON FUNCTION points_meta.settle_temporary_objects(text, text, text) FROM PUBLIC;
            CREATE TABLE IF NOT EXISTS points_meta.roles (
                only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                owner_role text NOT NULL,
                writer_role text NOT NULL,
                auditor_role text NOT NULL
            );
            """)
        let checksums = try checksums(connection)
        let applied = try appliedMigrations(connection)
        try check(applied: applied, checksums: checksums)
        let roles = try settleRoles(connection, requested: requested)

        let pending = migrations.filter { applied[$0.version] == nil }
        let modulesChecksum = try self.modulesChecksum(connection)
        let recorded = try connection.query("SELECT checksum FROM points_meta.function_modules").first
        if pending.isEmpty, try recorded?.decode(String.self, column: "checksum") == modulesChecksum {
            try settleTemporaryObjects(connection, roles: roles)
            return []
        }
        try connection.withTransaction { connection in
            if try connection.query("SELECT to_regnamespace('points') IS NOT NULL AS present").single().decode(Bool.self, column: "present") {
                try run("dropping the ledger's functions", connection, SchemaFiles.fill(Self.dropFunctions, roles: roles))
            }
            for migration in pending {
                try run(migration.fileName, connection, migration.sql(for: roles))
                try connection.execute(script: "RESET ROLE")
                try connection.query("""
                    INSERT INTO points_meta.schema_migrations (version, file_name, checksum)
                    VALUES (\(migration.version), \(migration.fileName), \(checksums[migration.version]!))
                    """)
            }
            try connection.execute(script: SchemaFiles.fill("SET LOCAL ROLE {{owner}}; SET LOCAL check_function_bodies = off", roles: roles))
            for module in modules {
                try run("functions/\(module.path)", connection, module.sql(for: roles))
            }
            try run("checking the functions' bodies", connection, Self.validateFunctions)
            try connection.execute(script: "RESET ROLE")
            try connection.query("""
                INSERT INTO points_meta.function_modules (modules, checksum) VALUES (\(Int32(modules.count)), \(modulesChecksum))
                ON CONFLICT (only_row) DO UPDATE SET modules = EXCLUDED.modules, checksum = EXCLUDED.checksum,
                    applied_at = now(), applied_by = session_user
                """)
        }
        try settleTemporaryObjects(connection, roles: roles)
        return pending
    }

    /// Runs one file's SQL; a server error becomes `.migrationFailed` naming the file.
    private func run(_ name: String, _ connection: PostgresConnection, _ sql: String) throws {
        do {
            try connection.execute(script: sql)
        } catch let error where !error.isConnectionError {
            throw LedgerError.migrationFailed(fileName: name, reason: error.message)
        }
    }

    /// Drops the triggers that call the ledger's functions, then the functions, as the owner;
    /// without CASCADE, so that anything else depending on one of them stops the migration.
    private static let dropFunctions = """
        SET LOCAL ROLE {{owner}};
        DO $drop$
        DECLARE
            r record;
        BEGIN
            FOR r IN SELECT t.tgname, t.tgrelid::regclass AS rel
                     FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_proc AS p ON p.oid = t.tgfoid
                     WHERE p.pronamespace = 'points'::regnamespace AND NOT t.tgisinternal LOOP
                EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS routine FROM pg_catalog.pg_proc AS p
                     WHERE p.pronamespace = 'points'::regnamespace LOOP
                EXECUTE format('DROP ROUTINE %s', r.routine);
            END LOOP;
        END
        $drop$;
        RESET ROLE
        """

    /// Checks every function body now that all of them exist (they were created without checks,
    /// in file order), and takes EXECUTE from PUBLIC on any that a module forgot to keep private.
    private static let validateFunctions = """
        SET LOCAL check_function_bodies = on;
        SELECT CASE l.lanname WHEN 'sql' THEN pg_catalog.fmgr_sql_validator(p.oid)
                              WHEN 'plpgsql' THEN pg_catalog.plpgsql_validator(p.oid) END
        FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
        WHERE p.pronamespace = 'points'::regnamespace;
        REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA points FROM PUBLIC
        """

    /// SHA-256 over every module's path and text, computed by the server.
    private func modulesChecksum(_ connection: PostgresConnection) throws -> String {
        try connection.query("""
            SELECT encode(sha256(convert_to(string_agg(path || E'\\n' || sql, E'\\n' ORDER BY path), 'UTF8')), 'hex') AS checksum
            FROM unnest(\(modules.map(\.path))::text[], \(modules.map(\.sql))::text[]) AS m (path, sql)
            """).single().decode(String.self, column: "checksum")
    }

    /// Takes the right to create temporary objects from PUBLIC (and so from the writer and the
    /// auditor) and gives it to the owner, whose import batches need work tables, on every run.
    /// A caller with no way to create objects cannot plant one for the ledger's functions to find
    /// (they also run with a fixed `search_path`). Only where the migrating role owns the database
    /// (or is a superuser): a database the ledger shares with other systems keeps its grants.
    private func settleTemporaryObjects(_ connection: PostgresConnection, roles: RoleNames) throws {
        try connection.query("""
            SELECT points_meta.settle_temporary_objects(\(roles.owner), \(roles.writer), \(roles.auditor))
            """)
    }

    /// The roles recorded at the first migration, or the requested (else standard) ones, recorded now.
    private func settleRoles(_ connection: PostgresConnection, requested: RoleNames?) throws -> RoleNames {
        let rows = try connection.query("SELECT owner_role, writer_role, auditor_role FROM points_meta.roles")
        if let row = rows.first {
            let recorded = RoleNames(
                owner: try row.decode(String.self, column: "owner_role"), writer: try row.decode(String.self, column: "writer_role"),
                auditor: try row.decode(String.self, column: "auditor_role"))
            if let requested, requested != recorded {
                throw LedgerError.invalidInput(
                    field: "roles",
                    reason: "this database was migrated with roles \(recorded.owner), \(recorded.writer) and \(recorded.auditor); "
                        + "role names cannot change after the first migration")
            }
            return recorded
        }
        let roles = requested ?? .standard
        try roles.validate()
        try connection.query("""
            INSERT INTO points_meta.roles (owner_role, writer_role, auditor_role)
            VALUES (\(roles.owner), \(roles.writer), \(roles.auditor))
            """)
        return roles
    }

    private struct AppliedMigration {
        let fileName: String
        let checksum: String
        let appliedAt: Timestamp
    }

    private func appliedMigrations(_ connection: PostgresConnection) throws -> [Int: AppliedMigration] {
        let exists = try connection.query("SELECT to_regclass('points_meta.schema_migrations') IS NOT NULL AS present").single()
        guard try exists.decode(Bool.self, column: "present") else { return [:] }
        var applied: [Int: AppliedMigration] = [:]
        for row in try connection.query("SELECT version, file_name, checksum, applied_at FROM points_meta.schema_migrations") {
            applied[try row.decode(Int.self, column: "version")] = AppliedMigration(
                fileName: try row.decode(String.self, column: "file_name"), checksum: try row.decode(String.self, column: "checksum"),
                appliedAt: try row.decode(Timestamp.self, column: "applied_at"))
        }
        return applied
    }

    /// SHA-256 of each file as carried (before placeholders are filled in), computed by the server.
    private func checksums(_ connection: PostgresConnection) throws -> [Int: String] {
        let result = try connection.query("""
            SELECT encode(sha256(convert_to(m.sql, 'UTF8')), 'hex') AS checksum
            FROM unnest(\(migrations.map(\.sql))::text[]) WITH ORDINALITY AS m (sql, n) ORDER BY m.n
            """)
        var checksums: [Int: String] = [:]
        for (migration, row) in zip(migrations, result) { checksums[migration.version] = try row.decode(String.self, column: "checksum") }
        return checksums
    }

    private func check(applied: [Int: AppliedMigration], checksums: [Int: String]) throws {
        for (version, record) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw LedgerError.migrationUnknown(fileName: record.fileName)
            }
            if checksums[version] != record.checksum {
                throw LedgerError.migrationEdited(fileName: migration.fileName)
            }
        }
    }
}
