import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Random purchases and refunds over a year of quarters, with period-end evaluations run on time
/// or late: event by event, the ledger's points, upgrades and tiers equal those of a small model
/// written straight from RULES.md (Tiers, Refunds).
@Suite("Property: tiers follow the rules, event by event")
struct TierPropertyTests {
    /// The model's tiers: rank, entry and retention points, and the multiplier as a fraction.
    struct Tier { let name: String; let entry: Int64; let retain: Int64; let numerator: Int64; let denominator: Int64 }
    static let tiers = [
        Tier(name: "ordinary", entry: 0, retain: 0, numerator: 1, denominator: 1),
        Tier(name: "advanced", entry: 1_000, retain: 500, numerator: 3, denominator: 2),
        Tier(name: "premium", entry: 5_000, retain: 3_000, numerator: 2, denominator: 1),
    ]

    struct Member {
        var rank = 0
        /// The quarter (0–3) in which the current tier was reached by an upgrade, and the rank before.
        var reachedIn: Int?
        var rankBefore: Int?
        var totals = [Int64](repeating: 0, count: 4)
    }

    struct Order { let member: String; let quarter: Int; let amount: Int64; let points: Int64; var refunded: Int64 = 0; var clawed: Int64 = 0 }

    static func reached(_ points: Int64) -> Int { tiers.lastIndex { $0.entry <= points }! }
    static func retained(_ points: Int64) -> Int { tiers.lastIndex { $0.retain <= points }! }

    @Test(arguments: [(UInt64(0x5EED_0021), DowngradePolicy.oneLevel), (0x5EED_0522, .requalify), (0x5EED_9923, .oneLevel)])
    func randomStreamsMatchTheModel(seed: UInt64, policy: DowngradePolicy) async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.useTestTiers(program, downgrade: policy, period: .quarter)
            var random = SeededRandom(seed: seed)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
            var now = calendar.date(from: DateComponents(year: 2025, month: 1, day: 1, hour: 9))!
            func quarter(_ date: Date) -> Int { (calendar.component(.month, from: date) - 1) / 3 }

            let names = ["a", "b", "c"]
            var members: [String: Member] = [:]
            for name in names {
                _ = try await ledger.createMember(name, in: program)
                members[name] = Member()
            }
            var orders: [String: Order] = [:]
            var evaluated = 0  // quarters evaluated so far (0–3 are 2025's)

            func evaluate(through last: Int) {
                while evaluated <= last {
                    let period = evaluated
                    for name in names {
                        var member = members[name]!
                        let points = member.totals[period]
                        var rank = member.rank
                        if !((member.reachedIn ?? -1) >= period || Self.retained(points) >= member.rank) {
                            rank = policy == .oneLevel ? max(member.rank - 1, Self.retained(points)) : Self.retained(points)
                        }
                        rank = max(rank, Self.reached(points))
                        if rank > member.rank {
                            member.rankBefore = member.rank
                            member.reachedIn = period
                        } else if rank < member.rank {
                            member.rankBefore = nil
                            member.reachedIn = nil
                        }
                        member.rank = rank
                        members[name] = member
                    }
                    evaluated += 1
                }
            }

            for step in 0..<200 {
                now = now.addingTimeInterval(Double(Int.random(in: 1...96, using: &random)) * 3_600)
                guard calendar.component(.year, from: now) == 2025 else { break }
                // Quarters that ended: evaluated at once, or caught up later.
                if quarter(now) > evaluated, Bool.random(using: &random) {
                    let summary = try await ledger.evaluateTiers(program, asOf: Timestamp(now))
                    #expect(summary.periods.count == quarter(now) - evaluated, "step \(step)")
                    evaluate(through: quarter(now) - 1)
                }
                // Members of different zeal, which passes from one to the next each quarter, so that
                // members climb, keep their tier near its thresholds, and fall (a member who buys
                // nothing in a quarter falls one level or all the way, by the policy).
                let name = names[([0, 0, 0, 0, 0, 0, 0, 1, 1, 1][Int.random(in: 0..<10, using: &random)] + quarter(now)) % 3]
                if orders.isEmpty || Int.random(in: 0..<3, using: &random) > 0 {
                    let amount = Int64.random(in: 100...30_000, using: &random)
                    let order = "o\(step)"
                    var member = members[name]!
                    let tier = Self.tiers[member.rank]
                    let points = amount * tier.numerator / (100 * tier.denominator)
                    let result = try await ledger.purchase(
                        PurchaseRequest(
                            member: name, order: order, amount: Money(minorUnits: amount, exponent: 2), occurredAt: Timestamp(now),
                            backdated: true),
                        in: program)
                    #expect(result.points == points, "step \(step): \(name) at \(tier.name)")
                    let period = quarter(now)
                    member.totals[period] += points
                    var upgraded: String?
                    if Self.reached(member.totals[period]) > member.rank {
                        if member.reachedIn != period { member.rankBefore = member.rank }
                        member.rank = Self.reached(member.totals[period])
                        member.reachedIn = period
                        upgraded = Self.tiers[member.rank].name
                    }
                    #expect(result.upgradedTo == upgraded, "step \(step)")
                    members[name] = member
                    orders[order] = Order(member: name, quarter: period, amount: amount, points: points)
                } else {
                    let (id, order) = orders.randomElement(using: &random)!
                    let left = order.amount - order.refunded
                    guard left > 0 else { continue }
                    let amount = Bool.random(using: &random) ? left : Int64.random(in: 1...left, using: &random)
                    let result = try await ledger.refund(
                        RefundRequest(order: id, refund: "r\(step)", amount: Money(minorUnits: amount, exponent: 2),
                                      occurredAt: Timestamp(now), backdated: true),
                        in: program)
                    var updated = order
                    updated.refunded += amount
                    let clawback = order.points * updated.refunded / order.amount - order.clawed
                    updated.clawed += clawback
                    orders[id] = updated
                    #expect(result.clawedBack == clawback, "step \(step)")
                    var member = members[order.member]!
                    member.totals[order.quarter] -= clawback
                    var tierAfter: String?
                    if order.quarter >= evaluated, member.reachedIn == order.quarter, let before = member.rankBefore {
                        let target = max(before, Self.reached(member.totals[order.quarter]))
                        if target < member.rank {
                            member.rank = target
                            if target == before {
                                member.reachedIn = nil
                                member.rankBefore = nil
                            }
                            tierAfter = Self.tiers[target].name
                        }
                    }
                    #expect(result.tierAfter == tierAfter, "step \(step)")
                    members[order.member] = member
                }
                for name in names {
                    #expect(try await ledger.member(name, in: program).tier == Self.tiers[members[name]!.rank].name, "step \(step): \(name)")
                }
            }
            let end = calendar.date(from: DateComponents(year: 2026, month: 1, day: 1))!
            _ = try await ledger.evaluateTiers(program, asOf: Timestamp(end))
            evaluate(through: 3)
            for name in names {
                #expect(try await ledger.member(name, in: program).tier == Self.tiers[members[name]!.rank].name, "year end: \(name)")
            }
            #expect(try await ledger.verify(program).isSound)
        }
    }
}
