import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct TierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tier", abstract: "Configure a program's tiers.", subcommands: [Set.self, List.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a tier's settings, from now or a stated time.",
            discussion: "The change is recorded with who made it and the values before and after.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The tier: ordinary, advanced or premium.", valueName: "name"))
        var name: String
        @Option(parsing: .unconditional, help: ArgumentHelp("Points paid once a year on a member's birthday.", valueName: "n"))
        var birthdayBonus: String
        @OptionGroup var change: ChangeOptions

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let effective = try await change.effective(ledger, program)
            let outcome = try await ledger.changeTier(
                name, in: program, birthdayBonus: try wholePoints(birthdayBonus, field: "--birthday-bonus"), effectiveAt: effective,
                actor: change.actor)
            let tiers = try await ledger.tierSettings(of: program, at: effective)
            if options.json {
                try Terminal.json(tiers)
                return
            }
            switch outcome {
            case .changed(let at): print("Tier \(name) changed from \(at) on.")
            case .unchanged: print("These settings of tier \(name) were already in force; nothing changed.")
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
                ["tier", "rank", "birthday bonus", "since"],
                tiers.map { [$0.tier, "\($0.rank)", "\($0.birthdayBonus)", $0.effectiveAt?.description ?? "the start"] })
        }
    }
}
