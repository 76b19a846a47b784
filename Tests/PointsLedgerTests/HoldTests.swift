import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Holds: reserve, capture or void once, expire; spendable is available minus holds")
struct HoldTests {
    @Test func aCaptureSpendsPartOfAHoldAndReleasesTheRest() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "seed", actor: "ops", key: "seed")
            let hold = try await ledger.createHold(points: 80, member: "m1", expiresIn: .seconds(900), in: program, key: "h1")
            #expect(hold.available == 100 && hold.held == 80)
            #expect(try await ledger.createHold(points: 80, member: "m1", expiresIn: .seconds(900), in: program, key: "h1").holdID == hold.holdID)
            #expect(try await ledger.member("m1", in: program).spendable == 20)
            await #expect(throws: LedgerError.insufficientPoints(member: "m1", spendable: 20, requested: 30)) {
                try await ledger.spend(points: 30, reason: "x", member: "m1", in: program, key: "s1")
            }
            await #expect(throws: LedgerError.insufficientPoints(member: "m1", spendable: 20, requested: 30)) {
                try await ledger.deduct(points: 30, from: "m1", in: program, reason: "x", actor: "ops", key: "d1")
            }
            await #expect(throws: LedgerError.refused(.exceedsHold(hold: hold.holdID, requested: 90, reserved: 80))) {
                try await ledger.captureHold(hold.holdID, points: 90, in: program)
            }
            let capture = try await ledger.captureHold(hold.holdID, points: 50, in: program)
            #expect(capture.state == .captured && capture.captured == 50 && capture.available == 50 && capture.held == 0)
            #expect(try await ledger.captureHold(hold.holdID, points: 50, in: program).outcome == .replayed)
            await #expect(throws: LedgerError.refused(.holdResolved(hold: hold.holdID, state: .captured, captured: 50))) {
                try await ledger.captureHold(hold.holdID, in: program)
            }
            await #expect(throws: LedgerError.refused(.holdResolved(hold: hold.holdID, state: .captured, captured: 50))) {
                try await ledger.voidHold(hold.holdID, in: program)
            }
            #expect(try await ledger.lots(of: "m1", in: program).map(\.remaining) == [50])
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func aVoidReleasesOnceAndAnExpiredHoldCannotBeCaptured() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "seed", actor: "ops", key: "seed")
            let voided = try await ledger.createHold(points: 40, member: "m1", expiresIn: .seconds(900), in: program, key: "h1")
            #expect(try await ledger.voidHold(voided.holdID, in: program).held == 0)
            #expect(try await ledger.voidHold(voided.holdID, in: program).outcome == .replayed)
            await #expect(throws: LedgerError.refused(.holdResolved(hold: voided.holdID, state: .voided, captured: nil))) {
                try await ledger.captureHold(voided.holdID, in: program)
            }
            let short = try await ledger.createHold(points: 30, member: "m1", expiresIn: .seconds(1), in: program, key: "h2")
            let other = try await ledger.createHold(points: 20, member: "m1", expiresIn: .seconds(1), in: program, key: "h3")
            try await Task.sleep(for: .milliseconds(1_500))
            let job = try await ledger.expireHolds(program, asOf: .now, chunkSize: 1)
            #expect(job.items == 2 && job.points == 50 && job.chunks == 2)
            #expect(try await ledger.expireHolds(program, asOf: .now).items == 0)
            await #expect(throws: LedgerError.refused(.holdResolved(hold: short.holdID, state: .expired, captured: nil))) {
                try await ledger.captureHold(short.holdID, in: program)
            }
            _ = other
            #expect(try await ledger.member("m1", in: program).spendable == 100)
            // audit verify names a held balance that open holds do not explain.
            _ = try TestDatabase.sql(configuration, "UPDATE points.members SET held = held + 5 WHERE member_id = 'm1'")
            #expect(try await ledger.verify(program).problems.map(\.kind) == [.heldNotHolds])
            _ = try TestDatabase.sql(configuration, "UPDATE points.members SET held = held - 5 WHERE member_id = 'm1'")
            await #expect(throws: LedgerError.notFound(.hold, id: "999999")) {
                try await ledger.voidHold(999_999, in: program)
            }
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func aHoldPastItsTimeNoLongerBlocksSpendingBeforeTheJobRuns() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "seed", actor: "ops", key: "seed")
            _ = try await ledger.createHold(points: 100, member: "m1", expiresIn: .seconds(1), in: program, key: "h1")
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(try await ledger.spend(points: 60, reason: "gift", member: "m1", in: program, key: "s1").held == 0)
            #expect(try await ledger.createHold(points: 40, member: "m1", expiresIn: .seconds(600), in: program, key: "h2").held == 40)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func thirtyTwoCheckoutsHoldingTheLastPointsNeverOverdraw() async throws {
        try await TestDatabase.withLedger(connections: 32) { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "seed", actor: "ops", key: "seed")
            let holds = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        do {
                            return try await ledger.createHold(points: 30, member: "m1", expiresIn: .seconds(900), in: program, key: "h\(index)").holdID
                        } catch LedgerError.insufficientPoints {
                            return nil
                        }
                    }
                }
                return try await group.reduce(into: [Int64]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(holds.count == 3)
            // Each captured by two checkouts at once: one capture each.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for hold in holds + holds {
                    group.addTask { _ = try await ledger.captureHold(hold, in: program) }
                }
                try await group.waitForAll()
            }
            let member = try await ledger.member("m1", in: program)
            #expect(member.available == 10 && member.held == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }
}
