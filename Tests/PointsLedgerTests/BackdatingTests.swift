import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Grants, deductions, redemptions and task completions of the past: the same window and the
/// same recorded permission as purchases, and reports as of a past date that show them then.
@Suite("Writes at their original time")
struct BackdatingTests {
    private static func daysAgo(_ days: Double) -> Timestamp { Timestamp(Date().addingTimeInterval(-days * 86_400)) }

    /// What a call threw, as a user reads it; "no error" when it did not throw.
    private static func refusal(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    private static func balance(_ report: TrialBalance, _ account: String) -> Int64 {
        report.lines.first { $0.account == account }?.balance ?? 0
    }

    @Test func grantsAndDeductionsOfThePastNeedThePermissionAndKeepTheirTimes() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let opened = Self.daysAgo(400), deducted = Self.daysAgo(200), expiry = Self.daysAgo(-30)
            let tooOld = await Self.refusal {
                _ = try await ledger.grant(points: 500, to: "m1", in: program, reason: "opening balance", actor: "migration", key: "open-m1", at: opened)
            }
            #expect(tooOld.contains("older than the program's back-dating window of 7 days; loading history needs an explicit back-dating permission"), "\(tooOld)")
            let future = await Self.refusal {
                _ = try await ledger.deduct(points: 1, from: "m1", in: program, reason: "x", actor: "ops", key: "f", at: Self.daysAgo(-1))
            }
            #expect(future.contains("more than 5 minutes in the future"), "\(future)")
            let badExpiry = await Self.refusal {
                _ = try await ledger.grant(
                    points: 5, to: "m1", in: program, reason: "x", actor: "ops", key: "e", at: opened, backdated: true, expiresAt: opened)
            }
            #expect(badExpiry.contains("is not after the grant's time"), "\(badExpiry)")
            #expect(try await ledger.member("m1", in: program).available == 0)

            let grant = try await ledger.grant(
                points: 500, to: "m1", in: program, reason: "opening balance", actor: "migration", key: "open-m1",
                at: opened, backdated: true, expiresAt: expiry)
            // A late retry without the permission is a replay, not a new event.
            let retry = try await ledger.grant(
                points: 500, to: "m1", in: program, reason: "opening balance", actor: "migration", key: "open-m1", at: opened, expiresAt: expiry)
            #expect(retry.outcome == .replayed && retry.entryID == grant.entryID)
            _ = try await ledger.deduct(
                points: 120, from: "m1", in: program, reason: "correction", actor: "migration", key: "fix-m1", at: deducted, backdated: true)

            let rows = try TestDatabase.sql(configuration, """
                SELECT e.idempotency_key, e.backdated, e.occurred_at = min(mv.occurred_at) AND e.occurred_at = max(mv.occurred_at) AS same
                FROM points.journal_entries AS e JOIN points.movements AS mv USING (program_id, member_id, entry_id)
                WHERE e.program_id = \(program.id) GROUP BY e.entry_id, e.idempotency_key, e.backdated, e.occurred_at ORDER BY e.occurred_at
                """)
            let described = try rows.map { row in
                "\(try row.decode(String.self, at: 0)) \(try row.decode(Bool.self, at: 1)) \(try row.decode(Bool.self, at: 2))"
            }
            #expect(described == ["open-m1 true true", "fix-m1 true true"])
            let lot = try TestDatabase.sql(configuration, """
                SELECT earned_at = \(opened), expires_at = \(expiry), remaining FROM points.lots WHERE program_id = \(program.id)
                """).single()
            #expect(try lot.decode(Bool.self, at: 0) && lot.decode(Bool.self, at: 1) && lot.decode(Int64.self, at: 2) == 380)

            // The trial balance at each past date shows what had happened by then.
            #expect(Self.balance(try await ledger.trialBalance(program, asOf: Self.daysAgo(300)), "available") == 500)
            #expect(Self.balance(try await ledger.trialBalance(program, asOf: Self.daysAgo(300)), "adjustments") == -500)
            #expect(Self.balance(try await ledger.trialBalance(program, asOf: Self.daysAgo(100)), "available") == 380)
            #expect(try await ledger.memberBalances(program, asOf: Self.daysAgo(399)).items.first?.available == 500)
            // Before the earliest entry of its history, the program did not exist yet.
            let before = await Self.refusal { _ = try await ledger.memberBalances(program, asOf: Self.daysAgo(401)) }
            #expect(before.contains("is before program"), "\(before)")
        }
    }

    @Test func redemptionsOfThePastUseTheRewardAndTierOfTheirTime() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 300, to: "m1", in: program, reason: "opening", actor: "migration", key: "g", at: Self.daysAgo(90), backdated: true)
            // A reward offered last spring only.
            _ = try await ledger.setReward(
                "spring", in: program, RewardChange(name: "Spring mug", cost: 100, activeFrom: .some(Self.daysAgo(80)), activeUntil: .some(Self.daysAgo(50))),
                actor: "ops")
            let now = await Self.refusal { _ = try await ledger.redeem("spring", member: "m1", in: program, key: "r0") }
            #expect(now.contains("spring"), "\(now)")
            let withoutPermission = await Self.refusal {
                _ = try await ledger.redeem("spring", member: "m1", in: program, key: "r1", at: Self.daysAgo(60))
            }
            #expect(withoutPermission.contains("back-dating permission"), "\(withoutPermission)")
            let redeemed = try await ledger.redeem("spring", member: "m1", in: program, key: "r1", at: Self.daysAgo(60), backdated: true)
            #expect(redeemed.outcome == .posted && redeemed.available == 200)
            let beforeWindow = await Self.refusal {
                _ = try await ledger.redeem("spring", member: "m1", in: program, key: "r2", at: Self.daysAgo(85), backdated: true)
            }
            #expect(beforeWindow.contains("spring"), "\(beforeWindow)")
            _ = try await ledger.spend(
                points: 50, reason: "parking", member: "m1", in: program, key: "s1", at: Self.daysAgo(30), backdated: true)
            #expect(Self.balance(try await ledger.trialBalance(program, asOf: Self.daysAgo(70)), "redeemed") == 0)
            #expect(Self.balance(try await ledger.trialBalance(program, asOf: Self.daysAgo(40)), "redeemed") == 100)
            #expect(Self.balance(try await ledger.trialBalance(program, asOf: Self.daysAgo(40)), "available") == 200)
            #expect(Self.balance(try await ledger.trialBalance(program), "available") == 150)
        }
    }

    @Test func checkInsOfThePastNeedThePermissionAndBuildTheirStreak() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let tooOld = await Self.refusal {
                _ = try await ledger.completeTask(TaskCompletionRequest(task: "checkin", member: "m1", occurredAt: Self.daysAgo(30)), in: program)
            }
            #expect(tooOld.contains("loading history needs an explicit back-dating permission"), "\(tooOld)")
            var streaks: [Int?] = []
            for day in [30.0, 29, 28] {
                let result = try await ledger.completeTask(
                    TaskCompletionRequest(task: "checkin", member: "m1", occurredAt: Self.daysAgo(day), backdated: true), in: program)
                streaks.append(result.streak)
            }
            #expect(streaks == [1, 2, 3])
            let recorded = try TestDatabase.sql(configuration, """
                SELECT bool_and(backdated) FROM points.journal_entries WHERE program_id = \(program.id) AND kind = 'task'
                """).single()
            #expect(try recorded.decode(Bool.self, at: 0))
        }
    }
}
