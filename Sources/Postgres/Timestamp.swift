public import Foundation

/// An instant with PostgreSQL's resolution: whole microseconds since 1970-01-01 00:00:00 UTC.
///
/// `timestamptz` values are exchanged in UTC; unlike `Date` (a `Double`), no microsecond is
/// ever lost or rounded, so "the last microsecond of a quarter" stays exactly that.
public struct Timestamp: Hashable, Comparable, Sendable, PostgresEncodable, PostgresDecodable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// The instant of a `Date`, rounded to the nearest microsecond.
    public init(_ date: Date) {
        self.microsecondsSinceEpoch = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public static var now: Timestamp { Timestamp(Date()) }

    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// ISO 8601 in UTC with microseconds: `2026-11-22T09:30:00.000000Z`.
    public var description: String { format(dateTimeSeparator: "T", zone: "Z") }

    /// PostgreSQL's text form in UTC: `2026-11-22 09:30:00.000000+00`.
    public var postgresText: String { format(dateTimeSeparator: " ", zone: "+00") }

    /// RFC 3339 with microseconds at a UTC offset: `2027-01-01T00:00:00.000000+08:00`, or `Z`
    /// for offset zero. The same instant whatever the offset; readers of JSON and CSV parse it.
    /// An offset that is not whole minutes (a zone's local mean time before 1972) is written
    /// to the minute, as RFC 3339 allows.
    public func rfc3339(offsetSeconds: Int) -> String {
        let offsetSeconds = offsetSeconds / 60 * 60
        guard offsetSeconds != 0 else { return description }
        return Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + Int64(offsetSeconds) * 1_000_000)
            .format(dateTimeSeparator: "T", zone: Self.offsetText(offsetSeconds))
    }

    /// The wall clock at a UTC offset, to the second: `2027-01-01 00:00:00`, and whether it is
    /// midnight exactly (a day's start).
    /// The offset is taken to the minute, as `rfc3339` and `offsetText` write it.
    public func wallClock(offsetSeconds: Int) -> (date: String, time: String, isMidnight: Bool) {
        let offsetSeconds = offsetSeconds / 60 * 60
        let local = microsecondsSinceEpoch + Int64(offsetSeconds) * 1_000_000
        let (days, micros) = local.floorDividedWithRemainder(by: 86_400_000_000)
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        let seconds = micros / 1_000_000
        return (
            String(format: "%04d-%02d-%02d", year, month, day),
            String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60), micros == 0
        )
    }

    /// The date before a local date: `2026-12-31` for `2027-01-01`.
    public static func dayBefore(_ date: String) -> String {
        let parts = date.split(separator: "-").compactMap { Int64($0) }
        guard parts.count == 3 else { return date }
        let (year, month, day) = CivilCalendar.date(
            fromDaysSinceEpoch: CivilCalendar.daysSinceEpoch(year: parts[0], month: parts[1], day: parts[2]) - 1)
        return String(format: "%04d-%02d-%02d", year, month, day)
    }

    /// `+08:00`, `-03:30`, `+00:00`.
    public static func offsetText(_ offsetSeconds: Int) -> String {
        let minutes = abs(offsetSeconds) / 60
        return (offsetSeconds < 0 ? "-" : "+") + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    private func format(dateTimeSeparator: String, zone: String) -> String {
        let (days, micros) = microsecondsSinceEpoch.floorDividedWithRemainder(by: 86_400_000_000)
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        return String(format: "%04d-%02d-%02d", year, month, day)
            + dateTimeSeparator
            + String(format: "%02d:%02d:%02d.%06d", seconds / 3600, seconds / 60 % 60, seconds % 60, fraction)
            + zone
    }

    /// Reads PostgreSQL's ISO text form: `YYYY-MM-DD HH:MM:SS[.ffffff](+|-)HH[:MM[:SS]]`.
    public init(postgresText text: String) throws(PostgresError) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) throws(PostgresError) -> Int64 {
            guard index + count <= bytes.count else { throw .decoding(text, as: "timestamptz") }
            var value: Int64 = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 48, byte <= 57 else { throw .decoding(text, as: "timestamptz") }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ character: UInt8) throws(PostgresError) {
            guard index < bytes.count, bytes[index] == character else { throw .decoding(text, as: "timestamptz") }
            index += 1
        }
        let year = try number(4)
        try expect(UInt8(ascii: "-"))
        let month = try number(2)
        try expect(UInt8(ascii: "-"))
        let day = try number(2)
        guard index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "T") else {
            throw .decoding(text, as: "timestamptz")
        }
        index += 1
        let hour = try number(2)
        try expect(UInt8(ascii: ":"))
        let minute = try number(2)
        try expect(UInt8(ascii: ":"))
        let second = try number(2)
        var fraction: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            for _ in digits..<max(digits, 6) { fraction *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "Z") {
            index += 1
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            var offset = try number(2) * 3600
            if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                index += 1
                offset += try number(2) * 60
                if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                    index += 1
                    offset += try number(2)
                }
            }
            offsetSeconds = sign * offset
        } else {
            throw .decoding(text, as: "timestamptz with a UTC offset")
        }
        guard index == bytes.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { throw .decoding(text, as: "timestamptz") }
        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.microsecondsSinceEpoch = seconds * 1_000_000 + fraction
    }
}

/// Proleptic Gregorian calendar arithmetic on day counts (Howard Hinnant's algorithms).
enum CivilCalendar {
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func date(fromDaysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    func floorDividedWithRemainder(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = self / divisor
        let remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}

/// The UTC offset of a place at each instant (a time zone's rules): how an encoder writes a
/// `Timestamp` when it carries one under `CodingUserInfoKey.timestampOffsets`.
public protocol TimestampOffsets: Sendable {
    func offsetSeconds(at instant: Timestamp) -> Int
}

extension CodingUserInfoKey {
    /// An encoder's `any TimestampOffsets`: timestamps are written at its offsets.
    public static let timestampOffsets = CodingUserInfoKey(rawValue: "timestampOffsets")!
}

/// Encoded as RFC 3339 text with microseconds: in UTC (`2026-11-22T09:30:00.000000Z`), or at the
/// offsets of the encoder's `timestampOffsets` (`2026-11-22T17:30:00.000000+08:00`). Decoded from
/// either.
extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Timestamp(postgresText: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a timestamp: \(text)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let offsets = encoder.userInfo[.timestampOffsets] as? any TimestampOffsets {
            try container.encode(rfc3339(offsetSeconds: offsets.offsetSeconds(at: self)))
        } else {
            try container.encode(description)
        }
    }
}
