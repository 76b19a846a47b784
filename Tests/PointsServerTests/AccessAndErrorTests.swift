import Foundation
import NIOCore
import HTTPTypes
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// Keys, roles and every error status, as a checkout system gone rogue or a careless client meets them.
@Suite("points-server: keys and errors")
struct AccessAndErrorTests {
    @Test func aKeyActsOnlyInItsProgramAndRoleAndNotOnceRevoked() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            let purchase = #"{"member":"alice","order":"A-1","amount":"10.00"}"#
            let none = try await server.call(.post, Path.purchases, key: nil, body: purchase)
            #expect(none.status == 401 && none.type == "unauthorized" && none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let wrongScheme = try await server.call(.post, Path.purchases, key: nil, body: purchase, headers: [.authorization: "Basic YWxpY2U6eA=="])
            #expect(wrongScheme.status == 401)
            let unknown = try await server.call(.post, Path.purchases, key: "plk_" + String(repeating: "ab", count: 32), body: purchase)
            #expect(unknown.status == 401 && unknown.type == "unauthorized")
            // A key of another program: refused whether or not the program exists, and nothing posted.
            for program in [server.program.name, "other", "no-such-program"] {
                let answer = try await server.call(.post, Path.purchases, ["program": program], key: program == "other" ? server.checkout : server.otherProgram, body: purchase)
                #expect(answer.status == 403 && answer.type == "forbidden", "\(program): \(answer.text)")
            }
            // Roles: finance reads only; the app neither posts purchases nor reads reports; checkout reads no reports.
            #expect(try await server.call(.post, Path.purchases, key: server.finance, body: purchase).status == 403)
            #expect(try await server.call(.post, Path.purchases, key: server.app, body: purchase).status == 403)
            #expect(try await server.call(.get, Path.trialBalance, key: server.checkout).status == 403)
            #expect(try await server.call(.get, Path.journal, query: "from=2026-01-01", key: server.app).status == 403)
            #expect(try await server.call(.post, Path.members, key: server.checkout, body: #"{"member":"eve"}"#).status == 403)
            #expect(try await server.call(.get, Path.member, ["member": "alice"], key: server.finance).status == 403)
            // An app redeems rewards for its members, but spending points for a reason is a checkout's.
            let spend = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.app, body: #"{"points":1,"reason":"x"}"#, idempotencyKey: "k1")
            #expect(spend.status == 403 && spend.type == "forbidden", "\(spend.text)")
            #expect(try await server.ledger.history(of: "alice", in: server.program).items.isEmpty)

            #expect(try await server.call(.post, Path.purchases, key: server.checkout, body: purchase).status == 201)
            let keys = try await server.ledger.apiKeys(of: server.program)
            let till = try #require(keys.first { $0.name == "till 1" })
            _ = try await server.ledger.revokeAPIKey(till.id, in: server.program, actor: "ops")
            // The server hears of the revocation as it commits (LISTEN/NOTIFY) and forgets the key,
            // without a restart (how fast is the benchmark's business, not a test's).
            let clock = ContinuousClock()
            let revokedAt = clock.now
            var revoked = try await server.call(.post, Path.purchases, key: server.checkout, body: purchase)
            while revoked.status != 401, clock.now - revokedAt < .seconds(30) {
                try await Task.sleep(for: .milliseconds(5))
                revoked = try await server.call(.post, Path.purchases, key: server.checkout, body: purchase)
            }
            #expect(revoked.status == 401 && revoked.type == "unauthorized", "\(revoked.text)")
        }
    }

    @Test func malformedRequestsNameTheField() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            // 400: not what the document describes; 422: well-formed, but breaking a rule of the ledger.
            let cases: [(String?, String?, Int)] = [
                ("not json", nil, 400),
                (#"{"member":"alice","order":"A-1"}"#, "amount", 400),
                (#"{"member":"alice","order":"A-1","amount":128.5}"#, "amount", 400),
                (#"{"member":"alice","order":"A-1","amount":"12.345"}"#, "amount", 422),
                (#"{"member":"alice","order":"A-1","amount":"-5"}"#, "amount", 422),
                (#"{"member":"alice","order":"A-1","amount":"5.00","occurredAt":"yesterday-ish"}"#, "occurredAt", 400),
                (#"{"member":"alice","order":"A-1","amount":"5.00","occurredAt":"2026-13-01"}"#, "occurredAt", 422),
                (#"{"member":"alice","order":"A-1","amount":"5.00","occurredAt":"2099-01-01T00:00:00Z"}"#, "occurredAt", 422),
                (#"{"member":"al\u0007ice","order":"A-1","amount":"5.00"}"#, "member", 422),
                (nil, nil, 400),
            ]
            for (body, field, status) in cases {
                let answer = try await server.call(.post, Path.purchases, key: server.checkout, body: body)
                #expect(answer.status == status && answer.type == (status == 400 ? "malformed-request" : "invalid-input"), "\(body ?? "no body"): \(answer.text)")
                if let field { #expect(answer.json["field"]?.string == field, "\(body ?? ""): \(answer.text)") }
                #expect(!answer.text.contains("SELECT") && !answer.text.contains("points."), "\(answer.text)")
            }
            let unknownMember = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"nobody","order":"A-2","amount":"5.00"}"#)
            #expect(unknownMember.status == 404 && unknownMember.json["entity"]?.string == "member")
            let large = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"alice","order":"A-3","amount":"1.00","pad":""# + String(repeating: "x", count: 70_000) + #""}"#)
            #expect(large.status == 413 && large.type == "body-too-large")
            let route = try await server.call(.get, "/v1/programs/default/nothing-here", key: server.checkout)
            #expect(route.status == 404 && route.type == "route-not-found" && route.headers[.contentType] == "application/problem+json")
            #expect(try await server.ledger.history(of: "alice", in: server.program).items.isEmpty, "nothing posted by a bad request")
        }
    }

    /// 32 redemptions race for points enough for 10: exactly 10 succeed, the rest are refused
    /// with 422, and the member is never overdrawn.
    @Test func concurrentRedemptionsNeverOverdraw() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            _ = try await server.ledger.grant(points: 100, to: "alice", in: server.program, reason: "last points", actor: "ops", key: "g")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        try await server.call(
                            .post, Path.redemptions, ["member": "alice"], key: server.checkout, body: #"{"points":10,"reason":"race"}"#,
                            headers: [.init("Idempotency-Key")!: "race-\(index)"]
                        ).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 10 && statuses.filter { $0 == 422 }.count == 22, "\(statuses.sorted())")
            let member = try await server.ledger.member("alice", in: server.program)
            #expect(member.available == 0)
            let report = try await server.ledger.verify(server.program)
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }

    /// A request that runs past the deadline is answered 503, its statement is cancelled in the
    /// database (not left waiting), and nothing of it is applied.
    @Test func aRequestPastItsDeadlineIsCancelledInTheDatabase() async throws {
        try await ServerHarness.run(deadline: .milliseconds(500)) { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            // Another session holds alice's row, so the purchase waits for it.
            let blocker = try PostgresConnection(configuration: server.configuration)
            try blocker.execute(script: "BEGIN")
            _ = try blocker.query("SELECT 1 FROM points.members WHERE member_id = 'alice' FOR UPDATE")
            let started = ContinuousClock.now
            let answer = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"alice","order":"late-1","amount":"10.00"}"#)
            #expect(answer.status == 503 && answer.type == "deadline-exceeded", "\(answer.text)")
            #expect(ContinuousClock.now - started < .seconds(5))
            let waiting = try TestDatabase.sql(server.configuration, """
                SELECT count(*)::bigint FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                """).single().decode(Int64.self, at: 0)
            #expect(waiting == 0, "the purchase's statement was cancelled, not left waiting for the lock")
            try blocker.execute(script: "ROLLBACK")
            #expect(try await server.ledger.history(of: "alice", in: server.program).items.isEmpty)
            // The retry with the same order id posts it once.
            let retry = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"alice","order":"late-1","amount":"10.00"}"#)
            #expect(retry.status == 201 && retry.json["outcome"]?.string == "posted")
        }
    }

    @Test func anUnreachableDatabaseIs503WithoutItsAddress() async throws {
        let configuration = try ConnectionConfiguration("host=/nonexistent-socket-dir dbname=secretdb user=someone")
        let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
        let app = PointsServer.application(ledger: ledger, host: "127.0.0.1", port: 0, logger: TestDatabase.quietLogger)
        try await app.test(.live) { client in
            let response = try await client.executeRequest(
                uri: "/v1/programs/default/purchases", method: .post,
                headers: [.authorization: "Bearer plk_" + String(repeating: "0", count: 64)], body: ByteBuffer(string: "{}"))
            let body = String(buffer: response.body)
            #expect(response.status == .serviceUnavailable && body.contains("database-unreachable"), "\(body)")
            #expect(!body.contains("nonexistent") && !body.contains("secretdb"))
        }
    }

    @Test func aLongValueIsEchoedCutWithACountOfTheRest() async throws {
        try await ServerHarness.run { server in
            let long = String(repeating: "x", count: 50_000)  // a body holds at most 64 KB
            let body = #"{"member":"m1","order":"o-1","amount":"\#(long).5x"}"#
            let posted = try await server.send(.post, "/v1/programs/default/purchases", key: server.checkout, body: body)
            #expect(posted.status == 422 || posted.status == 400, "\(posted.text.prefix(300))")
            #expect(posted.text.utf8.count < 1_500 && posted.text.contains("more characters)"), "\(posted.text.prefix(600))")
            let member = try await server.send(.get, "/v1/programs/default/members/" + long, key: server.app)
            #expect(member.status >= 400 && member.text.utf8.count < 1_500, "\(member.text.prefix(600))")
        }
    }
}
