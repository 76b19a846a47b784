import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Run the period jobs: maturation, expiry and birthdays.",
        discussion: """
            Jobs work in chunks that each commit, so they can be stopped and run again: a rerun takes up \
            what is left and never does anything twice. To replay history after an import, run them with \
            past --as-of times, in order.
            """,
        subcommands: [Mature.self, Expire.self, Birthday.self])

    struct JobOptions: ParsableArguments {
        @Option(help: ArgumentHelp("Run as of this time (default: now); program time unless a zone is given.", valueName: "time"))
        var asOf: String?
        @Option(help: ArgumentHelp("Items per committed chunk.", valueName: "n"))
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
                progressLine: { "\($0.members) members, \($0.paid) paid, \($0.points) points, \($0.chunks) chunks" },
                summaryLine: {
                    "birthday as of \($0.asOf): \($0.paid) of \($0.members) members paid, \($0.points) points, "
                        + "\($0.chunks) chunks committed in \(String(format: "%.1f", $0.seconds)) s."
                }
            ) { ledger, program, asOf, chunk, progress in
                try await ledger.payBirthdays(program, asOf: asOf, chunkSize: chunk ?? 20_000, progress: progress)
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
            progressLine: { "\($0.items) \(noun), \($0.points) points, \($0.chunks) chunks, \(String(format: "%.1f", $0.seconds)) s" },
            summaryLine: {
                "\($0.job) as of \($0.asOf): \($0.items) \(noun), \($0.points) points, "
                    + "\($0.chunks) chunks committed in \(String(format: "%.1f", $0.seconds)) s."
            }, body)
    }

    static func run<Summary: Encodable & Sendable>(
        options: GlobalOptions, job: JobsCommand.JobOptions, progressLine: @escaping @Sendable (Summary) -> String,
        summaryLine: (Summary) -> String,
        _ body: (Ledger, Program, Timestamp, Int?, @escaping @Sendable (Summary) -> Void) async throws -> Summary
    ) async throws {
        let (ledger, program) = try await options.ledgerAndProgram()
        let asOf = try await ledger.instant(ifGiven: job.asOf, in: program, field: "--as-of") ?? .now
        let live = isatty(STDERR_FILENO) == 1 && !options.json
        let summary = try await body(ledger, program, asOf, job.chunk) { progress in
            guard live else { return }
            Terminal.progress(progressLine(progress))
        }
        if live { Terminal.progress(nil) }
        if options.json {
            try Terminal.json(summary)
        } else {
            print(summaryLine(summary))
        }
    }
}
