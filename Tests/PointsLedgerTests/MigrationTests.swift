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
            let owner = try TestDatabase.sql(configuration, "SELECT tableowner FROM pg_tables WHERE tablename = 'movements'").single()
            #expect(try owner.decode(String.self, at: 0) == roles.owner)
            let writerMayPost = try TestDatabase.sql(
                configuration, "SELECT has_function_privilege(\(roles.writer), 'points.adjust(integer, points.member_key, bigint, points.label_text, points.label_text, points.idempotency_key, points.event_time, boolean, points.event_time)', 'EXECUTE')"
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
            try TestDatabase.sql(configuration, "DROP TRIGGER movements_append_only ON points.movements")
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

    /// An upgrade in place: a database as the release before the journal of movements left it
    /// (Fixtures/release-database.sql, made by the script beside it with that release's
    /// points-admin), holding a program's history of every kind of entry and a sealed block,
    /// takes this build's migrations with its data. Finance reads the same postings and balances
    /// after as before, the block sealed before still verifies (its hash covers every posting),
    /// and writing, importing and sealing go on.
    @Test func aDatabaseOfTheLastReleaseHoldingHistoryUpgradesInPlace() async throws {
        try await TestDatabase.withEmpty { configuration in
            let fixture = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/release-database.sql")
            let dump = try String(contentsOf: fixture, encoding: .utf8)
            try await TestDatabase.standardRolesExist()
            try PostgresConnection(configuration: configuration).execute(script: dump)
            func postings() throws -> [String] {
                try TestDatabase.sql(configuration, """
                    SELECT member_id || ' ' || entry_id || ' ' || account || ' ' || amount || ' ' || occurred_at
                    FROM points.postings ORDER BY entry_id, account
                    """).map { try $0.decode(String.self, at: 0) }
            }
            func balances() throws -> [String] {
                try TestDatabase.sql(configuration, """
                    SELECT concat_ws(' ', member_id, available, pending, held, issued, redeemed, expired, written_off, adjustments,
                                     tier, q_points, q_spend)
                    FROM points.members ORDER BY member_id
                    """).map { try $0.decode(String.self, at: 0) }
            }
            let postingsBefore = try postings()
            let balancesBefore = try balances()
            let head = try TestDatabase.sql(configuration, "SELECT encode(block_hash, 'hex') FROM points.journal_blocks").single()
                .decode(String.self, at: 0)
            #expect(postingsBefore.count == 31)

            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            defer { Task { await ledger.pool.closeIdleConnections() } }
            let upgraded = try await ledger.migrate()
            #expect(upgraded.map(\.version) == Migration.all.map(\.version).filter { $0 > 3 })
            let program = try await ledger.program(named: "default")
            #expect(try postings() == postingsBefore)
            #expect(try balances() == balancesBefore)
            let after = try await ledger.verify(program, expectedHead: head)
            #expect(after.isSound, "\(after.problems)")
            #expect(after.sealedBlocks == 1 && after.headHash == head && after.unsealedEntries == 1, "\(after)")
            // Sealed without a fingerprint: checked by its hash.
            #expect(after.blocksHashed == 1)
            let refund = try TestDatabase.sql(configuration, """
                SELECT string_agg(from_account || '>' || to_account || ' ' || amount, ', ' ORDER BY leg)
                FROM points.movements WHERE entry_id = 6
                """).single()
            #expect(try refund.decode(String.self, at: 0) == "available>issued 50, written_off>issued 250")

            _ = try await ledger.grant(points: 5, to: "carol", in: program, reason: "after", actor: "ops", key: "after-1")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv")
            try Data("order_id,member,amount,occurred_at\nC-2,carol,10.00,\(Timestamp.now)\n".utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let imported = try await ledger.importPurchases(
                from: try FileHandle(forReadingFrom: file), name: "after the upgrade", into: program, options: ImportOptions(), report: { _ in })
            #expect(imported.accepted == 1)
            #expect(try await ledger.seal(program).entries == 3)
            let resealed = try await ledger.verify(program, expectedHead: head)
            #expect(resealed.isSound && resealed.sealedBlocks == 2 && resealed.blocksHashed == 1, "\(resealed)")
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
