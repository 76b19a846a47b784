import Logging
import PointsLedger
import Postgres
import TestSupport
import Testing

/// The README's "library in ten lines", run as written (but for the connection string).
@Suite("The README's example")
struct ReadmeExampleTests {
    @Test func theTenLinesWork() async throws {
        try await TestDatabase.withMigrated { configuration in
            let setup = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            _ = try await setup.createProgram(name: "default", currency: "CNY", actor: "tests")

            let ledger = Ledger(configuration: configuration, maximumConnections: 8, logger: Logger(label: "checkout"))
            let program = try await ledger.program(named: "default")
            _ = try await ledger.createMember("alice", in: program)
            let result = try await ledger.grant(points: 500, to: "alice", in: program,
                                                reason: "welcome bonus", actor: "signup-service", key: "welcome-alice")
            #expect("\(result.outcome) \(result.entryID) \(result.balance.spendable)" == "posted 1 500")
            await ledger.pool.closeIdleConnections()
            await setup.pool.closeIdleConnections()
        }
    }
}
