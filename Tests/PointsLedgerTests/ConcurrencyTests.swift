import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Concurrency on one member: no overdraft, no duplicate")
struct ConcurrencyTests {
    @Test func sixteenConnectionsDeductingNeverOverdraw() async throws {
        try await TestDatabase.withLedger(connections: 16) { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "seed", actor: "ops", key: "seed")
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        var succeeded = 0
                        for attempt in 0..<3 {
                            do {
                                _ = try await ledger.deduct(
                                    points: 7, from: "m1", in: program, reason: "race", actor: "ops", key: "d-\(worker)-\(attempt)")
                                succeeded += 1
                            } catch LedgerError.insufficientPoints {
                                continue
                            }
                        }
                        return succeeded > 0
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.count == 16)
            let member = try await ledger.member("m1", in: program)
            #expect(member.available == 100 - 14 * 7)
            let report = try await ledger.verify(program)
            #expect(report.isSound)
            #expect(report.entries == 1 + 14)
        }
    }

    @Test func oneKeyReplayedFromSixteenConnectionsPostsOnce() async throws {
        try await TestDatabase.withLedger(connections: 16) { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            let results = try await withThrowingTaskGroup(of: PostingResult.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await ledger.grant(points: 25, to: "m1", in: program, reason: "launch", actor: "ops", key: "once")
                    }
                }
                return try await group.reduce(into: [PostingResult]()) { $0.append($1) }
            }
            #expect(results.filter { $0.outcome == .posted }.count == 1)
            #expect(results.filter { $0.outcome == .replayed }.count == 15)
            #expect(Set(results.map(\.entryID)).count == 1)
            #expect(try await ledger.member("m1", in: program).available == 25)
            #expect(try await ledger.verify(program).entries == 1)
        }
    }

    @Test func oneKeyRacedForTwoMembersPostsForOneAndConflictsForTheOther() async throws {
        try await TestDatabase.withLedger(connections: 16) { ledger, program, _ in
            for member in ["a", "b"] { _ = try await ledger.createMember(member, in: program) }
            let outcomes = await withTaskGroup(of: String.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        do {
                            let result = try await ledger.grant(
                                points: 5, to: index % 2 == 0 ? "a" : "b", in: program, reason: "promo", actor: "ops", key: "shared")
                            return result.outcome.rawValue
                        } catch LedgerError.idempotencyConflict {
                            return "conflict"
                        } catch {
                            return "error: \(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "posted" }.count == 1)
            #expect(outcomes.filter { $0 == "conflict" }.count == 8)
            #expect(outcomes.filter { $0 == "replayed" }.count == 7)
            let total = try await ledger.member("a", in: program).available + ledger.member("b", in: program).available
            #expect(total == 5)
        }
    }
}
