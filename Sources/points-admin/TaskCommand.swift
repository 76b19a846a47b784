import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "Configure tasks (check-in, posting, sharing, custom) and record completions.",
        discussion: "Completions are idempotent by task and ref (a check-in's ref is its local date): repeating one posts nothing new.",
        subcommands: [Set.self, List.self, Complete.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a task, or create a custom one, from now or a stated time.",
            discussion: """
                Only the settings given change. Caps count a member's completions that earned in a local day, \
                week (from Monday) or month; give none to remove a cap. Streak bonuses are for checkin only: \
                --streak 3:5 --streak 7:20 pays 5 more on the 3rd day in a row and 20 more on the 7th; with \
                --streak-cycle 7 they repeat every 7 days. The change is recorded with who made it, before and after.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The task's code: checkin, post, share or your own.", valueName: "code"))
        var code: String
        @Option(parsing: .unconditional, help: ArgumentHelp("Points per completion (needed to create a task).", valueName: "n"))
        var points: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Completions that earn per member and day, or none.", valueName: "n"))
        var capDay: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Completions that earn per member and week, or none.", valueName: "n"))
        var capWeek: String?
        @Option(parsing: .unconditional, help: ArgumentHelp("Completions that earn per member and month, or none.", valueName: "n"))
        var capMonth: String?
        @Flag(inversion: .prefixedNo, help: "Whether its points count toward tier qualification.")
        var qualifying: Bool?
        @Flag(inversion: .prefixedNo, help: "Whether its points are multiplied by the member's tier multiplier.")
        var tierMultiplier: Bool?
        @Flag(help: "Whether members can complete it.")
        var activity: Activity?
        @Option(help: ArgumentHelp("A check-in streak bonus DAYS:POINTS; repeat for several; none removes them.", valueName: "rule"))
        var streak: [String] = []
        @Option(help: ArgumentHelp("Days after which the streak bonuses repeat, or none.", valueName: "days"))
        var streakCycle: String?
        @OptionGroup var change: ChangeOptions

        enum Activity: String, EnumerableFlag {
            case active, inactive
        }

        func run() async throws {
            var change = TaskChange(points: try points.map { text throws(LedgerError) in try wholePoints(text, field: "--points") }, qualifying: qualifying, active: activity.map { $0 == .active },
                tierMultiplier: tierMultiplier)
            change.capDay = try capDay.map { text throws(LedgerError) in try Self.count(text, field: "--cap-day") }
            change.capWeek = try capWeek.map { text throws(LedgerError) in try Self.count(text, field: "--cap-week") }
            change.capMonth = try capMonth.map { text throws(LedgerError) in try Self.count(text, field: "--cap-month") }
            change.streakCycle = try streakCycle.map { text throws(LedgerError) in try Self.count(text, field: "--streak-cycle") }
            if streak == ["none"] {
                change.streak = []
            } else if !streak.isEmpty {
                change.streak = try streak.map { text throws(LedgerError) in try StreakRule.parse(text) }
            }
            let (ledger, program) = try await options.ledgerAndProgram()
            let effective = try await self.change.effective(ledger, program)
            let outcome = try await ledger.changeTask(code, in: program, change, effectiveAt: effective, actor: self.change.actor)
            let task = try await ledger.tasks(of: program, at: effective).first { $0.task == code }!
            if options.json {
                try Terminal.json(TaskSetOutput(changed: outcome.isChanged, task: task))
                return
            }
            switch outcome {
            case .changed(let at): Terminal.print("Task \(code) changed from \(at) on.")
            case .unchanged: Terminal.print("These settings of task \(code) were already in force; nothing changed.")
            }
            TaskOutput.table([task])
        }

        /// A whole number of 0 or more, or `none`.
        static func count(_ text: String, field: String) throws(LedgerError) -> Int? {
            try countOrNone(text, field: field).map { Int($0) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tasks and their settings in force.")

        @OptionGroup var options: GlobalOptions
        @Option(help: ArgumentHelp("The settings in force at this time (default: now).", valueName: "time"))
        var at: String?

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let instant = try await ledger.instant(ifGiven: at, in: program, field: "--at")
            let tasks = try await ledger.tasks(of: program, at: instant)
            if options.json {
                try Terminal.json(tasks)
            } else {
                TaskOutput.table(tasks)
            }
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a member's completion of a task and the points it earns.",
            discussion: "A completion beyond a cap is recorded and earns nothing. A check-in's ref is its local date and may be left out.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The task's code.", valueName: "code"))
        var code: String
        @Option(help: ArgumentHelp("The member's id.", valueName: "id"))
        var member: String
        @Option(help: ArgumentHelp("The app's reference for this completion (with the task, its idempotency key).", valueName: "ref"))
        var ref: String?
        @OptionGroup var timing: PurchaseCommand.Timing

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let instant = try await timing.instant(ledger, program)
            let result = try await ledger.completeTask(
                TaskCompletionRequest(task: code, member: member, ref: ref, occurredAt: instant, backdated: timing.allowBackdated),
                in: program)
            if options.json {
                try Terminal.json(result)
                return
            }
            let what = "\(code) by member \(member) on \(result.localDay)"
            switch result.outcome {
            case .posted:
                if let cap = result.cappedBy {
                    Terminal.print("Entry \(result.entryID): \(what) is recorded; the \(cap) cap was already reached, so it earned nothing.")
                } else {
                    Terminal.print("Entry \(result.entryID): \(what) earned \(result.points.grouped) points"
                        + (result.streakBonus > 0 ? " and a streak bonus of \(result.streakBonus.grouped)." : "."))
                }
            case .replayed:
                Terminal.print("Entry \(result.entryID): \(what) was already recorded (\((result.points + result.streakBonus).grouped) points); nothing new was posted.")
            }
            var fields: [(String, String)] = []
            if let streak = result.streak { fields.append(("streak", "\(streak) days")) }
            if let reached = result.capReached { fields.append(("cap reached", reached ? "yes" : "no")) }
            fields.append(("available", result.available.grouped))
            Terminal.fields(fields)
        }
    }
}

struct TaskSetOutput: Encodable {
    let changed: Bool
    let task: TaskSettings
}

enum TaskOutput {
    static func table(_ tasks: [TaskSettings]) {
        func cap(_ value: Int?) -> Cell { value.map { .number(Int64($0)) } ?? "-" }
        Terminal.table(
            ["task", "points", "per day", "per week", "per month", "qualifying", "tier multiplier", "active", "streak bonuses", "since"],
            tasks.map { task in
                var streak = task.streak.map(\.description).joined(separator: " ")
                if let cycle = task.streakCycle { streak += " every \(cycle) days" }
                return [
                    .text(task.task), .number(task.points), cap(task.capDay), cap(task.capWeek), cap(task.capMonth), task.qualifying ? "yes" : "no",
                    task.tierMultiplier ? "yes" : "no", task.active ? "yes" : "no", .text(streak.isEmpty ? "-" : streak),
                    task.effectiveAt.map(Cell.time) ?? "the start",
                ]
            })
    }
}
