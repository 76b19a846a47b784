import ArgumentParser
import Foundation
import PointsLedger

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import records in bulk from a file.", subcommands: [Purchases.self])

    struct Purchases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import purchases from JSON Lines or CSV (a checkout system's backlog, a day's file, history).",
            discussion: """
                Fields: order_id, member, amount, occurred_at, and optionally points_paid and referrer. \
                CSV needs a header line naming them. Times without a zone are the program's local time. \
                Every line gets a report line: accepted, duplicate (posted before: running a file again \
                posts nothing new) or rejected with its reason, which does not stop the import. Batches \
                commit as they go: an import stopped half-way is finished by running it again.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The file, or - for standard input.", valueName: "file"))
        var file: String
        @Option(help: ArgumentHelp("jsonl or csv (default: from the file's first line).", valueName: "format"))
        var format: String?
        @Flag(help: "Refuse lines of unknown members instead of creating them.")
        var noCreateMembers = false
        @Flag(help: "Record a permission to load purchases older than the back-dating window (onboarding history).")
        var allowBackdated = false
        @Option(help: ArgumentHelp("Where to write the per-line report (default: standard output).", valueName: "file"))
        var report: String?
        @Option(help: ArgumentHelp("Lines per committed batch.", valueName: "n"))
        var batch = 5_000
        @Option(help: ArgumentHelp("Connections posting batches in parallel, each for its own share of the members.", valueName: "n"))
        var connections = 2

        func validate() throws {
            if let format, ImportFormat(rawValue: format) == nil {
                throw ValidationError("--format must be jsonl or csv, not \(format).")
            }
            if batch <= 0 { throw ValidationError("--batch must be a positive number, not \(batch).") }
            if !(1...32).contains(connections) { throw ValidationError("--connections must be between 1 and 32, not \(connections).") }
        }

        func run() async throws {
            let input: FileHandle
            if file == "-" {
                input = FileHandle.standardInput
            } else {
                guard let handle = FileHandle(forReadingAtPath: file) else {
                    throw LedgerError.invalidInput(field: "file", reason: "\(file) cannot be read; check the path and its permissions")
                }
                input = handle
            }
            let sink = try ReportSink(path: report, json: options.json)
            let (ledger, program) = try await options.ledgerAndProgram(connections: connections)
            let summary = try await ledger.importPurchases(
                from: input, name: file == "-" ? "standard input" : file, into: program,
                options: ImportOptions(
                    format: format.flatMap(ImportFormat.init), createMembers: !noCreateMembers, allowBackdated: allowBackdated,
                    batchSize: batch, connections: connections),
                report: sink.write)
            try sink.close()
            if options.json {
                try Terminal.json(summary)
            } else {
                print("\(summary.lines) lines: \(summary.accepted) accepted (\(summary.points) points), \(summary.duplicates) duplicates, "
                    + "\(summary.rejected) rejected, in \(summary.batches) batches, \(String(format: "%.1f", summary.seconds)) s.")
            }
            if summary.rejected > 0 { throw ExitCode(ExitStatus.refused) }
        }
    }
}

/// Writes the per-line report of an import, to a file or standard output, as it goes.
final class ReportSink: Sendable {
    private let handle: FileHandle
    private let json: Bool

    init(path: String?, json: Bool) throws {
        self.json = json
        guard let path, path != "-" else {
            handle = FileHandle.standardOutput
            return
        }
        // Opened in place (created or truncated), never replaced: the path may be a device such
        // as /dev/null, a pipe, or a file other programs hold open.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw LedgerError.invalidInput(field: "--report", reason: "\(path) cannot be written; check the folder and its permissions")
        }
        self.handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    @Sendable func write(_ result: ImportLineResult) {
        let text: String
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            text = String(decoding: (try? encoder.encode(result)) ?? Data(), as: UTF8.self)
        } else {
            var line = "line \(result.line): \(result.status.rawValue)"
            if let order = result.order { line += " order \(order)" }
            if result.status == .accepted, let entry = result.entryID { line += " entry \(entry), \(result.points ?? 0) points" }
            if let reason = result.reason { line += ": \(reason)" }
            text = line
        }
        handle.write(Data((text + "\n").utf8))
    }

    func close() throws {
        if handle !== FileHandle.standardOutput { try handle.close() }
    }
}
