import PointsLedger
import Postgres
import TestSupport
import Testing

/// The invariants the database itself keeps, whatever a client sends (DESIGN.md, principle 1).
@Suite("The database keeps the ledger's invariants")
struct DatabaseRulesTests {
    func expectRefused(_ configuration: ConnectionConfiguration, as role: String, _ sql: PostgresQuery, code: SQLState) {
        do {
            try TestDatabase.sql(configuration, as: role, sql)
            Issue.record("\(role) was allowed: \(sql.sql)")
        } catch let error as PostgresError {
            #expect(error.code == code, "\(sql.sql): \(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func theWriterCannotRewriteOrForgeTheJournal() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let posted = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "k1")
            let writer = RoleNames.standard.writer
            expectRefused(configuration, as: writer, "UPDATE points.movements SET amount = amount * 2", code: .insufficientPrivilege)
            expectRefused(configuration, as: writer, "DELETE FROM points.movements", code: .insufficientPrivilege)
            expectRefused(configuration, as: writer, "DELETE FROM points.journal_entries", code: .insufficientPrivilege)
            expectRefused(configuration, as: writer, "TRUNCATE points.movements", code: .insufficientPrivilege)
            expectRefused(configuration, as: writer, "UPDATE points.members SET available = 1000000", code: .insufficientPrivilege)
            expectRefused(
                configuration, as: writer,
                """
                INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at)
                VALUES (\(program.id), 'm1', \(posted.entryID), 2, 'issued', 'available', 10, now())
                """, code: .insufficientPrivilege)
            // What the writer may do: post through the ledger's functions, and read.
            let row = try TestDatabase.sql(
                configuration, as: writer,
                "SELECT status FROM points.adjust(\(program.id), 'm1', 5, 'bonus', 'ops', 'k2')").single()
            #expect(try row.decode(String.self, at: 0) == "posted")
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func valueRulesHoldEvenForTheOwner() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let owner = RoleNames.standard.owner
            let p = program.id
            // Rules of single values (domains) and of several columns (table CHECKs and triggers).
            expectRefused(configuration, as: owner, "UPDATE points.members SET pending = -1 WHERE program_id = \(p)", code: .checkViolation)
            expectRefused(configuration, as: owner, "UPDATE points.members SET held = -1 WHERE program_id = \(p)", code: .checkViolation)
            expectRefused(
                configuration, as: owner, "INSERT INTO points.members (program_id, member_id, tier) VALUES (\(p), '', 'ordinary')",
                code: .checkViolation)
            expectRefused(
                configuration, as: owner, "UPDATE points.members SET referrer = member_id WHERE program_id = \(p)", code: .checkViolation)
            expectRefused(
                configuration, as: owner,
                "INSERT INTO points.members (program_id, member_id, tier, referrer) VALUES (\(p), 'm2', 'ordinary', 'm2')",
                code: .checkViolation)
            expectRefused(
                configuration, as: owner, "UPDATE points.members SET birthday = '2001-02-28' WHERE program_id = \(p)",
                code: .checkViolation)
            expectRefused(
                configuration, as: owner,
                """
                INSERT INTO points.journal_entries (program_id, member_id, kind, key_scope, idempotency_key, request, occurred_at)
                VALUES (\(p), 'm1', 'adjustment.grant', 'adjustment', '', '{}', now())
                """, code: .checkViolation)
            let granted = try await ledger.grant(points: 10, to: "m1", in: program, reason: "welcome", actor: "ops", key: "k1")
            expectRefused(
                configuration, as: owner,
                "UPDATE points.lots SET remaining = amount + 1 WHERE program_id = \(p) AND entry_id = \(granted.entryID)",
                code: .checkViolation)
            expectRefused(
                configuration, as: owner, "UPDATE points.lots SET remaining = -1 WHERE program_id = \(p)", code: .checkViolation)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    /// A movement names two different accounts and a positive amount: no row can unbalance the
    /// journal, even the owner's with every trigger of the table disabled.
    @Test func anEntryThatDoesNotBalanceCannotBeWrittenEvenByTheOwnerWithoutTriggers() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let owner = RoleNames.standard.owner
            let posted = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "k1")
            try TestDatabase.sql(configuration, as: owner, "ALTER TABLE points.movements DISABLE TRIGGER USER")
            try TestDatabase.sql(configuration, as: owner, "ALTER TABLE points.journal_entries DISABLE TRIGGER USER")
            let movement = "INSERT INTO points.movements (program_id, member_id, entry_id, leg, from_account, to_account, amount, occurred_at) "
                + "VALUES (\(program.id), 'm1', \(posted.entryID), 2, "
            for (values, constraint) in [
                ("'issued', 'available', 0, now())", "movement_amount_positive"),
                ("'issued', 'available', -5, now())", "movement_amount_positive"),
                ("'available', 'available', 5, now())", "movement_between_two_accounts"),
                ("'issued', NULL, 5, now())", nil),
            ] {
                do {
                    try TestDatabase.sql(configuration, as: owner, PostgresQuery(unsafeSQL: movement + values))
                    Issue.record("the owner wrote \(values)")
                } catch let error as PostgresError {
                    #expect(error.code == .checkViolation || error.code == .notNullViolation, "\(values): \(error.message)")
                    if let constraint { #expect(error.constraint == constraint, "\(values)") }
                }
            }
            // Postings are what the movements give: a view, not a table anyone writes.
            expectRefused(
                configuration, as: owner,
                """
                INSERT INTO points.postings (program_id, member_id, entry_id, account, amount, occurred_at)
                VALUES (\(program.id), 'm1', \(posted.entryID), 'available', 10, now())
                """, code: SQLState("55000"))
            let sums = try TestDatabase.sql(configuration, "SELECT sum(amount) FROM points.postings").single()
            #expect(try sums.decode(Int64.self, at: 0) == 0)
        }
    }

    @Test func theAuditorReadsButCannotPost() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let auditor = RoleNames.standard.auditor
            expectRefused(
                configuration, as: auditor, "SELECT * FROM points.adjust(\(program.id), 'm1', 5, 'bonus', 'ops', 'k2')",
                code: .insufficientPrivilege)
            expectRefused(configuration, as: auditor, "SELECT * FROM points.create_member(\(program.id), 'm2', NULL)", code: .insufficientPrivilege)
            let members = try TestDatabase.sql(configuration, as: auditor, "SELECT count(*) FROM points.members").single()
            #expect(try members.decode(Int64.self, at: 0) == 1)
        }
    }

    @Test func theOwnersRewritesAreCaughtByTheAudit() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            let posted = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "k1")
            _ = try await ledger.grant(points: 70, to: "m2", in: program, reason: "welcome", actor: "ops", key: "k2")
            #expect(try await ledger.verify(program).isSound)

            let owner = RoleNames.standard.owner
            try TestDatabase.sql(
                configuration, as: owner,
                "UPDATE points.movements SET amount = 60 WHERE entry_id = \(posted.entryID)")
            try TestDatabase.sql(configuration, as: owner, "UPDATE points.members SET pending = 5 WHERE member_id = 'm2'")
            let report = try await ledger.verify(program)
            #expect(!report.isSound)
            #expect(report.problems.contains {
                $0.kind == .balanceMismatch && $0.member == "m1" && $0.account == "available" && $0.stored == 50 && $0.expected == 60
            })
            #expect(report.problems.contains {
                $0.kind == .balanceMismatch && $0.member == "m1" && $0.account == "adjustments" && $0.stored == -50 && $0.expected == -60
            })
            #expect(report.problems.contains {
                $0.kind == .balanceMismatch && $0.member == "m2" && $0.account == "pending" && $0.stored == 5 && $0.expected == 0
            })
            #expect(report.problems.contains { $0.kind == .programNotZero && $0.account == "balances" && $0.stored == 5 })
            #expect(report.problems.contains { $0.kind == .pendingNotPurchases && $0.member == "m2" && $0.stored == 5 })
            #expect(report.problems.count == 5, "\(report.problems)")
        }
    }

    @Test func membersAreNeverDeletedAndEntriesOfUnknownMembersAreCaught() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "k1")
            let owner = RoleNames.standard.owner
            expectRefused(configuration, as: owner, "DELETE FROM points.members WHERE member_id = 'm1'", code: .insufficientPrivilege)
            expectRefused(configuration, as: owner, "TRUNCATE points.members CASCADE", code: .insufficientPrivilege)
            #expect(try await ledger.verify(program).isSound)

            // The owner can still write an entry by hand; one naming nobody is named by the audit.
            try TestDatabase.sql(
                configuration, as: owner,
                """
                INSERT INTO points.journal_entries (program_id, member_id, entry_id, kind, key_scope, idempotency_key, request, occurred_at)
                VALUES (\(program.id), 'ghost', 990001, 'adjustment.grant', 'adjustment', 'forged', '{}', now())
                """)
            let report = try await ledger.verify(program)
            #expect(report.problems.contains { $0.kind == .unknownMember && $0.member == "ghost" && $0.entryID == 990001 })
            #expect(report.problems.count == 1, "\(report.problems)")
        }
    }

    @Test func aTaskCompletionWithoutItsEntryIsCaught() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.completeTask(TaskCompletionRequest(task: "checkin", member: "m1"), in: program)
            #expect(try await ledger.verify(program).isSound)
            try TestDatabase.sql(
                configuration, as: RoleNames.standard.owner,
                """
                INSERT INTO points.task_completions (program_id, member_id, task, local_day, entry_id, points, streak_bonus)
                VALUES (\(program.id), 'm1', 'post', '2026-01-01', 990002, 10, 0)
                """)
            let report = try await ledger.verify(program)
            #expect(report.problems.contains { $0.kind == .missingEntry && $0.entryID == 990002 && $0.account == "task completion" })
            #expect(report.problems.count == 1, "\(report.problems)")
        }
    }
}
