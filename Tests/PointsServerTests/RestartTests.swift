import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PointsLedger
import PointsServer
import Postgres
import Synchronization
import TestSupport
import Testing

/// points-server while its database stops at once and starts again, on a cluster of the test's own.
@Suite("points-server across a database restart")
struct RestartTests {
    @Test func purchasesInFlightAcrossAnImmediateRestartAreNeitherLostNorDoubledNorFailedOnceTheDatabaseIsBack() async throws {
        let cluster = try await LocalCluster.started()
        defer { cluster.remove() }
        let owner = try cluster.configuration
        let admin = Ledger(configuration: owner, maximumConnections: 2, logger: TestDatabase.quietLogger)
        try await admin.migrate()
        let program = try await admin.createProgram(name: "default", currency: "CNY", actor: "tests").program
        _ = try await admin.changeSettings(of: program, SettingsChange(earnRate: 1), effectiveAt: TestDatabase.settingsSince, actor: "tests")
        let members = (1...8).map { "m\($0)" }
        for member in members { _ = try await admin.createMember(member, in: program) }
        let key = try await admin.createAPIKey(in: program, role: .checkout, name: "till", actor: "tests").secret
        await admin.pool.closeIdleConnections()

        let log = CapturedLog()
        let writer = Ledger(configuration: try TestDatabase.asWriter(owner), maximumConnections: 8, logger: log.logger)
        let application = PointsServer.application(
            ledger: writer, host: "127.0.0.1", port: 0, logger: log.logger, options: .init(deadline: .seconds(120)))
        try await application.test(.ahc(.http)) { client in
            // A client of its own with a long time limit, and a long deadline on the server: on a
            // machine busy with the whole suite a purchase may take seconds, which is not what this
            // test is about.
            let port = try #require(client.port)
            let http = HTTPClient.shared
            @Sendable func purchase(_ order: String) async -> Int {
                let member = members[abs(order.hashValue) % members.count]
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/programs/default/purchases")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(key)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"member":"\#(member)","order":"\#(order)","amount":"10.00"}"#))
                let response = try? await http.execute(request, timeout: .seconds(300))
                return response.map { Int($0.status.code) } ?? 0
            }
            func burst(_ prefix: String) async -> [String: Int] {
                await withTaskGroup(of: (String, Int).self) { group in
                    for number in 1...32 { group.addTask { ("\(prefix)-\(number)", await purchase("\(prefix)-\(number)")) } }
                    return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }
            // Every connection of the pool open, then idle: the restart closes them all.
            let warm = await burst("warm")
            #expect(warm.values.allSatisfy { $0 == 201 }, "\(warm)")

            // Four tills post one purchase after another while the database stops and starts.
            let run = TillRun()
            let tills = Task {
                await withTaskGroup(of: Void.self) { group in
                    for till in 1...4 {
                        group.addTask {
                            var number = 0
                            while !run.stop.load(ordering: .relaxed) {
                                number += 1
                                let order = "till\(till)-\(number)"
                                let afterRestart = run.back.load(ordering: .relaxed)
                                let status = await purchase(order)
                                run.answers.withLock { $0.append((order, status, afterRestart)) }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.stopImmediately()
            try await Task.sleep(for: .milliseconds(300))
            try await cluster.start()
            run.back.store(true, ordering: .relaxed)

            // The first calls after the database is back succeed.
            let health = try await client.executeRequest(uri: "/health", method: .get, headers: [:], body: nil)
            #expect(health.status == .ok, "\(String(buffer: health.body))")
            let afterRestart = await burst("after")
            #expect(afterRestart.values.allSatisfy { $0 == 201 }, "\(afterRestart.filter { $0.value != 201 })")
            try await Task.sleep(for: .milliseconds(500))
            run.stop.store(true, ordering: .relaxed)
            await tills.value

            let all = run.answers.withLock { $0 }
            #expect(all.filter(\.sentAfterRestart).count > 0)
            // Sent after the database was back: every one posted.
            let failedAfter = all.filter { $0.sentAfterRestart && $0.status != 201 }
            #expect(failedAfter.isEmpty, "\(failedAfter)")
            // Before: posted, or 503 (the database was away; the till retries), never a 500.
            let unexpected = all.filter { ![201, 503].contains($0.status) }
            #expect(unexpected.isEmpty, "\(unexpected)")
            #expect(all.contains { $0.status == 503 }, "no request met the stopped database")

            // A till retries what got 503 with the same order: each is posted once.
            for (order, status, _) in all where status != 201 {
                let retried = await purchase(order)
                #expect(retried == 201, "retry of \(order): \(retried)")
            }
            let orders = Set(all.map(\.order)).union(warm.keys).union(afterRestart.keys)
            let stored = try await admin.pool.withConnection { connection in
                let row = try connection.query(
                    "SELECT count(*) AS purchases, count(DISTINCT order_id) AS orders, (SELECT sum(pending + available) FROM points.members) AS points FROM points.purchases"
                ).single()
                return [try row.decode(Int.self, column: "purchases"), try row.decode(Int.self, column: "orders"), try row.decode(Int.self, column: "points")]
            }
            #expect(stored == [orders.count, orders.count, orders.count * 10])
            let audit = try await admin.verify(program)
            #expect(audit.isSound, "\(audit.problems)")
        }
        await writer.pool.closeIdleConnections()
        await admin.pool.closeIdleConnections()

        // What the database said as it stopped reached the log as one line each, escaped.
        let said = log.lines.filter { $0.contains("The database says") }
        #expect(!said.isEmpty, "\(log.lines)")
        #expect(log.lines.allSatisfy { !$0.contains("\n") && !$0.contains("\u{1B}") })
    }
}

/// What the tills of the restart test share: whether the database is back, whether to stop,
/// and each purchase's answer.
final class TillRun: Sendable {
    let back = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let answers = Mutex<[(order: String, status: Int, sentAfterRestart: Bool)]>([])
}

/// A logger whose lines a test reads back.
final class CapturedLog: Sendable {
    private let captured = Mutex<[String]>([])

    var lines: [String] { captured.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "captured") { _ in Handler(log: self) }
        logger.logLevel = .warning
        return logger
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.captured.withLock { $0.append("\(event.level) \(event.message)") }
        }
    }
}
