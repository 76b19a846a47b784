import ArgumentParser
import PointsLedger

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Create and show members.",
        subcommands: [Create.self, Show.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a member in the program's entry tier.",
            discussion: "Creating a member that exists changes nothing and shows it.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id in your systems.", valueName: "id"))
        var id: String

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let creation = try await ledger.createMember(id, in: program)
            if options.json {
                try Terminal.json(creation.member)
            } else {
                if case .created = creation {
                    print("Created member \(id) in program \(program.name).")
                } else {
                    print("Member \(id) already exists in program \(program.name); nothing changed.")
                }
                MemberOutput.show(creation.member)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a member's balances and tier.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id.", valueName: "id"))
        var id: String

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let member = try await ledger.member(id, in: program)
            if options.json {
                try Terminal.json(member)
            } else {
                MemberOutput.show(member)
            }
        }
    }
}

enum MemberOutput {
    static func show(_ member: Member) {
        Terminal.fields([
            ("member", member.member), ("tier", member.tier), ("available", "\(member.available)"),
            ("pending", "\(member.pending)"), ("held", "\(member.held)"), ("spendable", "\(member.spendable)"),
            ("created", member.createdAt.description),
        ])
    }
}
