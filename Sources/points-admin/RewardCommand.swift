import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct RewardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward", abstract: "Keep the rewards catalog.", subcommands: [Set.self, List.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a reward or change it.",
            discussion: """
                Only the settings given change; none clears an optional one. --stock sets what is left (a \
                restock). Every change is recorded with who made it and the values before and after.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The reward's code, such as mug or coupon-50.", valueName: "code"))
        var code: String
        @Option(help: ArgumentHelp("What members see.", valueName: "text"))
        var name: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Points per unit.", valueName: "n"))
        var cost: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Units left, or none for unlimited.", valueName: "n"))
        var stock: String?
        @Option(help: ArgumentHelp("The lowest tier that may redeem it, or none.", valueName: "tier"))
        var minTier: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Units one member may redeem in all, or none.", valueName: "n"))
        var limitPerMember: String?
        @Option(help: ArgumentHelp("Redeemable from this time (none: always); program time unless a zone is given.", valueName: "time"))
        var from: String?
        @Option(help: ArgumentHelp("Redeemable until this time (none: always).", valueName: "time"))
        var until: String?
        @Option(help: ArgumentHelp("Who makes the change.", valueName: "name"))
        var actor: String

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            func time(_ text: String?, field: String) async throws -> Timestamp?? {
                guard let text else { return nil }
                if text == "none" { return .some(nil) }
                return .some(try await ledger.instant(text, in: program, field: field))
            }
            var change = RewardChange(name: name, minTier: minTier.map { $0 == "none" ? nil : $0 })
            change.cost = try cost.map { text in
                guard let value = Int64(text), value > 0 else {
                    throw LedgerError.invalidInput(field: "--cost", reason: "\"\(text)\" is not a whole number of points above 0")
                }
                return value
            }
            change.stock = try stock.map { text throws(LedgerError) in try countOrNone(text, field: "--stock") }
            change.limitPerMember = try limitPerMember.map { text throws(LedgerError) in
                try countOrNone(text, field: "--limit-per-member", minimum: 1)
            }
            change.activeFrom = try await time(from, field: "--from")
            change.activeUntil = try await time(until, field: "--until")
            let outcome = try await ledger.setReward(code, in: program, change, actor: actor)
            let saved = try await ledger.rewards(of: program).filter { $0.reward == code }
            if options.json {
                try Terminal.json(saved)
                return
            }
            Terminal.print(outcome.isChanged ? "Reward \(code) saved." : "Reward \(code) already had these settings; nothing changed.")
            List.table(saved)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the rewards with stock left and units redeemed.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let rewards = try await ledger.rewards(of: program)
            if options.json {
                try Terminal.json(rewards)
            } else if rewards.isEmpty {
                Terminal.print("No rewards yet; add one with: points-admin reward set CODE --name TEXT --cost N --actor NAME")
            } else {
                Self.table(rewards)
            }
        }

        static func table(_ rewards: [Reward]) {
            Terminal.table(
                ["reward", "name", "cost", "stock left", "redeemed", "min tier", "per member", "from", "until"],
                rewards.map {
                    [
                        .text($0.reward), .text($0.name), .number($0.cost), $0.stock.map { .number(Int64($0)) } ?? "unlimited",
                        .number(Int64($0.redeemed)), .text($0.minTier ?? "-"), $0.limitPerMember.map { .number(Int64($0)) } ?? "-",
                        $0.activeFrom.map(Cell.time) ?? "-", $0.activeUntil.map(Cell.end) ?? "-",
                    ]
                })
        }
    }
}

struct RedeemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeem", abstract: "Spend a member's points on a reward, or on a stated reason.",
        discussion: """
            Give --reward (and --quantity), or --points and --reason. Points come from the soonest-expiring \
            lots; a reward's stock is taken in the same step. Repeating a key with the same content posts \
            nothing new. A refusal names the check that failed. --at dates a redemption of the past \
            (the reward's window and the member's tier are those of that time).
            """)

    @OptionGroup var options: GlobalOptions
    @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
    var member: String
    @Option(help: ArgumentHelp("The reward's code.", valueName: "code"))
    var reward: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Units of the reward (default 1).", valueName: "n"), transform: WholeFlag.int)
    var quantity: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Points to spend, without a reward.", valueName: "n"), transform: WholeFlag.int64)
    var points: Int64?
    @Option(help: ArgumentHelp("Why, for a spend without a reward.", valueName: "text"))
    var reason: String?
    @Option(help: ArgumentHelp("Idempotency key, unique among the program's redemptions.", valueName: "key"))
    var key: String
    @OptionGroup var timing: PurchaseCommand.Timing

    func validate() throws {
        switch (reward, points) {
        case (.some, .none):
            if reason != nil { throw ValidationError("--reason goes with --points, not with --reward.") }
        case (.none, .some):
            if reason == nil { throw ValidationError("A spend without a reward needs --reason.") }
            if quantity != nil { throw ValidationError("--quantity goes with --reward.") }
        default:
            throw ValidationError("Give --reward CODE, or --points N with --reason TEXT.")
        }
        if let quantity, quantity <= 0 { throw ValidationError("--quantity must be 1 or more, not \(quantity).") }
        if let points, points <= 0 { throw ValidationError("--points must be a positive whole number of points, not \(points).") }
    }

    func run() async throws {
        let (ledger, program) = try await options.ledgerAndProgram()
        let at = try await timing.instant(ledger, program)
        let result = if let reward {
            try await ledger.redeem(
                reward, quantity: quantity ?? 1, member: member, in: program, key: key, at: at, backdated: timing.allowBackdated)
        } else {
            try await ledger.spend(
                points: points ?? 0, reason: reason ?? "", member: member, in: program, key: key, at: at, backdated: timing.allowBackdated)
        }
        if options.json {
            try Terminal.json(result)
            return
        }
        let what = reward.map { "\(quantity ?? 1) × \($0)" } ?? "\"\(reason ?? "")\""
        Terminal.print(
            result.outcome == .posted
                ? "Entry \(result.entryID): member \(member) spent \(result.points.grouped) points on \(what)."
                : "Entry \(result.entryID): key \(key) was redeemed before (\(result.points.grouped) points); nothing new was posted.")
        var fields = [("spendable", (result.available - result.held).grouped)]
        if let left = result.stockLeft { fields.append(("stock left", left.grouped)) }
        Terminal.fields(fields)
    }
}
