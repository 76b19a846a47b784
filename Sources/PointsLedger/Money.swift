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
        // Digits, then optionally a point and at least one digit; read from the bytes, since
        // imports parse one or two amounts a line.
        var minor: Int64 = 0
        var decimals = 0
        var wholeDigits = 0
        var seenPoint = false
        var valid = true
        var overflow = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
                continue
            }
            guard byte >= 48, byte <= 57 else {
                valid = false
                break
            }
            if seenPoint { decimals += 1 } else { wholeDigits += 1 }
            let (times, o1) = minor.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int64(byte - 48))
            overflow = overflow || o1 || o2
            minor = plus
        }
        guard valid, wholeDigits > 0, !seenPoint || decimals > 0 else {
            throw .invalidInput(field: field, reason: "\"\(text)\" is not an amount; write it like 12.34")
        }
        guard decimals <= exponent else {
            throw .invalidInput(
                field: field,
                reason: "\"\(text)\" has \(decimals) decimals; the program's currency has \(exponent)")
        }
        for _ in decimals..<exponent where !overflow {
            let (times, o) = minor.multipliedReportingOverflow(by: 10)
            overflow = o
            minor = times
        }
        guard !overflow else {
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
