import ArgumentParser
import Foundation
import PointsLedger
import Postgres

struct ProgramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program", abstract: "Create and show member programs.",
        subcommands: [Create.self, Show.self, Set.self])

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
            let program = options.reading(creation.program)
            if options.json {
                try Terminal.json(ProgramOutput(program, created: { if case .created = creation { true } else { false } }()))
            } else {
                if case .created = creation {
                    Terminal.print("Created program \(program.name).")
                } else {
                    Terminal.print("Program \(program.name) already exists with these settings; nothing changed.")
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
            let ledger = try options.ledger()
            let program = options.reading(try await ledger.program(named: name ?? options.program))
            let settings = try await ledger.settings(of: program)
            if options.json {
                try Terminal.json(ProgramOutput(program, created: nil, settings: settings))
            } else {
                ProgramOutput.show(program)
                ProgramOutput.show(settings, currency: program.currency)
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a program's earning settings, from now or a stated time.",
            discussion: """
                Only the settings given change. Postings whose time is at or after --effective-at use \
                the new values; the change is recorded with who made it and the values before and after.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The program (default: --program).", valueName: "name"))
        var name: String?
        @Option(help: ArgumentHelp("Points per major currency unit, an exact decimal such as 1.25.", valueName: "rate"))
        var earnRate: String?
        @Option(help: ArgumentHelp("How points are rounded: down, up, half_up or half_even.", valueName: "mode"))
        var rounding: String?
        @Option(help: ArgumentHelp("Days purchase points stay pending (0: available at once).", valueName: "days"), transform: WholeFlag.int)
        var returnWindowDays: Int?
        @Option(help: ArgumentHelp("When a clawback finds too few points: negative or write_off.", valueName: "policy"))
        var refundPolicy: String?
        @Option(help: ArgumentHelp("When points expire: never, \"days N\", \"months N\" or \"years N\".", valueName: "policy"))
        var expiry: String?
        @Option(help: ArgumentHelp("Points for the referrer on a referred member's first purchase.", valueName: "points"), transform: WholeFlag.int64)
        var referralBonus: Int64?
        @Option(help: ArgumentHelp("Days an event may be dated back without a back-dating permission.", valueName: "days"), transform: WholeFlag.int)
        var backdateDays: Int?
        @Option(help: ArgumentHelp(
            "The tier qualification period: month, quarter or year (once there are entries, from a 1 January only).",
            valueName: "period"))
        var tierPeriod: String?
        @Option(help: ArgumentHelp("At period end, below retention: one-level or requalify.", valueName: "policy"))
        var downgrade: String?
        @Option(help: ArgumentHelp("What one point is worth in the program's currency, e.g. 0.01 (100 points = 1.00).", valueName: "amount"))
        var pointValue: String?
        @OptionGroup var change: ChangeOptions

        func run() async throws {
            var change = SettingsChange()
            change.earnRate = try earnRate.map { text throws(LedgerError) in try exactDecimal(text, field: "--earn-rate") }
            change.tierPeriod = try tierPeriod.map { text throws(LedgerError) in try named(TierPeriod.self, text, field: "--tier-period") }
            change.downgrade = try downgrade.map { text throws(LedgerError) in try named(DowngradePolicy.self, text, field: "--downgrade") }
            change.rounding = try rounding.map { text throws(LedgerError) in try named(RoundingMode.self, text, field: "--rounding") }
            change.refundPolicy = try refundPolicy.map { text throws(LedgerError) in
                try named(RefundPolicy.self, text, field: "--refund-policy")
            }
            change.expiry = try expiry.map { text throws(LedgerError) in try ExpiryPolicy.parse(text) }
            change.pointValue = try pointValue.map { text throws(LedgerError) in try exactDecimal(text, field: "--point-value") }
            change.returnWindowDays = returnWindowDays
            change.referralBonus = referralBonus
            change.backdateDays = backdateDays

            let ledger = try options.ledger()
            let program = options.reading(try await ledger.program(named: name ?? options.program))
            let effective = try await self.change.effective(ledger, program)
            let outcome = try await ledger.changeSettings(of: program, change, effectiveAt: effective, actor: self.change.actor)
            let settings = try await ledger.settings(of: program, at: effective)
            if options.json {
                try Terminal.json(SettingsOutput(changed: outcome.isChanged, settings: settings))
            } else {
                switch outcome {
                case .changed(let at): Terminal.print("Settings of \(program.name) changed from \(at) on.")
                case .unchanged: Terminal.print("These settings were already in force; nothing changed.")
                }
                ProgramOutput.show(settings, currency: program.currency)
            }
        }
    }
}

/// One of an enumeration's values by its name, or an error that lists the names.
func named<Value: RawRepresentable & CaseIterable>(_ type: Value.Type, _ text: String, field: String) throws(LedgerError) -> Value
where Value.RawValue == String {
    guard let value = Value(rawValue: text) else {
        let names = Value.allCases.map(\.rawValue).joined(separator: ", ")
        throw .invalidInput(field: field, reason: "\"\(text)\" is not one of \(names)")
    }
    return value
}

/// An exact decimal such as 1.25 (never through a Double), or an error naming the option.
func exactDecimal(_ text: String, field: String) throws(LedgerError) -> Decimal {
    try Numbers.decimal(text, field: field)
}

/// A whole number of `minimum` or more, or nil for "none" (no cap, no limit, unlimited stock),
/// or an error naming the option.
func countOrNone(_ text: String, field: String, minimum: Int64 = 0) throws(LedgerError) -> Int64? {
    if text == "none" { return nil }
    guard Numbers.isWholeNumber(text), let value = Int64(text), value >= minimum else {
        throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is not a whole number of \(minimum) or more (or none)")
    }
    return value
}

/// A whole number of 0 or more points, or an error naming the option.
func wholePoints(_ text: String, field: String) throws(LedgerError) -> Int64 {
    guard Numbers.isWholeNumber(text), let value = Int64(text) else {
        throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is not a whole number of 0 or more points")
    }
    return value
}

struct SettingsOutput: Encodable {
    let changed: Bool
    let settings: ProgramSettings
}

struct ProgramOutput: Encodable {
    let program: String
    let currency: String
    let currencyExponent: Int
    let timeZone: String
    let tiers: [String]
    let createdAt: Timestamp
    let created: Bool?
    let settings: ProgramSettings?

    init(_ program: Program, created: Bool?, settings: ProgramSettings? = nil) {
        self.settings = settings
        self.program = program.name
        currency = program.currency
        currencyExponent = program.currencyExponent
        timeZone = program.timeZone
        tiers = program.tiers
        createdAt = program.createdAt
        self.created = created
    }

    static func show(_ program: Program) {
        Terminal.fields([
            ("program", program.name), ("currency", "\(program.currency) (\(program.currencyExponent) decimals)"),
            ("time zone", program.timeZone), ("tiers", program.tiers.joined(separator: ", ")),
            ("created", Terminal.clock.text(program.createdAt)),
        ])
    }

    static func show(_ settings: ProgramSettings, currency: String) {
        Terminal.fields([
            ("earn rate", "\(settings.earnRate) points per unit, rounded \(settings.rounding.rawValue)"),
            ("return window", "\(settings.returnWindowDays) days"), ("refund policy", settings.refundPolicy.rawValue),
            ("expiry", settings.expiry.description), ("referral bonus", "\(settings.referralBonus.grouped) points"),
            ("back-dating", "\(settings.backdateDays) days"),
            ("tier period", settings.tierPeriod.rawValue), ("downgrade", settings.downgrade.rawValue),
            ("point value", "\(settings.pointValue) \(currency) a point"),
            ("in force since", settings.effectiveAt.map(Terminal.clock.text) ?? "the start"),
        ])
    }
}
