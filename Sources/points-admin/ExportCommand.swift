import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export the journal to finance's own tools.", subcommands: [Journal.self])

    struct Journal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export journal entries that occurred in a period, as CSV, JSON Lines or an hledger journal.",
            discussion: """
                csv: one line per posting. jsonl: one line per entry, its canonical form (the line the seal \
                hashes). hledger: one transaction per entry, every posting with a balance assertion, the \
                balances before --from as an opening transaction; `hledger -f FILE balance` checks them all.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("Start (inclusive, default: the beginning); program time unless a zone is given.", valueName: "time"))
        var from: String?
        @Option(help: ArgumentHelp("End (exclusive, default: now).", valueName: "time"))
        var to: String?
        @Option(help: ArgumentHelp("csv, jsonl or hledger.", valueName: "format"))
        var format: String
        @Option(help: ArgumentHelp("Write to this file (whole or not at all) instead of standard output.", valueName: "file"))
        var output: String?

        func run() async throws {
            let format = try named(JournalFormat.self, format, field: "--format")
            let (ledger, program) = try await options.ledgerAndProgram()
            let from = try await ledger.instant(ifGiven: from, in: program, field: "--from") ?? Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)
            let to = try await ledger.instant(ifGiven: to, in: program, field: "--to") ?? .now
            try ledger.checkPeriod(from: from, to: to, in: program)  // before --output is touched: the period is the first thing to fix
            guard let output else {
                let sink = FileSink(handle: .standardOutput)
                _ = try await ledger.exportJournal(program, from: from, to: to, format: format) { try sink.write($0) }
                return
            }
            var summary: JournalExportSummary?
            try await OutputFile.write(output, field: "--output") { write in
                summary = try await ledger.exportJournal(program, from: from, to: to, format: format, write: write)
            }
            Terminal.error("Exported \(summary?.entries ?? 0) entries (\(summary?.postings ?? 0) postings) to \(output).")
        }
    }
}
