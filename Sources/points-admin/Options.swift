import ArgumentParser
import Logging
import PointsLedger
import Postgres

/// The options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp("PostgreSQL connection URI or conninfo string (default: the PG* environment variables).", valueName: "url"))
    var databaseURL: String?

    @Option(help: ArgumentHelp("The program to work on.", valueName: "name"))
    var program: String = "default"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    /// A ledger over `connections` connections (one for most commands: the CLI does one thing at a time).
    func ledger(connections: Int = 1) throws -> Ledger {
        var configuration = ConnectionConfiguration.environment
        if let databaseURL {
            do {
                configuration = try ConnectionConfiguration(databaseURL)
            } catch {
                throw LedgerError.invalidInput(field: "--database-url", reason: error.message)
            }
        }
        var logger = Logger(label: "points-admin")
        logger.logLevel = .warning
        return Ledger(configuration: configuration, maximumConnections: connections, logger: logger)
    }

    /// The ledger and the program named by `--program`.
    func ledgerAndProgram(connections: Int = 1) async throws -> (Ledger, Program) {
        let ledger = try ledger(connections: connections)
        return (ledger, try await ledger.program(named: program))
    }
}
