import Foundation
@testable import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("The pool shares connections and recovers from broken ones")
struct PoolTests {
    @Test func concurrentCallersShareABoundedPool() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 3)
            let pids = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            try connection.query("SELECT pg_sleep(0.01)")
                            return connection.backendPID
                        }
                    }
                }
                return try await group.reduce(into: Set<Int32>()) { $0.insert($1) }
            }
            #expect(pids.count <= 3)
            #expect(pids.count >= 1)
            await pool.closeIdleConnections()
        }
    }

    /// A task cancelled while it waits for a connection leaves the queue at once (a request past
    /// its deadline stops waiting), and the connection goes to the next in line. The holder keeps
    /// its connection until the test lets it go, so the order of events does not depend on how
    /// busy the machine is.
    @Test func aTaskCancelledWhileWaitingForAConnectionLeavesTheQueue() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let holding = Mutex(false)
            let letGo = DispatchSemaphore(value: 0)
            let holder = Task {
                try await pool.withConnection { _ in
                    holding.withLock { $0 = true }
                    letGo.wait()
                }
            }
            while !holding.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            let waiter = Task { try await pool.withConnection { _ = try $0.query("SELECT 'never run'") } }
            let next = Task { try await pool.withConnection { try $0.query("SELECT 2 AS two").single().decode(Int.self, column: "two") } }
            try await Task.sleep(for: .milliseconds(100))
            waiter.cancel()
            // It leaves while the connection is still held: it does not wait for it to come back.
            await #expect(throws: CancellationError.self) { try await waiter.value }
            letGo.signal()
            try await holder.value
            #expect(try await next.value == 2)
            #expect(pool.statistics.waits >= 1)
        }
    }

    /// A cancelled task cancels the command it is running, on the server, at once: on a lent
    /// connection and on the one-round-trip path, inside a transaction too, and the connection
    /// serves the next caller. A task cancelled before its turn never runs its command.
    @Test func aCancelledTaskCancelsItsQueryOnTheServer() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let watcher = try PostgresConnection(configuration: configuration)
            func sleepers() throws -> Int {
                try watcher.query("""
                    SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg\\_sleep(%' AND state = 'active' AND datname = current_database() AND pid <> pg_backend_pid()
                    """).single().decode(Int.self, at: 0)
            }
            let calls: [@Sendable () async throws -> Void] = [
                { try await pool.withConnection { _ = try $0.query("SELECT pg_sleep(30)") } },
                { try await pool.withConnection { connection in
                    try connection.withTransaction { _ = try $0.query("SELECT pg_sleep(30)") }
                } },
                // Prepared by the first call, sent from the caller's thread by the second.
                { _ = try await pool.query("SELECT pg_sleep(\(0.0))"); _ = try await pool.query("SELECT pg_sleep(\(30.0))") },
            ]
            for (index, call) in calls.enumerated() {
                let clock = ContinuousClock()
                let started = clock.now
                let task = Task { try await call() }
                // Cancel once the command is running on the server.
                for _ in 0..<200 where try sleepers() == 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(try sleepers() == 1, "call \(index)")
                let sleeper: Int32 = try watcher.query("""
                    SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg\\_sleep(%' AND state = 'active' AND datname = current_database()
                      AND pid <> pg_backend_pid()
                    """).single().decode(at: 0)
                task.cancel()
                await #expect(throws: CancellationError.self) { try await task.value }
                #expect(clock.now - started < .seconds(10))
                #expect(try sleepers() == 0, "call \(index)")
                #expect(try await pool.query("SELECT 41 + 1").single().decode(Int.self, at: 0) == 42)
                // The cancelled task's connection was not lent again: a cancel request that
                // arrives late can never reach another caller's command.
                #expect(try await pool.withConnection { $0.backendPID } != sleeper, "call \(index)")
            }
            let never = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await pool.withConnection { _ = try $0.query("CREATE TABLE ran (x int)") }
            }
            await #expect(throws: CancellationError.self) { try await never.value }
            #expect(try watcher.query("SELECT to_regclass('ran') IS NULL").single().decode(Bool.self, at: 0))
            await pool.closeIdleConnections()
        }
    }

    @Test func aConnectionLeftInATransactionIsNotReused() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let first = try await pool.withConnection { connection in
                try connection.execute(script: "BEGIN")
                return connection.backendPID
            }
            let second = try await pool.withConnection { connection in
                (connection.backendPID, connection.isReadyForReuse)
            }
            #expect(first != second.0)
            #expect(second.1)
            await pool.closeIdleConnections()
        }
    }

    @Test func oneRoundTripQueriesAnswerEachCallerWithItsOwnResult() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 4)
            // Half the callers run on the pool's executor, half on the global one; slow and fast
            // answers interleave, so answers arrive out of order across connections.
            let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for caller in 0..<200 {
                    let body: @Sendable () async throws -> (Int, Int) = {
                        let row = try await pool.query(
                            "SELECT \(caller)::int * 2, pg_sleep(\(caller % 7 == 0 ? 0.005 : 0))::text").single()
                        return (caller, try row.decode(Int.self, at: 0))
                    }
                    if caller.isMultiple(of: 2) {
                        group.addTask(executorPreference: pool.executor, operation: body)
                    } else {
                        group.addTask(operation: body)
                    }
                }
                return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
            #expect(answers.count == 200)
            #expect(answers.allSatisfy { $0.value == $0.key * 2 })
            await pool.closeIdleConnections()
        }
    }

    @Test func aOneRoundTripQueryReportsServerErrorsAndKeepsTheConnection() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let pid = try await pool.query("SELECT pg_backend_pid()").single().decode(Int32.self, at: 0)
            for _ in 0..<2 {
                await #expect {
                    try await pool.query("SELECT 1 / (\(0)::int)")
                } throws: { error in
                    (error as? PostgresError)?.code == .divisionByZero
                }
            }
            #expect(try await pool.query("SELECT pg_backend_pid()").single().decode(Int32.self, at: 0) == pid)
            await pool.closeIdleConnections()
        }
    }

    @Test func aConnectionKilledWhileAOneRoundTripQueryWaitsFailsItAndIsReplaced() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let statement: PostgresQuery = "SELECT pg_backend_pid(), pg_sleep(\(0.0))::text"
            // The first call prepares the statement; the second is sent on the one-round-trip path.
            let victim = try await pool.query(statement).single().decode(Int32.self, at: 0)
            let killer = try PostgresConnection(configuration: configuration)
            let waiting = Task { try await pool.query("SELECT pg_backend_pid(), pg_sleep(\(30.0))::text") }
            for _ in 0..<200 {
                let sleeping = try killer.query(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = \(victim) AND wait_event = 'PgSleep'")
                if !sleeping.isEmpty { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            try killer.query("SELECT pg_terminate_backend(\(victim))")
            await #expect {
                try await waiting.value
            } throws: { error in
                (error as? PostgresError)?.isConnectionError == true
            }
            let replacement = try await pool.query(statement).single().decode(Int32.self, at: 0)
            #expect(replacement != victim)
            await pool.closeIdleConnections()
        }
    }

    @Test func anUnreachableServerFailsEveryCallerAndRecoversNothingSilently() async throws {
        let pool = PostgresPool(configuration: try ConnectionConfiguration("host=/nonexistent-socket-dir dbname=x"), maximumConnections: 2)
        for _ in 0..<3 {
            await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in 1 } }
        }
    }
}

@Suite("Connections: the server's notices and connections it closed")
struct NoticeTests {
    @Test func aWarningGoesToTheHandlerAsOneLineAndNeverRawToStandardError() async throws {
        try await TestDatabase.withEmpty { configuration in
            let heard = Mutex<[PostgresNotice]>([])
            var configuration = configuration
            configuration.noticeHandler = { notice in heard.withLock { $0.append(notice) } }
            let connection = try PostgresConnection(configuration: configuration)
            try connection.execute(script: #"DO $$ BEGIN RAISE WARNING 'stock is low'; RAISE WARNING E'two\n\tlines'; END $$"#)
            let notices = heard.withLock { $0 }
            #expect(notices.map(\.severity) == ["WARNING", "WARNING"])
            #expect(notices.map(\.message) == ["stock is low", "two lines"])
            #expect(!notices[0].endsTheSession)
        }
    }

    @Test func libpqsMessageOverSeveralLinesReadsAsSentences() {
        #expect(PostgresError.oneLine("""
            server closed the connection unexpectedly
            \tThis probably means the server terminated abnormally
            \tbefore or while processing the request.

            """) == "server closed the connection unexpectedly. This probably means the server terminated abnormally before or while processing the request.")
        #expect(PostgresError.oneLine("could not connect: No such file or directory\n\tIs the server running locally?")
            == "could not connect: No such file or directory. Is the server running locally?")
    }

    @Test func aConnectionTheServerClosedWhileIdleIsReplacedBeforeItIsLent() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let first = try await pool.withConnection { try $0.query("SELECT pg_backend_pid() AS pid").single().decode(Int32.self, column: "pid") }
            let admin = try PostgresConnection(configuration: configuration)
            try admin.query("SELECT pg_terminate_backend(\(first), 5000)")
            // The pool's only connection is dead; the next caller gets a new one and never sees the old one fail.
            let second = try await pool.withConnection { try $0.query("SELECT pg_backend_pid() AS pid").single().decode(Int32.self, column: "pid") }
            #expect(second != first)
            try admin.query("SELECT pg_terminate_backend(\(second), 5000)")
            let third = try await pool.query("SELECT 42 AS answer")
            #expect(!third.isEmpty)
            #expect(pool.statistics.opened == 1)
            await pool.closeIdleConnections()
        }
    }
}

