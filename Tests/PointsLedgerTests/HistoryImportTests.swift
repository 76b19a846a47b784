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
