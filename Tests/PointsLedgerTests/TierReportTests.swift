import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// What an admin and finance ask first of a program moved in: members per tier then, and the
/// gross figures behind the net ones.
@Suite("Reports: members per tier, gross figures")
struct TierReportTests {
    @Test func membersPerTierEarnedAndEffectiveAtAMomentWithTheirQualifyingTotals() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program)  // quarters; advanced from 1,000 points, premium from 5,000
            for member in ["m1", "m2", "m3"] { _ = try await ledger.createMember(member, in: program) }
            let then = Timestamp(Date().addingTimeInterval(-10 * 86_400))
            func buy(_ member: String, _ amount: String, at: Timestamp) async throws {
                _ = try await ledger.purchase(
                    PurchaseRequest(
                        member: member, order: "\(member)-\(amount)", amount: try Money.parse(amount, exponent: 2, field: "amount"), occurredAt: at,
                        backdated: true),
                    in: program)
            }
            try await buy("m2", "10.00", at: Timestamp(microsecondsSinceEpoch: then.microsecondsSinceEpoch - 60_000_000))
            try await buy("m1", "1200.00", at: then)
            _ = try await ledger.grantTier("premium", to: "m3", term: .month, in: program, actor: "ops", key: "vip-m3")

            let past = try await ledger.tierReport(program, asOf: Timestamp(microsecondsSinceEpoch: then.microsecondsSinceEpoch + 1_000_000))
            func line(_ report: TierReport, _ tier: String) -> TierReportLine? { report.lines.first { $0.tier == tier } }
            #expect(past.lines.map(\.tier) == ["ordinary", "advanced", "premium"])
            #expect(line(past, "ordinary")?.earned == 1 && line(past, "ordinary")?.effective == 1)
            #expect(line(past, "ordinary")?.qualifyingPoints == Spread(minimum: 10, lowerQuartile: 10, median: 10, upperQuartile: 10, maximum: 10))
            #expect(line(past, "advanced")?.earned == 1 && line(past, "advanced")?.effective == 1)
            #expect(line(past, "advanced")?.qualifyingSpend?.median == Money(minorUnits: 120_000, exponent: 2))
            #expect(line(past, "premium")?.earned == 0 && line(past, "premium")?.effective == 0 && line(past, "premium")?.qualifyingPoints == nil)

            // Now m3 (created since, with no entry then) counts too: earned ordinary, effective premium by its grant.
            let now = try await ledger.tierReport(program)
            #expect(now.lines.map { "\($0.tier) \($0.earned) \($0.effective)" } == ["ordinary 2 1", "advanced 1 1", "premium 0 1"])
        }
    }

    @Test func theTrialBalanceAndBreakageShowTheGrossFiguresBehindTheNetOnes() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            let start = Timestamp(Date().addingTimeInterval(-60 * 86_400))
            _ = try await ledger.grant(points: 500, to: "m1", in: program, reason: "opening", actor: "migration", key: "g", at: start, backdated: true)
            _ = try await ledger.deduct(points: 50, from: "m1", in: program, reason: "fix", actor: "migration", key: "d")
            _ = try await ledger.purchase(
                PurchaseRequest(member: "m1", order: "o1", amount: try Money.parse("100.00", exponent: 2, field: "amount")), in: program)
            _ = try await ledger.refund(
                RefundRequest(order: "o1", refund: "r1", amount: try Money.parse("30.00", exponent: 2, field: "amount")), in: program)
            _ = try await ledger.spend(points: 20, reason: "parking", member: "m1", in: program, key: "s")

            for report in [try await ledger.trialBalance(program), try await ledger.trialBalance(program, asOf: .now)] {
                func line(_ account: String) -> String {
                    report.lines.first { $0.account == account }.map { "\($0.balance) \($0.received) \($0.given)" } ?? "none"
                }
                #expect(line("issued") == "-70 30 100")
                #expect(line("adjustments") == "-450 50 500")
                #expect(line("redeemed") == "20 20 0")
                #expect(line("available") == "500 600 100")
                #expect(report.total == 0)
            }
            let breakage = try await ledger.breakage(program, from: Timestamp(Date().addingTimeInterval(-90 * 86_400)), to: .now)
            let total = breakage.total
            #expect("\(total.issued) \(total.issuedGross) \(total.clawedBack)" == "70 100 30")
            #expect("\(total.adjusted) \(total.granted) \(total.deducted)" == "450 500 50")
        }
    }
}
