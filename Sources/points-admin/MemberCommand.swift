import ArgumentParser
import PointsLedger

struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Create and update members, show their balances, lots, tasks and history.",
        subcommands: [Create.self, Update.self, Show.self, History.self, Tiers.self, Statement.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a member in the program's entry tier.",
            discussion: "Creating a member that exists changes nothing and shows it.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id in your systems.", valueName: "id"))
        var id: String
        @Option(help: ArgumentHelp("The existing member who referred this one (paid a bonus on the first purchase).", valueName: "id"))
        var referrer: String?
        @Option(help: ArgumentHelp("The member's birthday, MM-DD (29 February counts as 28 February in other years).", valueName: "MM-DD"))
        var birthday: String?

        func run() async throws {
            let birthday = try birthday.map { text throws(LedgerError) in try Birthday.parse(text) }
            let (ledger, program) = try await options.ledgerAndProgram()
            let creation = try await ledger.createMember(id, referrer: referrer, in: program)
            var member = creation.member
            if let birthday, member.birthday != birthday {
                try await ledger.setBirthday(birthday, of: id, in: program)
                member = try await ledger.member(id, in: program)
            }
            if options.json {
                try Terminal.json(member)
            } else {
                if case .created = creation {
                    Terminal.print("Created member \(id) in program \(program.name).")
                } else if member != creation.member {
                    Terminal.print("Member \(id) already exists in program \(program.name); its birthday is now \(birthday!).")
                } else {
                    Terminal.print("Member \(id) already exists in program \(program.name); nothing changed.")
                }
                MemberOutput.show(member)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a member's details.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id.", valueName: "id"))
        var id: String
        @Option(help: ArgumentHelp("The member's birthday, MM-DD, or none to forget it.", valueName: "MM-DD"))
        var birthday: String

        func run() async throws {
            let birthday = birthday == "none" ? nil : try Birthday.parse(birthday)
            let (ledger, program) = try await options.ledgerAndProgram()
            try await ledger.setBirthday(birthday, of: id, in: program)
            let member = try await ledger.member(id, in: program)
            if options.json {
                try Terminal.json(member)
            } else {
                Terminal.print("Member \(id): birthday \(birthday.map(\.description) ?? "forgotten").")
                MemberOutput.show(member)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a member's balances and tier, lots by expiry, and pending points by maturity.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id.", valueName: "id"))
        var id: String

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let member = try await ledger.member(id, in: program)
            let lots = try await ledger.lots(of: id, in: program)
            let pending = try await ledger.pendingPoints(of: id, in: program)
            let tasks = try await ledger.taskProgress(of: id, in: program)
            let streak = try await ledger.checkinStreak(of: id, in: program)
            let standing = try await ledger.tierStanding(of: id, in: program)
            if options.json {
                try Terminal.json(
                    MemberOutput(
                        member: member, tierStanding: standing, lots: lots, pendingPoints: pending, tasks: tasks, checkinStreak: streak))
                return
            }
            MemberOutput.show(member)
            Terminal.print("\ntier, period \(standing.period) (to the end of \(standing.period.lastDay)):")
            var tierFields = [
                ("earned tier", standing.earnedTier + (standing.reachedThisPeriod ? ", reached this period: kept through the next" : "")),
                ("effective tier", standing.effectiveTier),
                ("qualifying", "\(standing.qualifyingPoints.grouped) points, \(standing.qualifyingSpend.grouped) spend"),
            ]
            if let next = standing.nextTier {
                tierFields.append((
                    "to reach \(next)",
                    "\((standing.pointsToNextTier ?? 0).grouped) more points" + (standing.spendToNextTier.map { " or \($0.grouped) more spend" } ?? "")))
            }
            tierFields.append((
                "to keep \(standing.earnedTier)",
                standing.reachedThisPeriod || standing.pointsToKeep == 0
                    ? "met" : "\(standing.pointsToKeep.grouped) more points" + (standing.spendToKeep.map { " or \($0.grouped) more spend" } ?? "")))
            Terminal.fields(tierFields)
            Terminal.fields([
                ("check-in streak", "\(streak.days) days" + (streak.checkedInToday ? ", checked in today" : ", not yet checked in today"))
            ])
            Terminal.print("\ntasks, completions that earned (caps: - for none):")
            func use(_ count: Int, _ cap: Int?) -> Cell { .text(cap.map { "\(count)/\($0)" } ?? "\(count)") }
            Terminal.table(
                ["task", "points", "today", "this week", "this month", "active"],
                tasks.map { [
                    .text($0.task), .number($0.points), use($0.today, $0.capDay), use($0.thisWeek, $0.capWeek), use($0.thisMonth, $0.capMonth),
                    $0.active ? "yes" : "no",
                ] })
            if !lots.isEmpty {
                Terminal.print("\nlots, in spending order:")
                Terminal.table(
                    ["lot", "remaining", "of", "earned", "expires"],
                    lots.map { [.id($0.lot), .number($0.remaining), .number($0.amount), .time($0.earnedAt), $0.expiresAt.map(Cell.end) ?? "never"] })
            }
            if !pending.isEmpty {
                Terminal.print("\npending points, by maturity:")
                Terminal.table(["order", "points", "spendable from"], pending.map { [.text($0.order), .number($0.points), .time($0.maturesAt)] })
            }
        }
    }

    struct Tiers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every change of a member's tier: from, to, cause, when, and the qualifying totals behind it.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id.", valueName: "id"))
        var id: String

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let changes = try await ledger.tierChanges(of: id, in: program)
            if options.json {
                try Terminal.json(changes)
                return
            }
            if changes.isEmpty {
                Terminal.print("Member \(id) has never changed tier.")
                return
            }
            Terminal.table(
                ["when", "from", "to", "cause", "period", "qualifying points", "qualifying spend", "entry", "reason"],
                changes.map {
                    [
                        .time($0.occurredAt), .text($0.from), .text($0.to), .text($0.cause.replacingOccurrences(of: "_", with: " ")),
                        .text($0.period ?? ""), $0.qualifyingPoints.map(Cell.number) ?? "", $0.qualifyingSpend.map(Cell.money) ?? "",
                        $0.entryID.map(Cell.id) ?? "", .text([$0.reason, $0.actor.map { "by \($0)" }].compactMap { $0 }.joined(separator: " ")),
                    ]
                })
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a member's journal entries with their source and the lots they formed or spent.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id.", valueName: "id"))
        var id: String
        @Option(help: ArgumentHelp("At most this many entries (1 to 1,000), newest first.", valueName: "n"), transform: WholeFlag.int)
        var limit = 100
        @Option(help: ArgumentHelp("The page after the one that printed this cursor.", valueName: "cursor"))
        var cursor: String?

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let page = try await ledger.history(of: id, in: program, page: PageRequest(limit: limit, after: cursor))
            if options.json {
                try Terminal.json(page)
                return
            }
            Terminal.table(
                ["entry", "occurred", "kind", "reference", "available", "pending", "lots"],
                page.items.map { entry in
                    var lots = entry.spentFromLots.map { "-\($0.points) from lot \($0.lot)" }
                    lots.insert(contentsOf: entry.formedLots.map { "formed lot \($0)" }, at: 0)
                    return [
                        .id(entry.entryID), .time(entry.occurredAt), .text(entry.kind), .text(entry.reference),
                        .signed(entry.availableChange), .signed(entry.pendingChange), .text(lots.joined(separator: ", ")),
                    ]
                })
            if let next = page.nextCursor {
                Terminal.print("Older entries: points-admin member history \(id) --cursor \(next)")
            }
        }
    }
}

struct MemberOutput: Encodable {
    let member: Member
    let tierStanding: TierStanding
    let lots: [Lot]
    let pendingPoints: [PendingPoints]
    let tasks: [TaskProgress]
    let checkinStreak: CheckinStreak

    func encode(to encoder: any Encoder) throws {
        try member.encode(to: encoder)
        enum Keys: String, CodingKey { case tierStanding, lots, pendingPoints, tasks, checkinStreak }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(tierStanding, forKey: .tierStanding)
        try container.encode(lots, forKey: .lots)
        try container.encode(pendingPoints, forKey: .pendingPoints)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(checkinStreak, forKey: .checkinStreak)
    }

    static func show(_ member: Member) {
        var fields = [("member", member.member), ("tier", member.tier)]
        if let referrer = member.referrer { fields.append(("referred by", referrer)) }
        if let birthday = member.birthday { fields.append(("birthday", birthday.description)) }
        fields += [
            ("available", member.available.grouped), ("pending", member.pending.grouped), ("held", member.held.grouped),
            ("spendable", member.spendable.grouped), ("created", Terminal.clock.text(member.createdAt)),
        ]
        Terminal.fields(fields)
    }
}

extension MemberCommand {
    struct Statement: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A member's statement: opening balances, every entry with its source, closing balances.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The member's id.", valueName: "id"))
        var id: String
        @Option(help: ArgumentHelp("Start (inclusive); program time unless a zone is given.", valueName: "time"))
        var from: String
        @Option(help: ArgumentHelp("End (exclusive, default now).", valueName: "time"))
        var to: String?

        func run() async throws {
            let (ledger, program) = try await options.ledgerAndProgram()
            let from = try await ledger.instant(from, in: program, field: "--from")
            let to = try await ledger.instant(ifGiven: to, in: program, field: "--to") ?? .now
            let statement = try await ledger.statement(of: id, in: program, from: from, to: to)
            if options.json {
                try Terminal.json(statement)
                return
            }
            Terminal.print("Statement of member \(id) in \(program.name), from \(from) to \(end: to)")
            Terminal.table(
                ["occurred", "entry", "kind", "source", "available", "pending", "available after", "pending after"],
                [["", "", "opening balance", "", "", "", .number(statement.openingAvailable), .number(statement.openingPending)]]
                    + statement.lines.map { line -> [Cell] in
                        [.time(line.occurredAt), .id(line.entryID), .text(line.kind), .text(line.source), .signed(line.available),
                         .signed(line.pending), .number(line.availableAfter), .number(line.pendingAfter)]
                    }
                    + [["", "", "closing balance", "", "", "", .number(statement.closingAvailable), .number(statement.closingPending)]])
        }
    }
}
