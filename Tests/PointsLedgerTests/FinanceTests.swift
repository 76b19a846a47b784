import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Sealing, tamper evidence, point-in-time reports, statements and exports.
@Suite("Finance: the sealed journal, reports and exports")
struct FinanceTests {
    static let owner = RoleNames.standard.owner

    /// m1 and m2 with grants, a purchase, a spend: four entries.
    func history(_ ledger: Ledger, _ program: Program) async throws {
        _ = try await ledger.createMember("m1", in: program)
        _ = try await ledger.createMember("m2", in: program)
        _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
        _ = try await ledger.grant(points: 40, to: "m2", in: program, reason: "welcome", actor: "ops", key: "g2")
        _ = try await ledger.purchase(PurchaseRequest(member: "m1", order: "o1", amount: Money(minorUnits: 2_550, exponent: 2)), in: program)
        _ = try await ledger.spend(points: 30, reason: "parking", member: "m1", in: program, key: "s1")
    }

    @Test func aSealedJournalVerifiesAndEveryKindOfTamperingIsNamed() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            try await history(ledger, program)
            let sealed = try await ledger.seal(program, blockEntries: 2)
            #expect(sealed.blocks == 2 && sealed.entries == 4 && sealed.postings == 8)
            #expect(try await ledger.seal(program).blocks == 0)
            let clean = try await ledger.verify(program, expectedHead: sealed.headHash)
            #expect(clean.isSound, "\(clean.problems)")
            #expect(clean.sealedBlocks == 2 && clean.headHash == sealed.headHash && clean.unsealedEntries == 0)

            let entries = try TestDatabase.sql(configuration, "SELECT entry_id FROM points.journal_entries ORDER BY entry_id").map {
                try $0.decode(Int64.self, at: 0)
            }
            // Each tampering, as the owner role, then undone; the audit names the block each time.
            let tamperings: [(String, String, AuditProblem.Kind)] = [
                ("UPDATE points.movements SET amount = amount + 1 WHERE entry_id = \(entries[1])",
                 "UPDATE points.movements SET amount = amount - 1 WHERE entry_id = \(entries[1])", .blockAltered),
                ("UPDATE points.movements SET to_account = 'expired' WHERE entry_id = \(entries[1])",
                 "UPDATE points.movements SET to_account = 'available' WHERE entry_id = \(entries[1])", .blockAltered),
                ("INSERT INTO points.movements SELECT program_id, member_id, entry_id, 2, to_account, 'written_off', 1, occurred_at "
                    + "FROM points.movements WHERE entry_id = \(entries[2])",
                 "DELETE FROM points.movements WHERE entry_id = \(entries[2]) AND leg = 2", .blockAltered),
                ("CREATE TEMP TABLE gone AS SELECT * FROM points.movements WHERE entry_id = \(entries[3]);"
                    + "DELETE FROM points.movements WHERE entry_id = \(entries[3])",
                 "INSERT INTO points.movements SELECT * FROM gone", .blockAltered),
                ("UPDATE points.journal_entries SET request = request || '{\"reason\": \"other\"}' WHERE entry_id = \(entries[0])",
                 "UPDATE points.journal_entries SET request = request || '{\"reason\": \"welcome\"}' WHERE entry_id = \(entries[0])", .blockAltered),
                ("UPDATE points.journal_blocks SET previous_hash = sha256('forged') WHERE block_no = 2",
                 "UPDATE points.journal_blocks SET previous_hash = (SELECT block_hash FROM points.journal_blocks WHERE block_no = 1) WHERE block_no = 2",
                 .chainBroken),
            ]
            for (tamper, undo, kind) in tamperings {
                let connection = try PostgresConnection(configuration: configuration)
                try connection.execute(script: "SET ROLE \(Self.owner); " + tamper)
                // By fingerprint, and by hash.
                for deep in [false, true] {
                    let report = try await ledger.verify(program, deep: deep)
                    #expect(!report.isSound, "\(tamper)")
                    #expect(report.problems.contains { $0.kind == kind && $0.block != nil }, "\(tamper), deep \(deep): \(report.problems)")
                }
                try connection.execute(script: undo)
                #expect(try await ledger.verify(program).isSound, "after undoing \(tamper)")
            }
            // A deleted last block: only the recorded head shows it.
            try TestDatabase.sql(configuration, as: Self.owner, "DELETE FROM points.journal_blocks WHERE block_no = 2")
            #expect(try await ledger.verify(program).isSound)
            let truncated = try await ledger.verify(program, expectedHead: sealed.headHash)
            #expect(truncated.problems.map(\.kind) == [.headNotFound])
            #expect(truncated.problems[0].description.contains(sealed.headHash))
            await #expect(throws: LedgerError.invalidInput(field: "head", reason: "\"abc\" is not a SHA-256 hash: 64 hexadecimal digits")) {
                try await ledger.verify(program, expectedHead: "abc")
            }
        }
    }

    /// A movement rewritten inside a sealed block is named twice: by the block and by the
    /// balances it no longer matches. Movements whose entry was removed are named, and never sealed.
    @Test func rewrittenMovementsAreNamedAndMovementsWithoutTheirEntryAreNeverSealed() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            try await history(ledger, program)
            let entries = try TestDatabase.sql(configuration, "SELECT entry_id FROM points.journal_entries ORDER BY entry_id").map {
                try $0.decode(Int64.self, at: 0)
            }
            _ = try await ledger.seal(program, blockEntries: 2)
            try TestDatabase.sql(
                configuration, as: Self.owner, "UPDATE points.movements SET amount = amount + 3 WHERE entry_id = \(entries[1])")
            let report = try await ledger.verify(program)
            #expect(report.problems.contains { $0.kind == .blockAltered && $0.block == 1 }, "\(report.problems)")
            #expect(report.problems.contains {
                $0.kind == .balanceMismatch && $0.member == "m2" && $0.account == "available" && $0.stored == 40 && $0.expected == 43
            }, "\(report.problems)")
            #expect(!report.problems.contains { $0.block == 2 }, "\(report.problems)")
            try TestDatabase.sql(
                configuration, as: Self.owner, "UPDATE points.movements SET amount = amount - 3 WHERE entry_id = \(entries[1])")
            #expect(try await ledger.verify(program).isSound)

            // Unsealed: movements whose entry was deleted are named, and not sealed.
            let late = try await ledger.grant(points: 5, to: "m2", in: program, reason: "late", actor: "ops", key: "g3")
            try TestDatabase.sql(configuration, as: Self.owner, "DELETE FROM points.journal_entries WHERE entry_id = \(late.entryID)")
            #expect(try await ledger.verify(program).problems.contains {
                $0.kind == .missingEntry && $0.entryID == late.entryID && $0.account == "movement" && $0.member == "m2"
            })
            // Nothing after them: nothing to seal. Once a later entry is written, the block that
            // would take it is refused.
            #expect(try await ledger.seal(program).blocks == 0)
            _ = try await ledger.grant(points: 1, to: "m1", in: program, reason: "later", actor: "ops", key: "g4")
            do {
                _ = try await ledger.seal(program)
                Issue.record("movements without their entry were sealed")
            } catch LedgerError.refused(.journalIncomplete(let detail)) {
                #expect(detail.contains("journal entry \(late.entryID) is missing while its movements are there"), "\(detail)")
            }
            let blocks = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_blocks").single()
            #expect(try blocks.decode(Int64.self, at: 0) == 2)
        }
    }

    /// The owner can rewrite the blocks too. A block whose hash was recomputed by hand still
    /// fails its fingerprint; one whose fingerprint was rewritten too passes the default check,
    /// but a movement rewritten in it still shows in the balances, `deep` still finds movements
    /// whose entry was deleted in it, and only a recorded head shows the rehash itself.
    @Test func rehashedBlocksAndMovementsWithoutEntriesAreStillNamed() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            try await history(ledger, program)
            let entries = try TestDatabase.sql(configuration, "SELECT entry_id FROM points.journal_entries ORDER BY entry_id").map {
                try $0.decode(Int64.self, at: 0)
            }
            let sealed = try await ledger.seal(program)
            try TestDatabase.sql(
                configuration, as: Self.owner, "UPDATE points.movements SET amount = amount + 2 WHERE entry_id = \(entries[1])")
            try TestDatabase.sql(configuration, as: Self.owner, "DELETE FROM points.journal_entries WHERE entry_id = \(entries[0])")
            let rehash = """
                UPDATE points.journal_blocks AS b SET block_hash = d.digest
                FROM points.journal_digest(\(program.id), 0, \(entries[3]), (SELECT previous_hash FROM points.journal_blocks)) AS d
                """
            try TestDatabase.sql(configuration, as: Self.owner, PostgresQuery(unsafeSQL: rehash))
            let rehashed = try await ledger.verify(program)
            #expect(rehashed.problems.contains { $0.kind == .blockAltered && $0.block == 1 }, "\(rehashed.problems)")
            // Its hash matches now; its fingerprint does not, with or without --deep.
            #expect(try await ledger.verify(program, deep: true).problems.map(\.kind).filter { $0 == .blockAltered }.count == 1)

            try TestDatabase.sql(configuration, as: Self.owner, PostgresQuery(unsafeSQL: rehash.replacing("block_hash = d.digest", with: "fingerprint = d.fingerprint")))
            let forged = try await ledger.verify(program)
            #expect(!forged.problems.contains { $0.kind == .blockAltered }, "\(forged.problems)")
            #expect(forged.problems.contains {
                $0.kind == .balanceMismatch && $0.member == "m2" && $0.account == "available" && $0.stored == 40 && $0.expected == 42
            }, "\(forged.problems)")
            let deep = try await ledger.verify(program, deep: true)
            #expect(deep.blocksHashed == 1 && !deep.problems.contains { $0.kind == .blockAltered }, "\(deep.problems)")
            #expect(deep.problems.contains {
                $0.kind == .missingEntry && $0.entryID == entries[0] && $0.account == "movement" && $0.member == "m1"
            }, "\(deep.problems)")
            #expect(try await ledger.verify(program, expectedHead: sealed.headHash).problems.contains { $0.kind == .headNotFound })
        }
    }

    /// The audit compares fingerprints first; amounts too large for them send it to the exact
    /// comparison, which still names what is wrong.
    @Test func verifyStaysExactWhereFingerprintsCannotHoldTheAmounts() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("whale", in: program)
            // 2^55 points: w × amount overflows unless the run's weight for "whale" is below 2^8.
            _ = try await ledger.grant(points: 1 << 55, to: "whale", in: program, reason: "migration", actor: "ops", key: "w1")
            let sound = try await ledger.verify(program)
            #expect(sound.isSound, "\(sound.problems)")
            try TestDatabase.sql(configuration, as: Self.owner, "UPDATE points.members SET available = available - 1 WHERE member_id = 'whale'")
            let report = try await ledger.verify(program)
            #expect(report.problems.contains {
                $0.kind == .balanceMismatch && $0.member == "whale" && $0.account == "available"
                    && $0.stored == (1 << 55) - 1 && $0.expected == 1 << 55
            }, "\(report.problems)")
            #expect(report.problems.contains { $0.kind == .lotsNotAvailable && $0.member == "whale" }, "\(report.problems)")

            // Within the fingerprints' range: a lot rewritten by one point is found and named.
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            try TestDatabase.sql(configuration, as: Self.owner, "UPDATE points.lots SET remaining = 99 WHERE member_id = 'm1'")
            let lots = try await ledger.verify(program)
            #expect(lots.problems.contains {
                $0.kind == .lotsNotAvailable && $0.member == "m1" && $0.stored == 99 && $0.expected == 100
            }, "\(lots.problems)")
        }
    }

    @Test func sealingWaitsForTransactionsThatMayStillWriteEntries() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            try await history(ledger, program)
            // A writer's transaction holds an entry id it has not committed.
            let open = try PostgresConnection(configuration: configuration)
            try open.execute(script: "BEGIN; SELECT * FROM points.adjust(\(program.id), 'm2', 5, 'late', 'ops', 'late')")
            await #expect {
                try await ledger.seal(program, wait: .milliseconds(200))
            } throws: { error in
                "\(error)".contains("sealing waits for 1 transaction(s)")
            }
            #expect(try await ledger.verify(program).sealedBlocks == 0)
            try open.execute(script: "COMMIT")
            let sealed = try await ledger.seal(program)
            #expect(sealed.entries == 5)
            // A transaction opened after the seal job started is not waited for: its entry is sealed next time.
            _ = try await ledger.grant(points: 1, to: "m2", in: program, reason: "more", actor: "ops", key: "more")
            #expect(try await ledger.verify(program).unsealedEntries == 1)
            #expect(try await ledger.seal(program).entries == 1)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func theJSONLinesExportIsTheCanonicalFormAnAuditorCanHash() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            try await history(ledger, program)
            let sealed = try await ledger.seal(program)
            let text = Lines()
            _ = try await ledger.exportJournal(
                program, from: Timestamp(microsecondsSinceEpoch: 0), to: .now, format: .jsonl, write: { text.append($0) })
            let hash = try TestDatabase.sql(
                configuration, "SELECT encode(sha256(points.genesis_hash(\(program.id)) || convert_to(\(text.value), 'UTF8')), 'hex')"
            ).single().decode(String.self, at: 0)
            #expect(hash == sealed.headHash)
            #expect(text.value.split(separator: "\n").count == 4)
        }
    }

    @Test func balancesAsOfAnyMomentEqualAReplayOfThePostings() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.changeSettings(of: program, SettingsChange(returnWindowDays: 2, refundPolicy: .negative, backdateDays: 30),
                                                effectiveAt: TestDatabase.settingsSince, actor: "tests")
            var random = SystemRandomNumberGenerator()
            let now = Timestamp.now.microsecondsSinceEpoch
            let day: Int64 = 86_400_000_000
            for member in ["a", "b", "c"] { _ = try await ledger.createMember(member, in: program) }
            for index in 0..<40 {
                let member = ["a", "b", "c"].randomElement(using: &random)!
                let at = Timestamp(microsecondsSinceEpoch: now - Int64.random(in: 1...20, using: &random) * day / 2)
                switch Int.random(in: 0..<4, using: &random) {
                case 0, 1:
                    _ = try await ledger.purchase(
                        PurchaseRequest(member: member, order: "o\(index)", amount: Money(minorUnits: Int64.random(in: 100...9_000, using: &random), exponent: 2),
                                        occurredAt: at), in: program)
                case 2:
                    _ = try await ledger.grant(points: Int64.random(in: 1...50, using: &random), to: member, in: program, reason: "r", actor: "ops", key: "g\(index)")
                default:
                    _ = try? await ledger.spend(points: Int64.random(in: 1...30, using: &random), reason: "r", member: member, in: program, key: "s\(index)")
                }
            }
            _ = try await ledger.mature(program, asOf: .now)
            let postings = try TestDatabase.sql(configuration, "SELECT member_id, account::text, amount, occurred_at FROM points.postings").map {
                (member: try $0.decode(String.self, at: 0), account: try $0.decode(String.self, at: 1), amount: try $0.decode(Int64.self, at: 2),
                 at: try $0.decode(Timestamp.self, at: 3))
            }
            let earliest = postings.map(\.at.microsecondsSinceEpoch).min()!
            for _ in 0..<8 {
                let asOf = Timestamp(microsecondsSinceEpoch: Int64.random(in: earliest...now, using: &random))
                let report = try await ledger.memberBalances(program, asOf: asOf).items
                for line in report {
                    let mine = postings.filter { $0.member == line.member && $0.at <= asOf }
                    #expect(line.available == mine.filter { $0.account == "available" }.reduce(0) { $0 + $1.amount })
                    #expect(line.pending == mine.filter { $0.account == "pending" }.reduce(0) { $0 + $1.amount })
                }
                #expect(report.map(\.member) == Set(postings.filter { $0.at <= asOf }.map(\.member)).sorted())
                let trial = try await ledger.trialBalance(program, asOf: asOf)
                #expect(trial.total == 0)
                for line in trial.lines {
                    #expect(line.balance == postings.filter { $0.account == line.account && $0.at <= asOf }.reduce(0) { $0 + $1.amount })
                }
            }
            #expect(try await ledger.trialBalance(program).lines == (try await ledger.trialBalance(program, asOf: .now)).lines)
        }
    }

    @Test func reportsOfAnEmptyProgramAndOfANegativeBalance() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let empty = try await ledger.liability(program, asOf: .now)
            #expect(empty.outstanding == 0 && empty.value.minorUnits == 0 && empty.byTier.isEmpty && empty.byExpiryMonth.isEmpty)
            #expect(try await ledger.trialBalance(program).lines.allSatisfy { $0.balance == 0 })
            #expect(try await ledger.memberBalances(program, asOf: .now).items.isEmpty)
            #expect(try await ledger.breakage(program, from: program.createdAt, to: .now).months.isEmpty)

            _ = try await ledger.changeSettings(of: program, SettingsChange(refundPolicy: .negative), effectiveAt: nil, actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            _ = try await ledger.grant(points: 500, to: "m2", in: program, reason: "welcome", actor: "ops", key: "g2")
            _ = try await ledger.purchase(PurchaseRequest(member: "m1", order: "o1", amount: Money(minorUnits: 10_000, exponent: 2)), in: program)
            _ = try await ledger.spend(points: 100, reason: "gift", member: "m1", in: program, key: "s1")
            _ = try await ledger.refund(RefundRequest(order: "o1", refund: "r1", amount: Money(minorUnits: 10_000, exponent: 2)), in: program)
            #expect(try await ledger.member("m1", in: program).available == -100)

            let report = try await ledger.liability(program, asOf: .now)
            #expect(report.available == 500 && report.owedByMembers == 100 && report.outstanding == 500)
            #expect(report.pointValue == Decimal(string: "0.01")! && report.value.description == "5.00")
            _ = try await ledger.changeSettings(of: program, SettingsChange(pointValue: Decimal(string: "0.025")!), effectiveAt: nil, actor: "finance")
            let revalued = try await ledger.liability(program, asOf: .now)
            #expect(revalued.value.description == "12.50" && revalued.byExpiryMonth[0].value.description == "12.50")
            #expect(report.byTier.map(\.group) == ["ordinary"] && report.byTier[0].members == 1)
            #expect(report.byExpiryMonth.map(\.points) == [500])
            let breakage = try await ledger.breakage(program, from: program.createdAt, to: .now)
            #expect(breakage.total.issued == 0 && breakage.total.adjusted == 500 && breakage.total.redeemed == 100)
            #expect(try await ledger.trialBalance(program).total == 0)
            let statement = try await ledger.statement(of: "m1", in: program, from: program.createdAt, to: .now)
            #expect(statement.openingAvailable == 0 && statement.closingAvailable == -100)
            #expect(statement.lines.map(\.kind) == ["purchase", "redemption", "refund"])
            #expect(statement.lines.map(\.availableAfter) == [100, 0, -100])
            #expect(statement.lines[0].source == "purchase o1")
        }
    }

    @Test func badPeriodsAndMomentsAreRefused() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let future = Timestamp(microsecondsSinceEpoch: Timestamp.now.microsecondsSinceEpoch + 3_600_000_000)
            let before = Timestamp(microsecondsSinceEpoch: program.createdAt.microsecondsSinceEpoch - 86_400_000_000)
            await #expect { try await ledger.memberBalances(program, asOf: future) } throws: { "\($0)".contains("is in the future") }
            await #expect { try await ledger.liability(program, asOf: before) } throws: { "\($0)".contains("before program default existed") }
            await #expect { try await ledger.breakage(program, from: .now, to: before) } throws: { "\($0)".contains("is not before the period's end") }
            await #expect { try await ledger.statement(of: "nobody", in: program, from: before, to: .now) } throws: {
                ($0 as? LedgerError) == .notFound(.member, id: "nobody")
            }
        }
    }
}

/// Text gathered from an export's pieces.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func append(_ piece: String) { lock.withLock { text += piece } }
    var value: String { lock.withLock { text } }
}
