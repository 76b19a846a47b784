import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Reports: trial balance, balances, liability, breakage, members per tier.",
        discussion: "Each prints a table, or --json, or --csv. They only read: they run as the auditor role too.",
        subcommands: [TrialBalanceReport.self, Balances.self, Liability.self, Breakage.self, Tiers.self])

    struct Format: ParsableArguments {
        @Flag(help: "Print CSV instead of a table.")
        var csv = false
    }

    /// The moment a report shows.
    struct Moment: ParsableArguments {
        @Option(help: ArgumentHelp("The moment (default: now); program time unless a zone is given.", valueName: "time"))
        var asOf: String?

        /// nil: now.
        func instant(_ ledger: Ledger, _ program: Program) async throws -> Timestamp? {
            try await ledger.instant(ifGiven: asOf, in: program, field: "--as-of")
        }
    }

    struct TrialBalanceReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trial-balance", abstract: "Every account of the program; they sum to zero.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var format: Format
        @OptionGroup var moment: Moment

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let asOf = try await moment.instant(ledger, program)
            let report = try await ledger.trialBalance(program, asOf: asOf)
            let rows: [[Cell]] = report.lines.map { [.text($0.account), .text($0.side.rawValue), .number($0.balance), .number($0.received), .number($0.given)] }
                + [["total", "", .number(report.total), .number(report.lines.reduce(0) { $0 + $1.received }), .number(report.lines.reduce(0) { $0 + $1.given })]]
            try Report.print(
                report, options: options, format: format, title: "Trial balance of \(program.name) as of \(report.asOf)",
                header: ["account", "side", "balance", "received", "given"], rows: rows)
        }
    }

    struct Balances: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every member's available, pending and held points at a moment.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var format: Format
        @OptionGroup var moment: Moment

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let asOf = try await moment.instant(ledger, program) ?? .now
            // Every member, a page at a time, all of the same moment.
            var lines: [BalanceReportLine] = []
            var request = PageRequest(limit: PageRequest.limits.upperBound)
            repeat {
                let page = try await ledger.memberBalances(program, asOf: asOf, page: request)
                lines += page.items
                request.cursor = page.nextCursor
            } while request.cursor != nil
            try Report.print(
                lines, options: options, format: format, title: "Balances of \(program.name) as of \(asOf): \(Int64(lines.count).grouped) members",
                header: ["member", "available", "pending", "held"],
                rows: lines.map { [.text($0.member), .number($0.available), .number($0.pending), .number($0.held)] })
        }
    }

    struct Liability: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The points owed at a moment, by tier and by expiry month, and their money value.",
            discussion: "With --html FILE, also writes a self-contained page: points by month as a chart, the tier mix, the liability by expiry month.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var format: Format
        @OptionGroup var moment: Moment
        @Option(help: ArgumentHelp("Also write an HTML report to this file.", valueName: "file"))
        var html: String?

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let asOf = try await moment.instant(ledger, program) ?? .now
            let report = try await ledger.liability(program, asOf: asOf)
            if let html {
                let page = try await ledger.liabilityPage(report, of: program, clock: Terminal.clock)
                try await OutputFile.write(html, field: "--html") { write in try write(page) }
            }
            var rows: [[Cell]] = [
                ["total", "available", "", .number(report.available), ""],
                ["total", "pending", "", .number(report.pending), ""],
                ["total", "outstanding", "", .number(report.outstanding), .money(report.value)],
                ["total", "owed by members", "", .number(report.owedByMembers), ""],
            ]
            rows += report.byTier.map { ["tier", .text($0.group), $0.members.map(Cell.number) ?? "", .number($0.points), .money($0.value)] }
            rows += report.byExpiryMonth.map { ["expiry", .text($0.group), "", .number($0.points), .money($0.value)] }
            try Report.print(
                report, options: options, format: format,
                title: "Liability of \(program.name) as of \(report.asOf): \(report.outstanding.grouped) points worth \(report.value) \(report.currency), "
                    + "one point worth \(report.pointValue) \(report.currency)" + (html.map { "; HTML report written to \($0)" } ?? ""),
                header: ["by", "group", "members", "points", "value"], rows: rows)
        }
    }

    struct Breakage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Points issued, redeemed and expired by month, and their ratios.",
            discussion: """
                Issued counts points earned (purchases, tasks, referrals, bonuses) net of clawbacks, and adjusted grants net \
                of deductions; issued_gross, clawed_back, granted and deducted are the gross figures behind them.
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var format: Format
        @Option(help: ArgumentHelp("Start of the period (inclusive); program time unless a zone is given.", valueName: "time"))
        var from: String
        @Option(help: ArgumentHelp("End of the period (exclusive, default now).", valueName: "time"))
        var to: String?

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let from = try await ledger.instant(from, in: program, field: "--from")
            let to = try await ledger.instant(ifGiven: to, in: program, field: "--to") ?? .now
            let report = try await ledger.breakage(program, from: from, to: to)
            let rows = (report.months + [report.total]).map { month -> [Cell] in
                [.text(month.month), .number(month.issued), .number(month.adjusted), .number(month.redeemed), .number(month.expired),
                 .number(month.writtenOff), .number(month.issuedGross), .number(month.clawedBack), .number(month.granted),
                 .number(month.deducted), month.redemptionRate.map(Cell.rate) ?? "", month.breakageRate.map(Cell.rate) ?? ""]
            }
            try Report.print(
                report, options: options, format: format,
                title: "Breakage of \(program.name) from \(from) to \(end: to)",
                header: [
                    "month", "issued", "adjusted", "redeemed", "expired", "written_off", "issued_gross", "clawed_back", "granted", "deducted",
                    "redemption_rate", "breakage_rate",
                ], rows: rows)
        }
    }

    struct Tiers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Members per tier at a moment, earned and effective, with the spread of their qualifying totals.",
            discussion: """
                Earned: the tier members reached (or an admin set); effective: that tier raised by a paid or granted term. \
                The qualifying points and spend are those of the tier period holding the moment, of each tier's effective \
                members: the least, the quartiles and the most.
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var format: Format
        @OptionGroup var moment: Moment

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let asOf = try await moment.instant(ledger, program)
            let report = try await ledger.tierReport(program, asOf: asOf)
            func cells<Value>(_ spread: Spread<Value>?, _ cell: (Value) -> Cell) -> [Cell] {
                guard let spread else { return ["", "", "", "", ""] }
                return [spread.minimum, spread.lowerQuartile, spread.median, spread.upperQuartile, spread.maximum].map(cell)
            }
            let rows = report.lines.map {
                [.text($0.tier), .number($0.earned), .number($0.effective)] + cells($0.qualifyingPoints, Cell.number)
                    + cells($0.qualifyingSpend, Cell.money)
            }
            let spread = ["min", "p25", "median", "p75", "max"]
            try Report.print(
                report, options: options, format: format,
                title: "Members per tier of \(program.name) as of \(report.asOf) (tier period from \(report.periodStart))",
                header: ["tier", "earned", "effective"] + spread.map { "points_\($0)" } + spread.map { "spend_\($0)" }, rows: rows)
        }
    }
}

/// Printing a report as a table, JSON or CSV. The table and JSON are escaped for the terminal
/// (`Terminal`); CSV is data for other tools, written exactly.
enum Report {
    static func print(
        _ value: some Encodable, options: GlobalOptions, format: ReportCommand.Format, title: TerminalText, header: [String], rows: [[Cell]]
    ) throws {
        if options.json {
            try Terminal.json(value)
        } else if format.csv {
            var text = header.joined(separator: ",") + "\n"
            // Figures as they are; text a spreadsheet shows as text, never runs.
            for row in rows {
                text += row.map { $0.isText ? JournalFormat.csvText($0.machine) : JournalFormat.csvField($0.machine) }
                    .joined(separator: ",") + "\n"
            }
            FileHandle.standardOutput.write(Data(text.utf8))
        } else {
            Terminal.print(title)
            Terminal.table(header, rows)
        }
    }
}

/// A file written whole or not at all: into a temporary file beside it, renamed over it at the end.
enum OutputFile {
    static func write(_ path: String, field: String, _ body: (_ write: @escaping @Sendable (String) throws -> Void) async throws -> Void) async throws {
        let temporary = path + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw LedgerError.invalidInput(
                field: field, reason: "cannot write \(path): \(String(cString: strerror(errno))); choose a file in a directory you can write to")
        }
        let sink = FileSink(handle: handle)
        do {
            try await body { text in try sink.write(text) }
            try handle.close()
            guard rename(temporary, path) == 0 else {
                throw LedgerError.invalidInput(field: field, reason: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? handle.close()
            unlink(temporary)
            throw error
        }
    }
}

/// Writes text to a file handle; the handle is used by one writer at a time.
final class FileSink: @unchecked Sendable {
    let handle: FileHandle
    init(handle: FileHandle) { self.handle = handle }
    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }
}
