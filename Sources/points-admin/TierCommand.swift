import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct TierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tier", abstract: "Configure a program's tiers; grant and override members' tiers.",
        subcommands: [Set.self, List.self, Grant.self, Override.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a member a tier for a month, a quarter or a year (a paid membership, a promotion).",
            discussion: """
                The member's effective tier is the higher of their earned tier and their active grants; the \
                earned tier does not change, and the grant's end (recorded by jobs tiers) returns them to it.
                """)

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
        var member: String
        @Option(help: ArgumentHelp("The tier granted.", valueName: "name"))
        var tier: String
        @Option(help: ArgumentHelp("How long: month, quarter or year.", valueName: "term"))
        var term: String
        @Option(help: ArgumentHelp("When it starts (default: now); program time unless a zone is given.", valueName: "time"))
        var from: String?
        @Option(help: ArgumentHelp("Who grants it.", valueName: "name"))
        var actor: String
        @Option(help: ArgumentHelp("Idempotency key: a retried grant with it is one grant (recommended without --from).", valueName: "key"))
        var key: String?

        func run() async throws {
            let term = try named(GrantTerm.self, term, field: "--term")
            let (ledger, program) = try await options.ledgerAndProgram()
            let from = try await ledger.instant(ifGiven: from, in: program, field: "--from")
            let grant = try await ledger.grantTier(tier, to: member, term: term, from: from, in: program, actor: actor, key: key)
            if options.json {
                try Terminal.json(grant)
                return
            }
            Terminal.print(
                grant.outcome == .posted
                    ? "Grant \(grant.grantID): member \(member) holds tier \(tier) from \(grant.startsAt) until \(end: grant.endsAt)."
                    : "Grant \(grant.grantID) was made before (\(tier) until \(end: grant.endsAt)); nothing new was granted.")
            Terminal.print(
                "Effective tier at its start: \(grant.effectiveAfter)"
                    + (grant.effectiveAfter == grant.effectiveBefore ? " (unchanged)." : ", was \(grant.effectiveBefore)."))
        }
    }

    struct Override: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a member's earned tier by hand, with a reason.",
            discussion: """
                Not a floor: the next evaluation applies normally. With --until, the member returns to the tier \
                held before at that time (recorded by jobs tiers).
                """)

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
        var member: String
        @Option(help: ArgumentHelp("The tier to set.", valueName: "name"))
        var tier: String
        @Option(help: ArgumentHelp("Why, for the member's tier history.", valueName: "text"))
        var reason: String
        @Option(help: ArgumentHelp("When the override ends; program time unless a zone is given.", valueName: "time"))
        var until: String?
        @Option(help: ArgumentHelp("Who sets it.", valueName: "name"))
        var actor: String

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let until = try await ledger.instant(ifGiven: until, in: program, field: "--until")
            let before = try await ledger.overrideTier(tier, of: member, reason: reason, until: until, in: program, actor: actor)
            if options.json {
                try Terminal.json(["member": member, "tier": tier, "tier_before": before ?? tier])
                return
            }
            guard let before else {
                Terminal.print("Member \(member) already had this override; nothing changed.")
                return
            }
            Terminal.print("Member \(member): earned tier \(tier), was \(before)" + (until.map { ", until \($0)." } ?? "."))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tier or change its settings, from now or a stated time.",
            discussion: """
                A member reaches a tier when their qualifying points, or their qualifying spend, in one period \
                reach its entry threshold, and keeps it at period end by reaching its retention threshold \
                (default: the entry threshold). Thresholds rise with rank. A new tier needs --rank and \
                --entry-points. The change is recorded with who made it and the values before and after.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The tier: ordinary, advanced, premium, or a new one.", valueName: "name"))
        var name: String
        @Option(help: ArgumentHelp("A new tier's rank (0 is the entry tier).", valueName: "n"), transform: WholeFlag.int)
        var rank: Int?
        @Option(parsing: .unconditional, help: ArgumentHelp("Qualifying points in one period that reach the tier.", valueName: "n"))
        var entryPoints: String?
        @Option(parsing: .unconditional, help: ArgumentHelp(
            "Qualifying spend in one period that reaches the tier, such as 5000.00 (none: spend does not qualify).",
            valueName: "amount"))
        var entrySpend: String?
        @Option(parsing: .unconditional, help: ArgumentHelp(
            "Qualifying points that keep the tier at period end (default: the entry points).", valueName: "n"))
        var retainPoints: String?
        @Option(parsing: .unconditional, help: ArgumentHelp(
            "Qualifying spend that keeps the tier at period end (default: the entry spend).", valueName: "amount"))
        var retainSpend: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Multiplies purchase points: an exact decimal such as 1.25.", valueName: "m"))
        var multiplier: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Points paid once a year on a member's birthday.", valueName: "n"))
        var birthdayBonus: String?
        @OptionGroup var change: ChangeOptions

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let money = { (text: String, field: String) throws -> Money?? in
                text == "none" ? .some(nil) : try Money.parse(text, exponent: program.currencyExponent, field: field)
            }
            let tierChange = TierChange(
                rank: rank, entryPoints: try entryPoints.map { try wholePoints($0, field: "--entry-points") },
                entrySpend: try entrySpend.flatMap { try money($0, "--entry-spend") },
                retainPoints: try retainPoints.map { text -> Int64? in
                    text == "none" ? nil : try wholePoints(text, field: "--retain-points")
                },
                retainSpend: try retainSpend.flatMap { try money($0, "--retain-spend") },
                multiplier: try multiplier.map { try exactDecimal($0, field: "--multiplier") },
                birthdayBonus: try birthdayBonus.map { try wholePoints($0, field: "--birthday-bonus") })
            let effective = try await change.effective(ledger, program)
            let outcome = try await ledger.changeTier(name, in: program, tierChange, effectiveAt: effective, actor: change.actor)
            let tiers = try await ledger.tierSettings(of: program, at: effective)
            if options.json {
                try Terminal.json(tiers)
                return
            }
            switch outcome {
            case .changed(let at): Terminal.print("Tier \(name) changed from \(at) on.")
            case .unchanged: Terminal.print("These settings of tier \(name) were already in force; nothing changed.")
            }
            List.table(tiers)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tiers and their settings in force.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let tiers = try await ledger.tierSettings(of: program)
            if options.json {
                try Terminal.json(tiers)
            } else {
                Self.table(tiers)
            }
        }

        static func table(_ tiers: [TierSettings]) {
            Terminal.table(
                ["tier", "rank", "entry points", "entry spend", "retain points", "retain spend", "multiplier", "birthday bonus", "since"],
                tiers.map {
                    [
                        .text($0.tier), .id(Int64($0.rank)), .number($0.entryPoints), $0.entrySpend.map(Cell.money) ?? "-",
                        .number($0.retainPoints), $0.retainSpend.map(Cell.money) ?? "-", .text("×\($0.multiplier)"),
                        .number($0.birthdayBonus), $0.effectiveAt.map(Cell.time) ?? "the start",
                    ]
                })
        }
    }
}
