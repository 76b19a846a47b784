import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PointsLedger
import PointsServer
import Postgres

/// Starts points-server. SIGTERM or SIGINT stops it gracefully: requests in flight finish first.
/// Exits 2 on a usage error (as points-admin does), 1 when it cannot serve.
@main
struct PointsServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "points-server",
        abstract: "Serve the ledger over HTTP to checkout systems, member apps and finance.",
        discussion: """
            Listens on loopback by default; put it behind a TLS-terminating proxy to reach it from \
            elsewhere. Connects to PostgreSQL as points-admin does: --database-url, else the PG* \
            environment variables; --password-file, else PGPASSWORD or ~/.pgpass. Connect it as a \
            login role of the ledger's writer role: it posts and reads, never changes settings.

            With --jobs it also runs the period jobs of every program on a schedule (maturation, \
            expiry, hold expiry, tier evaluation, sealing; birthdays once a local day), each under \
            an advisory lock so that several servers run it once. The jobs need the owner's rights: \
            give them their own connection with --jobs-database-url.
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
    @Option(
        name: .customLong("deadline"),
        help: ArgumentHelp("Seconds a request may take; past it, it is answered 503 and its statement cancelled.", valueName: "seconds"))
    var deadlineSeconds = 10.0

    @Flag(help: "Run the period jobs of every program on a schedule.")
    var jobs = false
    @Option(
        name: .customLong("jobs-every"),
        help: ArgumentHelp("Seconds between two passes of the job schedule.", valueName: "seconds"))
    var jobsEverySeconds = 300.0
    @Option(
        name: .customLong("jobs-database-url"),
        help: ArgumentHelp("The connection of the period jobs, as the ledger's owner (default: --database-url).", valueName: "url"))
    var jobsDatabaseURL: String?
    @Option(
        name: .customLong("jobs-password-file"),
        help: ArgumentHelp("A file that holds the jobs connection's password (default: --password-file).", valueName: "path"))
    var jobsPasswordFile: String?

    static func main() async {
        do {
            var command = try parse()
            try await command.run()
        } catch {
            let code = exitCode(for: error)
            let message = ConnectionConfiguration.hidingConnectionStrings(
                in: fullMessage(for: error), arguments: Array(CommandLine.arguments.dropFirst()))
            if code == .success {
                print(message)
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
            // A usage error is 2, as in points-admin (the argument parser's own is 64, EX_USAGE).
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }

    func validate() throws {
        guard (1...65_535).contains(port) || port == 0 else { throw ValidationError("--port must be from 0 to 65535, not \(port).") }
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1, not \(connections).") }
        guard deadlineSeconds.isFinite, deadlineSeconds > 0, deadlineSeconds <= 3_600 else {
            throw ValidationError("--deadline must be more than 0 and at most 3600 seconds, not \(deadlineSeconds).")
        }
        guard jobsEverySeconds.isFinite, jobsEverySeconds >= 1, jobsEverySeconds <= 86_400 else {
            throw ValidationError("--jobs-every must be from 1 to 86400 seconds, not \(jobsEverySeconds).")
        }
        if !jobs && (jobsDatabaseURL != nil || jobsPasswordFile != nil) {
            throw ValidationError("--jobs-database-url and --jobs-password-file are for --jobs; add --jobs to run the period jobs.")
        }
    }

    func run() async throws {
        for url in [databaseURL, jobsDatabaseURL].compactMap({ $0 }) where (try? ConnectionConfiguration(url))?.carriesPassword == true {
            FileHandle.standardError.write(Data((ConnectionConfiguration.visiblePasswordWarning + "\n").utf8))
            break
        }
        let logger = Logger(label: "points-server")
        let ledger = Ledger(configuration: try connection(databaseURL, passwordFile, prefix: ""), maximumConnections: connections, logger: logger)
        var options = PointsServer.Options(deadline: .milliseconds(Int64(deadlineSeconds * 1_000)))
        if jobs {
            let configuration = try connection(jobsDatabaseURL ?? databaseURL, jobsPasswordFile ?? passwordFile, prefix: "jobs-")
            let jobsLedger = Ledger(configuration: configuration, maximumConnections: 2, logger: logger)
            options.jobs = JobSchedule(
                ledger: jobsLedger, interval: .milliseconds(Int64(jobsEverySeconds * 1_000)), metrics: options.metrics, logger: logger)
        }
        try await PointsServer.application(ledger: ledger, host: host, port: port, logger: logger, options: options).runService()
    }

    private func connection(_ url: String?, _ passwordFile: String?, prefix: String) throws -> ConnectionConfiguration {
        do {
            return try ConnectionConfiguration.fromOptions(databaseURL: url, passwordFile: passwordFile)
        } catch {
            throw ValidationError("Invalid --\(prefix)\(error.option.hasPrefix("--") ? String(error.option.dropFirst(2)) : error.option): \(error.message)")
        }
    }
}
