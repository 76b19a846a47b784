public import Foundation

/// The one grammar of numbers at every door: CLI flags, import fields and the server's decimal
/// strings (JSON numbers follow JSON's own, which is the same). A whole number is ASCII digits
/// with no sign, no spaces and no leading zero but in 0 itself (`12`, not `+12` or `012`); a
/// signed one may start with `-`; a decimal is a whole number, then optionally a point and at
/// least one digit (`0.5` and `12.25`, not `.5`, `5.` or `1e2`).
public enum Numbers {
    /// Whether `text` is a whole number of the grammar (it may be too large for 64 bits).
    public static func isWholeNumber(_ text: String) -> Bool { isWhole(text) }

    static func isWhole<Text: StringProtocol>(_ text: Text) -> Bool {
        let digits = text.utf8
        guard let first = digits.first, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return first != UInt8(ascii: "0") || digits.count == 1
    }

    /// Whether `text` is a decimal of the grammar.
    static func isDecimal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard isWhole(parts[0]) else { return false }
        guard parts.count == 2 else { return true }
        return !parts[1].isEmpty && parts[1].utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// A whole number of `minimum` or more, or an error naming `field`.
    public static func whole(_ text: String, field: String, minimum: Int64 = 0) throws(LedgerError) -> Int64 {
        guard isWhole(text), let value = Int64(text), value >= minimum else {
            throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is not a whole number of \(minimum) or more, written with digits only")
        }
        return value
    }

    /// A whole number of points that may be negative (`-30`, a deduction), not 0, or an error naming `field`.
    public static func signedPoints(_ text: String, field: String) throws(LedgerError) -> Int64 {
        let magnitude = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard isWhole(magnitude), let value = Int64(text), value != 0, value != .min else {
            throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is not a whole number of points other than 0 (below 0: a deduction)")
        }
        return value
    }

    /// An exact decimal (never through a Double), or an error naming `field`.
    public static func decimal(_ text: String, field: String) throws(LedgerError) -> Decimal {
        guard isDecimal(text), text.utf8.count <= 40, let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is not a decimal number such as 1.25")
        }
        return value
    }
}
