import ArgumentParser
import PointsLedger

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Prove the ledger adds up.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that entries balance, balances equal their postings, and the program sums to zero.",
            discussion: "Exits 1 with a report naming every entry or balance that is wrong.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let report = try await ledger.verify(program)
            if options.json {
                try Terminal.json(report)
            } else {
                Terminal.fields([
                    ("program", report.program), ("members", "\(report.members)"), ("entries", "\(report.entries)"),
                    ("postings", "\(report.postings)"), ("sum of balances", "\(report.balanceTotal)"),
                ])
                if report.isSound {
                    print("Verified: every entry balances, every balance equals its postings, the program sums to zero.")
                } else {
                    print("FAILED: \(report.problems.count + Int(report.problemsNotListed)) problem(s):")
                    for problem in report.problems { print("- \(problem)") }
                    if report.problemsNotListed > 0 { print("- and \(report.problemsNotListed) more not listed") }
                }
            }
            if !report.isSound { throw ExitCode(ExitStatus.refused) }
        }
    }
}
