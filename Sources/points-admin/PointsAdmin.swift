import ArgumentParser
import Foundation
import PointsLedger
import Postgres

/// `points-admin`: the admin and finance CLI of PointsLedger.
///
/// Exit codes: 0 ok, 1 a check failed or an operation was refused, 2 usage error,
/// 3 database unreachable.
@main
struct PointsAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "points-admin",
        abstract: "Run a PointsLedger membership points ledger: programs, members, purchases, adjustments, jobs, audit.",
        discussion: """
            Every command takes --database-url (else the PG* environment variables), --password-file \
            (else PGPASSWORD or ~/.pgpass), --program (default "default") and --json. Exit codes: 0 ok, \
            1 refused or a check failed, 2 usage error, 3 database unreachable. Characters a terminal \
            would act on or hide (control characters, line separators, bidi and zero-width characters) \
            in ids, names, reasons and messages are shown escaped, as \\u{1B}; --json escapes them as \\u001b.
            """,
        subcommands: [
            DatabaseCommand.self, ProgramCommand.self, TierCommand.self, TaskCommand.self, MemberCommand.self, PurchaseCommand.self,
            ImportCommand.self, AdjustCommand.self, RewardCommand.self, RedeemCommand.self, HoldCommand.self,
            JobsCommand.self, AuditCommand.self, ReportCommand.self, ExportCommand.self, APIKeyCommand.self,
        ]
    )

    static func main() async {
        if let problem = argumentNotUTF8() {
            Terminal.error(TerminalText(escaping: problem))
            Foundation.exit(ExitStatus.usage)
        }
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(reporting: error)
        }
    }

    /// Prints one clear message for `error` and exits with the code its kind calls for.
    static func exit(reporting error: any Error) -> Never {
        switch error {
        case let error as LedgerError:
            Terminal.error(TerminalText(escaping: ErrorWords.message(for: error)))
            Foundation.exit(ExitStatus.of(error))
        case let error as ExitCode:
            Foundation.exit(error.rawValue)
        default:
            let code = exitCode(for: error)
            if code == .success {
                Terminal.print(TerminalText(lines: fullMessage(for: error)))
                Foundation.exit(0)
            }
            Terminal.error(TerminalText(lines: withoutConnectionStrings(fullMessage(for: error))))
            Foundation.exit(ExitStatus.usage)
        }
    }

    /// The first argument whose bytes are not UTF-8, named, or nil. Swift reads such bytes as
    /// U+FFFD, which would store a reason or a name other than the one typed: every argument is
    /// checked as the shell passed it, before any is read.
    static func argumentNotUTF8() -> String? {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer))
            guard String(validating: bytes, as: UTF8.self) == nil else { continue }
            let flag = index > 1 ? String(validatingCString: CommandLine.unsafeArgv[index - 1]!).flatMap { $0.hasPrefix("--") ? " (the value of \($0))" : nil } ?? "" : ""
            return """
                Argument \(index)\(flag) is not UTF-8 text; nothing was done. The ledger keeps text as UTF-8: \
                set your terminal to UTF-8 or convert the text (for example with iconv -t UTF-8).
                """
        }
        return nil
    }

    /// A usage message with every argument that looks like a connection string (or holds a
    /// password) replaced: the argument parser quotes a misplaced argument back, and `ps` is not
    /// the only place a password must not show.
    static func withoutConnectionStrings(_ message: String) -> String {
        ConnectionConfiguration.hidingConnectionStrings(in: message, arguments: Array(CommandLine.arguments.dropFirst()))
    }
}

enum ExitStatus {
    static let refused: Int32 = 1
    static let usage: Int32 = 2
    static let unreachable: Int32 = 3

    /// A malformed value is a usage error (2); a refusal, something not found, a conflict or a
    /// failed check is 1; a database out of reach is 3.
    static func of(_ error: LedgerError) -> Int32 {
        switch error {
        case .invalidInput: usage
        case .unreachable: unreachable
        case .notFound, .programConflict, .insufficientPoints, .refused, .idempotencyConflict, .amountOutOfRange, .schemaNotMigrated,
            .migrationEdited, .migrationUnknown, .migrationFailed, .permissionDenied, .unexpectedAnswer, .database:
            refused
        }
    }
}
