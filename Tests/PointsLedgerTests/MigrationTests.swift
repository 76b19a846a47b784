import Foundation
@testable import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Migrations: in order, tracked, never edited")
struct MigrationTests {
    @Test func migratingTwiceAppliesEverythingOnce() async throws {
        try await TestDatabase.withEmpty { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            let before = try await ledger.migrationStatus()
            #expect(before.allSatisfy { $0.state == .pending })
            #expect(before.map(\.version) == Migration.all.map(\.version))
            let applied = try await ledger.migrate()
            #expect(applied.map(\.fileName) == Migration.all.map(\.fileName))
            #expect(try await ledger.migrate().isEmpty)
            let after = try await ledger.migrationStatus()
            #expect(after.allSatisfy { $0.state == .applied && $0.appliedAt != nil })
        }
    }

    @Test func anEditedMigrationStopsEverything() async throws {
        try await TestDatabase.withMigrated { configuration in
            let edited = Migration.all.last!
            try TestDatabase.sql(configuration, "UPDATE points_meta.schema_migrations SET checksum = 'edited' WHERE version = \(edited.version)")
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            let fileName = edited.fileName
            await #expect(throws: LedgerError.migrationEdited(fileName: fileName)) { try await ledger.migrate() }
            await #expect(throws: LedgerError.migrationEdited(fileName: fileName)) { try await ledger.migrationStatus() }
        }
    }

    @Test func aDatabaseFromANewerBuildIsRefused() async throws {
        try await TestDatabase.withMigrated { configuration in
            try TestDatabase.sql(
                configuration, "INSERT INTO points_meta.schema_migrations (version, file_name, checksum) VALUES (9999, '9999_future.sql', 'x')")
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            await #expect(throws: LedgerError.migrationUnknown(fileName: "9999_future.sql")) { try await ledger.migrate() }
        }
    }

    @Test func roleNamesAreChosenOnceAndUsedThroughout() async throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let roles = RoleNames(owner: "o_\(suffix)", writer: "w_\(suffix)", auditor: "a_\(suffix)")
        try await TestDatabase.withEmpty { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            try await ledger.migrate(roles: roles)
            let owner = try TestDatabase.sql(configuration, "SELECT tableowner FROM pg_tables WHERE tablename = 'postings'").single()
            #expect(try owner.decode(String.self, at: 0) == roles.owner)
            let writerMayPost = try TestDatabase.sql(
                configuration, "SELECT has_function_privilege(\(roles.writer), 'points.adjust(integer, points.member_key, bigint, points.label_text, points.label_text, points.idempotency_key)', 'EXECUTE')"
            ).single()
            #expect(try writerMayPost.decode(Bool.self, at: 0))
            await #expect(throws: LedgerError.self) { try await ledger.migrate(roles: .standard) }
            #expect(try await ledger.migrate(roles: roles).isEmpty)
            await ledger.pool.closeIdleConnections()
        }
        // Roles belong to the whole cluster: leave none behind.
        try TestDatabase.sql(TestDatabase.server, PostgresQuery(unsafeSQL: "DROP ROLE \(roles.owner), \(roles.writer), \(roles.auditor)"))
    }

    /// Functions are modules, re-created in place whenever they change: a database holding a
    /// program whose functions are outdated (one missing, a trigger gone, the checksum of other
    /// files) gets every function, trigger and grant back, keeps its data, and audits clean.
    @Test func changedFunctionsAreRecreatedInPlaceAndTheDataStays() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let inventory = """
                SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'points'::regnamespace),
                       (SELECT count(*) FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
                        WHERE c.relnamespace = 'points'::regnamespace AND NOT t.tgisinternal),
                       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'points'::regnamespace
                        AND has_function_privilege('points_writer', oid, 'EXECUTE'))
                """
            func counts() throws -> [Int64] {
                let row = try TestDatabase.sql(configuration, PostgresQuery(unsafeSQL: inventory)).single()
                return try (0..<3).map { try row.decode(Int64.self, at: $0) }
            }
            let before = try counts()
            try TestDatabase.sql(configuration, "DROP TRIGGER postings_append_only ON points.postings")
            try TestDatabase.sql(configuration, "DROP FUNCTION points.genesis_hash(integer)")
            try TestDatabase.sql(configuration, "UPDATE points_meta.function_modules SET checksum = 'an older build'")
            #expect(try counts() != before)
            #expect(try await ledger.migrate().isEmpty)
            #expect(try counts() == before)
            #expect(try await ledger.member("m1", in: program).available == 100)
            _ = try await ledger.grant(points: 5, to: "m1", in: program, reason: "after", actor: "ops", key: "g2")
            #expect(try await ledger.seal(program).entries == 2)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    /// An upgrade in place: a database at the first release's baseline, holding a program's
    /// history, takes the later migrations with its data, and audits clean.
    @Test func aDatabaseAtTheBaselineHoldingDataUpgradesInPlace() async throws {
        try await TestDatabase.withEmpty { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            defer { Task { await ledger.pool.closeIdleConnections() } }
            // This build's modules name the status types that migration 0003 creates: at the
            // baseline they are created with those statuses as text, as they were before it.
            let baselineModules = FunctionModule.all.map {
                FunctionModule(path: $0.path, sql: $0.sql.replacing(/points\.[a-z_]+_status\b/, with: "text"))
            }
            let baseline = Migrator(migrations: Migration.all.filter { $0.version == 1 }, modules: baselineModules)
            #expect(try await ledger.withConnection { try baseline.migrate($0, roles: nil) }.map(\.version) == [1])
            let program = try await ledger.createProgram(name: "default", currency: "CNY", actor: "tests").program
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            _ = try await ledger.purchase(
                PurchaseRequest(member: "m1", order: "o1", amount: Money(minorUnits: 12_000, exponent: 2)), in: program)
            _ = try await ledger.seal(program)
            let upgraded = try await ledger.migrate()
            #expect(upgraded.map(\.version) == Migration.all.map(\.version).filter { $0 > 1 })
            #expect(try await ledger.member("m1", in: program).available == 220)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv")
            try Data("order_id,member,amount,occurred_at\no2,m1,10.00,\(Timestamp.now)\n".utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let imported = try await ledger.importPurchases(
                from: try FileHandle(forReadingFrom: file), name: "after the upgrade", into: program, options: ImportOptions(), report: { _ in })
            #expect(imported.accepted == 1)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func malformedRoleNamesAreRefusedBeforeAnythingRuns() async throws {
        try await TestDatabase.withEmpty { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            await #expect(throws: LedgerError.self) {
                try await ledger.migrate(roles: RoleNames(owner: "Robert'); DROP", writer: "w", auditor: "a"))
            }
            await #expect(throws: LedgerError.self) { try await ledger.migrate(roles: RoleNames(owner: "x", writer: "x", auditor: "a")) }
            let status = try await ledger.migrationStatus()
            #expect(status.allSatisfy { $0.state == .pending })
        }
    }

    @Test func anUnmigratedDatabaseSaysToMigrate() async throws {
        try await TestDatabase.withEmpty { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            await #expect(throws: LedgerError.schemaNotMigrated) { try await ledger.program(named: "default") }
        }
    }
}
