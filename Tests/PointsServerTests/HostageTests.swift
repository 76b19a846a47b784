import Foundation
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// A writer that prepares a transaction after changing a member (`PREPARE TRANSACTION` keeps its
/// row locks past its session) holds that member back only for a while: every write waits at most
/// `Ledger.lockWaitSeconds` and is answered "busy, retry", and the job rolls the transaction back.
@Suite("A writer cannot hold a member hostage")
struct HostageTests {
    @Test func aPreparedTransactionMakesWritesBusyUntilTheJobRollsItBack() async throws {
        try await ServerHarness.run { server in
            let program = server.program
            _ = try await server.ledger.createMember("alice", in: program)
            _ = try await server.ledger.grant(points: 500, to: "alice", in: program, reason: "welcome", actor: "tests", key: "g1")
            let rogue = try PostgresConnection(configuration: try TestDatabase.asWriter(server.configuration))
            try rogue.execute(script: """
                BEGIN;
                SELECT * FROM points.adjust(\(program.id), 'alice', 5, 'mine now', 'rogue', 'hostage-1');
                PREPARE TRANSACTION 'hostage of alice';
                """)
            // Names chosen to escape a quoting that goes character by character: a quote joined to
            // the mark before or after it, and a statement after it.
            for name in ["y\u{0600}' --", "x'\u{0301}", "it's'; DROP TABLE points.members; --\\"] {
                let literal = "'" + name.unicodeScalars.map { $0 == "'" ? "''" : String($0) }.joined() + "'"
                try rogue.execute(script: "BEGIN; SELECT 1; PREPARE TRANSACTION \(literal)")
            }

            // Over HTTP: 503 busy with Retry-After, after the stated wait, not the request's deadline.
            let started = ContinuousClock.now
            let redemption = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.checkout, body: #"{"points":100,"reason":"parking"}"#,
                idempotencyKey: "r-1")
            #expect(redemption.status == 503 && redemption.type == "busy", "\(redemption.text)")
            #expect(redemption.headers[.retryAfter] != nil)
            #expect(redemption.json["detail"]?.string?.contains("5 seconds") == true, "\(redemption.text)")
            #expect(ContinuousClock.now - started < .seconds(10))

            // In the CLI: one sentence, exit 1.
            let url = try TestDatabase.url(of: server.configuration)
            let cli = try PointsAdminBinary.run([
                "adjust", "deduct", "--database-url", url, "--member", "alice", "--points", "30", "--reason", "gift", "--actor", "ops", "--key", "d-1",
            ])
            #expect(cli.status == 1, "\(cli.stderr)")
            #expect(cli.stderr.contains("nothing was written") && cli.stderr.contains("points-admin jobs prepared"), "\(cli.stderr)")

            // The job rolls it back (here at once; on a schedule, once it is a minute old) and says so.
            let job = try PointsAdminBinary.run(
                ["jobs", "prepared", "--older-than", "0", "--database-url", url])
            #expect(job.status == 0, "\(job.stderr)")
            #expect(job.stdout.contains(#"Prepared transaction "hostage of alice""#) && job.stdout.contains("rolled back"), "\(job.stdout)")
            #expect(job.stdout.components(separatedBy: ": rolled back.").count == 5, "\(job.stdout)")
            let again = try PointsAdminBinary.run(
                ["jobs", "prepared", "--older-than", "0", "--database-url", url])
            #expect(again.stdout.contains("No transaction has been left prepared"), "\(again.stdout)")

            // The member is free again, and the rogue's change never happened.
            let retried = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.checkout, body: #"{"points":100,"reason":"parking"}"#,
                idempotencyKey: "r-1")
            #expect(retried.status == 201, "\(retried.text)")
            #expect(try await server.ledger.member("alice", in: program).available == 400)
        }
    }

    /// points-server --jobs rolls a transaction left prepared back on its next pass, and logs it.
    @Test func theJobScheduleRollsBackATransactionLeftPrepared() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("alice", in: program)
            let rogue = try PostgresConnection(configuration: try TestDatabase.asWriter(configuration))
            try rogue.execute(script: """
                BEGIN;
                SELECT * FROM points.adjust(\(program.id), 'alice', 5, 'mine now', 'rogue', 'hostage-2');
                PREPARE TRANSACTION 'left by a till';
                """)
            let log = CapturedLog()
            let schedule = JobSchedule(
                ledger: Ledger(configuration: configuration, maximumConnections: 2, logger: log.logger), interval: .milliseconds(50),
                metrics: ServerMetrics(), logger: log.logger, preparedBound: .zero)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await schedule.run() }
                for _ in 0..<200 {
                    let left = try TestDatabase.sql(configuration, "SELECT count(*)::bigint FROM pg_prepared_xacts WHERE gid = 'left by a till'")
                    if try left.single().decode(Int64.self, at: 0) == 0 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                group.cancelAll()
            }
            #expect(log.lines.contains { $0.contains("rolled back a transaction left prepared") }, "\(log.lines)")
            #expect(try await ledger.grant(points: 1, to: "alice", in: program, reason: "free again", actor: "ops", key: "g").entryID > 0)
            #expect(try await ledger.member("alice", in: program).available == 1)
        }
    }
}
