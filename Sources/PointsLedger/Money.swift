/// Money as an integer count of the currency's minor unit (fen, cents), never floating point.
///
/// Written with exactly the currency's decimals everywhere: `"104.20"` in CNY, `"1042"` in JPY,
/// `"1.042"` in KWD; in JSON as that string, so no reader's floating point drops a digit.
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
        guard valid, wholeDigits > 0, !seenPoint || decimals > 0, wholeDigits == 1 || text.utf8.first != UInt8(ascii: "0") else {
            throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is not an amount; write it like 12.34")
        }
        guard decimals <= exponent else {
            throw .invalidInput(
                field: field,
                reason: "\(TextRules.shown(text)) has \(decimals) decimals; the program's currency has \(exponent)")
        }
        for _ in decimals..<exponent where !overflow {
            let (times, o) = minor.multipliedReportingOverflow(by: 10)
            overflow = o
            minor = times
        }
        guard !overflow else {
            throw .invalidInput(field: field, reason: "\(TextRules.shown(text)) is too large")
        }
        return Money(minorUnits: minor, exponent: exponent)
    }

    /// The amount with its decimals: `"1234.50"`.
    public var description: String { text(grouped: false) }

    /// The amount with its decimals, the whole part grouped by thousands for a person to read:
    /// `"1,234.50"`.
    public var grouped: String { text(grouped: true) }

    private func text(grouped: Bool) -> String {
        let sign = minorUnits < 0 ? "-" : ""
        let digits = String(minorUnits.magnitude)
        let padded = String(repeating: "0", count: max(0, exponent + 1 - digits.count)) + digits
        let whole = String(padded.dropLast(exponent))
        return sign + (grouped ? Self.grouping(whole) : whole) + (exponent > 0 ? "." + padded.suffix(exponent) : "")
    }

    /// Digits with a comma before each group of three from the right: `3,981,830`.
    static func grouping(_ digits: String) -> String {
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// Reads the string form back; the exponent is its number of decimals.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        let decimals = text.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
        let negative = text.hasPrefix("-")
        do {
            let parsed = try Money.parse(negative ? String(text.dropFirst()) : text, exponent: decimals, field: "amount")
            self.init(minorUnits: negative ? -parsed.minorUnits : parsed.minorUnits, exponent: decimals)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minorUnits < rhs.minorUnits }
}

extension BinaryInteger {
    /// Grouped by thousands for a person to read: `3,981,830`, `-1,200`.
    public var grouped: String {
        (self < 0 ? "-" : "") + Money.grouping(String(magnitude))
    }
}
