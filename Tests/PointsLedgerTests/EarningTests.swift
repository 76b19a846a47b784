import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

extension Ledger {
    /// A purchase in CNY at `daysAgo` days before now (back-dated when older than the window).
    func buy(_ member: String, _ order: String, _ amount: String, paid: String? = nil, daysAgo: Double = 0, in program: Program)
        async throws -> PurchaseResult
    {
        try await purchase(
            PurchaseRequest(
                member: member, order: order, amount: try Money.parse(amount, exponent: 2, field: "amount"),
                pointsPaid: try paid.map { text throws(LedgerError) in try Money.parse(text, exponent: 2, field: "paid") },
                occurredAt: daysAgo == 0 ? nil : Timestamp(Date().addingTimeInterval(-daysAgo * 86_400)), backdated: daysAgo > 7),
            in: program)
    }

    func refundOrder(_ order: String, _ refund: String, _ amount: String, in program: Program) async throws -> RefundResult {
        try await self.refund(
            RefundRequest(order: order, refund: refund, amount: try Money.parse(amount, exponent: 2, field: "amount")), in: program)
    }
}

@Suite("Earning: purchases, refunds, lots, maturation and expiry")
struct EarningTests {
    @Test func pointsFollowTheRateTheRoundingAndThePartPaidWithPoints() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            #expect(try await ledger.buy("m1", "o1", "123.45", in: program).points == 123)
            #expect(try await ledger.buy("m1", "o2", "100.00", paid: "20.00", in: program).points == 80)
            #expect(try await ledger.buy("m1", "o3", "0.99", in: program).points == 0)
            #expect(try await ledger.buy("m1", "o4", "5.00", paid: "5.00", in: program).points == 0)
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: Decimal(string: "1.5"), rounding: .halfUp), actor: "tests")
            #expect(try await ledger.buy("m1", "o5", "10.33", in: program).points == 15)  // 15.495 → 15
            #expect(try await ledger.buy("m1", "o6", "10.34", in: program).points == 16)  // 15.51 → 16
            let member = try await ledger.member("m1", in: program)
            #expect(member.available == 123 + 80 + 15 + 16)
            #expect(try await ledger.lots(of: "m1", in: program).count == 4)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func aReplayedOrderPostsOnceAndOtherContentConflicts() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            let first = try await ledger.buy("m1", "o1", "50.00", in: program)
            let again = try await ledger.buy("m1", "o1", "50.00", in: program)
            #expect(again.outcome == .replayed)
            #expect(again.entryID == first.entryID)
            #expect(again.points == 50)
            await #expect(throws: LedgerError.idempotencyConflict(key: "o1", existing: .entry(first.entryID))) {
                try await ledger.buy("m1", "o1", "51.00", in: program)
            }
            await #expect(throws: LedgerError.idempotencyConflict(key: "o1", existing: .entry(first.entryID))) {
                try await ledger.buy("m2", "o1", "50.00", in: program)
            }
            #expect(try await ledger.member("m1", in: program).available == 50)
        }
    }

    @Test func timesOutsideTheWindowAreRefusedUnlessBackdatingIsRecorded() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let old = Timestamp(Date().addingTimeInterval(-8 * 86_400))
            let future = Timestamp(Date().addingTimeInterval(600))
            let amount = try Money.parse("10.00", exponent: 2, field: "amount")
            await #expect(throws: LedgerError.self) {
                try await ledger.purchase(PurchaseRequest(member: "m1", order: "old", amount: amount, occurredAt: old), in: program)
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.purchase(PurchaseRequest(member: "m1", order: "future", amount: amount, occurredAt: future), in: program)
            }
            _ = try await ledger.purchase(PurchaseRequest(member: "m1", order: "old", amount: amount, occurredAt: old, backdated: true), in: program)
            let backdated = try TestDatabase.sql(configuration, "SELECT backdated FROM points.journal_entries WHERE idempotency_key = 'old'").single()
            #expect(try backdated.decode(Bool.self, at: 0))
            let within = Timestamp(Date().addingTimeInterval(-6 * 86_400))
            _ = try await ledger.purchase(PurchaseRequest(member: "m1", order: "recent", amount: amount, occurredAt: within), in: program)
            #expect(try await ledger.member("m1", in: program).available == 20)
        }
    }

    @Test func aLateReplayIsAnsweredEvenOutsideTheWindow() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            let old = Timestamp(Date().addingTimeInterval(-30 * 86_400))
            let amount = try Money.parse("10.00", exponent: 2, field: "amount")
            let first = try await ledger.purchase(
                PurchaseRequest(member: "m1", order: "old", amount: amount, occurredAt: old, backdated: true), in: program)
            // The retry comes without the back-dating permission: it is a replay, not a new event.
            let retry = try await ledger.purchase(PurchaseRequest(member: "m1", order: "old", amount: amount, occurredAt: old), in: program)
            #expect(retry.outcome == .replayed)
            #expect(retry.entryID == first.entryID)
            let refund = try await ledger.refund(
                RefundRequest(order: "old", refund: "r-old", amount: amount, occurredAt: old, backdated: true), in: program)
            let refundRetry = try await ledger.refund(RefundRequest(order: "old", refund: "r-old", amount: amount, occurredAt: old), in: program)
            #expect(refundRetry.outcome == .replayed)
            #expect(refundRetry.entryID == refund.entryID)
            // It answers with what the refund did, read back from its movements.
            #expect(refundRetry.clawedBack == refund.clawedBack && refundRetry.fromPending == refund.fromPending)
            #expect(refundRetry.fromAvailable == refund.fromAvailable && refundRetry.writtenOff == refund.writtenOff)
            #expect(refundRetry.tierAfter == refund.tierAfter && refund.clawedBack == 10)
            // A retry that names the time the first attempt left to the server is the same request.
            let now = try await ledger.purchase(PurchaseRequest(member: "m1", order: "now", amount: amount), in: program)
            let named = try await ledger.purchase(PurchaseRequest(member: "m1", order: "now", amount: amount, occurredAt: .now), in: program)
            #expect(named.outcome == .replayed)
            #expect(named.entryID == now.entryID)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func badAmountsAreRefusedBeforeAnythingIsPosted() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let cases: [PurchaseRequest] = [
                PurchaseRequest(member: "m1", order: "a", amount: Money(minorUnits: 0, exponent: 2)),
                PurchaseRequest(member: "m1", order: "b", amount: Money(minorUnits: -5, exponent: 2)),
                PurchaseRequest(member: "m1", order: "c", amount: Money(minorUnits: 100, exponent: 3)),
                PurchaseRequest(member: "m1", order: "d", amount: Money(minorUnits: 100, exponent: 2), pointsPaid: Money(minorUnits: 101, exponent: 2)),
                PurchaseRequest(member: "m1", order: "", amount: Money(minorUnits: 100, exponent: 2)),
                PurchaseRequest(member: "ghost", order: "e", amount: Money(minorUnits: 100, exponent: 2)),
            ]
            for request in cases {
                await #expect(throws: LedgerError.self, "\(request)") { try await ledger.purchase(request, in: program) }
            }
            let entries = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries").single()
            #expect(try entries.decode(Int64.self, at: 0) == 0)
        }
    }

    @Test func pendingPointsMatureOnceAfterTheReturnWindow() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            // In force for the back-dated purchase too: postings use the settings of their own time.
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(returnWindowDays: 7), effectiveAt: Timestamp(Date().addingTimeInterval(-30 * 86_400)),
                actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "old", "40.00", daysAgo: 8, in: program)
            let fresh = try await ledger.buy("m1", "new", "30.00", in: program)
            #expect(fresh.maturesAt != nil)
            var member = try await ledger.member("m1", in: program)
            #expect(member.pending == 70)
            #expect(member.available == 0)
            let first = try await ledger.mature(program, asOf: .now, chunkSize: 1)
            #expect(first.items == 1)
            #expect(first.points == 40)
            let second = try await ledger.mature(program, asOf: .now)
            #expect(second.items == 0)
            member = try await ledger.member("m1", in: program)
            #expect(member.pending == 30)
            #expect(member.available == 40)
            let lots = try await ledger.lots(of: "m1", in: program)
            #expect(lots.map(\.amount) == [40])
            await #expect(throws: LedgerError.self) {
                try await ledger.mature(program, asOf: Timestamp(Date().addingTimeInterval(86_400)))
            }
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func refundsClawBackCumulativelyPendingFirst() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.changeSettings(of: program, SettingsChange(returnWindowDays: 7), actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.buy("m1", "o1", "100.00", in: program)  // 100 points, pending
            // Three refunds of 33.33, 33.33 and 33.34: floor(100 × R / A) each time, 100 in all.
            let a = try await ledger.refundOrder("o1", "r1", "33.33", in: program)
            let b = try await ledger.refundOrder("o1", "r2", "33.33", in: program)
            let c = try await ledger.refundOrder("o1", "r3", "33.34", in: program)
            #expect([a.clawedBack, b.clawedBack, c.clawedBack] == [33, 33, 34])
            #expect([a.fromPending, b.fromPending, c.fromPending] == [33, 33, 34])
            let replay = try await ledger.refundOrder("o1", "r2", "33.33", in: program)
            #expect(replay.outcome == .replayed)
            #expect(replay.entryID == b.entryID)
            await #expect(throws: LedgerError.self) { try await ledger.refundOrder("o1", "r4", "0.01", in: program) }
            await #expect(throws: LedgerError.idempotencyConflict(key: "r1", existing: .entry(a.entryID))) {
                try await ledger.refundOrder("o1", "r1", "1.00", in: program)
            }
            let member = try await ledger.member("m1", in: program)
            #expect(member.pending == 0)
            #expect(member.available == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func aShortClawbackGoesNegativeOrIsWrittenOffByPolicy() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            for member in ["neg", "off"] { _ = try await ledger.createMember(member, in: program) }
            _ = try await ledger.buy("neg", "o-neg", "100.00", in: program)
            _ = try await ledger.deduct(points: 80, from: "neg", in: program, reason: "gift", actor: "tests", key: "spend-neg")
            let negative = try await ledger.refundOrder("o-neg", "r-neg", "100.00", in: program)
            #expect(negative.fromAvailable == 100)
            #expect(negative.writtenOff == 0)
            #expect(try await ledger.member("neg", in: program).available == -80)
            // Debt is repaid before a new lot forms.
            _ = try await ledger.buy("neg", "o-neg-2", "100.00", in: program)
            #expect(try await ledger.member("neg", in: program).available == 20)
            #expect(try await ledger.lots(of: "neg", in: program).map(\.remaining) == [20])

            _ = try await ledger.changeSettings(of: program, SettingsChange(refundPolicy: .writeOff), actor: "tests")
            _ = try await ledger.buy("off", "o-off", "100.00", in: program)
            _ = try await ledger.deduct(points: 80, from: "off", in: program, reason: "gift", actor: "tests", key: "spend-off")
            let writeOff = try await ledger.refundOrder("o-off", "r-off", "100.00", in: program)
            #expect(writeOff.fromAvailable == 20)
            #expect(writeOff.writtenOff == 80)
            #expect(try await ledger.member("off", in: program).available == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func spendingTakesTheSoonestExpiringLotsFirst() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 10, to: "m1", in: program, reason: "never expires", actor: "tests", key: "g-never")
            _ = try await ledger.changeSettings(of: program, SettingsChange(expiry: .months(12)), actor: "tests")
            _ = try await ledger.grant(points: 10, to: "m1", in: program, reason: "12 months", actor: "tests", key: "g-12")
            _ = try await ledger.changeSettings(of: program, SettingsChange(expiry: .months(1)), actor: "tests")
            _ = try await ledger.grant(points: 10, to: "m1", in: program, reason: "1 month", actor: "tests", key: "g-1")
            let lots = try await ledger.lots(of: "m1", in: program)
            #expect(lots.map(\.amount) == [10, 10, 10])
            #expect(lots.last?.expiresAt == nil)
            _ = try await ledger.deduct(points: 15, from: "m1", in: program, reason: "gift", actor: "tests", key: "d1")
            let after = try await ledger.lots(of: "m1", in: program)
            #expect(after.map(\.remaining) == [5, 10])
            #expect(after.map(\.lot) == [lots[1].lot, lots[2].lot])
            let allocations = try TestDatabase.sql(configuration, "SELECT lot_id, amount FROM points.lot_allocations ORDER BY lot_id")
            #expect(try allocations.map { try $0.decode(Int64.self, at: 0) } == [lots[1].lot, lots[0].lot])
            #expect(try allocations.map { try $0.decode(Int64.self, at: 1) } == [5, 10])
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func expiryMovesRemaindersOnceAndIsResumable() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(expiry: .days(3)), effectiveAt: Timestamp(Date().addingTimeInterval(-40 * 86_400)),
                actor: "tests")
            for index in 0..<5 {
                _ = try await ledger.createMember("m\(index)", in: program)
                _ = try await ledger.buy("m\(index)", "o\(index)", "10.00", daysAgo: 10, in: program)
                _ = try await ledger.buy("m\(index)", "n\(index)", "7.00", in: program)
            }
            _ = try await ledger.deduct(points: 4, from: "m0", in: program, reason: "gift", actor: "tests", key: "d0")
            let first = try await ledger.expire(program, asOf: .now, chunkSize: 2)
            #expect(first.items == 5)
            #expect(first.points == 6 + 4 * 10)
            #expect(first.chunks == 3)
            let again = try await ledger.expire(program, asOf: .now)
            #expect(again.items == 0)
            #expect(try await ledger.member("m0", in: program).available == 7)
            #expect(try await ledger.member("m1", in: program).available == 7)
            let expired = try TestDatabase.sql(configuration, "SELECT sum(expired) FROM points.members").single()
            #expect(try expired.decode(Int64.self, at: 0) == 46)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func theReferrerIsPaidOnceOnTheFirstPurchase() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.changeSettings(of: program, SettingsChange(referralBonus: 50), actor: "tests")
            _ = try await ledger.createMember("ref", in: program)
            _ = try await ledger.createMember("new", referrer: "ref", in: program)
            await #expect(throws: LedgerError.self) { try await ledger.createMember("x", referrer: "ghost", in: program) }
            await #expect(throws: LedgerError.self) { try await ledger.createMember("new", referrer: "x", in: program) }
            await #expect(throws: LedgerError.self) { try await ledger.createMember("self", referrer: "self", in: program) }
            let first = try await ledger.buy("new", "o1", "10.00", in: program)
            #expect(first.referralEntryID != nil)
            let second = try await ledger.buy("new", "o2", "10.00", in: program)
            #expect(second.referralEntryID == nil)
            #expect(try await ledger.member("ref", in: program).available == 50)
            #expect(try await ledger.history(of: "ref", in: program).items.map(\.kind) == ["referral"])
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func settingsApplyFromTheirEffectiveTimeAndAreRecorded() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let tomorrow = Timestamp(Date().addingTimeInterval(86_400))
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: 2), effectiveAt: tomorrow, actor: "alice")
            #expect(try await ledger.settings(of: program).earnRate == 1)
            #expect(try await ledger.settings(of: program, at: tomorrow).earnRate == 2)
            _ = try await ledger.createMember("m1", in: program)
            #expect(try await ledger.buy("m1", "o1", "10.00", in: program).points == 10)
            await #expect(throws: LedgerError.self) {
                try await ledger.changeSettings(
                    of: program, SettingsChange(earnRate: 3), effectiveAt: Timestamp(Date().addingTimeInterval(-86_400)), actor: "alice")
            }
            #expect(try await ledger.changeSettings(of: program, SettingsChange(earnRate: 2), effectiveAt: tomorrow, actor: "alice") == .unchanged)
            await #expect(throws: LedgerError.self) {
                try await ledger.changeSettings(of: program, SettingsChange(returnWindowDays: 400), actor: "alice")
            }
            let change = try TestDatabase.sql(configuration, """
                SELECT actor, before ->> 'earn_rate', after ->> 'earn_rate' FROM points.configuration_changes WHERE subject = 'settings' AND actor = 'alice'
                """).single()
            #expect(try change.decode(String.self, at: 0) == "alice")
            #expect(try change.decode(String.self, at: 1) == "1")
            #expect(try change.decode(String.self, at: 2) == "2")
        }
    }

    @Test func aPurchaseBeforeTheLatestChangesEarnsByTheSettingsAndMultiplierInForceThen() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.changeSettings(of: program, SettingsChange(earnRate: 2), actor: "alice")
            _ = try await ledger.changeTier("ordinary", in: program, TierChange(multiplier: Decimal(string: "1.5")!), actor: "alice")
            // Half a day ago: rate 1, multiplier 1. Now: rate 2, multiplier 1.5.
            #expect(try await ledger.buy("m1", "o1", "10.00", daysAgo: 0.5, in: program).points == 10)
            #expect(try await ledger.buy("m1", "o2", "10.00", in: program).points == 30)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func historyTracesEveryPointToItsSourceAndLot() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            let bought = try await ledger.buy("m1", "o1", "30.00", in: program)
            _ = try await ledger.deduct(points: 12, from: "m1", in: program, reason: "gift", actor: "tests", key: "d1")
            _ = try await ledger.refundOrder("o1", "r1", "30.00", in: program)
            // Oldest first, read from the history's pages of one entry each, newest first.
            var history: [HistoryEntry] = []
            var page = PageRequest(limit: 1)
            repeat {
                let read = try await ledger.history(of: "m1", in: program, page: page)
                #expect(read.items.count == 1)
                history.insert(contentsOf: read.items, at: 0)
                page.cursor = read.nextCursor
            } while page.cursor != nil
            #expect(history.map(\.kind) == ["purchase", "adjustment.deduct", "refund"])
            #expect(history.map(\.reference) == ["o1", "d1", "r1"])
            // The full refund claws back all 30 points: 18 from the lot, and 12 below zero (policy `negative`).
            #expect(history.map(\.availableChange) == [30, -12, -30])
            #expect(history[0].request.fields["amount"] == .money(try Money.parse("30.00", exponent: 2, field: "amount")))
            #expect(history[0].request.fields["order"] == .text("o1") && history[1].request.fields["points"] == .number(-12))
            let lot = try #require(history[0].formedLots.first)
            #expect(history[0].entryID == bought.entryID)
            #expect(history[1].spentFromLots == [LotAllocation(lot: lot, points: 12)])
            #expect(history[2].spentFromLots == [LotAllocation(lot: lot, points: 18)])
        }
    }
}
