import ArgumentParser
import Foundation
import PointsLedger
import Synchronization

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import records in bulk from a file: purchases, and the rest of a program's history.",
        discussion: """
            Every import reads JSON Lines or CSV (a header line naming the fields), and gives every line a \
            report line: accepted, duplicate (posted before: running a file again posts nothing new) or \
            rejected with its reason, which does not stop the import. Times without a zone are the program's \
            local time. Batches commit as they go: an import stopped half-way is finished by running it again. \
            With --json the report is JSON Lines, one object a line, and the last line of standard output is \
            the summary: {"summary": {"accepted": …, "duplicates": …, "rejected": …, …}}.
            """,
        subcommands: [Purchases.self, Refunds.self, Redemptions.self, Adjustments.self, Tasks.self, History.self])

    /// What every import takes.
    struct Arguments: ParsableArguments {
        @Argument(help: ArgumentHelp("The file, or - for standard input.", valueName: "file"))
        var file: String
        @Option(
            help: ArgumentHelp(
                "jsonl or csv (default: from the file's name, .jsonl .ndjson .json or .csv, else from its content: JSON Lines if it starts with {).",
                valueName: "format"))
        var format: String?
        @Flag(help: "Record a permission to load records older than the back-dating window (a program's history).")
        var allowBackdated = false
        @Option(help: ArgumentHelp("Where to write the per-line report (default: standard output).", valueName: "file"))
        var report: String?
        @Option(help: ArgumentHelp("Lines per committed batch.", valueName: "n"), transform: WholeFlag.int)
        var batch = 50_000
        @Option(help: ArgumentHelp("Connections posting batches in parallel, each for its own share of the members.", valueName: "n"), transform: WholeFlag.int)
        var connections = 2

        func validate() throws {
            if let format, ImportFormat(rawValue: format) == nil {
                throw ValidationError("--format must be jsonl or csv, not \(VisibleText.escaped(format)).")
            }
            if batch <= 0 { throw ValidationError("--batch must be a positive number, not \(batch).") }
            if !(1...32).contains(connections) { throw ValidationError("--connections must be between 1 and 32, not \(connections).") }
        }

        func importOptions(createMembers: Bool = false, actor: String = "import") -> ImportOptions {
            ImportOptions(
                format: format.flatMap(ImportFormat.init(rawValue:)) ?? (file == "-" ? nil : ImportFormat(fileName: file)),
                createMembers: createMembers, allowBackdated: allowBackdated, batchSize: batch, connections: connections, actor: actor)
        }

        /// Opens the input and the report, runs `body`, and prints the summary.
        func run(
            _ options: GlobalOptions,
            _ body: (Ledger, Program, FileHandle, String, @escaping @Sendable (ImportLineResult) -> Void) async throws -> ImportSummary
        ) async throws {
            let input = file == "-" ? FileHandle.standardInput : try ImportInput.open(path: file)
            let sink = try ReportSink(path: report, json: options.json)
            let (ledger, program) = try await options.ledgerAndProgram(connections: connections)
            let summary = try await sink.closing { try await body(ledger, program, input, file == "-" ? "standard input" : file, sink.write) }
            if options.json {
                try Terminal.jsonLine(["summary": summary])
            } else {
                Terminal.print("\(summary.lines.grouped) lines: \(summary.accepted.grouped) accepted (\(summary.points.grouped) points), \(summary.duplicates.grouped) duplicates, "
                    + "\(summary.rejected) rejected, in \(summary.batches) batches, \(String(format: "%.1f", summary.seconds)) s.")
            }
            if summary.rejected > 0 { throw ExitCode(ExitStatus.refused) }
        }
    }

    struct Purchases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import purchases (a checkout system's backlog, a day's file, history).",
            discussion: """
                Fields: order_id, member, amount, occurred_at, and optionally points_paid and referrer. \
                A UTF-8 byte-order mark at the start is skipped.
                """)

        @OptionGroup var options: GlobalOptions
        @OptionGroup var arguments: Arguments
        @Flag(help: "Refuse lines of unknown members instead of creating them.")
        var noCreateMembers = false

        func run() async throws {
            try await arguments.run(options) { ledger, program, input, name, report in
                try await ledger.importPurchases(
                    from: input, name: name, into: program, options: arguments.importOptions(createMembers: !noCreateMembers), report: report)
            }
        }
    }

    struct Refunds: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import refunds of purchases posted before.",
            discussion: "Fields: refund_id, order_id, amount, occurred_at. Refunds post in line order on one connection.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var arguments: Arguments

        func run() async throws { try await arguments.importHistory(.refunds, options) }
    }

    struct Redemptions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import redemptions: rewards redeemed, or points spent for a reason.",
            discussion: """
                Fields: key, member, occurred_at, and reward (with an optional quantity, default 1) or points \
                and reason. Each is checked as `redeem` checks it, at its time: the reward's window, the \
                member's tier, spendable points, stock.
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var arguments: Arguments

        func run() async throws { try await arguments.importHistory(.redemptions, options) }
    }

    struct Adjustments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import grants and deductions, opening balances among them.",
            discussion: """
                Fields: key, member, points (above 0 a grant, below 0 a deduction), reason, occurred_at, and \
                optionally actor and expires_at (a grant's own expiry: an opening balance keeps its original one).
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var arguments: Arguments
        @Option(help: ArgumentHelp("Who is recorded on lines that name no actor.", valueName: "name"))
        var actor = ProcessInfo.processInfo.environment["USER"] ?? "admin"

        func run() async throws { try await arguments.importHistory(.adjustments, options, actor: actor) }
    }

    struct Tasks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import task completions: check-ins, posts, shares, the program's own tasks.",
            discussion: """
                Fields: task, member, occurred_at, and ref (a check-in's is its local date and may be left out). \
                Check-ins in time order build their streaks; caps count as for single completions.
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var arguments: Arguments

        func run() async throws { try await arguments.importHistory(.tasks, options) }
    }
}

extension ImportCommand {
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay a program's whole history from a directory of files, in time order, with the period jobs between days.",
            discussion: """
                The directory holds any of purchases, refunds, redemptions, adjustments and tasks (each .jsonl, \
                .ndjson, .json or .csv, in its own import's fields), each in time order. Records post in time \
                order across the files; before each day's first record the period jobs run as of the day's start \
                (maturation, expiry, tier evaluation), as a nightly schedule runs them, and once more as of now at \
                the end. A member a record names is created before its first record (--no-create-members refuses \
                them). Configure the program first: settings cannot be back-dated once it has entries. Report \
                lines name their file. Running the directory again posts nothing twice.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The directory of the history's files.", valueName: "directory"))
        var directory: String
        @Flag(help: "Record a permission to load records older than the back-dating window (a program's history).")
        var allowBackdated = false
        @Option(help: ArgumentHelp("Where to write the per-line report (default: standard output).", valueName: "file"))
        var report: String?
        @Option(help: ArgumentHelp("Records of one kind per committed batch, at most.", valueName: "n"), transform: WholeFlag.int)
        var batch = 5_000
        @Option(help: ArgumentHelp("Who is recorded on adjustments whose line names no actor.", valueName: "name"))
        var actor = ProcessInfo.processInfo.environment["USER"] ?? "admin"
        @Flag(help: "Refuse records of unknown members instead of creating them.")
        var noCreateMembers = false

        func validate() throws {
            if batch <= 0 { throw ValidationError("--batch must be a positive number, not \(batch).") }
        }

        func run() async throws {
            let sink = try ReportSink(path: report, json: options.json)
            let (ledger, program) = try await options.ledgerAndProgram()
            let summary = try await sink.closing {
                try await ledger.importHistory(
                    directory: directory, into: program,
                    options: ImportOptions(
                        createMembers: !noCreateMembers, allowBackdated: allowBackdated, batchSize: batch, connections: 1, actor: actor),
                    report: { sink.write(file: $0, $1) })
            }
            if options.json {
                try Terminal.jsonLine(["summary": summary])
            } else {
                for (file, part) in summary.files.sorted(by: { $0.key < $1.key }) {
                    Terminal.print("\(file): \(part.lines.grouped) lines: \(part.accepted.grouped) accepted (\(part.points.grouped) points), \(part.duplicates.grouped) duplicates, \(part.rejected.grouped) rejected.")
                }
                Terminal.print("The period jobs ran before \(summary.jobDays) days' records; \(String(format: "%.1f", summary.seconds)) s.")
            }
            if summary.files.values.contains(where: { $0.rejected > 0 }) { throw ExitCode(ExitStatus.refused) }
        }
    }
}

extension ImportCommand.Arguments {
    func importHistory(_ kind: HistoryKind, _ options: GlobalOptions, actor: String = "import") async throws {
        try await run(options) { ledger, program, input, name, report in
            try await ledger.importHistory(kind, from: input, name: name, into: program, options: importOptions(actor: actor), report: report)
        }
    }
}

/// Writes the per-line report of an import, to a file or standard output, as it goes: lines
/// collect in a buffer written out every 64 KiB and at the end, since an import reports a million
/// lines in under a minute. A failed write stops the report, not the import; `close` says so.
final class ReportSink: Sendable {
    private let descriptor: Int32
    /// How messages name the report: its path, or standard output.
    private let name: String
    private let json: Bool
    private let state = Mutex(State())

    private struct State {
        var bytes: [UInt8] = []
        /// The `errno` of the first failed write; nothing is written after it.
        var failure: Int32?
    }

    init(path: String?, json: Bool) throws {
        self.json = json
        guard let path, path != "-" else {
            descriptor = STDOUT_FILENO
            name = "standard output"
            return
        }
        // Opened in place (created or truncated), never replaced: the path may be a device such
        // as /dev/null, a pipe, or a file other programs hold open.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw LedgerError.invalidInput(
                field: "--report", reason: "\(path) cannot be written: \(String(cString: strerror(errno))); choose a file in a folder you can write to")
        }
        self.descriptor = descriptor
        name = path
    }

    @Sendable func write(_ result: ImportLineResult) {
        append(json ? Self.jsonLine(result) : Self.textLine(result))
    }

    /// A line of a replay of several files: the same, naming its file.
    @Sendable func write(file: String, _ result: ImportLineResult) {
        append(json ? Self.jsonLine(result, file: file) : Self.textLine(result, file: file))
    }

    private func append(_ line: String) {
        // Results come one at a time, in line order: writing under the lock keeps that order.
        state.withLock { state in
            state.bytes.append(contentsOf: line.utf8)
            state.bytes.append(UInt8(ascii: "\n"))
            if state.bytes.count >= 1 << 16 { flush(&state) }
        }
    }

    /// Writes the buffered bytes out, unless a write failed before.
    private func flush(_ state: inout State) {
        defer { state.bytes.removeAll(keepingCapacity: true) }
        guard state.failure == nil else { return }
        state.failure = state.bytes.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let count = Foundation.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count >= 0 {
                    written += count
                } else if errno != EINTR {
                    return errno
                }
            }
            return nil
        }
    }

    /// `line 12: accepted order A1 entry 345, 12 points`, the order and the reason escaped for the terminal.
    static func textLine(_ result: ImportLineResult, file: String? = nil) -> String {
        var line: TerminalText = "line \(result.line): \(result.status.rawValue)"
        if let file { line = "\(file) " + line }
        if let order = result.order { line = line + " order \(order)" }
        if let key = result.key { line = line + " key \(key)" }
        if result.status == .accepted, let entry = result.entryID { line = line + " entry \(entry), \(result.points ?? 0) points" }
        if let reason = result.reason { line = line + ": \(ErrorWords.withFlags(reason))" }
        return line.text
    }

    /// `{"entry_id":345,"line":12,"order":"A1","points":12,"status":"accepted"}`: keys sorted, absent values left out.
    static func jsonLine(_ result: ImportLineResult, file: String? = nil) -> String {
        var line = "{"
        line.reserveCapacity(96)
        if let entry = result.entryID { line += "\"entry_id\":\(entry)," }
        if let file { line += "\"file\":"; appendJSONString(file, to: &line); line += "," }
        if let key = result.key { line += "\"key\":"; appendJSONString(key, to: &line); line += "," }
        line += "\"line\":\(result.line)"
        if let order = result.order { line += ",\"order\":"; appendJSONString(order, to: &line) }
        if let points = result.points { line += ",\"points\":\(points)" }
        if let reason = result.reason { line += ",\"reason\":"; appendJSONString(ErrorWords.withFlags(reason), to: &line) }
        line += ",\"status\":\"\(result.status.rawValue)\"}"
        return line
    }

    /// Appends a JSON string literal: quotes and backslashes escaped, and every scalar a terminal
    /// would act on or hide (`VisibleText.needsEscape`) written as a `\u` escape.
    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        // Most ids need no escape: copied whole.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where VisibleText.needsEscape(scalar): Terminal.appendJSONEscape(scalar, to: &out)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Runs an import that reports here, then closes the report, on a failure too: the lines
    /// reported before it are kept, and rerunning the import finishes it.
    func closing<T>(_ body: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            try? close()
            throw error
        }
        try close()
        return result
    }

    /// Writes out what is left and closes the report.
    /// - Throws: `.invalidInput(field: "--report")` when a write failed: the import went on, but
    ///   the report misses lines.
    func close() throws {
        let failure = state.withLock { state in
            flush(&state)
            return state.failure
        }
        if descriptor != STDOUT_FILENO { Foundation.close(descriptor) }
        if let failure {
            throw LedgerError.invalidInput(
                field: "--report",
                reason: "\(name) could not be written: \(String(cString: strerror(failure))); the import went on without its report: "
                    + "make room or choose another --report, and run the import again to get every line's result (it posts nothing twice)")
        }
    }
}
