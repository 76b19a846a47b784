import ArgumentParser
import Foundation
import Logging
import PointsLedger
import Postgres

/// The options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp("PostgreSQL connection URI or conninfo string (default: the PG* environment variables).", valueName: "url"))
    var databaseURL: String?

    @Option(
        name: .customLong("password-file"),
        help: ArgumentHelp(
            "A file that holds the database password on one line (unlike a password in --database-url, `ps` does not show it).",
            valueName: "path"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("The program to work on.", valueName: "name"))
    var program: String = "default"

    @Flag(help: "Print JSON instead of a table: times in RFC 3339 at the program's offset (Z with --utc), money as strings.")
    var json = false

    @Flag(help: "Show times in UTC instead of the program's time zone.")
    var utc = false

    /// A ledger over `connections` connections (one for most commands: the CLI does one thing at a time).
    func ledger(connections: Int = 1) throws -> Ledger {
        if let databaseURL, (try? ConnectionConfiguration(databaseURL))?.carriesPassword == true {
            Terminal.error(Self.visiblePasswordWarning)
        }
        var configuration: ConnectionConfiguration
        do {
            configuration = try ConnectionConfiguration.fromOptions(databaseURL: databaseURL, passwordFile: passwordFile)
        } catch {
            throw LedgerError.invalidInput(field: error.option, reason: error.message)
        }
        // A warning of the database is one escaped line; the reason it ends the session is not
        // shown twice: the error that follows says the connection broke.
        configuration.noticeHandler = { notice in
            if !notice.endsTheSession { Terminal.error("The database warns: \(notice.message)") }
        }
        var logger = Logger(label: "points-admin")
        logger.logLevel = .warning
        return Ledger(configuration: configuration, maximumConnections: connections, logger: logger)
    }

    /// Printed on standard error when `--database-url` holds a password; the command goes on.
    static let visiblePasswordWarning = TerminalText(stringLiteral: ConnectionConfiguration.visiblePasswordWarning)

    /// The ledger and the program named by `--program`.
    func ledgerAndProgram(connections: Int = 1) async throws -> (Ledger, Program) {
        let ledger = try ledger(connections: connections)
        return (ledger, reading(try await ledger.program(named: program)))
    }

    /// The program a command works on, whose clock (or UTC with `--utc`) times are shown by from now on.
    func reading(_ program: Program) -> Program {
        Terminal.read(by: utc ? .utc : program.clock)
        return program
    }
}

/// When a configuration change takes effect, and who makes it: `program set`, `task set`, `tier set`.
struct ChangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("When the change takes effect (default: now); program time unless a zone is given.", valueName: "time"))
    var effectiveAt: String?
    @Option(help: ArgumentHelp("Who makes the change (recorded).", valueName: "name"))
    var actor = ProcessInfo.processInfo.environment["USER"] ?? "admin"

    func effective(_ ledger: Ledger, _ program: Program) async throws -> Timestamp? {
        try await ledger.instant(ifGiven: effectiveAt, in: program, field: "--effective-at")
    }
}

extension Ledger {
    /// A time the user may leave out (nil: now, as the library takes it).
    func instant(ifGiven text: String?, in program: Program, field: String) async throws -> Timestamp? {
        guard let text else { return nil }
        return try await instant(text, in: program, field: field)
    }
}

/// Whole-number flags read by the ledger's one grammar of numbers (`Numbers`): digits only, no
/// sign and no leading zero (`--points 12`, not `+12` or `012`), as `--amount` and the imports read them.
enum WholeFlag {
    struct NotAWholeNumber: Error, CustomStringConvertible {
        let text: String
        var description: String {
            Numbers.isWholeNumber(text)
                ? "\(TextRules.shown(text)) is more than the largest whole number this takes, \(Int64.max)"
                : "\(TextRules.shown(text)) is not a whole number written with digits only, such as 12"
        }
    }

    static func int64(_ text: String) throws -> Int64 {
        guard Numbers.isWholeNumber(text), let value = Int64(text) else { throw NotAWholeNumber(text: text) }
        return value
    }

    static func int(_ text: String) throws -> Int {
        Int(try int64(text))
    }
}
