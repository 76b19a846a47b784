import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Random streams of holds, captures, voids and hold expiry interleaved with purchases, refunds,
/// spends and lot expiry: after every step `audit verify` finds every RULES.md invariant (held
/// balances equal the open holds among them), spends and holds never pass spendable points, and
/// no hold resolves twice.
@Suite("Property: holds resolve once and keep every invariant")
struct HoldPropertyTests {
    enum HoldState: Equatable { case open(expires: Date), captured(Int64), voided, expired }

    @Test(arguments: [(UInt64(0x401D_0001), RefundPolicy.negative), (0x401D_0002, .writeOff)])
    func randomStreams(seed: UInt64, policy: RefundPolicy) async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            var random = SeededRandom(seed: seed)
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(refundPolicy: policy, expiry: .days(20)),
                effectiveAt: Timestamp(Date().addingTimeInterval(-60 * 86_400)), actor: "tests")
            let members = ["a", "b", "c"]
            for member in members { _ = try await ledger.createMember(member, in: program) }
            struct Order { let member: String; let amount: Int64; var refunded: Int64 }
            var orders: [String: Order] = [:]
            var holds: [Int64: (member: String, points: Int64, state: HoldState)] = [:]

            // A member's spendable points by the model: available less the holds still open and in
            // time (a hold past its time reserves nothing, even before jobs holds runs); nil when
            // one of them is within a second of its expiry, too close to call.
            func spendable(_ member: String) async throws -> Int64? {
                var open: Int64 = 0
                for hold in holds.values where hold.member == member {
                    guard case .open(let expires) = hold.state else { continue }
                    if abs(expires.timeIntervalSinceNow) < 1 { return nil }
                    if expires > Date() { open += hold.points }
                }
                return try await ledger.member(member, in: program).available - open
            }

            for step in 0..<150 {
                let member = members.randomElement(using: &random)!
                let context = "seed \(seed), step \(step)"
                switch Int.random(in: 0..<10, using: &random) {
                case 0, 1:
                    let amount = Int64.random(in: 100...40_000, using: &random)
                    let daysAgo = Bool.random(using: &random) ? 0 : Double.random(in: 8..<40, using: &random)
                    _ = try await ledger.purchase(
                        PurchaseRequest(
                            member: member, order: "o\(step)", amount: Money(minorUnits: amount, exponent: 2),
                            occurredAt: daysAgo == 0 ? nil : Timestamp(Date().addingTimeInterval(-daysAgo * 86_400)), backdated: daysAgo > 0),
                        in: program)
                    orders["o\(step)"] = Order(member: member, amount: amount, refunded: 0)
                case 2:
                    guard let (id, order) = orders.randomElement(using: &random), order.amount > order.refunded else { continue }
                    let amount = Bool.random(using: &random) ? order.amount - order.refunded
                        : Int64.random(in: 1...(order.amount - order.refunded), using: &random)
                    _ = try await ledger.refund(
                        RefundRequest(order: id, refund: "r\(step)", amount: Money(minorUnits: amount, exponent: 2)), in: program)
                    orders[id]?.refunded += amount
                case 3:
                    let before = try await spendable(member)
                    let points = Int64.random(in: 1...200, using: &random)
                    do {
                        _ = try await ledger.spend(points: points, reason: "gift", member: member, in: program, key: "s\(step)")
                        #expect(before.map { $0 >= points } != false, "\(context): a spend passed spendable")
                    } catch LedgerError.insufficientPoints {
                        #expect(before.map { $0 < points } != false, "\(context): a spend within spendable was refused")
                    }
                case 4, 5:
                    let before = try await spendable(member)
                    let points = Int64.random(in: 1...150, using: &random)
                    let seconds: Int64 = Int.random(in: 0..<3, using: &random) == 0 ? 1 : 3_600
                    do {
                        let hold = try await ledger.createHold(
                            points: points, member: member, expiresIn: .seconds(seconds), in: program, key: "h\(step)")
                        #expect(before.map { $0 >= points } != false, "\(context): a hold passed spendable")
                        holds[hold.holdID] = (member, points, .open(expires: hold.expiresAt.date))
                    } catch LedgerError.insufficientPoints {
                        #expect(before.map { $0 < points } != false, "\(context): a hold within spendable was refused")
                    }
                case 6, 7:
                    guard let (id, hold) = holds.randomElement(using: &random) else { continue }
                    let void = Bool.random(using: &random)
                    let points = Bool.random(using: &random) ? nil : Int64.random(in: 1...hold.points, using: &random)
                    do {
                        let result = void ? try await ledger.voidHold(id, in: program) : try await ledger.captureHold(id, points: points, in: program)
                        switch (hold.state, result.outcome) {
                        case (.open(let expires), .posted):
                            #expect(expires > Date().addingTimeInterval(-1), "\(context): an expired hold was resolved")
                            holds[id]?.state = void ? .voided : .captured(points ?? hold.points)
                        case (.voided, .replayed):
                            #expect(void, "\(context)")
                        case (.captured(let captured), .replayed):
                            #expect(!void && captured == (points ?? hold.points), "\(context)")
                        default:
                            Issue.record("\(context): hold \(id) in state \(hold.state) resolved again as \(result.outcome)")
                        }
                    } catch LedgerError.refused {
                        // Resolved otherwise before, or expired (now, or by the job).
                        if case .open(let expires) = hold.state {
                            #expect(expires <= Date().addingTimeInterval(1), "\(context): an open hold was refused")
                            holds[id]?.state = .expired
                        }
                    } catch LedgerError.insufficientPoints {
                        // A clawback since the hold took the points it reserved.
                    }
                case 8:
                    let job = try await ledger.expireHolds(program, asOf: .now)
                    for (id, hold) in holds {
                        if case .open(let expires) = hold.state, expires <= Date() { holds[id]?.state = .expired }
                    }
                    _ = job
                default:
                    _ = try await ledger.expire(program, asOf: .now)
                }
                let report = try await ledger.verify(program)
                #expect(report.isSound, "\(context): \(report.problems.map(\.description))")
                if !report.isSound { return }
            }
        }
    }
}
