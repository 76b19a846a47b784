import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PointsLedger
@testable import PointsServer
import Postgres
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

/// What an operator relies on: the OpenAPI document, metrics, the job schedule and a graceful stop.
@Suite("points-server: operations")
struct OperationsTests {
    /// /openapi.json documents exactly the routes served, each with the roles that may call it
    /// (its tags and its description), as the README's table of routes lists them; and it is the
    /// committed file.
    @Test func theDocumentNamesEveryRouteServed() async throws {
        let validator = try OpenAPIValidator()
        var documented: Set<String> = []
        for (path, operations) in validator.paths {
            for (method, operation) in (operations as? [String: Any]) ?? [:] {
                let operation = operation as? [String: Any] ?? [:]
                let tags = (operation["tags"] as? [String] ?? []).sorted()
                let described = (operation["description"] as? String)?.firstMatch(of: /Roles: ([a-z, ]+)\./)
                    .map { $0.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.sorted() } ?? ["operations"]
                #expect(tags == described, "\(method) \(path): tags \(tags), described \(described)")
                documented.insert("\(method.uppercased()) \(path) \(tags.joined(separator: ","))")
            }
        }
        let served = Set(
            PointsServer.routes.map { "\($0.method) \($0.path) \($0.roles.sorted().joined(separator: ","))" }
                + ["GET /health operations", "GET /metrics operations", "GET /openapi.json operations"])
        #expect(documented == served)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let listed = Set(readme.matches(of: /\n\| (GET|POST|PATCH) \| `([^`]+)` \| ([a-z, ]+) \|/).map { row in
            let path = "/v1/programs/{program}" + (row.2 == "/" ? "" : row.2)
            return "\(row.1) \(path) \(row.3.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.sorted().joined(separator: ","))"
        })
        #expect(listed == served.filter { $0.contains(" /v1/") }, "the README's table of routes")
        // Every time a request may carry is stated with the grammar the server holds it to.
        let text = String(decoding: PointsServer.openAPIDocument, as: UTF8.self)
        let timePatterns = text.matches(of: /"pattern": "(\^\(now[^"]*)"/).map { String($0.1) }
        let escaped = PointsServer.timePattern.replacingOccurrences(of: "\\", with: "\\\\")
        #expect(timePatterns.count >= 8 && timePatterns.allSatisfy { $0 == escaped }, "\(timePatterns)")
        let committed = try Data(contentsOf: root.appendingPathComponent("Sources/PointsServer/openapi.json"))
        #expect(Array(committed) == PointsServer.openAPIDocument)
        try await ServerHarness.run { server in
            let document = try await server.call(.get, "/openapi.json", key: nil)
            #expect(document.status == 200 && document.json["openapi"]?.string == "3.1.0")
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let metrics = ServerMetrics()
        try await ServerHarness.run(metrics: metrics) { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            for order in ["A-1", "A-2"] {
                try await server.call(.post, Path.purchases, key: server.checkout, body: #"{"member":"alice","order":"\#(order)","amount":"5.00"}"#)
            }
            try await server.call(.get, Path.member, ["member": "nobody"], key: server.checkout)
            let text = try await server.call(.get, "/metrics", key: nil).text
            #expect(text.contains(#"points_http_requests_total{route="/v1/programs/{program}/purchases",method="POST",status="201"} 2"#), "\(text)")
            #expect(text.contains(#"points_http_requests_total{route="/v1/programs/{program}/members/{member}",method="GET",status="404"} 1"#))
            #expect(text.contains(#"points_http_request_duration_seconds_count{route="/v1/programs/{program}/purchases"} 2"#))
            #expect(text.contains(#"points_pool_waits_total{pool="requests"}"#))
            #expect(!text.contains("alice") && !text.contains("A-1"), "metrics name routes, never the values in them")
        }
    }

    /// Two servers' schedules over one database: each job runs once at a time between them, holds
    /// past their time expire, the journal is sealed, and every run is counted.
    @Test func twoSchedulesRunEachJobOnceBetweenThem() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("alice", in: program)
            _ = try await ledger.grant(points: 100, to: "alice", in: program, reason: "welcome", actor: "ops", key: "g")
            let hold = try await ledger.createHold(points: 40, member: "alice", expiresIn: .seconds(1), in: program, key: "cart")
            try await Task.sleep(for: .milliseconds(1_100))
            let metrics = ServerMetrics()
            let schedules = (0..<2).map { _ in
                JobSchedule(
                    ledger: Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger),
                    interval: .milliseconds(50), metrics: metrics, logger: TestDatabase.quietLogger)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for schedule in schedules { group.addTask { try await schedule.run() } }
                // Until the holds job has run and sealing has sealed the grant: up to 30 seconds, for
                // a machine busy with the whole suite (a seal waits up to 5 seconds for open writes).
                for _ in 0..<600 {
                    let sealed = try TestDatabase.sql(configuration, "SELECT count(*)::bigint FROM points.journal_blocks").single().decode(Int64.self, at: 0)
                    if sealed > 0, try await ledger.member("alice", in: program).held == 0 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                group.cancelAll()
            }
            #expect(try await ledger.member("alice", in: program).held == 0, "hold \(hold.holdID) expired")
            let text = metrics.exposition(pools: [])
            #expect(text.contains(#"points_job_runs_total{program="default",job="holds",outcome="ran"}"#), "\(text)")
            #expect(text.contains(#"points_job_items_total{program="default",job="holds"} 1"#), "the hold expired once: \(text)")
            #expect(text.contains(#"points_job_items_total{program="default",job="seal"} 1"#), "the grant was sealed once: \(text)")
            for job in ["mature", "expire", "tiers", "birthday"] {
                #expect(text.contains(#"points_job_runs_total{program="default",job="\#(job)",outcome="ran"}"#), "\(job): \(text)")
            }
            #expect(!text.contains(#"outcome="failed""#), "\(text)")
            #expect(try await ledger.verify(program).problems.isEmpty)
        }
    }

    /// SIGTERM's graceful shutdown: the requests in flight (waiting for a member's row) finish and
    /// are answered; none is cut half-way, and a request after the stop is never applied.
    @Test func aGracefulStopFinishesTheRequestsInFlight() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("alice", in: program)
            let key = try await ledger.createAPIKey(in: program, role: .checkout, name: "till", actor: "tests").secret
            let writer = Ledger(configuration: try TestDatabase.asWriter(configuration), maximumConnections: 8, logger: TestDatabase.quietLogger)
            let port = Mutex<Int?>(nil)
            let app = PointsServer.application(
                ledger: writer, host: "127.0.0.1", port: 0, logger: TestDatabase.quietLogger, onServerRunning: { bound in port.withLock { $0 = bound } })
            let services = ServiceGroup(configuration: .init(services: [app], logger: TestDatabase.quietLogger))
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let blocker = try PostgresConnection(configuration: configuration)
            try blocker.execute(script: "BEGIN")
            _ = try blocker.query("SELECT 1 FROM points.members WHERE member_id = 'alice' FOR UPDATE")
            let outcomes = try await withThrowingTaskGroup(of: [(String, Int?)].self) { group in
                group.addTask { try await services.run(); return [] }
                while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
                let url = "http://127.0.0.1:\(port.withLock { $0 } ?? 0)/v1/programs/default/purchases"
                @Sendable func purchase(_ order: String, timeout: TimeAmount = .seconds(30)) async -> (String, Int?) {
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(key)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"member":"alice","order":"\#(order)","amount":"10.00"}"#))
                    let response = try? await client.execute(request, timeout: timeout)
                    return (order, response.map { Int($0.status.code) })
                }
                for index in 0..<8 { group.addTask { [await purchase("in-flight-\(index)")] } }
                // Until all eight wait for alice's row in the database.
                for _ in 0..<200 {
                    let waiting = try TestDatabase.sql(configuration, """
                        SELECT count(*)::bigint FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                        """).single().decode(Int64.self, at: 0)
                    if waiting == 8 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                await services.triggerGracefulShutdown()
                try await Task.sleep(for: .milliseconds(300))
                try blocker.execute(script: "ROLLBACK")
                var outcomes: [(String, Int?)] = []
                for try await answers in group { outcomes += answers }
                // The server no longer listens (the client retries a refused connection until its timeout).
                return outcomes + [await purchase("after-stop", timeout: .seconds(1))]
            }
            try await client.shutdown()
            let posted = Set(try await ledger.history(of: "alice", in: program).items.map(\.reference))
            for (order, status) in outcomes {
                if order == "after-stop" {
                    #expect(status == nil && !posted.contains(order), "a request after the stop is refused, never applied")
                } else {
                    #expect(status == 201 && posted.contains(order), "\(order) finished: \(String(describing: status))")
                }
            }
            #expect(try await ledger.verify(program).problems.isEmpty)
        }
    }
}

/// The keys a server keeps: only while it listens for changes, forgotten when any key changes.
@Suite("points-server: the keys it keeps")
struct KeyCacheTests {
    @Test func keysAreKeptWhileListeningAndForgottenWhenOneChanges() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let made = try await ledger.createAPIKey(in: program, role: .checkout, name: "till", actor: "tests")
            let other = try await ledger.createAPIKey(in: program, role: .app, name: "app", actor: "tests")
            let key = try #require(try await ledger.authenticate(secret: made.secret))
            let cache = KeyCache(configuration: try TestDatabase.asWriter(configuration), logger: TestDatabase.quietLogger)
            // Not listening yet: nothing is kept.
            cache.keep(key, for: made.secret, readAt: cache.generation())
            #expect(cache.key(for: made.secret) == nil)
            let services = ServiceGroup(configuration: .init(services: [cache], logger: TestDatabase.quietLogger))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services.run() }
                for _ in 0..<200 where !cache.isListening { try await Task.sleep(for: .milliseconds(10)) }
                #expect(cache.isListening)
                cache.keep(key, for: made.secret, readAt: cache.generation())
                #expect(cache.key(for: made.secret) == key)
                // A key read before a change is not kept after it.
                let before = cache.generation()
                _ = try await ledger.revokeAPIKey(other.key.id, in: program, actor: "ops")
                for _ in 0..<200 where cache.key(for: made.secret) != nil { try await Task.sleep(for: .milliseconds(5)) }
                #expect(cache.key(for: made.secret) == nil, "any change to the keys forgets them all")
                cache.keep(key, for: made.secret, readAt: before)
                #expect(cache.key(for: made.secret) == nil)
                await services.triggerGracefulShutdown()
                try await group.waitForAll()
            }
            #expect(!cache.isListening)
        }
    }
}
