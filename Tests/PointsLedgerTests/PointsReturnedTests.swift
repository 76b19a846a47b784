import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Points paid on an order come back with its refunds (RULES.md, Refunds; issue 32, finding 4).
@Suite("Refunds return the points paid on the order")
struct PointsReturnedTests {
    /// A hold captured for an order: its refunds return the points in proportion, cumulatively (a
    /// full refund returns them all), the points spent last first, as lots keeping the expiry of
    /// the lots they were taken from; a lot past its expiry by then comes back expired.
    @Test func refundsReturnThePointsInProportionWithTheirExpiry() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            let soon = Timestamp(Date().addingTimeInterval(2))
            _ = try await ledger.grant(points: 300, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g-soon", expiresAt: soon)
            _ = try await ledger.grant(points: 700, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g-never")
            let hold = try await ledger.createHold(points: 500, member: "m1", expiresIn: .seconds(900), in: program, key: "cart-1")
            // Spent soonest-expiring first: 300 from the lot expiring soon, 200 from the lot that never does.
            let captured = try await ledger.captureHold(hold.holdID, order: "O-1", in: program)
            #expect(captured.captured == 500 && captured.order == "O-1")
            #expect(try await ledger.captureHold(hold.holdID, order: "O-1", in: program).outcome == .replayed)
            await #expect(throws: LedgerError.self) { try await ledger.captureHold(hold.holdID, order: "O-2", in: program) }
            _ = try await ledger.purchase(
                PurchaseRequest(member: "m1", order: "O-1", amount: try Money.parse("100.00", exponent: 2, field: "amount"),
                                pointsPaid: try Money.parse("5.00", exponent: 2, field: "pointsPaid")), in: program)
            let before = try await ledger.member("m1", in: program).available   // 500 + the purchase's 95

            // A third of the order: floor(500 × 1/3) = 166 come back, all from the lot spent last (never expires).
            let third = try await ledger.refund(RefundRequest(order: "O-1", refund: "R-1", amount: try Money.parse("33.34", exponent: 2, field: "amount")), in: program)
            #expect(third.pointsReturned == 166 && third.pointsReturnedExpired == 0)
            #expect(third.clawedBack == 31)   // floor(95 × 33.34 / 100)
            #expect(try await ledger.member("m1", in: program).available == before + 166 - 31)
            let replay = try await ledger.refund(RefundRequest(order: "O-1", refund: "R-1", amount: try Money.parse("33.34", exponent: 2, field: "amount")), in: program)
            #expect(replay.outcome == .replayed && replay.pointsReturned == 166 && replay.clawedBack == 31)

            // The lot that expired meanwhile: what comes back from it comes back expired.
            try await Task.sleep(for: .milliseconds(2_200))
            let rest = try await ledger.refund(RefundRequest(order: "O-1", refund: "R-2", amount: try Money.parse("66.66", exponent: 2, field: "amount")), in: program)
            // 500 in all: 34 more from the lot that never expires, then the 300 of the expired lot.
            #expect(rest.pointsReturned == 334 && rest.pointsReturnedExpired == 300, "\(rest)")
            let lots = try await ledger.lots(of: "m1", in: program)
            let returned = lots.filter { $0.entryID == third.entryID || $0.entryID == rest.entryID }
            #expect(returned.map(\.remaining).sorted() == [34, 166] && returned.allSatisfy { $0.expiresAt == nil }, "\(lots)")
            let report = try await ledger.verify(program)
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }

    /// Points captured without an order stay spent after a refund; an order paid with points by two
    /// captures gets both back.
    @Test func onlyCapturesForTheOrderComeBack() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 1_000, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            for (key, order) in [("c1", "O-1" as String?), ("c2", "O-1"), ("c3", nil)] {
                let hold = try await ledger.createHold(points: 100, member: "m1", expiresIn: .seconds(900), in: program, key: key)
                _ = try await ledger.captureHold(hold.holdID, order: order, in: program)
            }
            _ = try await ledger.purchase(
                PurchaseRequest(member: "m1", order: "O-1", amount: try Money.parse("10.00", exponent: 2, field: "amount")), in: program)
            let refund = try await ledger.refund(RefundRequest(order: "O-1", refund: "R-1", amount: try Money.parse("10.00", exponent: 2, field: "amount")), in: program)
            #expect(refund.pointsReturned == 200 && refund.clawedBack == 10)
            #expect(try await ledger.member("m1", in: program).available == 1_000 - 300 + 200)
            #expect(try await ledger.verify(program).problems.isEmpty)
        }
    }
}
