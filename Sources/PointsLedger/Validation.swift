import Foundation

/// Checks of callers' values, made before anything is sent, each naming the field and the fix.
enum Validate {
    /// A code (a tier's name, a task's code): a lowercase letter, then up to 31 lowercase letters,
    /// digits, `_` or `-`, as the database's checks have it.
    static func isCode(_ text: String) -> Bool {
        text.wholeMatch(of: /[a-z][a-z0-9_-]{0,31}/) != nil
    }

    static func memberID(_ id: String) throws(LedgerError) {
        guard isPlainText(id, maximumLength: 128) else {
            throw .invalidInput(field: "member", reason: "\"\(id)\" is not a member id: use 1 to 128 characters without control characters")
        }
    }

    /// 1 to `maximumLength` characters, none of them a control character. Ids are checked once
    /// a line in imports, so printable ASCII (the usual id) is decided from its bytes alone.
    static func isPlainText(_ value: String, maximumLength: Int) -> Bool {
        var utf8 = value
        let printableASCII = utf8.withUTF8 { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
        if printableASCII { return !utf8.isEmpty && utf8.utf8.count <= maximumLength }
        return !value.isEmpty && value.count <= maximumLength
            && !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
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

    static func text(_ value: String, field: String, maximumLength: Int = 500) throws(LedgerError) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidInput(field: field, reason: "it is empty; say it in a few words") }
        guard trimmed.count <= maximumLength else {
            throw .invalidInput(field: field, reason: "it has \(trimmed.count) characters, more than the \(maximumLength) allowed")
        }
        return trimmed
    }

    /// An order, refund or other reference from a caller's systems.
    static func reference(_ value: String, field: String) throws(LedgerError) {
        guard isPlainText(value, maximumLength: 200) else {
            throw .invalidInput(field: field, reason: "\"\(value)\" is not an id: use 1 to 200 characters without control characters")
        }
    }

    /// An amount of money in the program's currency: positive (or zero where allowed), with the
    /// currency's decimals.
    static func amount(_ money: Money, in program: Program, field: String, allowZero: Bool = false) throws(LedgerError) {
        guard money.exponent == program.currencyExponent else {
            throw .invalidInput(
                field: field, reason: "\(money) has \(money.exponent) decimals; \(program.currency) has \(program.currencyExponent)")
        }
        guard money.minorUnits > 0 || (allowZero && money.minorUnits == 0) else {
            throw .invalidInput(field: field, reason: "\(money) must be more than zero")
        }
    }

    static func key(_ key: String) throws(LedgerError) {
        guard !key.isEmpty, key.count <= 200 else {
            throw .invalidInput(field: "key", reason: "an idempotency key needs 1 to 200 characters")
        }
    }
}
