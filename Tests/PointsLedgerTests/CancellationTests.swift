import PointsLedger
import Postgres
import TestSupport
import Testing

/// A caller that gives up (a request past its deadline) cancels its task; the statement it was
/// waiting for is cancelled on the server, nothing is half-written, and the ledger goes on.
@Suite("A cancelled call cancels its statement")
struct CancellationTests {
    @Test func aCancelledGrantWaitingForALockedMemberPostsNothing() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 10, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            // Another session holds the member's row: the next grant waits for it.
            let holder = try PostgresConnection(configuration: configuration)
            try holder.execute(script: "BEGIN; SELECT 1 FROM points.members WHERE member_id = 'm1' FOR UPDATE")
            let watcher = try PostgresConnection(configuration: configuration)
            func waiting() throws -> Int {
                try watcher.query("""
                    SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%points.adjust%'
                    """).single().decode(Int.self, at: 0)
            }
            let grant = Task {
                try await ledger.grant(points: 5, to: "m1", in: program, reason: "late", actor: "ops", key: "g2")
            }
            for _ in 0..<300 where try waiting() == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try waiting() == 1)
            grant.cancel()
            await #expect(throws: CancellationError.self) { try await grant.value }
            #expect(try waiting() == 0)
            try holder.execute(script: "COMMIT")
            #expect(try await ledger.member("m1", in: program).available == 10)
            // The key was never used: the same grant posts now.
            let again = try await ledger.grant(points: 5, to: "m1", in: program, reason: "late", actor: "ops", key: "g2")
            #expect(again.balance.available == 15)
        }
    }
}
