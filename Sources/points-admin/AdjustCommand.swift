import ArgumentParser
import PointsLedger
import Postgres

struct AdjustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adjust", abstract: "Grant or deduct points by hand, with a reason.",
        discussion: "Each adjustment carries a key: repeating it with the same content posts nothing new.",
        subcommands: [Grant.self, Deduct.self])

    struct Arguments: ParsableArguments {
        @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
        var member: String
        // Unconditional, so that "--points -5" is read as a number and refused as one.
        @Option(parsing: .unconditional, help: ArgumentHelp("A positive whole number of points.", valueName: "n"), transform: WholeFlag.int64)
        var points: Int64
        @Option(help: ArgumentHelp("Why (recorded on the entry).", valueName: "text"))
        var reason: String
        @Option(help: ArgumentHelp("Who (recorded on the entry).", valueName: "name"))
        var actor: String
        @Option(help: ArgumentHelp("Idempotency key, unique among the program's adjustments.", valueName: "key"))
        var key: String
        @OptionGroup var timing: PurchaseCommand.Timing

        func validate() throws {
            guard points > 0 else {
                throw ValidationError("--points must be a positive whole number of points, not \(points).")
            }
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a member points.",
            discussion: """
                An opening balance moved in from another system is a grant with its original time \
                (--at, with --allow-backdated when older than the back-dating window) and, where known, \
                its original expiry (--expires-at).
                """)
        @OptionGroup var options: GlobalOptions
        @OptionGroup var adjustment: Arguments
        @Option(help: ArgumentHelp(
            "When the granted points expire (default: the program's rule, from the grant's time); program time unless a zone is given.",
            valueName: "time"))
        var expiresAt: String?

        func run() async throws {
            try await adjustment.post(.grant(expiresAt: expiresAt), options: options)
        }
    }

    struct Deduct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take points from a member (never past spendable).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var adjustment: Arguments

        func run() async throws {
            try await adjustment.post(.deduct, options: options)
        }
    }
}

extension AdjustCommand.Arguments {
    enum Direction { case grant(expiresAt: String?), deduct }

    func post(_ direction: Direction, options: GlobalOptions) async throws {
        let (ledger, program) = try await options.ledgerAndProgram()
        let at = try await timing.instant(ledger, program)
        let result: PostingResult
        let signed: Int64
        switch direction {
        case .grant(let expiresAt):
            let expiry = try await ledger.instant(ifGiven: expiresAt, in: program, field: "--expires-at")
            result = try await ledger.grant(
                points: points, to: member, in: program, reason: reason, actor: actor, key: key,
                at: at, backdated: timing.allowBackdated, expiresAt: expiry)
            signed = points
        case .deduct:
            result = try await ledger.deduct(
                points: points, from: member, in: program, reason: reason, actor: actor, key: key, at: at, backdated: timing.allowBackdated)
            signed = -points
        }
        try AdjustmentOutput.show(result, points: signed, member: member, json: options.json)
    }
}

struct AdjustmentOutput: Encodable {
    let outcome: String
    let entryId: Int64
    let member: String
    let points: Int64
    let available: Int64
    let pending: Int64
    let held: Int64
    let spendable: Int64

    /// Shows a posted or replayed adjustment; `points` is signed (negative for a deduction).
    static func show(_ result: PostingResult, points: Int64, member: String, json: Bool) throws {
        let balance = result.balance
        if json {
            try Terminal.json(AdjustmentOutput(
                outcome: result.outcome.rawValue, entryId: result.entryID, member: member, points: points,
                available: balance.available, pending: balance.pending, held: balance.held, spendable: balance.spendable))
            return
        }
        switch result.outcome {
        case .posted:
            Terminal.print("Entry \(result.entryID): \(points > 0 ? "granted" : "deducted") \(Int64(points.magnitude).grouped) points, member \(member).")
        case .replayed:
            Terminal.print("Entry \(result.entryID) was already posted with this key; nothing new was posted.")
        }
        Terminal.fields([
            ("available", balance.available.grouped), ("held", balance.held.grouped), ("spendable", balance.spendable.grouped),
        ])
    }
}
