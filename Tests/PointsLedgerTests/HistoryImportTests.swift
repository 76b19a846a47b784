import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Imports of a program's history other than purchases: every line gets a result, a bad line a
/// line-numbered reason in the single call's words, and a file run twice posts once.
@Suite("Import: refunds, redemptions, grants and deductions, task completions")
struct HistoryImportTests {
    /// Imports `text` as `kind`; the results by line number, and the summary.
    static func run(
        _ ledger: Ledger, _ kind: HistoryKind, _ text: String, into program: Program, backdated: Bool = true, batchSize: Int = 3
    ) async throws -> ([Int: ImportLineResult], ImportSummary) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString + (text.hasPrefix("{") ? ".jsonl" : ".csv"))
        try Data(text.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let results = Results()
        let summary = try await ledger.importHistory(
            kind, from: try FileHandle(forReadingFrom: url), name: url.lastPathComponent, into: program,
            options: ImportOptions(allowBackdated: backdated, batchSize: batchSize, actor: "migration"), report: results.add)
        return (results.byLine, summary)
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [Int: ImportLineResult] = [:]
        var byLine: [Int: ImportLineResult] { lock.withLock { lines } }
        @Sendable func add(_ result: ImportLineResult) { lock.withLock { lines[result.line] = result } }
    }

    @Test func everyKindPostsItsGoodLinesAndNamesWhatIsWrongWithTheOthers() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            _ = try await ledger.setReward("mug", in: program, RewardChange(name: "Coffee mug", cost: 60, stock: .some(1)), actor: "ops")
            _ = try await ledger.purchase(
                PurchaseRequest(
                    member: "m1", order: "o1", amount: try Money.parse("100.00", exponent: 2, field: "amount"),
                    occurredAt: try await ledger.instant("2023-12-01 10:00", in: program, field: "at"), backdated: true),
                in: program)

            let adjustments = """
                {"key": "open-m1", "member": "m1", "points": 500, "reason": "opening balance", "occurred_at": "2024-01-01 10:00", "expires_at": "2030-01-01"}
                {"key": "fix-m1", "member": "m1", "points": "-50", "reason": "correction", "occurred_at": "2024-02-01"}
                {"key": "short", "member": "m2", "points": -50, "reason": "correction", "occurred_at": "2024-02-01"}
                {"key": "ghost", "member": "ghost", "points": 5, "reason": "welcome", "occurred_at": "2024-02-01"}
                {"key": "zero", "member": "m1", "points": 0, "reason": "welcome", "occurred_at": "2024-02-01"}
                {"key": "late", "member": "m1", "points": 5, "reason": "welcome", "occurred_at": "2099-01-01"}
                {"key": "expiring-deduction", "member": "m1", "points": -5, "reason": "x", "occurred_at": "2024-02-01", "expires_at": "2030-01-01"}
                {"key": "expired-before", "member": "m1", "points": 5, "reason": "x", "occurred_at": "2024-02-01", "expires_at": "2023-01-01"}
                {"key": "open-m1", "member": "m1", "points": 501, "reason": "opening balance", "occurred_at": "2024-01-01 10:00"}
                """
            let (adjusted, adjustedSummary) = try await Self.run(ledger, .adjustments, adjustments, into: program)
            #expect(adjustedSummary.accepted == 2 && adjustedSummary.rejected == 7 && adjustedSummary.points == 450, "\(adjusted)")
            #expect(adjusted[1]?.status == .accepted && adjusted[1]?.key == "open-m1" && adjusted[1]?.points == 500)
            #expect(adjusted[3]?.reason == "Member \"m2\" has 0 spendable points, fewer than the 50 requested", "\(adjusted[3]!)")
            #expect(adjusted[4]?.reason == "Member \"ghost\" does not exist in this program", "\(adjusted[4]!)")
            #expect(adjusted[5]?.reason?.hasPrefix("points: \"0\" is not a whole number of points other than 0") == true, "\(adjusted[5]!)")
            #expect(adjusted[6]?.reason?.hasSuffix("is more than 5 minutes in the future") == true, "\(adjusted[6]!)")
            #expect(adjusted[7]?.reason == "expires_at: an expiry belongs to a grant, not to a deduction", "\(adjusted[7]!)")
            #expect(adjusted[8]?.reason?.contains("an expiry belongs to a grant and comes after its time") == true, "\(adjusted[8]!)")
            #expect(adjusted[9]?.reason?.hasPrefix("Idempotency conflict: key \"open-m1\" was already used by entry") == true, "\(adjusted[9]!)")
            let expiry = try TestDatabase.sql(configuration, """
                SELECT l.expires_at = '2030-01-01 00:00+08' FROM points.lots AS l JOIN points.journal_entries AS e USING (program_id, member_id, entry_id)
                WHERE e.idempotency_key = 'open-m1'
                """).single()
            #expect(try expiry.decode(Bool.self, at: 0))
            // Run again: what was posted is a duplicate, what was refused is refused again.
            let (again, againSummary) = try await Self.run(ledger, .adjustments, adjustments, into: program)
            #expect(againSummary.accepted == 0 && againSummary.duplicates == 2 && againSummary.rejected == 7)
            #expect(again[1]?.entryID == adjusted[1]?.entryID)
            // Without the permission, history is refused as a single call refuses it.
            let (recent, _) = try await Self.run(
                ledger, .adjustments, #"{"key": "k", "member": "m1", "points": 5, "reason": "x", "occurred_at": "2024-03-01"}"#, into: program,
                backdated: false)
            #expect(recent[1]?.reason?.hasSuffix("older than the program's back-dating window of 7 days; loading history needs an explicit back-dating permission") == true,
                    "\(recent[1]!)")

            let redemptions = """
                key,member,reward,quantity,points,reason,occurred_at
                r1,m1,,,100,parking,2024-03-01
                r2,m1,mug,2,,,2024-03-02
                r3,m1,mug,,,,2024-03-02 12:00
                r4,m2,,,10,parking,2024-03-03
                r5,m1,,,10,,2024-03-03
                r6,m1,mug,1,10,parking,2024-03-03
                r7,m1,,,10,parking,yesterday
                """
            let (redeemed, redeemedSummary) = try await Self.run(ledger, .redemptions, redemptions, into: program)
            #expect(redeemedSummary.accepted == 2 && redeemedSummary.rejected == 5 && redeemedSummary.points == -160, "\(redeemed)")
            #expect(redeemed[3]?.reason?.contains("mug") == true && redeemed[3]?.reason?.contains("stock") == true, "\(redeemed[3]!)")
            #expect(redeemed[5]?.reason == "Member \"m2\" has 0 spendable points, fewer than the 10 requested", "\(redeemed[5]!)")
            #expect(redeemed[6]?.reason == "reason: points spent without a reward need a reason", "\(redeemed[6]!)")
            #expect(redeemed[7]?.reason == "reward: give a reward (and a quantity), or points and a reason: one of the two", "\(redeemed[7]!)")
            #expect(redeemed[8]?.reason?.hasPrefix("occurred_at: \"yesterday\" is not a time") == true, "\(redeemed[8]!)")

            let tasks = """
                {"task": "checkin", "member": "m1", "occurred_at": "2024-04-01 08:00"}
                {"task": "checkin", "member": "m1", "occurred_at": "2024-04-02 08:00"}
                {"task": "checkin", "member": "m1", "occurred_at": "2024-04-03 08:00", "ref": "2024-04-03"}
                {"task": "checkin", "member": "m1", "occurred_at": "2024-04-04 08:00", "ref": "2024-04-05"}
                {"task": "dance", "member": "m1", "occurred_at": "2024-04-04 08:00", "ref": "d1"}
                {"task": "post", "member": "m1", "occurred_at": "2024-04-04 09:00", "ref": "p1", "colour": "red"}
                """
            let (completed, completedSummary) = try await Self.run(ledger, .tasks, tasks, into: program)
            #expect(completedSummary.accepted == 3 && completedSummary.rejected == 3, "\(completed)")
            #expect(completed[4]?.reason?.hasPrefix("Invalid ref: a check-in's ref is its local date, 2024-04-04") == true, "\(completed[4]!)")
            #expect(completed[5]?.reason?.hasPrefix("Task \"dance\" does not exist") == true, "\(completed[5]!)")
            #expect(completed[6]?.reason?.hasPrefix("unknown field \"colour\"") == true, "\(completed[6]!)")
            let streak = try TestDatabase.sql(configuration, "SELECT max(streak) FROM points.task_completions WHERE member_id = 'm1'").single()
            #expect(try streak.decode(Int64.self, at: 0) == 3)

            let refunds = """
                refund_id,order_id,amount,occurred_at
                rf1,o1,50.00,2024-05-01
                rf2,o1,60.00,2024-05-02
                rf3,nope,1.00,2024-05-02
                rf4,o1,1.001,2024-05-02
                """
            let (refunded, refundedSummary) = try await Self.run(ledger, .refunds, refunds, into: program)
            #expect(refundedSummary.accepted == 1 && refundedSummary.rejected == 3 && refundedSummary.points == -50, "\(refunded)")
            #expect(refunded[2]?.order == "o1" && refunded[2]?.key == "rf1")
            #expect(refunded[3]?.reason?.contains("60.00") == true, "\(refunded[3]!)")
            #expect(refunded[4]?.reason == "Order \"nope\" does not exist in this program", "\(refunded[4]!)")
            #expect(refunded[5]?.reason?.hasPrefix("amount:") == true, "\(refunded[5]!)")

            // What the imports report adds up to what the member holds.
            let net = adjustedSummary.points + redeemedSummary.points + completedSummary.points + refundedSummary.points
            #expect(try await ledger.member("m1", in: program).available == 100 + net)
            #expect(try await ledger.verify(program).isSound)
            #expect(try TestDatabase.sql(configuration, "SELECT count(*) FROM points.import_history_staging").single().decode(Int64.self, at: 0) == 0)
        }
    }

    /// Grants, deductions and spends go through set-based paths: random ones (opening balances
    /// with their own expiry, deductions and spends some of which are short, keys used twice,
    /// unknown members, a member with a hold past its time, a member redeeming a reward, times
    /// out of bounds) imported in batches answer and end exactly as the same posted one call at a time.
    @Test(arguments: [HistoryKind.adjustments, .redemptions], [UInt64(0xAD_0001), 0xAD_0002, 0xAD_0003])
    func grantsDeductionsAndSpendsImportedInBatchesEqualThemPostedOneByOne(kind: HistoryKind, seed: UInt64) async throws {
        try await TestDatabase.withMigrated { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            defer { Task { await ledger.pool.closeIdleConnections() } }
            let single = try await ledger.createProgram(name: "single", currency: "CNY", actor: "tests").program
            let imported = try await ledger.createProgram(name: "imported", currency: "CNY", actor: "tests").program
            let members = (0..<6).map { "m\($0)" }
            for program in [single, imported] {
                _ = try await ledger.changeSettings(
                    of: program, SettingsChange(expiry: .months(6)), effectiveAt: try await ledger.instant("2020-01-01", in: program, field: "since"),
                    actor: "tests")
                for member in members { _ = try await ledger.createMember(member, in: program) }
                _ = try await ledger.grant(
                    points: 100, to: "m5", in: program, reason: "seed", actor: "tests", key: "seed",
                    at: Timestamp(ISO8601DateFormatter().date(from: "2023-12-01T00:00:00Z")!), backdated: true)
                _ = try await ledger.createHold(points: 30, member: "m5", expiresIn: .seconds(1), in: program, key: "hold")
                _ = try await ledger.setReward("mug", in: program, RewardChange(name: "Mug", cost: 50, stock: .some(3)), actor: "tests")
                if kind == .redemptions {
                    for member in members {
                        _ = try await ledger.grant(
                            points: 900, to: member, in: program, reason: "opening", actor: "tests", key: "open-\(member)",
                            at: Timestamp(ISO8601DateFormatter().date(from: "2023-12-02T00:00:00Z")!), backdated: true)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(1_300))  // the holds are past their time, not yet released

            var random = SeededRandom(seed: seed)
            let formatter = ISO8601DateFormatter()
            var at = formatter.date(from: "2024-01-01T00:00:00Z")!
            // points 0: one mug.
            var lines: [(key: String, member: String, points: Int64, at: Date, expires: Date?)] = []
            for index in 0..<220 {
                at.addTimeInterval(Double(Int.random(in: 600...40_000, using: &random)))
                if !lines.isEmpty && Int.random(in: 0..<20, using: &random) == 0 {
                    var again = lines[Int.random(in: 0..<lines.count, using: &random)]
                    if Bool.random(using: &random) { again.points += again.points > 0 ? 1 : -1 }
                    lines.append(again)
                    continue
                }
                let member = Int.random(in: 0..<30, using: &random) == 0 ? "ghost" : members[Int.random(in: 0..<members.count, using: &random)]
                let grant = kind == .adjustments && Int.random(in: 0..<10, using: &random) < 6
                let points = grant ? Int64.random(in: 1...300, using: &random) : -Int64.random(in: 1...(kind == .adjustments ? 400 : 120), using: &random)
                let expires = grant && index != 150 && Int.random(in: 0..<4, using: &random) == 0 ? at.addingTimeInterval(Double(Int.random(in: 1...400, using: &random)) * 86_400) : nil
                // m4 redeems the mug now and then: its lines go through points.redeem.
                let reward = kind == .redemptions && member == "m4" && Int.random(in: 0..<3, using: &random) == 0
                lines.append(("k\(index)", member, reward ? 0 : points, index == 150 ? formatter.date(from: "2099-01-01T00:00:00Z")! : at, expires))
            }

            var expected: [String] = []
            for line in lines {
                do {
                    if kind == .redemptions {
                        let result = line.points == 0
                            ? try await ledger.redeem("mug", member: line.member, in: single, key: line.key, at: Timestamp(line.at), backdated: true)
                            : try await ledger.spend(
                                points: -line.points, reason: "history", member: line.member, in: single, key: line.key, at: Timestamp(line.at),
                                backdated: true)
                        expected.append(result.outcome == .posted ? "accepted \(-result.points)" : "duplicate")
                        continue
                    }
                    let result = line.points > 0
                        ? try await ledger.grant(
                            points: line.points, to: line.member, in: single, reason: "history", actor: "migration", key: line.key,
                            at: Timestamp(line.at), backdated: true, expiresAt: line.expires.map(Timestamp.init))
                        : try await ledger.deduct(
                            points: -line.points, from: line.member, in: single, reason: "history", actor: "migration", key: line.key,
                            at: Timestamp(line.at), backdated: true)
                    expected.append(result.outcome == .posted ? "accepted \(line.points)" : "duplicate")
                } catch {
                    let reason = "\(error)"
                    expected.append("rejected " + (reason.hasSuffix(".") ? String(reason.dropLast()) : reason))
                }
            }
            let file = kind == .adjustments
                ? (["key,member,points,reason,occurred_at,expires_at"] + lines.map { line in
                    "\(line.key),\(line.member),\(line.points),history,\(formatter.string(from: line.at)),\(line.expires.map { formatter.string(from: $0) } ?? "")"
                }).joined(separator: "\n")
                : (["key,member,reward,points,reason,occurred_at"] + lines.map { line in
                    line.points == 0
                        ? "\(line.key),\(line.member),mug,,,\(formatter.string(from: line.at))"
                        : "\(line.key),\(line.member),,\(-line.points),history,\(formatter.string(from: line.at))"
                }).joined(separator: "\n")
            let (results, _) = try await Self.run(ledger, kind, file, into: imported, batchSize: 37)
            let actual = (2...lines.count + 1).map { number -> String in
                guard let result = results[number] else { return "missing" }
                switch result.status {
                case .accepted: return "accepted \(result.points ?? 0)"
                case .duplicate: return "duplicate"
                case .rejected: return "rejected " + (result.reason ?? "")
                }
            }
            // Entry ids differ between the two programs: a conflict names the entry, so compare without them.
            func withoutEntries(_ outcomes: [String]) -> [String] {
                outcomes.map { $0.replacingOccurrences(of: #"entry [0-9]+"#, with: "entry N", options: .regularExpression) }
            }
            let firstDifference = zip(withoutEntries(actual), withoutEntries(expected)).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(firstDifference == nil, "line \((firstDifference?.offset ?? 0) + 2): \(String(describing: firstDifference?.element))")
            #expect(expected.contains { $0.hasPrefix("rejected Member") } && expected.contains("duplicate"), "\(expected)")

            func rows(_ program: Program, _ sql: String) throws -> [String] {
                try TestDatabase.sql(configuration, PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "$program", with: "\(program.id)")))
                    .map { row in try row.decode(String.self, at: 0) }
            }
            for view in [
                "SELECT concat_ws(' ', member_id, available, held, adjustments) FROM points.members WHERE program_id = $program ORDER BY 1",
                """
                SELECT concat_ws(' ', l.member_id, e.idempotency_key, l.earned_at, l.expires_at, l.amount, l.remaining)
                FROM points.lots AS l JOIN points.journal_entries AS e USING (program_id, member_id, entry_id) WHERE l.program_id = $program ORDER BY 1
                """,
                """
                SELECT concat_ws(' ', a.member_id, e.idempotency_key, le.idempotency_key, a.amount)
                FROM points.lot_allocations AS a
                JOIN points.journal_entries AS e USING (program_id, member_id, entry_id)
                JOIN points.lots AS l ON l.program_id = a.program_id AND l.member_id = a.member_id AND l.lot_id = a.lot_id
                JOIN points.journal_entries AS le ON le.program_id = l.program_id AND le.member_id = l.member_id AND le.entry_id = l.entry_id
                WHERE a.program_id = $program ORDER BY 1
                """,
                """
                SELECT concat_ws(' ', e.idempotency_key, e.kind, e.occurred_at, e.backdated, e.request, m.from_account, m.to_account, m.amount, m.occurred_at)
                FROM points.journal_entries AS e JOIN points.movements AS m USING (program_id, member_id, entry_id) WHERE e.program_id = $program ORDER BY 1
                """,
                """
                SELECT concat_ws(' ', e.idempotency_key, r.reward, r.quantity, r.points, r.reason)
                FROM points.redemptions AS r JOIN points.journal_entries AS e USING (program_id, member_id, entry_id) WHERE r.program_id = $program ORDER BY 1
                """,
                "SELECT concat_ws(' ', reward, stock) FROM points.rewards WHERE program_id = $program",
            ] {
                let (mine, theirs) = (try rows(imported, view), try rows(single, view))
                let same = mine == theirs
                #expect(same, "\(view): \(zip(mine, theirs).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "\(mine.count) vs \(theirs.count) rows")")
            }
            #expect(try await ledger.verify(imported).isSound)
        }
    }

    @Test func aHeaderWithoutARequiredColumnOrWithAnUnknownOneIsRefusedWhole() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            for (text, expected) in [
                ("refund_id,order_id,amount\nr1,o1,1.00", "the required column occurred_at is missing; the columns of refunds are"),
                ("key,member,points,reason,occurred_at,colour\n", "unknown column \"colour\"; the columns of adjustments are"),
            ] {
                let kind: HistoryKind = text.hasPrefix("refund") ? .refunds : .adjustments
                await #expect { _ = try await Self.run(ledger, kind, text, into: program) } throws: { error in
                    "\(error)".contains(expected)
                }
            }
        }
    }
}
