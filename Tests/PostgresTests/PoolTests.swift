import Postgres
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

    @Test func aKilledConnectionIsReportedAndReplaced() async throws {
        try await TestDatabase.withEmpty { configuration in
            let pool = PostgresPool(configuration: configuration, maximumConnections: 1)
            let victim = try await pool.withConnection { $0.backendPID }
            let killer = try PostgresConnection(configuration: configuration)
            try killer.query("SELECT pg_terminate_backend(\(victim))")
            // Termination is asynchronous on the server: wait until the process is gone.
            for _ in 0..<100 {
                let alive = try killer.query("SELECT 1 FROM pg_stat_activity WHERE pid = \(victim)")
                if alive.isEmpty { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            await #expect {
                try await pool.withConnection { try $0.query("SELECT 1") }
            } throws: { error in
                (error as? PostgresError)?.isConnectionError == true
            }
            let replacement = try await pool.withConnection { connection in
                (connection.backendPID, try connection.query("SELECT 41 + 1").single().decode(Int.self, at: 0))
            }
            #expect(replacement.0 != victim)
            #expect(replacement.1 == 42)
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

    @Test func anUnreachableServerFailsEveryCallerAndRecoversNothingSilently() async throws {
        let pool = PostgresPool(configuration: try ConnectionConfiguration("host=/nonexistent-socket-dir dbname=x"), maximumConnections: 2)
        for _ in 0..<3 {
            await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in 1 } }
        }
    }
}
