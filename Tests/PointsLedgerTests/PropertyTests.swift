import PointsLedger
import Postgres
import TestSupport
import Testing

/// Random streams of grants, deductions and replays; after every step the ledger agrees with
/// a model kept in the test, and `verify` finds the ledger sound.
@Suite("Property: random adjustments keep every invariant")
struct PropertyTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func randomAdjustments(seed: UInt64) async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            var random = SeededRandom(seed: seed)
            let members = (0..<8).map { "member-\($0)" }
            var model: [String: Int64] = [:]
            for member in members {
                _ = try await ledger.createMember(member, in: program)
                model[member] = 0
            }
            struct Sent { let member: String; let points: Int64; let key: String; let entryID: Int64 }
            var sent: [Sent] = []

            for step in 0..<150 {
                let member = members.randomElement(using: &random)!
                let choice = Int.random(in: 0..<10, using: &random)
                if choice < 2, let earlier = sent.randomElement(using: &random) {
                    // Replay an earlier write exactly: the original comes back, nothing moves.
                    let result = earlier.points > 0
                        ? try await ledger.grant(points: earlier.points, to: earlier.member, in: program, reason: "r", actor: "a", key: earlier.key)
                        : try await ledger.deduct(points: -earlier.points, from: earlier.member, in: program, reason: "r", actor: "a", key: earlier.key)
                    #expect(result.outcome == .replayed)
                    #expect(result.entryID == earlier.entryID)
                } else if choice < 3, let earlier = sent.randomElement(using: &random) {
                    await #expect(throws: LedgerError.idempotencyConflict(key: earlier.key, existing: .entry(earlier.entryID))) {
                        try await ledger.grant(points: abs(earlier.points) + 1, to: member, in: program, reason: "r", actor: "a", key: earlier.key)
                    }
                } else {
                    let points = Int64.random(in: 1...500, using: &random)
                    let key = "s\(seed)-\(step)"
                    if choice < 7 {
                        let result = try await ledger.grant(points: points, to: member, in: program, reason: "r", actor: "a", key: key)
                        model[member]! += points
                        sent.append(Sent(member: member, points: points, key: key, entryID: result.entryID))
                    } else if model[member]! >= points {
                        let result = try await ledger.deduct(points: points, from: member, in: program, reason: "r", actor: "a", key: key)
                        model[member]! -= points
                        sent.append(Sent(member: member, points: -points, key: key, entryID: result.entryID))
                    } else {
                        await #expect(throws: LedgerError.insufficientPoints(member: member, spendable: model[member]!, requested: points)) {
                            try await ledger.deduct(points: points, from: member, in: program, reason: "r", actor: "a", key: key)
                        }
                    }
                }
                #expect(try await ledger.member(member, in: program).available == model[member]!, "step \(step), seed \(seed)")
                let report = try await ledger.verify(program)
                #expect(report.isSound, "step \(step), seed \(seed): \(report.problems)")
                #expect(report.entries == Int64(sent.count))
            }
            for member in members {
                #expect(try await ledger.member(member, in: program).available == model[member]!)
            }
        }
    }
}
