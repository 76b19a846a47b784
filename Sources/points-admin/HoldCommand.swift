import ArgumentParser
import Foundation
import PointsLedger

struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Reserve points for a checkout, then capture or void the hold.",
        discussion: """
            A hold lowers the member's spendable points at once and spends nothing until it is captured \
            (all or part; the rest is released). Each hold resolves once: captured, voided, or expired by \
            jobs holds.
            """,
        subcommands: [Create.self, Capture.self, Release.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reserve points of a member's spendable points.")
        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
        var member: String
        @Option(parsing: .unconditional, help: ArgumentHelp("Points to reserve.", valueName: "n"), transform: WholeFlag.int64)
        var points: Int64
        @Option(help: ArgumentHelp("How long it lasts: 90s, 15m, 2h or 1d (at most 30d).", valueName: "duration"))
        var expiresIn: String
        @Option(help: ArgumentHelp("Idempotency key, unique among the program's holds.", valueName: "key"))
        var key: String

        func run() async throws {
            let duration = try Self.duration(expiresIn)
            let (ledger, program) = try await options.ledgerAndProgram()
            let hold = try await ledger.createHold(points: points, member: member, expiresIn: duration, in: program, key: key)
            if options.json {
                try Terminal.json(hold)
                return
            }
            Terminal.print(
                hold.outcome == .posted
                    ? "Hold \(hold.holdID): \(points.grouped) points of member \(member) reserved until \(hold.expiresAt)."
                    : "Hold \(hold.holdID) was created before with this key (until \(hold.expiresAt)); nothing new was reserved.")
            HoldCommand.balances(available: hold.available, held: hold.held)
        }

        static func duration(_ text: String) throws(LedgerError) -> Duration {
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
            guard let unit = text.last, let seconds = units[unit], let count = Int64(text.dropLast()), count > 0 else {
                throw .invalidInput(field: "--expires-in", reason: "\"\(text)\" is not a duration: write 90s, 15m, 2h or 1d")
            }
            return .seconds(count * seconds)
        }
    }

    struct Capture: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Spend all or part of a hold; the rest is released.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The hold's id.", valueName: "hold"), transform: WholeFlag.int64)
        var hold: Int64
        @Option(parsing: .unconditional, help: ArgumentHelp("Points to capture (default: all the hold's).", valueName: "n"), transform: WholeFlag.int64)
        var points: Int64?
        @Option(help: ArgumentHelp("The order the points pay for: its refunds return them in proportion.", valueName: "order"))
        var order: String?

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let result = try await ledger.captureHold(hold, points: points, order: order, in: program)
            try HoldCommand.show(result, json: options.json)
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "void", abstract: "Release a hold without spending anything.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The hold's id.", valueName: "hold"), transform: WholeFlag.int64)
        var hold: Int64

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let result = try await ledger.voidHold(hold, in: program)
            try HoldCommand.show(result, json: options.json)
        }
    }

    static func show(_ result: HoldResolution, json: Bool) throws {
        if json {
            try Terminal.json(result)
            return
        }
        let again = result.outcome == .replayed ? " (before; nothing new)" : ""
        switch result.state {
        case .captured:
            Terminal.print("Hold \(result.holdID) captured \((result.captured ?? 0).grouped) of \(result.points.grouped) points as entry \(result.entryID ?? 0)\(again).")
        case .voided:
            Terminal.print("Hold \(result.holdID) voided: \(result.points.grouped) points released\(again).")
        }
        balances(available: result.available, held: result.held)
    }

    static func balances(available: Int64, held: Int64) {
        Terminal.fields([("available", available.grouped), ("held", held.grouped), ("spendable", (available - held).grouped)])
    }
}
