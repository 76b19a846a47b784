import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Bulk import: set-based, idempotent, line by line")
struct ImportTests {
    /// Imports `text` as a file and returns the summary and every line's result.
    func run(_ ledger: Ledger, _ program: Program, _ text: String, options: ImportOptions = ImportOptions())
        async throws -> (ImportSummary, [ImportLineResult])
    {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try Data(text.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let collected = Collected()
        let summary = try await ledger.importPurchases(
            from: try FileHandle(forReadingFrom: url), name: "test file", into: program, options: options, report: collected.add)
        return (summary, collected.results)
    }

    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [ImportLineResult] = []
        var results: [ImportLineResult] { lock.withLock { stored } }
        @Sendable func add(_ result: ImportLineResult) { lock.withLock { stored.append(result) } }
    }

    static let now = Timestamp.now.description

    /// Issue 33, finding 4: text that a spreadsheet would run goes out in CSV behind an
    /// apostrophe, and the imports read it back unchanged, apostrophes of the text included.
    @Test func csvTextIsGuardedAgainstSpreadsheetsAndReadBackUnchanged() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let ids = ["=cmd|' /C calc'!A0", "+1", "-1", "@x", "'=y", "'plain", "''", "'", "plain"]
            #expect(JournalFormat.csvText("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0")
            #expect(JournalFormat.csvText("-1") == "'-1" && JournalFormat.csvText("'=y") == "''=y" && JournalFormat.csvText("'plain") == "'plain")
            #expect(JournalFormat.csvText("@a,b") == "\"'@a,b\"")
            let lines = ids.enumerated().map { index, id in
                [JournalFormat.csvText(id), JournalFormat.csvText("o\(index)\(id)"), "10.00", ImportTests.now].joined(separator: ",")
            }
            let (summary, results) = try await run(ledger, program, (["member,order_id,amount,occurred_at"] + lines).joined(separator: "\n") + "\n")
            #expect(summary.accepted == ids.count, "\(results)")
            for (index, id) in ids.enumerated() {
                #expect(try await ledger.member(id, in: program).available == 10, "\(id)")
                #expect(try await ledger.order("o\(index)\(id)", in: program).member == id)
            }
        }
    }

    /// Issue 32, finding 10: no write is posted under built-in defaults. Before the program existed
    /// (and before any settings an admin set from earlier), a purchase, a grant and an imported
    /// line are refused, naming the first moment allowed; once the admin sets the program's
    /// settings from earlier, the same writes post at those settings.
    @Test func writesBeforeTheProgramExistedAreRefusedUntilSettingsReachBackToThem() async throws {
        try await TestDatabase.withMigrated { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            defer { Task { await ledger.pool.closeIdleConnections() } }
            let program = try await ledger.createProgram(name: "fresh", currency: "CNY", actor: "tests").program
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: Decimal(string: "1.5")!), actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            let lastYear = Timestamp(Date().addingTimeInterval(-300 * 86_400))
            let first = program.clock.text(program.createdAt)
            do {
                _ = try await ledger.purchase(
                    PurchaseRequest(member: "m1", order: "o-old", amount: try Money.parse("100.00", exponent: 2, field: "amount"), occurredAt: lastYear, backdated: true),
                    in: program)
                Issue.record("a purchase before the program existed was posted")
            } catch LedgerError.invalidInput(field: "occurred at", let reason) {
                #expect(reason.contains("before the program existed") && reason.contains("from \(first) on"), "\(reason)")
            }
            await #expect(throws: LedgerError.self) {
                _ = try await ledger.grant(points: 5, to: "m1", in: program, reason: "opening", actor: "ops", key: "g-old", at: lastYear, backdated: true)
            }
            let line = "order_id,member,amount,occurred_at\no-old,m1,100.00,\(lastYear)\n"
            let (refused, results) = try await run(ledger, program, line, options: ImportOptions(allowBackdated: true))
            #expect(refused.rejected == 1 && results.first?.reason?.contains("before the program existed") == true, "\(results)")
            #expect(try await ledger.verify(program).entries == 0)

            // The admin readies the program to load its history: settings from two years ago.
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(earnRate: Decimal(string: "1.5")!), effectiveAt: Timestamp(Date().addingTimeInterval(-730 * 86_400)),
                actor: "ops")
            let (accepted, _) = try await run(ledger, program, line, options: ImportOptions(allowBackdated: true))
            #expect(accepted.accepted == 1 && accepted.points == 150)
            _ = try await ledger.grant(points: 5, to: "m1", in: program, reason: "opening", actor: "ops", key: "g-old", at: lastYear, backdated: true)
            #expect(try await ledger.member("m1", in: program).available == 155)
        }
    }

    @Test func importedPurchasesCountTowardTiersAndEarnAtTheMultiplierHeldBeforeEachLine() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)  // quarters; advanced from 1,000 at x1.5, kept with 500
            let line = { (order: String, amount: String, at: String) in
                #"{"order_id": "\#(order)", "member": "m1", "amount": "\#(amount)", "occurred_at": "\#(at)"}"#
            }
            // One batch: 600 in Q1, then 500 in Q1 and 100 in Q2. Q2 is the member's latest period.
            let (first, results) = try await run(ledger, program, [
                line("a1", "600.00", "2025-02-01 10:00"), line("a2", "500.00", "2025-03-01 10:00"), line("a3", "100.00", "2025-04-02 10:00"),
            ].joined(separator: "\n"), options: ImportOptions(allowBackdated: true, batchSize: 10))
            // a2 crosses 1,000 and earns at x1, like a purchase posted alone; a3 earns at x1.5.
            #expect(results.map(\.points) == [600, 500, 150], "\(results.map { $0.reason ?? "" })")
            #expect(first.points == 1_250)
            #expect(try await ledger.member("m1", in: program).tier == "advanced")
            #expect(try await ledger.tierChanges(of: "m1", in: program).map { "\($0.period ?? ""):\($0.qualifyingPoints ?? 0)" } == ["2025-Q1:1100"])
            // The next batch earns at x1.5; Q1 (no longer the member's latest period) grows too.
            let (second, _) = try await run(ledger, program, [line("a4", "100.00", "2025-03-15 10:00"), line("a5", "200.00", "2025-05-01 10:00")]
                .joined(separator: "\n"), options: ImportOptions(allowBackdated: true, batchSize: 10))
            #expect(second.points == 450)
            // Q1 held 1,250: kept (reached in Q1). Q2 holds 450 (150 + 300), below 500: one level down at Q2's end.
            _ = try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2025-07-01", in: program, field: "as of"))
            let changes = try await ledger.tierChanges(of: "m1", in: program)
            #expect(changes.map { "\($0.cause):\($0.to)@\($0.period ?? ""):\($0.qualifyingPoints ?? 0)" } == [
                "upgrade:advanced@2025-Q1:1100", "evaluation:ordinary@2025-Q2:450",
            ])
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func pointsThatOnlyTheMultiplierLiftsAboveZeroWaitOutTheReturnWindow() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)  // advanced x1.5
            // In force before the line's time (Self.now, taken when the suite loaded).
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(returnWindowDays: 7), effectiveAt: try await ledger.instant("2020-01-01", in: program, field: "at"),
                actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.overrideTier("advanced", of: "m1", reason: "test", in: program, actor: "tests")
            let (summary, _) = try await run(ledger, program, #"{"order_id": "x1", "member": "m1", "amount": "0.80", "occurred_at": "\#(Self.now)"}"#)
            #expect(summary.points == 1)
            let member = try await ledger.member("m1", in: program)
            #expect(member.pending == 1 && member.available == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func anInputThatCannotBeReadIsNamedWithWhatToDo() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let folder = FileManager.default.temporaryDirectory.path
            // A handle on a folder opens, and fails at its first read.
            let handle = try #require(FileHandle(forReadingAtPath: folder))
            await #expect(throws: LedgerError.invalidInput(field: "file", reason: "a folder is a folder, not a file; give the path of a JSON Lines or CSV file")) {
                _ = try await ledger.importPurchases(from: handle, name: "a folder", into: program, report: { _ in })
            }
            #expect(throws: LedgerError.invalidInput(field: "file", reason: "\(folder) is a folder, not a file; give the path of a JSON Lines or CSV file")) {
                _ = try ImportInput.open(path: folder)
            }
        }
    }

    @Test func theSameFileTwicePostsOnce() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let file = (1...250).map { #"{"order_id": "o\#($0)", "member": "m\#($0 % 7)", "amount": "\#($0).50", "occurred_at": "\#(Self.now)"}"# }
                .joined(separator: "\n")
            let (first, results) = try await run(ledger, program, file, options: ImportOptions(batchSize: 40))
            #expect(first.accepted == 250)
            #expect(first.batches == 7)
            #expect(results.map(\.line) == Array(1...250))
            #expect(first.points == (1...250).reduce(0) { $0 + Int64($1) })
            let (second, again) = try await run(ledger, program, file, options: ImportOptions(batchSize: 64))
            #expect(second.accepted == 0)
            #expect(second.duplicates == 250)
            #expect(again.allSatisfy { $0.status == .duplicate })
            let entries = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries").single().decode(Int64.self, at: 0)
            #expect(entries == 250)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func anOrderRepeatedInABatchThatTheJournalHoldsIsAnsweredLineByLine() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let posted = #"{"order_id": "o1", "member": "m1", "amount": "5", "occurred_at": "\#(Self.now)"}"#
            let other = #"{"order_id": "o1", "member": "m1", "amount": "6", "occurred_at": "\#(Self.now)"}"#
            let (_, first) = try await run(ledger, program, posted)
            let entry = try #require(first[0].entryID)
            // The same content twice: both lines are duplicates of the posted entry.
            let (_, same) = try await run(ledger, program, posted + "\n" + posted)
            #expect(same.map(\.status) == [.duplicate, .duplicate])
            #expect(same.map(\.entryID) == [entry, entry])
            // Other content, then the posted content: a conflict, then a duplicate.
            let (_, mixed) = try await run(ledger, program, other + "\n" + posted)
            #expect(mixed.map(\.status) == [.rejected, .duplicate])
            #expect(mixed[0].reason?.contains("idempotency conflict") == true)
            #expect(mixed[1].entryID == entry)
        }
    }

    @Test func importedPurchasesEqualPostedOnes() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            // In force since yesterday, so before every line's time (the program has no entries yet).
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(earnRate: Decimal(string: "1.25"), returnWindowDays: 3, referralBonus: 30),
                effectiveAt: Timestamp(Date().addingTimeInterval(-86_400)), actor: "tests")
            _ = try await ledger.createMember("ref", in: program)
            let csv = """
                order_id,member,amount,occurred_at,points_paid,referrer
                c1,new,"80.00",\(Self.now),20.00,ref
                c2,new,10.00,\(Self.now),,
                c3,ref,7.99,\(Self.now),,
                """
            let (summary, results) = try await run(ledger, program, csv)
            #expect(summary.accepted == 3)
            #expect(results.map(\.points) == [75, 12, 9])
            #expect(results.map(\.line) == [2, 3, 4])
            let member = try await ledger.member("new", in: program)
            #expect(member.referrer == "ref")
            #expect(member.pending == 87)
            // The referrer's bonus: paid once, on the first purchase.
            #expect(try await ledger.member("ref", in: program).available == 30)
            #expect(try await ledger.member("ref", in: program).pending == 9)
            // The same purchase posted one by one earns the same.
            _ = try await ledger.createMember("single", in: program)
            let single = try await ledger.purchase(
                PurchaseRequest(
                    member: "single", order: "s1", amount: try Money.parse("80.00", exponent: 2, field: "amount"),
                    pointsPaid: try Money.parse("20.00", exponent: 2, field: "paid")),
                in: program)
            #expect(single.points == 75)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func membersAreCreatedOnlyWhenAllowed() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let line = #"{"order_id": "o1", "member": "stranger", "amount": "5", "occurred_at": "\#(Self.now)"}"#
            let (refused, results) = try await run(ledger, program, line, options: ImportOptions(createMembers: false))
            #expect(refused.rejected == 1)
            #expect(results[0].reason?.contains("member stranger does not exist") == true)
            await #expect(throws: LedgerError.notFound(.member, id: "stranger")) { try await ledger.member("stranger", in: program) }
            let (created, _) = try await run(ledger, program, line)
            #expect(created.accepted == 1)
            let badReferrer = #"{"order_id": "o2", "member": "another", "amount": "5", "occurred_at": "\#(Self.now)", "referrer": "ghost"}"#
            let (_, rejected) = try await run(ledger, program, badReferrer)
            #expect(rejected[0].reason == "referrer ghost does not exist")
            // A referrer to be created by the same batch, whose own line is refused: both lines
            // are refused with their reasons, in one batch.
            let chain = #"{"order_id": "o3", "member": "n0", "amount": "5", "occurred_at": "\#(Self.now)", "referrer": "ghost"}"#
                + "\n" + #"{"order_id": "o4", "member": "n6", "amount": "5", "occurred_at": "\#(Self.now)", "referrer": "n0"}"#
            let (chained, answers) = try await run(ledger, program, chain)
            #expect(chained.rejected == 2)
            #expect(answers.map(\.reason) == ["referrer ghost does not exist", "referrer n0 does not exist"])
            await #expect(throws: LedgerError.notFound(.member, id: "n6")) { try await ledger.member("n6", in: program) }
        }
    }

    @Test func aLineTheDatabaseRefusesIsFoundAndTheRestOfItsBatchGoesIn() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: 1000), actor: "tests")
            // Line 23's amount passes every check of the file, but its points do not fit the
            // ledger's 64-bit balances: the database refuses the batch, which is split until
            // that line is alone.
            let now = Timestamp.now.description  // under the new rate
            let file = (1...40).map { line in
                let amount = line == 23 ? "92233720368547758.07" : "\(line).00"
                return #"{"order_id": "o\#(line)", "member": "m\#(line % 5)", "amount": "\#(amount)", "occurred_at": "\#(now)"}"#
            }.joined(separator: "\n")
            let (summary, results) = try await run(ledger, program, file, options: ImportOptions(batchSize: 40))
            #expect(summary.accepted == 39)
            #expect(summary.rejected == 1)
            #expect(results.map(\.line) == Array(1...40))
            #expect(results[22].status == .rejected)
            #expect(results[22].order == "o23")
            #expect(results[22].reason?.contains("out of range") == true, "\(results[22])")
            let expected: Int64 = (1...40).filter { $0 != 23 }.map { Int64($0) * 1000 }.reduce(0, +)
            #expect(summary.points == expected)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func historyLoadsOnlyWithARecordedPermission() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let line = #"{"order_id": "old", "member": "m1", "amount": "5", "occurred_at": "2025-01-15 10:00"}"#
            let (refused, results) = try await run(ledger, program, line)
            #expect(refused.rejected == 1)
            #expect(results[0].reason?.contains("loading history needs an explicit back-dating permission") == true)
            let (allowed, _) = try await run(ledger, program, line, options: ImportOptions(allowBackdated: true))
            #expect(allowed.accepted == 1)
            let row = try TestDatabase.sql(configuration, """
                SELECT backdated, occurred_at = '2025-01-15 10:00+08' FROM points.journal_entries WHERE idempotency_key = 'old'
                """).single()
            #expect(try row.decode(Bool.self, at: 0))
            #expect(try row.decode(Bool.self, at: 1))
        }
    }

    @Test func anOldFileRunAgainWithoutPermissionIsAnsweredWithDuplicates() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let file = """
                {"order_id": "h1", "member": "m1", "amount": "5", "occurred_at": "2025-01-15 10:00"}
                {"order_id": "h2", "member": "m1", "amount": "x", "occurred_at": "2025-01-15 10:00"}
                """
            let (first, results) = try await run(ledger, program, file, options: ImportOptions(allowBackdated: true))
            #expect(first.accepted == 1)
            #expect(results[1].entryID == nil)
            let (again, repeated) = try await run(ledger, program, file)
            #expect(again.duplicates == 1)
            #expect(repeated[0].entryID == results[0].entryID)
            #expect(repeated[1].status == .rejected)
            #expect(repeated[1].entryID == nil)
        }
    }

    @Test func aBatchRepaysDebtBeforeFormingLots() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "first", "50.00", in: program)
            _ = try await ledger.deduct(points: 50, from: "m1", in: program, reason: "gift", actor: "tests", key: "d")
            _ = try await ledger.refundOrder("first", "r", "50.00", in: program)
            #expect(try await ledger.member("m1", in: program).available == -50)
            let file = (1...3).map { #"{"order_id": "i\#($0)", "member": "m1", "amount": "30", "occurred_at": "\#(Self.now)"}"# }
                .joined(separator: "\n")
            _ = try await run(ledger, program, file)
            #expect(try await ledger.member("m1", in: program).available == 40)
            #expect(try await ledger.lots(of: "m1", in: program).map(\.amount) == [10, 30])
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func anEmptyFileOrABadHeaderStopsBeforeAnything() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            await #expect(throws: LedgerError.invalidInput(field: "file", reason: "test file is empty: there is no purchase to import")) {
                try await run(ledger, program, "")
            }
            await #expect(throws: LedgerError.self) { try await run(ledger, program, "order_id,member\n1,2\n") }
        }
    }
}
