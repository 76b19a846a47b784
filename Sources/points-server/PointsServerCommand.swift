import ArgumentParser
import Hummingbird
import Logging
import PointsLedger
import PointsServer
import Postgres

/// Starts points-server. SIGTERM or SIGINT stops it gracefully: requests in flight finish first.
@main
struct PointsServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "points-server",
        abstract: "Serve the ledger over HTTP to checkout systems, member apps and finance.",
        discussion: """
            Listens on loopback by default; put it behind a TLS-terminating proxy to reach it from \
            elsewhere. Connects to PostgreSQL as points-admin does: --database-url, else the PG* \
            environment variables; --password-file, else PGPASSWORD or ~/.pgpass.
            """)

    @Option(help: ArgumentHelp("The address to listen on.", valueName: "host"))
    var host = "127.0.0.1"
    @Option(help: ArgumentHelp("The port to listen on.", valueName: "port"))
    var port = 8080
    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp("PostgreSQL connection URI or conninfo string (default: the PG* environment variables).", valueName: "url"))
    var databaseURL: String?
    @Option(
        name: .customLong("password-file"),
        help: ArgumentHelp("A file that holds the database password on one line.", valueName: "path"))
    var passwordFile: String?
    @Option(help: ArgumentHelp("Database connections to keep at most.", valueName: "n"))
    var connections = 8

    func run() async throws {
        let configuration: ConnectionConfiguration
        do {
            configuration = try ConnectionConfiguration.fromOptions(databaseURL: databaseURL, passwordFile: passwordFile)
        } catch {
            throw ValidationError("Invalid \(error.option): \(error.message)")
        }
        let logger = Logger(label: "points-server")
        let ledger = Ledger(configuration: configuration, maximumConnections: connections, logger: logger)
        try await PointsServer.application(ledger: ledger, host: host, port: port, logger: logger).runService()
    }
}
