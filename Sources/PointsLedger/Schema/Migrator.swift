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

/// Applies `Schema/` migrations in order, each in its own transaction, tracked in
/// `points_meta.schema_migrations` with a SHA-256 checksum of the file. It refuses to run when
/// an applied file was edited, or when the database has migrations this build does not know.
struct Migrator {
    let migrations: [Migration]

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

    /// Applies every pending migration; returns the ones it applied.
    func migrate(_ connection: PostgresConnection, roles requested: RoleNames?) throws -> [Migration] {
        try connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
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

        var newlyApplied: [Migration] = []
        for migration in migrations where applied[migration.version] == nil {
            do {
                try connection.withTransaction { connection in
                    try connection.execute(script: migration.sql(for: roles))
                    try connection.execute(script: "RESET ROLE")
                    try connection.query("""
                        INSERT INTO points_meta.schema_migrations (version, file_name, checksum)
                        VALUES (\(migration.version), \(migration.fileName), \(checksums[migration.version]!))
                        """)
                }
            } catch let error as PostgresError where !error.isConnectionError {
                throw LedgerError.migrationFailed(fileName: migration.fileName, reason: error.message)
            }
            newlyApplied.append(migration)
        }
        try settleTemporaryObjects(connection, roles: roles)
        return newlyApplied
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
                owner: try row.decode(String.self, at: 0), writer: try row.decode(String.self, at: 1),
                auditor: try row.decode(String.self, at: 2))
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
        let exists = try connection.query("SELECT to_regclass('points_meta.schema_migrations') IS NOT NULL").single()
        guard try exists.decode(Bool.self, at: 0) else { return [:] }
        var applied: [Int: AppliedMigration] = [:]
        for row in try connection.query("SELECT version, file_name, checksum, applied_at FROM points_meta.schema_migrations") {
            applied[try row.decode(Int.self, at: 0)] = AppliedMigration(
                fileName: try row.decode(String.self, at: 1), checksum: try row.decode(String.self, at: 2),
                appliedAt: try row.decode(Timestamp.self, at: 3))
        }
        return applied
    }

    /// SHA-256 of each file as carried (before placeholders are filled in), computed by the server.
    private func checksums(_ connection: PostgresConnection) throws -> [Int: String] {
        let result = try connection.query("""
            SELECT encode(sha256(convert_to(sql, 'UTF8')), 'hex') FROM unnest(\(migrations.map(\.sql))::text[]) AS sql
            """)
        var checksums: [Int: String] = [:]
        for (migration, row) in zip(migrations, result) { checksums[migration.version] = try row.decode(String.self, at: 0) }
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
