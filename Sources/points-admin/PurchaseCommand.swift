import ArgumentParser
import PointsLedger
import Postgres

struct PurchaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purchase", abstract: "Post purchases and refunds, as a checkout system does.",
        discussion: "Purchases are idempotent by order id, refunds by refund id: repeating one posts nothing new.",
        subcommands: [Post.self, Refund.self])

    /// When an event happened, and whether it may be older than the back-dating window.
    struct Timing: ParsableArguments {
        @Option(name: .customLong("at"), help: ArgumentHelp("When it happened (default: now); program time unless a zone is given.", valueName: "time"))
        var occurredAt: String?
        @Flag(help: "Record a permission to be older than the back-dating window (loading history).")
        var allowBackdated = false

        func instant(_ ledger: Ledger, _ program: Program) async throws -> Timestamp? {
            try await ledger.instant(ifGiven: occurredAt, in: program, field: "--at")
        }
    }

    struct Post: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Post a purchase and the points it earns.")

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
        var member: String
        @Option(help: ArgumentHelp("The order id (the purchase's idempotency key).", valueName: "id"))
        var order: String
        @Option(parsing: .unconditional, help: ArgumentHelp("The order's amount in the program's currency, such as 12.34.", valueName: "amount"))
        var amount: String
        @Option(parsing: .unconditional, help: ArgumentHelp("The part paid with points, which earns nothing.", valueName: "amount"))
        var pointsPaid: String?
        @OptionGroup var timing: Timing

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let exponent = program.currencyExponent
            let request = PurchaseRequest(
                member: member, order: order, amount: try Money.parse(amount, exponent: exponent, field: "--amount"),
                pointsPaid: try pointsPaid.map { text throws(LedgerError) in try Money.parse(text, exponent: exponent, field: "--points-paid") },
                occurredAt: try await timing.instant(ledger, program), backdated: timing.allowBackdated)
            let result = try await ledger.purchase(request, in: program)
            if options.json {
                try Terminal.json(result)
                return
            }
            switch result.outcome {
            case .posted:
                let when: TerminalText = result.maturesAt.map { "pending until \($0)" } ?? "available now"
                Terminal.print("Entry \(result.entryID): order \(order) earned \(result.points.grouped) points for member \(member), \(when).")
                if let referral = result.referralEntryID { Terminal.print("Entry \(referral): the referrer's bonus for this first purchase.") }
                if let tier = result.upgradedTo { Terminal.print("Member \(member) moved up to tier \(tier).") }
            case .replayed:
                Terminal.print("Entry \(result.entryID): order \(order) was already posted (\(result.points.grouped) points); nothing new was posted.")
            }
            Terminal.fields([("available", result.available.grouped), ("pending", result.pending.grouped)])
        }
    }

    struct Refund: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refund part or all of an order, clawing back its points.",
            discussion: "The clawback takes the order's pending points first; the program's refund policy decides when available is short.")

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The refunded order's id.", valueName: "id"))
        var order: String
        @Option(help: ArgumentHelp("The refund's id (its idempotency key).", valueName: "id"))
        var refund: String
        @Option(parsing: .unconditional, help: ArgumentHelp("The refunded amount, such as 5.00.", valueName: "amount"))
        var amount: String
        @OptionGroup var timing: Timing

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let request = RefundRequest(
                order: order, refund: refund, amount: try Money.parse(amount, exponent: program.currencyExponent, field: "--amount"),
                occurredAt: try await timing.instant(ledger, program), backdated: timing.allowBackdated)
            let result = try await ledger.refund(request, in: program)
            if options.json {
                try Terminal.json(result)
                return
            }
            switch result.outcome {
            case .posted:
                Terminal.print("Entry \(result.entryID): refund \(refund) of order \(order) clawed back \(result.clawedBack.grouped) points from member \(result.member).")
                if let tier = result.tierAfter { Terminal.print("The refund undid an upgrade of its period: member \(result.member) is back in tier \(tier).") }
                Terminal.fields([
                    ("from pending", result.fromPending.grouped), ("from available", result.fromAvailable.grouped),
                    ("written off", result.writtenOff.grouped), ("points returned", result.pointsReturned.grouped),
                    ("order refunded", "\(result.refunded.grouped) of \(result.orderAmount.grouped)"),
                ])
            case .replayed:
                Terminal.print("Entry \(result.entryID): refund \(refund) was already posted; nothing new was posted (order refunded \(result.refunded.grouped) of \(result.orderAmount.grouped)).")
            }
        }
    }
}
