import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

extension Ledger {
    /// A purchase in CNY at a program-local time such as "2025-03-31 23:59:59.999999" (back-dated).
    func buy(_ member: String, _ order: String, _ amount: String, at local: String, in program: Program) async throws -> PurchaseResult {
        try await purchase(
            PurchaseRequest(
                member: member, order: order, amount: try Money.parse(amount, exponent: 2, field: "amount"),
                occurredAt: try await instant(local, in: program, field: "at"), backdated: true),
            in: program)
    }

    /// Tiers for the tests, in force from 2020: advanced from 1,000 points (kept with 500) at
    /// ×1.5, premium from 5,000 (kept with 3,000) at ×2; quarters; the given downgrade policy.
    func useTestTiers(_ program: Program, downgrade: DowngradePolicy = .oneLevel, period: TierPeriod = .quarter) async throws {
        let since = try await instant("2020-01-01", in: program, field: "since")
        _ = try await changeSettings(of: program, SettingsChange(tierPeriod: period, downgrade: downgrade), effectiveAt: since, actor: "tests")
        _ = try await changeTier(
            "premium", in: program, TierChange(entryPoints: 5_000, retainPoints: 3_000, multiplier: 2), effectiveAt: since, actor: "tests")
        _ = try await changeTier(
            "advanced", in: program, TierChange(entryPoints: 1_000, retainPoints: 500, multiplier: Decimal(string: "1.5")!),
            effectiveAt: since, actor: "tests")
    }
}

@Suite("Tiers: upgrades, refunds, period-end evaluation, configuration")
struct TierTests {
    @Test func anUpgradeIsImmediateAndTheCrossingPurchaseEarnsAtTheOldMultiplier() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("m1", in: program)
            #expect(try await ledger.buy("m1", "o1", "900.00", in: program).upgradedTo == nil)
            let crossing = try await ledger.buy("m1", "o2", "200.00", in: program)
            #expect(crossing.points == 200)
            #expect(crossing.upgradedTo == "advanced")
            #expect(try await ledger.buy("m1", "o3", "100.00", in: program).points == 150)
            #expect(try await ledger.member("m1", in: program).tier == "advanced")
            let changes = try await ledger.tierChanges(of: "m1", in: program)
            #expect(changes.map { [$0.from, $0.to, $0.cause] } == [["ordinary", "advanced", "upgrade"]])
            #expect(changes[0].qualifyingPoints == 1_100)
            #expect(changes[0].entryID == crossing.entryID)
            let standing = try await ledger.tierStanding(of: "m1", in: program)
            #expect(standing.qualifyingPoints == 1_250)
            #expect(standing.nextTier == "premium")
            #expect(standing.pointsToNextTier == 3_750)
            #expect(standing.reachedThisPeriod)
            #expect(standing.pointsToKeep == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func aThresholdMetExactlyUpgradesAndTiersCanBeSkipped() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("exact", in: program)
            _ = try await ledger.createMember("big", in: program)
            #expect(try await ledger.buy("exact", "o1", "999.99", in: program).upgradedTo == nil)
            #expect(try await ledger.buy("exact", "o2", "1.00", in: program).upgradedTo == "advanced")
            #expect(try await ledger.buy("big", "o3", "6000.00", in: program).upgradedTo == "premium")
            #expect(try await ledger.tierChanges(of: "big", in: program).map(\.from) == ["ordinary"])
        }
    }

    @Test func spendQualifiesWhereATierHasASpendThreshold() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: Decimal(string: "0.1")), actor: "tests")
            let spend = { (text: String) throws -> Money?? in .some(try Money.parse(text, exponent: 2, field: "spend")) }
            await #expect(throws: LedgerError.invalidInput(
                field: "thresholds",
                reason: "tier premium needs an entry spend above that of tier advanced, which has one; thresholds rise with rank")
            ) {
                try await ledger.changeTier("advanced", in: program, TierChange(entrySpend: try spend("500.00")), actor: "tests")
            }
            _ = try await ledger.changeTier("premium", in: program, TierChange(entrySpend: try spend("5000.00")), actor: "tests")
            _ = try await ledger.changeTier("advanced", in: program, TierChange(entrySpend: try spend("500.00")), actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            // The part paid with points does not qualify.
            _ = try await ledger.purchase(
                PurchaseRequest(member: "m1", order: "o1", amount: try Money.parse("600.00", exponent: 2, field: "a"),
                                pointsPaid: try Money.parse("200.00", exponent: 2, field: "p")), in: program)
            #expect(try await ledger.member("m1", in: program).tier == "ordinary")
            #expect(try await ledger.buy("m1", "o2", "100.00", in: program).upgradedTo == "advanced")
            #expect(try await ledger.tierChanges(of: "m1", in: program)[0].qualifyingSpend?.description == "500.00")
        }
    }

    @Test func aRefundThatUndoesAnUpgradeReturnsTheMemberToTheTierBefore() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "o1", "900.00", in: program)
            _ = try await ledger.buy("m1", "o2", "200.00", in: program)  // advanced at 1,100
            // Still 1,000 after taking back 100: the tier stays.
            #expect(try await ledger.refundOrder("o2", "r1", "100.00", in: program).tierAfter == nil)
            #expect(try await ledger.member("m1", in: program).tier == "advanced")
            let undone = try await ledger.refundOrder("o2", "r2", "50.00", in: program)
            #expect(undone.clawedBack == 50)
            #expect(undone.tierAfter == "ordinary")
            #expect(try await ledger.member("m1", in: program).tier == "ordinary")
            let changes = try await ledger.tierChanges(of: "m1", in: program)
            #expect(changes.map(\.cause) == ["upgrade", "refund"])
            #expect(changes[1].qualifyingPoints == 950)
            // Reaching it again is a new upgrade.
            #expect(try await ledger.buy("m1", "o3", "50.00", in: program).upgradedTo == "advanced")
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func aRefundKeepsTheHighestTierTheRestStillReaches() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "o1", "1200.00", in: program)  // advanced
            _ = try await ledger.buy("m1", "o2", "4000.00", in: program)  // 1200 + 6000 (×1.5): premium
            #expect(try await ledger.member("m1", in: program).tier == "premium")
            #expect(try await ledger.refundOrder("o2", "r1", "4000.00", in: program).tierAfter == "advanced")
        }
    }

    @Test func theLastMicrosecondOfAQuarterBelongsToIt() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            _ = try await ledger.buy("m1", "o1", "600.00", at: "2025-03-31 23:59:59", in: program)
            #expect(try await ledger.buy("m1", "o2", "400.00", at: "2025-03-31 23:59:59.999999", in: program).upgradedTo == "advanced")
            _ = try await ledger.buy("m2", "o3", "600.00", at: "2025-03-31 23:59:59.999999", in: program)
            #expect(try await ledger.buy("m2", "o4", "400.00", at: "2025-04-01 00:00:00", in: program).upgradedTo == nil)
            #expect(try await ledger.tierChanges(of: "m1", in: program)[0].period == "2025-Q1")
        }
    }

    @Test func periodEndEvaluationKeepsLowersAndCatchesUpInOrder() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            for member in ["a", "b", "c"] { _ = try await ledger.createMember(member, in: program) }
            _ = try await ledger.buy("a", "a1", "1200.00", at: "2025-02-10 12:00", in: program)  // advanced in Q1
            _ = try await ledger.buy("b", "b1", "6000.00", at: "2025-02-10 12:00", in: program)  // premium in Q1
            // Periods are evaluated in order.
            await #expect(throws: LedgerError.self) { try await ledger.evaluateTiers(program, period: .parse("2025-Q2")) }
            await #expect(throws: LedgerError.self) { try await ledger.evaluateTiers(program, period: .parse("2025-06")) }

            let q1 = try await ledger.evaluateTiers(program, period: .parse("2025-Q1"), chunkSize: 2)
            #expect(q1.periods.map(\.period.description) == ["2025-Q1"])
            #expect(q1.periods[0].members == 3)
            #expect(q1.periods[0].changed == 0)  // reached during Q1: kept through Q2
            let again = try await ledger.evaluateTiers(program, period: .parse("2025-Q1"))
            #expect(again.periods[0].alreadyEvaluated)
            #expect(again.periods[0].members == 3)

            _ = try await ledger.buy("a", "a2", "400.00", at: "2025-05-10 12:00", in: program)  // 600 points at ×1.5: kept
            _ = try await ledger.buy("b", "b2", "50.00", at: "2025-05-10 12:00", in: program)  // 100 at ×2
            let q2 = try await ledger.evaluateTiers(program, period: .parse("2025-Q2"))
            #expect(q2.periods[0].moves.map { "\($0.from)>\($0.to) \($0.members) \($0.outcome)" } == [
                "ordinary>ordinary 1 kept", "advanced>advanced 1 kept", "premium>advanced 1 downgraded",
            ])
            #expect(try await ledger.member("a", in: program).tier == "advanced")
            #expect(try await ledger.member("b", in: program).tier == "advanced")

            // A late purchase into a closed period counts in its totals but moves no tier.
            #expect(try await ledger.buy("c", "c1", "2000.00", at: "2025-06-30 12:00", in: program).upgradedTo == nil)

            // Catching up: Q3 and Q4 of 2025, in order, then nothing more is due until 2026-Q1 ends.
            let caughtUp = try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2026-01-01 00:00", in: program, field: "as of"))
            #expect(caughtUp.periods.map(\.period.description) == ["2025-Q3", "2025-Q4"])
            #expect(try await ledger.member("a", in: program).tier == "ordinary")
            #expect(try await ledger.member("b", in: program).tier == "ordinary")
            #expect(try await ledger.tierChanges(of: "b", in: program).map { "\($0.cause):\($0.to)@\($0.period ?? "")" } == [
                "upgrade:premium@2025-Q1", "evaluation:advanced@2025-Q2", "evaluation:ordinary@2025-Q3",
            ])
            #expect(try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2026-01-01 00:00", in: program, field: "as of")).periods.isEmpty)
        }
    }

    @Test func requalifyDropsToTheTierWhoseRetentionWasMet() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program, downgrade: .requalify, period: .month)
            _ = try await ledger.createMember("b", in: program)
            _ = try await ledger.createMember("d", in: program)
            _ = try await ledger.buy("b", "b1", "6000.00", at: "2025-01-10 12:00", in: program)
            _ = try await ledger.buy("d", "d1", "6000.00", at: "2025-01-10 12:00", in: program)
            _ = try await ledger.buy("d", "d2", "300.00", at: "2025-02-10 12:00", in: program)  // 600 at ×2: advanced's retention
            let summary = try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2025-03-01", in: program, field: "as of"))
            #expect(summary.periods.map(\.period.description) == ["2025-01", "2025-02"])
            #expect(try await ledger.member("b", in: program).tier == "ordinary")
            #expect(try await ledger.member("d", in: program).tier == "advanced")
        }
    }

    @Test func aYearPeriodRollsOverAtNewYearInTheProgramsZone() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program, period: .year)
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "o1", "800.00", at: "2024-12-31 23:59:59.999999", in: program)
            #expect(try await ledger.buy("m1", "o2", "800.00", at: "2025-01-01 00:00", in: program).upgradedTo == nil)
            #expect(try await ledger.buy("m1", "o3", "200.00", at: "2025-01-02 00:00", in: program).upgradedTo == "advanced")
            let summary = try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2026-01-01", in: program, field: "as of"))
            #expect(summary.periods.map(\.period.description) == ["2024", "2025"])
            // Reached in 2025: kept at the end of 2025, and the late evaluation of 2024 does not judge it.
            #expect(try await ledger.member("m1", in: program).tier == "advanced")
            #expect(try await ledger.tierChanges(of: "m1", in: program).map(\.cause) == ["upgrade"])
        }
    }

    @Test func qualifyingTasksCountAndMultipliedTasksEarnMore() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.changeTask("post", in: program, TaskChange(capDay: .some(nil), qualifying: true, tierMultiplier: true), actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "o1", "995.00", in: program)
            _ = try await ledger.completeTask(TaskCompletionRequest(task: "post", member: "m1", ref: "p1"), in: program)
            #expect(try await ledger.member("m1", in: program).tier == "advanced")
            #expect(try await ledger.completeTask(TaskCompletionRequest(task: "post", member: "m1", ref: "p2"), in: program).points == 15)
        }
    }

    @Test func aGrantRaisesTheEffectiveTierForItsTermAndItsEndIsRecorded() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program, period: .year)
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "o1", "1000.00", at: "2025-02-10 12:00", in: program)  // advanced, earned
            let grant = try await ledger.grantTier(
                "premium", to: "m1", term: .month, from: try await ledger.instant("2025-03-01", in: program, field: "from"), in: program,
                actor: "ops")
            #expect(grant.effectiveBefore == "advanced" && grant.effectiveAfter == "premium")
            #expect(grant.endsAt == (try await ledger.instant("2025-04-01", in: program, field: "end")))
            let again = try await ledger.grantTier(
                "premium", to: "m1", term: .month, from: try await ledger.instant("2025-03-01", in: program, field: "from"), in: program,
                actor: "ops")
            #expect(again.outcome == .replayed && again.grantID == grant.grantID)
            #expect(try await ledger.buy("m1", "o2", "100.00", at: "2025-03-10 12:00", in: program).points == 200)  // ×2
            #expect(try await ledger.buy("m1", "o3", "100.00", at: "2025-04-10 12:00", in: program).points == 150)  // ×1.5
            #expect(try await ledger.member("m1", in: program).tier == "advanced")
            let summary = try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2025-05-01", in: program, field: "as of"))
            #expect(summary.periods.isEmpty && summary.termsEnded == 1)
            #expect(try await ledger.tierChanges(of: "m1", in: program).map { "\($0.cause):\($0.from)>\($0.to)" } == [
                "upgrade:ordinary>advanced", "grant:advanced>premium", "grant_end:premium>advanced",
            ])
            #expect(try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2025-05-01", in: program, field: "as of")).termsEnded == 0)
            // Without a start, a key makes a retried grant one grant.
            let keyed = try await ledger.grantTier("advanced", to: "m1", term: .year, in: program, actor: "ops", key: "promo-m1")
            try await Task.sleep(for: .milliseconds(20))
            let retried = try await ledger.grantTier("advanced", to: "m1", term: .year, in: program, actor: "ops", key: "promo-m1")
            #expect(retried.outcome == .replayed && retried.grantID == keyed.grantID && retried.startsAt == keyed.startsAt)
            await #expect(throws: LedgerError.self) {
                try await ledger.grantTier("premium", to: "m1", term: .year, in: program, actor: "ops", key: "promo-m1")
            }
            await #expect(throws: LedgerError.self) { try await ledger.grantTier("gold", to: "m1", term: .year, in: program, actor: "ops") }
            await #expect(throws: LedgerError.notFound(.member, id: "ghost")) {
                try await ledger.grantTier("premium", to: "ghost", term: .year, in: program, actor: "ops")
            }
        }
    }

    @Test func anOverrideSetsTheEarnedTierWithAReasonUntilItsEnd() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("m1", in: program)
            let until = Timestamp(Date().addingTimeInterval(1.5))
            #expect(try await ledger.overrideTier("premium", of: "m1", reason: "store opening VIP", until: until, in: program, actor: "ops") == "ordinary")
            #expect(try await ledger.overrideTier("premium", of: "m1", reason: "store opening VIP", until: until, in: program, actor: "ops") == nil)
            #expect(try await ledger.member("m1", in: program).tier == "premium")
            #expect(try await ledger.buy("m1", "o1", "100.00", in: program).points == 200)
            try await Task.sleep(for: .seconds(2))
            #expect(try await ledger.buy("m1", "o2", "100.00", in: program).points == 100)  // ended: ordinary again
            #expect(try await ledger.evaluateTiers(program, asOf: .now).termsEnded == 1)
            #expect(try await ledger.member("m1", in: program).tier == "ordinary")
            let changes = try await ledger.tierChanges(of: "m1", in: program)
            #expect(changes.map(\.cause) == ["override", "override_end"])
            #expect(changes[0].reason?.hasPrefix("store opening VIP (until ") == true && changes[0].actor == "ops")
            await #expect(throws: LedgerError.invalidInput(field: "reason", reason: "it is empty; say it in a few words")) {
                try await ledger.overrideTier("premium", of: "m1", reason: " ", in: program, actor: "ops")
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.overrideTier("premium", of: "m1", reason: "late", until: Timestamp(Date().addingTimeInterval(-60)), in: program, actor: "ops")
            }
        }
    }

    @Test func evaluationDoesNotLowerAMemberWhoseLaterPeriodAlreadyReachesTheTier() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "q1", "6000.00", at: "2025-02-10 12:00", in: program)  // premium in Q1
            _ = try await ledger.buy("m1", "q2", "100.00", at: "2025-05-10 12:00", in: program)  // 200 in Q2: below retention
            _ = try await ledger.buy("m1", "q3", "3000.00", at: "2025-08-10 12:00", in: program)  // 6,000 in Q3 already
            _ = try await ledger.evaluateTiers(program, asOf: try await ledger.instant("2025-07-01", in: program, field: "as of"))
            #expect(try await ledger.member("m1", in: program).tier == "premium")
        }
    }

    @Test func anOverrideAfterAnEndedOneStartsFromTheEarnedTier() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.overrideTier(
                "premium", of: "m1", reason: "launch week", until: Timestamp(Date().addingTimeInterval(1)), in: program, actor: "ops")
            try await Task.sleep(for: .milliseconds(1_300))
            let before = try await ledger.overrideTier(
                "advanced", of: "m1", reason: "support case", until: Timestamp(Date().addingTimeInterval(86_400)), in: program, actor: "ops")
            #expect(before == "ordinary")
            #expect(try await ledger.tierChanges(of: "m1", in: program).map { "\($0.cause):\($0.from)>\($0.to)" } == [
                "override:ordinary>premium", "override_end:premium>ordinary", "override:ordinary>advanced",
            ])
        }
    }

    @Test func aProgramWithoutQualifyingActivityHasNothingToEvaluateYet() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            let summary = try await ledger.evaluateTiers(program, asOf: .now)
            #expect(summary.periods.isEmpty && summary.chunks == 0)
        }
    }

    @Test func badTierSettingsAreRefusedAndChangeNothing() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let before = try await ledger.tierSettings(of: program)
            func refused(_ tier: String, _ change: TierChange) async -> String? {
                do {
                    _ = try await ledger.changeTier(tier, in: program, change, actor: "ops")
                    return nil
                } catch let LedgerError.invalidInput(field, reason) {
                    return "\(field): \(reason)"
                } catch {
                    return "\(error)"
                }
            }
            #expect(await refused("advanced", TierChange(entryPoints: 6_000))?.hasPrefix(
                "thresholds: tier premium needs more entry points than tier advanced (6000)") == true)
            #expect(await refused("advanced", TierChange(multiplier: Decimal(string: "1.23456"))) ==
                "multiplier: 1.23456 must be between 0 and 100 with at most 4 decimals")
            #expect(await refused("advanced", TierChange(multiplier: -1)) == "multiplier: -1 must be between 0 and 100 with at most 4 decimals")
            #expect(await refused("gold", TierChange(multiplier: 2))?.hasPrefix("tier: \"gold\" is not a tier of this program") == true)
            #expect(await refused("gold", TierChange(rank: 1, entryPoints: 9_000)) == "rank: rank 1 belongs to another tier; give a free rank")
            #expect(await refused("advanced", TierChange(rank: 2)) == "rank: the rank of tier advanced cannot change")
            #expect(await refused("advanced", TierChange(retainPoints: .some(2_000)))?.hasPrefix("thresholds: retention") == true)
            #expect(try await ledger.tierSettings(of: program) == before)
            #expect(try await ledger.changeTier("diamond", in: program, TierChange(rank: 3, entryPoints: 20_000, multiplier: 3), actor: "ops").isChanged)
            #expect(try await ledger.tierSettings(of: program).map(\.tier) == ["ordinary", "advanced", "premium", "diamond"])
            #expect(throws: LedgerError.self) { try TierPeriodLabel.parse("2026-Q5") }
            #expect(throws: LedgerError.self) { try TierPeriodLabel.parse("2026-13") }
            #expect(try TierPeriodLabel.parse("2026-Q3").start == "2026-07-01")
        }
    }
}
