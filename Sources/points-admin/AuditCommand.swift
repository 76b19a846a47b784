import ArgumentParser
import PointsLedger

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Prove the ledger adds up.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove the ledger adds up and the sealed journal is as sealed.",
            discussion: """
                Every entry balances by its shape (a movement takes points from one account and gives them \
                to another). This checks what can still go wrong: every balance equals its movements, the \
                program sums to zero, \
                lots add up to available balances, held points to open holds, pending points to pending \
                purchases, and that every sealed block follows the one before and still holds what was sealed. \
                By default each block's rows are checked against the block's fingerprint, in one pass over \
                the journal: it catches any entry or movement changed, added or removed, by mistake or by \
                hand, but not a forger who also rewrote the fingerprint. --deep recomputes every block's \
                SHA-256 hash instead (slower), which nobody can match without breaking the chain up to a \
                head recorded with --head. Exits 1 with a report naming every entry, account or block that is wrong.
                """)

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("A head hash recorded earlier (from jobs seal); the chain must still hold it.", valueName: "hash"))
        var head: String?
        @Flag(help: "Recompute every sealed block's SHA-256 hash, not only its fingerprint.")
        var deep = false

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let report = try await ledger.verify(program, expectedHead: head, deep: deep)
            if options.json {
                try Terminal.json(report)
            } else {
                Terminal.fields([
                    ("program", report.program), ("members", "\(report.members)"), ("entries", "\(report.entries)"),
                    ("movements", "\(report.movements)"), ("sum of balances", "\(report.balanceTotal)"),
                    ("sealed", report.headHash.map { "\(report.sealedBlocks) blocks through entry \(report.sealedThroughEntry), head \($0)" } ?? "nothing yet (run jobs seal)"),
                    ("unsealed entries", "\(report.unsealedEntries)"),
                ] + (report.sealedBlocks == 0 ? [] : [(
                    "blocks checked",
                    report.blocksHashed == report.sealedBlocks ? "every one by its SHA-256 hash"
                        : report.blocksHashed == 0 ? "every one by its fingerprint"
                        : "\(report.blocksHashed) by SHA-256 hash (sealed without a fingerprint), the rest by fingerprint"
                )]))
                if report.isSound {
                    Terminal.print("Verified: every balance equals its movements, the program sums to zero, "
                        + "lots, pending and held points agree, and every sealed block still holds what was sealed.")
                } else {
                    Terminal.print("FAILED: \(report.problems.count + Int(report.problemsNotListed)) problem(s):")
                    for problem in report.problems { Terminal.print("- \(problem)") }
                    if report.problemsNotListed > 0 { Terminal.print("- and \(report.problemsNotListed) more not listed") }
                }
            }
            if !report.isSound { throw ExitCode(ExitStatus.refused) }
        }
    }
}
