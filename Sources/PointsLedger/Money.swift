/// Money as an integer count of the currency's minor unit (fen, cents), never floating point.
public struct Money: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let minorUnits: Int64
    /// Digits of the minor unit: 2 for CNY and USD, 0 for JPY, 3 for KWD.
    public let exponent: Int

    public init(minorUnits: Int64, exponent: Int) {
        self.minorUnits = minorUnits
        self.exponent = exponent
    }

    /// Parses a decimal amount exactly: `"12.34"` with exponent 2 is 1234 minor units.
    /// - Throws: `LedgerError.invalidInput` naming `field` for anything but digits with at most
    ///   `exponent` decimals (`"12.345"` in a two-decimal currency is an error, not a rounding),
    ///   and for amounts beyond 64 bits.
    public static func parse(_ text: String, exponent: Int, field: String) throws(LedgerError) -> Money {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count <= 2, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit),
            parts.count == 1 || !fraction.isEmpty
        else {
            throw .invalidInput(field: field, reason: "\"\(text)\" is not an amount; write it like 12.34")
        }
        guard fraction.count <= exponent else {
            throw .invalidInput(
                field: field,
                reason: "\"\(text)\" has \(fraction.count) decimals; the program's currency has \(exponent)")
        }
        let digits = String(whole) + fraction + String(repeating: "0", count: exponent - fraction.count)
        guard let minor = Int64(digits) else {
            throw .invalidInput(field: field, reason: "\"\(text)\" is too large")
        }
        return Money(minorUnits: minor, exponent: exponent)
    }

    /// The amount with its decimals: `"12.34"`.
    public var description: String {
        guard exponent > 0 else { return String(minorUnits) }
        let sign = minorUnits < 0 ? "-" : ""
        let digits = String(minorUnits.magnitude)
        let padded = String(repeating: "0", count: max(0, exponent + 1 - digits.count)) + digits
        return sign + padded.dropLast(exponent) + "." + padded.suffix(exponent)
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minorUnits < rhs.minorUnits }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
