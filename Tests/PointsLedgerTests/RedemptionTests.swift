import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Redemption: rewards, checks, races for the last unit and the last points")
struct RedemptionTests {
    @Test func aRedemptionTakesPointsFromTheSoonestExpiringLotsAndStockInOneStep() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.changeSettings(of: program, SettingsChange(expiry: .days(30)), effectiveAt: .now, actor: "ops")
            _ = try await ledger.buy("m1", "old", "100.00", daysAgo: 5, in: program)  // expires first
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            try await ledger.setReward("mug", in: program, RewardChange(name: "Coffee mug", cost: 60, stock: .some(3)), actor: "ops")
            let result = try await ledger.redeem("mug", quantity: 2, member: "m1", in: program, key: "r1")
            #expect(result.outcome == .posted && result.points == 120 && result.available == 80 && result.stockLeft == 1)
            let lots = try await ledger.lots(of: "m1", in: program)
            #expect(lots.map(\.remaining) == [80])  // the older lot went first, then 20 of the grant's
            let replay = try await ledger.redeem("mug", quantity: 2, member: "m1", in: program, key: "r1")
            #expect(replay.outcome == .replayed && replay.entryID == result.entryID && replay.points == 120)
            await #expect(throws: LedgerError.idempotencyConflict(key: "r1", existing: .entry(result.entryID))) {
                try await ledger.redeem("mug", quantity: 1, member: "m1", in: program, key: "r1")
            }
            _ = try await ledger.grant(points: 200, to: "m1", in: program, reason: "top-up", actor: "ops", key: "g2")
            await #expect(throws: LedgerError.refused(.outOfStock(reward: "mug", left: 1, requested: 2))) {
                try await ledger.redeem("mug", quantity: 2, member: "m1", in: program, key: "r2")
            }
            let catalog = try await ledger.rewards(of: program)
            #expect(catalog.map { "\($0.reward) \($0.stock ?? -1) \($0.redeemed)" } == ["mug 1 2"])
            let spent = try await ledger.spend(points: 30, reason: "donation to the store's charity", member: "m1", in: program, key: "s1")
            #expect(spent.available == 250)
            await #expect(throws: LedgerError.insufficientPoints(member: "m1", spendable: 250, requested: 300)) {
                try await ledger.spend(points: 300, reason: "too much", member: "m1", in: program, key: "s2")
            }
            #expect(try await ledger.member("m1", in: program).available == 250)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func eachCheckNamesWhatFailedAndPostsNothing() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 1_000, to: "m1", in: program, reason: "seed", actor: "ops", key: "seed")
            let later = Timestamp(Date().addingTimeInterval(86_400))
            try await ledger.setReward("gala", in: program, RewardChange(name: "Gala dinner", cost: 100, minTier: .some("premium")), actor: "ops")
            try await ledger.setReward("cap", in: program, RewardChange(name: "Cap", cost: 10, limitPerMember: .some(2)), actor: "ops")
            try await ledger.setReward("xmas", in: program, RewardChange(name: "Xmas box", cost: 10, activeFrom: .some(later)), actor: "ops")
            await #expect(throws: LedgerError.refused(.tierTooLow(reward: "gala", member: "m1", memberTier: "ordinary", minimumTier: "premium"))) {
                try await ledger.redeem("gala", member: "m1", in: program, key: "k1")
            }
            do {
                _ = try await ledger.redeem("xmas", member: "m1", in: program, key: "k2")
                Issue.record("a reward before its window was redeemed")
            } catch LedgerError.refused(let refusal) {
                #expect(refusal.description.hasPrefix("Reward xmas is not active now (active from 20"), "\(refusal)")
            }
            _ = try await ledger.redeem("cap", quantity: 2, member: "m1", in: program, key: "k3")
            await #expect(throws: LedgerError.refused(.limitReached(reward: "cap", member: "m1", redeemed: 2, limit: 2, requested: 1))) {
                try await ledger.redeem("cap", member: "m1", in: program, key: "k4")
            }
            await #expect(throws: LedgerError.self) { try await ledger.redeem("nothing", member: "m1", in: program, key: "k5") }
            await #expect(throws: LedgerError.self) { try await ledger.redeem("cap", quantity: 0, member: "m1", in: program, key: "k6") }
            await #expect(throws: LedgerError.notFound(.member, id: "ghost")) { try await ledger.redeem("cap", member: "ghost", in: program, key: "k7") }
            #expect(try await ledger.member("m1", in: program).available == 980)
            // A grant of the tier opens the gala.
            _ = try await ledger.grantTier("premium", to: "m1", term: .month, in: program, actor: "ops")
            #expect(try await ledger.redeem("gala", member: "m1", in: program, key: "k1").points == 100)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func thirtyTwoConnectionsRacingForTheLastUnitsAndTheLastPoints() async throws {
        try await TestDatabase.withLedger(connections: 32) { ledger, program, _ in
            try await ledger.setReward("last", in: program, RewardChange(name: "The last gift", cost: 10, stock: .some(5)), actor: "ops")
            for index in 0..<32 {
                _ = try await ledger.createMember("r\(index)", in: program)
                _ = try await ledger.grant(points: 50, to: "r\(index)", in: program, reason: "seed", actor: "ops", key: "seed-\(index)")
            }
            _ = try await ledger.createMember("one", in: program)
            _ = try await ledger.grant(points: 100, to: "one", in: program, reason: "seed", actor: "ops", key: "seed-one")
            let (gifts, spends) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for index in 0..<32 {
                    group.addTask {
                        var gift = 0
                        var spend = 0
                        do {
                            _ = try await ledger.redeem("last", member: "r\(index)", in: program, key: "gift-\(index)")
                            gift = 1
                        } catch LedgerError.refused {}
                        do {
                            _ = try await ledger.spend(points: 30, reason: "race", member: "one", in: program, key: "spend-\(index)")
                            spend = 1
                        } catch LedgerError.insufficientPoints {}
                        return (gift, spend)
                    }
                }
                return try await group.reduce(into: (0, 0)) { $0.0 += $1.0; $0.1 += $1.1 }
            }
            #expect(gifts == 5)
            #expect(spends == 3)
            #expect(try await ledger.rewards(of: program).first?.stock == 0)
            #expect(try await ledger.member("one", in: program).available == 10)
            #expect(try await ledger.verify(program).isSound)
        }
    }
}
