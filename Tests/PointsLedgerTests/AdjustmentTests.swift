import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Grants and deductions: idempotency and refusals")
struct AdjustmentTests {
    @Test func aReplayReturnsTheOriginalEntryAndPostsNothing() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let first = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let again = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            #expect(first.outcome == .posted)
            #expect(again.outcome == .replayed)
            #expect(again.entryID == first.entryID)
            #expect(again.balance.available == 100)
            let postings = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.postings").single()
            #expect(try postings.decode(Int64.self, at: 0) == 2)
        }
    }

    @Test func theSameKeyWithOtherContentIsAConflictThatNamesTheKey() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            let first = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let conflict = LedgerError.idempotencyConflict(key: "g1", existing: .entry(first.entryID))
            await #expect(throws: conflict) {
                try await ledger.grant(points: 101, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            }
            await #expect(throws: conflict) {
                try await ledger.deduct(points: 100, from: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            }
            await #expect(throws: conflict) {
                try await ledger.grant(points: 100, to: "m2", in: program, reason: "welcome", actor: "ops", key: "g1")
            }
            #expect(conflict.description.contains("\"g1\""))
            #expect(try await ledger.member("m2", in: program).available == 0)
        }
    }

    @Test func aRefusalForTooFewPointsIsNotRemembered() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            await #expect(throws: LedgerError.insufficientPoints(member: "m1", spendable: 0, requested: 30)) {
                try await ledger.deduct(points: 30, from: "m1", in: program, reason: "gift", actor: "ops", key: "d1")
            }
            _ = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let retried = try await ledger.deduct(points: 30, from: "m1", in: program, reason: "gift", actor: "ops", key: "d1")
            #expect(retried.outcome == .posted)
            #expect(retried.balance.available == 20)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func badInputIsRefusedAndNothingIsPosted() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: Int64.max - 10, to: "m1", in: program, reason: "huge", actor: "ops", key: "big")
            await #expect(throws: LedgerError.amountOutOfRange(field: "amount")) {
                try await ledger.grant(points: 11, to: "m1", in: program, reason: "overflow", actor: "ops", key: "g2")
            }
            await #expect(throws: LedgerError.notFound(.member, id: "nobody")) {
                try await ledger.grant(points: 1, to: "nobody", in: program, reason: "x", actor: "ops", key: "g3")
            }
            for points: Int64 in [0, -5] {
                await #expect(throws: LedgerError.self) {
                    try await ledger.grant(points: points, to: "m1", in: program, reason: "x", actor: "ops", key: "g4")
                }
            }
            await #expect(throws: LedgerError.invalidInput(field: "reason", reason: "it is empty; say it in a few words")) {
                try await ledger.grant(points: 1, to: "m1", in: program, reason: "  ", actor: "ops", key: "g5")
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.grant(points: 1, to: "m1", in: program, reason: "x", actor: "ops", key: String(repeating: "k", count: 201))
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.grant(points: 1, to: "", in: program, reason: "x", actor: "ops", key: "g6")
            }
            let entries = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries").single()
            #expect(try entries.decode(Int64.self, at: 0) == 1)
            #expect(try await ledger.member("m1", in: program).available == Int64.max - 10)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func programsAndMembersAreCreatedOnceAndCheckedOnTheWay() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let again = try await ledger.createProgram(name: "default", currency: "cny", actor: "tests")
            #expect(again == .existed(program))
            await #expect(throws: LedgerError.programConflict(name: "default", currency: "CNY", timeZone: "Asia/Shanghai")) {
                try await ledger.createProgram(name: "default", currency: "USD", actor: "tests")
            }
            await #expect(throws: LedgerError.self) { try await ledger.createProgram(name: "x", currency: "XYZ", actor: "tests") }
            await #expect(throws: LedgerError.self) { try await ledger.createProgram(name: "x", currency: "12", actor: "tests") }
            await #expect(throws: LedgerError.self) {
                try await ledger.createProgram(name: "x", currency: "USD", timeZone: "Mars/Olympus", actor: "tests")
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.createProgram(name: "x", currency: "USD", timeZone: "PST8PDT+", actor: "tests")
            }
            await #expect(throws: LedgerError.self) { try await ledger.createProgram(name: "bad name", currency: "USD", actor: "tests") }
            await #expect(throws: LedgerError.notFound(.program, id: "x")) { try await ledger.program(named: "x") }

            let berlin = try await ledger.createProgram(name: "eu-stores", currency: "EUR", timeZone: "Europe/Berlin", actor: "tests")
            #expect(berlin.program.currencyExponent == 2)
            #expect(berlin.program.tiers == ["ordinary", "advanced", "premium"])

            let created = try await ledger.createMember("m1", in: program)
            let existing = try await ledger.createMember("m1", in: program)
            #expect(created == .created(existing.member))
            #expect(existing.member.tier == "ordinary")
            // Members of one program are not members of another.
            await #expect(throws: LedgerError.notFound(.member, id: "m1")) { try await ledger.member("m1", in: berlin.program) }
        }
    }
}
