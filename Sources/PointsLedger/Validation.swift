import Foundation

/// Checks of callers' values, made before anything is sent, each naming the field and the fix.
enum Validate {
    /// A code (a tier's name, a task's code): a lowercase letter, then up to 31 lowercase letters,
    /// digits, `_` or `-`, as the database's checks have it.
    static func isCode(_ text: String) -> Bool {
        text.wholeMatch(of: /[a-z][a-z0-9_-]{0,31}/) != nil
    }

    static func memberID(_ id: String) throws(LedgerError) {
        try self.id(id, field: "member", noun: "a member id", maximumLength: 128)
    }

    /// An id or key (`points.id_text`): 1 to `maximumLength` characters under the text rules of ids.
    static func id(_ value: String, field: String, noun: String, maximumLength: Int) throws(LedgerError) {
        if let problem = TextRules.idProblem(value, maximumLength: maximumLength) {
            throw .invalidInput(field: field, reason: "\(TextRules.shown(value)) is not \(noun): \(problem)")
        }
    }

    static func programName(_ name: String) throws(LedgerError) {
        guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"#, options: .regularExpression) != nil else {
            throw .invalidInput(
                field: "program name",
                reason: "\"\(name)\" is not a program name: use up to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    static func positivePoints(_ points: Int64) throws(LedgerError) {
        guard points > 0 else {
            throw .invalidInput(field: "points", reason: "\(points) is not a positive whole number of points")
        }
    }

    /// Free text a person reads (a reason, an actor, a name; `points.label_text`): trimmed, 1 to
    /// `maximumLength` characters, nothing a terminal would act on.
    static func text(_ value: String, field: String, maximumLength: Int = 500) throws(LedgerError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidInput(field: field, reason: "it is empty; say it in a few words") }
        guard trimmed.count <= maximumLength else {
            throw .invalidInput(field: field, reason: "it has \(trimmed.count) characters, more than the \(maximumLength) allowed")
        }
        if let unsafe = trimmed.unicodeScalars.first(where: TextRules.isUnsafe) {
            throw .invalidInput(
                field: field,
                reason: "\(TextRules.shown(trimmed)) holds \(TextRules.describe(unsafe)), which stored text may not hold; write it without")
        }
        return trimmed
    }

    /// An order, refund or other reference from a caller's systems.
    static func reference(_ value: String, field: String) throws(LedgerError) {
        try id(value, field: field, noun: "an id", maximumLength: 200)
    }

    /// An amount of money in the program's currency: positive (or zero where allowed), with the
    /// currency's decimals.
    static func amount(_ money: Money, in program: Program, field: String, allowZero: Bool = false) throws(LedgerError) {
        guard money.exponent == program.currencyExponent else {
            throw .invalidInput(
                field: field, reason: "\(money) has \(money.exponent) decimals; \(program.currency) has \(program.currencyExponent)")
        }
        guard money.minorUnits > 0 || (allowZero && money.minorUnits == 0) else {
            throw .invalidInput(field: field, reason: "\(money.grouped) must be more than zero")
        }
    }

    static func key(_ key: String) throws(LedgerError) {
        try id(key, field: "key", noun: "an idempotency key", maximumLength: 200)
    }
}
