import ArgumentParser
import Foundation
import PointsLedger

struct ProgramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program", abstract: "Create and show member programs.",
        subcommands: [Create.self, Show.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a program with the tiers ordinary, advanced and premium.",
            discussion: "Running it again with the same settings changes nothing.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The program's name.", valueName: "name"))
        var name: String
        @Option(help: ArgumentHelp("ISO 4217 currency of its money amounts.", valueName: "code"))
        var currency: String
        @Option(help: ArgumentHelp("IANA time zone for days, months and years.", valueName: "zone"))
        var timeZone = "Asia/Shanghai"
        @Option(help: ArgumentHelp("Who makes the change (recorded).", valueName: "name"))
        var actor = ProcessInfo.processInfo.environment["USER"] ?? "admin"

        func run() async throws {
            let creation = try await options.ledger().createProgram(
                name: name, currency: currency, timeZone: timeZone, actor: actor)
            let program = creation.program
            if options.json {
                try Terminal.json(ProgramOutput(program, created: { if case .created = creation { true } else { false } }()))
            } else {
                if case .created = creation {
                    print("Created program \(program.name).")
                } else {
                    print("Program \(program.name) already exists with these settings; nothing changed.")
                }
                ProgramOutput.show(program)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a program's settings.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The program (default: --program).", valueName: "name"))
        var name: String?

        func run() async throws {
            let program = try await options.ledger().program(named: name ?? options.program)
            if options.json {
                try Terminal.json(ProgramOutput(program, created: nil))
            } else {
                ProgramOutput.show(program)
            }
        }
    }
}

struct ProgramOutput: Encodable {
    let program: String
    let currency: String
    let currencyExponent: Int
    let timeZone: String
    let tiers: [String]
    let createdAt: String
    let created: Bool?

    init(_ program: Program, created: Bool?) {
        self.program = program.name
        currency = program.currency
        currencyExponent = program.currencyExponent
        timeZone = program.timeZone
        tiers = program.tiers
        createdAt = program.createdAt.description
        self.created = created
    }

    static func show(_ program: Program) {
        Terminal.fields([
            ("program", program.name), ("currency", "\(program.currency) (\(program.currencyExponent) decimals)"),
            ("time zone", program.timeZone), ("tiers", program.tiers.joined(separator: ", ")),
            ("created", program.createdAt.description),
        ])
    }
}
