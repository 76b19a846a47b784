import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Run the period jobs: maturation, expiry, birthdays, tier evaluation and holds.",
        discussion: """
            Jobs work in chunks that each commit, so they can be stopped and run again: a rerun takes up \
            what is left and never does anything twice. To replay history after an import, run them with \
            past --as-of times, in order.
            """,
        subcommands: [Mature.self, Expire.self, Birthday.self, Tiers.self, Holds.self, Seal.self, Prepared.self])

    struct JobOptions: ParsableArguments {
        @Option(help: ArgumentHelp("Run as of this time (default: now); program time unless a zone is given.", valueName: "time"))
        var asOf: String?
        @Option(help: ArgumentHelp("Items per committed chunk.", valueName: "n"), transform: WholeFlag.int)
        var chunk: Int?

        func validate() throws {
            if let chunk, chunk <= 0 { throw ValidationError("--chunk must be a positive number, not \(chunk).") }
        }
    }

    struct Mature: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make pending purchase points spendable once their return window ends.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var job: JobOptions

        func run() async throws {
            try await JobRunner.run(options: options, job: job, noun: "purchases matured") { ledger, program, asOf, chunk, progress in
                try await ledger.mature(program, asOf: asOf, chunkSize: chunk ?? 5_000, progress: progress)
            }
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Expire the remainders of lots past their expiry.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var job: JobOptions

        func run() async throws {
            try await JobRunner.run(options: options, job: job, noun: "lots expired") { ledger, program, asOf, chunk, progress in
                try await ledger.expire(program, asOf: asOf, chunkSize: chunk ?? 20_000, progress: progress)
            }
        }
    }
}

extension JobsCommand {
    struct Birthday: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pay each member's tier birthday bonus, once a year.",
            discussion: """
                Pays every member whose latest birthday up to --as-of (local date; 29 February counts as 28 \
                February in other years) is within the program's back-dating window and not yet paid.
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var job: JobOptions

        func run() async throws {
            try await JobRunner.run(
                options: options, job: job,
                progressLine: { "\($0.members.grouped) members, \($0.paid.grouped) paid, \($0.points.grouped) points, \($0.chunks) chunks" },
                summaryLine: {
                    "birthday as of \($0.asOf): \($0.paid.grouped) of \($0.members.grouped) members paid, \($0.points.grouped) points, "
                        + "\($0.chunks) chunks committed in \(String(format: "%.1f", $0.seconds)) s."
                }
            ) { ledger, program, asOf, chunk, progress in
                try await ledger.payBirthdays(program, asOf: asOf, chunkSize: chunk ?? 20_000, progress: progress)
            }
        }
    }
}

extension JobsCommand {
    struct Prepared: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Roll back transactions left prepared (PREPARE TRANSACTION) in the ledger's database.",
            discussion: """
                A prepared transaction keeps its row locks past its session and past a restart: one a writer \
                left after changing a member holds that member's writes back (each is refused as busy after \
                5 seconds). This rolls back every one prepared more than --older-than seconds ago, but Citus's \
                own. PostgreSQL lets only the role that prepared one, or a superuser, roll it back: run it as a \
                superuser. Exits 1 when one could not be rolled back.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("Roll back those prepared more than this many seconds ago.", valueName: "seconds"), transform: WholeFlag.int)
        var olderThan = 60

        func validate() throws {
            guard olderThan >= 0 else { throw ValidationError("--older-than must be 0 or more seconds, not \(olderThan).") }
        }

        func run() async throws {
            let found = try await options.ledger().rollBackPreparedTransactions(olderThan: .seconds(olderThan))
            if options.json {
                try Terminal.json(found)
            } else if found.isEmpty {
                Terminal.print("No transaction has been left prepared for more than \(olderThan) seconds.")
            } else {
                for transaction in found {
                    let outcome: TerminalText = transaction.rolledBack ? "rolled back" : "NOT rolled back: \(transaction.reason ?? "")"
                    Terminal.print("Prepared transaction \"\(transaction.name)\" of \(transaction.role), prepared \(transaction.preparedAt): \(outcome).")
                }
            }
            if found.contains(where: { !$0.rolledBack }) { throw ExitCode(ExitStatus.refused) }
        }
    }

    struct Holds: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Expire the holds whose time ran out, releasing their points.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var job: JobOptions

        func run() async throws {
            try await JobRunner.run(options: options, job: job, noun: "holds expired") { ledger, program, asOf, chunk, progress in
                try await ledger.expireHolds(program, asOf: asOf, chunkSize: chunk ?? 20_000, progress: progress)
            }
        }
    }

    struct Tiers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate tiers at the end of qualification periods.",
            discussion: """
                With --as-of (default: now), evaluates every period that has ended and was not evaluated, oldest \
                first; with --period, that one period (after every earlier one). A member who reached their tier \
                during the period keeps it, one who met its retention threshold keeps it, the others move down by \
                the program's downgrade policy. Evaluating a period again changes nothing and shows what it did.
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var job: JobOptions
        @Option(help: ArgumentHelp("The period: a year (2026), a quarter (2026-Q3) or a month (2026-07).", valueName: "period"))
        var period: String?

        func validate() throws {
            if period != nil, job.asOf != nil { throw ValidationError("Give --period or --as-of, not both.") }
        }

        func run() async throws {
            let period = try period.map { text throws(LedgerError) in try TierPeriodLabel.parse(text) }
            try await JobRunner.run(
                options: options, job: job,
                progressLine: { summary in
                    let current = summary.periods.last
                    return "\(current?.period.description ?? ""): \(current?.members ?? 0) members, \(current?.changed ?? 0) changed, "
                        + "\(summary.chunks) chunks, \(String(format: "%.1f", summary.seconds)) s"
                },
                summaryLine: Self.describe
            ) { ledger, program, asOf, chunk, progress in
                if let period {
                    return try await ledger.evaluateTiers(program, period: period, chunkSize: chunk ?? 10_000, progress: progress)
                }
                return try await ledger.evaluateTiers(program, asOf: asOf, chunkSize: chunk ?? 10_000, progress: progress)
            }
        }

        static func describe(_ summary: TierEvaluationSummary) -> TerminalText {
            let ended: [TerminalText] = summary.termsEnded > 0 ? ["\(summary.termsEnded) tier changes recorded for overrides and grants that ended."] : []
            guard !summary.periods.isEmpty else {
                return TerminalText(joining: ["No period has ended since the last evaluation; nothing to evaluate."] + ended)
            }
            var lines: [TerminalText] = []
            for period in summary.periods {
                lines.append(
                    "\(period.period) (through \(end: period.endedAt))" + (period.alreadyEvaluated ? ", evaluated before" : "")
                        + ": \(period.members.grouped) members, \(period.changed.grouped) changed tier.")
                for move in period.moves {
                    lines.append("  \(move.from): \(move.members) " + (move.outcome == "kept" ? "kept" : "\(move.outcome) to \(move.to)"))
                }
            }
            lines += ended
            lines.append("\(summary.chunks) chunks committed in \(String(format: "%.1f", summary.seconds)) s.")
            return TerminalText(joining: lines)
        }
    }
}

extension JobsCommand {
    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal new journal entries into hash-chained blocks.",
            discussion: """
                Each block's hash is SHA-256 over the previous block's hash and the canonical form of its \
                entries and postings; `audit verify` recomputes them all. Writers never wait: the job seals \
                up to the last entry written when it started, once the transactions open then have finished. \
                Each block records the database login role that sealed it; finance (the auditor role) and \
                the owner may seal, the writer may not. \
                Note the head hash it prints: `audit verify --head HASH` proves the chain still holds it.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("Entries per block.", valueName: "n"), transform: WholeFlag.int)
        var blockSize = 10_000
        @Option(help: ArgumentHelp("Seconds to wait for open transactions before giving up (at most 3600).", valueName: "seconds"), transform: WholeFlag.int)
        var wait = 60

        func validate() throws {
            if blockSize <= 0 { throw ValidationError("--block-size must be a positive number, not \(blockSize).") }
            if !(0...3600).contains(wait) { throw ValidationError("--wait must be 0 to 3600 seconds, not \(wait).") }
        }

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            try await JobRunner.show(
                options: options,
                progressLine: { "\($0.blocks) blocks, \($0.entries) entries, \(String(format: "%.1f", $0.seconds)) s" },
                summaryLine: { summary in
                    (summary.blocks == 0
                        ? "Nothing new to seal."
                        : "Sealed \(summary.entries) entries (\(summary.postings) postings) into \(summary.blocks) blocks in \(String(format: "%.1f", summary.seconds)) s.")
                        + (summary.headBlock > 0
                            ? "\nHead: block \(summary.headBlock), through entry \(summary.headEntryID), hash \(summary.headHash)" : "")
                }
            ) { progress in
                try await ledger.seal(program, blockEntries: blockSize, wait: .seconds(wait), progress: progress)
            }
        }
    }
}

/// Runs a job with a live progress line on a terminal and a summary at the end.
enum JobRunner {
    /// A maturation or expiry job, whose items are `noun` ("lots expired").
    static func run(
        options: GlobalOptions, job: JobsCommand.JobOptions, noun: String,
        _ body: (Ledger, Program, Timestamp, Int?, @escaping @Sendable (JobSummary) -> Void) async throws -> JobSummary
    ) async throws {
        try await run(
            options: options, job: job,
            progressLine: { "\($0.items.grouped) \(noun), \($0.points.grouped) points, \($0.chunks) chunks, \(String(format: "%.1f", $0.seconds)) s" },
            summaryLine: {
                "\($0.job) as of \($0.asOf): \($0.items.grouped) \(noun), \($0.points.grouped) points, "
                    + "\($0.chunks) chunks committed in \(String(format: "%.1f", $0.seconds)) s."
            }, body)
    }

    static func run<Summary: Encodable & Sendable>(
        options: GlobalOptions, job: JobsCommand.JobOptions, progressLine: @escaping @Sendable (Summary) -> TerminalText,
        summaryLine: (Summary) -> TerminalText,
        _ body: (Ledger, Program, Timestamp, Int?, @escaping @Sendable (Summary) -> Void) async throws -> Summary
    ) async throws {
        let (ledger, program) = try await options.ledgerAndProgram()
        let asOf = try await ledger.instant(ifGiven: job.asOf, in: program, field: "--as-of") ?? .now
        try await show(options: options, progressLine: progressLine, summaryLine: summaryLine) { progress in
            try await body(ledger, program, asOf, job.chunk, progress)
        }
    }

    /// Runs `body`, rewriting a progress line on a terminal as it reports, then prints its summary
    /// (or the summary as JSON).
    static func show<Summary: Encodable & Sendable>(
        options: GlobalOptions, progressLine: @escaping @Sendable (Summary) -> TerminalText, summaryLine: (Summary) -> TerminalText,
        _ body: (@escaping @Sendable (Summary) -> Void) async throws -> Summary
    ) async throws {
        let live = isatty(STDERR_FILENO) == 1 && !options.json
        let summary = try await body { progress in
            guard live else { return }
            Terminal.progress(progressLine(progress))
        }
        if live { Terminal.progress(nil) }
        if options.json {
            try Terminal.json(summary)
        } else {
            Terminal.print(summaryLine(summary))
        }
    }
}
