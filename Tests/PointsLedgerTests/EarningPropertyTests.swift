import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Random streams of purchases, partial and full refunds in any order, adjustments, maturation
/// and expiry; after every step every RULES.md invariant holds.
@Suite("Property: earning keeps every invariant")
struct EarningPropertyTests {
    @Test(arguments: [(UInt64(11), RefundPolicy.negative), (12, .writeOff), (13, .negative)])
    func randomEarningStreams(seed: UInt64, policy: RefundPolicy) async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            var random = SeededRandom(seed: seed)
            let beginning = Timestamp(Date().addingTimeInterval(-90 * 86_400))
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(returnWindowDays: 7, refundPolicy: policy, expiry: .days(20)),
                effectiveAt: beginning, actor: "tests")
            let members = (0..<5).map { "p\($0)" }
            for member in members { _ = try await ledger.createMember(member, in: program) }

            struct Order { let member: String; let amountMinor: Int64; var refundedMinor: Int64; let points: Int64 }
            var orders: [String: Order] = [:]
            var refunds = 0

            for step in 0..<160 {
                let member = members.randomElement(using: &random)!
                let daysAgo = Double(Int.random(in: 0...60, using: &random)) + Double.random(in: 0..<1, using: &random)
                let when = Timestamp(Date().addingTimeInterval(-daysAgo * 86_400))
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    let amount = Int64.random(in: 1...50_000, using: &random)
                    let paid = Bool.random(using: &random) ? Int64.random(in: 0...amount, using: &random) : 0
                    let order = "o\(step)"
                    let result = try await ledger.purchase(
                        PurchaseRequest(
                            member: member, order: order, amount: Money(minorUnits: amount, exponent: 2),
                            pointsPaid: Money(minorUnits: paid, exponent: 2), occurredAt: when, backdated: true),
                        in: program)
                    #expect(result.points == (amount - paid) / 100, "step \(step)")
                    orders[order] = Order(member: member, amountMinor: amount, refundedMinor: 0, points: result.points)
                case 4..<6:
                    guard let (order, state) = orders.randomElement(using: &random) else { continue }
                    let left = state.amountMinor - state.refundedMinor
                    let amount = Bool.random(using: &random) ? left : Int64.random(in: 1...max(1, left + 10), using: &random)
                    refunds += 1
                    do {
                        let result = try await ledger.refund(
                            RefundRequest(order: order, refund: "r\(refunds)", amount: Money(minorUnits: amount, exponent: 2)),
                            in: program)
                        orders[order]!.refundedMinor += amount
                        #expect(amount <= left)
                        #expect(result.refunded.minorUnits == orders[order]!.refundedMinor)
                    } catch LedgerError.refused(.exceedsOrder(let refusedOrder, let requested, _, _, _)) {
                        #expect(refusedOrder == order && requested.minorUnits == amount && amount > left, "step \(step)")
                    } catch LedgerError.invalidInput(let field, _) {
                        #expect(field == "amount" && amount == 0, "step \(step)")
                    }
                case 6:
                    _ = try await ledger.grant(
                        points: Int64.random(in: 1...300, using: &random), to: member, in: program, reason: "r", actor: "a", key: "g\(step)")
                case 7:
                    let spendable = try await ledger.member(member, in: program).spendable
                    guard spendable > 0 else { continue }
                    _ = try await ledger.deduct(
                        points: Int64.random(in: 1...spendable, using: &random), from: member, in: program, reason: "r", actor: "a",
                        key: "d\(step)")
                case 8:
                    _ = try await ledger.mature(program, asOf: when, chunkSize: Int.random(in: 1...4, using: &random))
                default:
                    _ = try await ledger.expire(program, asOf: when, chunkSize: Int.random(in: 1...4, using: &random))
                }

                let report = try await ledger.verify(program)
                #expect(report.isSound, "seed \(seed) step \(step): \(report.problems)")
                // The clawback of every order is floor(P × R / A), whatever the order and split of its refunds.
                let drift = try TestDatabase.sql(configuration, """
                    SELECT count(*) FROM points.purchases
                    WHERE clawed_back <> floor(points::numeric * refunded_minor / amount_minor)
                    """).single().decode(Int64.self, at: 0)
                #expect(drift == 0, "seed \(seed) step \(step)")
                if !report.isSound || drift != 0 { return }
            }
            // Nothing matured or expired twice: one maturation entry per order, each lot expired at most once.
            let twice = try TestDatabase.sql(configuration, """
                SELECT (SELECT count(*) FROM (SELECT idempotency_key FROM points.journal_entries WHERE kind = 'maturation'
                                              GROUP BY idempotency_key HAVING count(*) > 1) AS m)
                     + (SELECT count(*) FROM points.lots WHERE expired_amount > 0 AND expired_entry_id IS NULL)
                """).single().decode(Int64.self, at: 0)
            #expect(twice == 0)
            let fullyRefunded = orders.filter { $0.value.refundedMinor == $0.value.amountMinor }
            let notFullyClawed = try TestDatabase.sql(configuration, """
                SELECT count(*) FROM points.purchases WHERE order_id = ANY(\(Array(fullyRefunded.keys))) AND clawed_back <> points
                """).single().decode(Int64.self, at: 0)
            #expect(notFullyClawed == 0)
        }
    }
}
