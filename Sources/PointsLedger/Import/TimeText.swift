/// A time as written in an import file, checked and normalised so PostgreSQL reads it exactly:
/// `2026-11-22T10:00:00+08:00`, `2026-11-22 10:00:00Z`, `2026-11-22 10:00` (the program's local
/// time), `2026-11-22` (local midnight). Fractions of a second up to microseconds; years 1900 to
/// 9999 (the range of the database's `points.event_time`).
enum TimeText {
    /// The normalised text (`YYYY-MM-DD HH:MM:SS.ffffff` plus the offset as written, if any).
    static func normalise(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func take(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue! else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), (1900...9999).contains(year), take("-"), let month = digits(2), take("-"), let day = digits(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction: ArraySlice<UInt8> = []
        if take("T") || take(" ") {
            guard let h = digits(2), take(":"), let m = digits(2) else { return nil }
            (hour, minute) = (h, m)
            if take(":") {
                guard let s = digits(2) else { return nil }
                second = s
                if take(".") {
                    let start = index
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                    guard (1...6).contains(index - start) else { return nil }
                    fraction = bytes[start..<index]
                }
            }
        }
        guard hour < 24, minute < 60, second < 60 else { return nil }
        // The zone as written: Z, or a sign and hours with optional minutes.
        var zone: [UInt8] = []
        if take("Z") {
            zone = [UInt8(ascii: "Z")]
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index]
            index += 1
            guard let zoneHours = digits(2), zoneHours <= 15 else { return nil }
            zone = [sign]
            append(zoneHours, width: 2, to: &zone)
            let colon = take(":")
            if index < bytes.count {
                guard let zoneMinutes = digits(2), zoneMinutes < 60 else { return nil }
                zone.append(UInt8(ascii: ":"))
                append(zoneMinutes, width: 2, to: &zone)
            } else if colon {
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        // Built as bytes: a million lines of an import each pass through here.
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for (value, width, separator) in [(year, 4, "-"), (month, 2, "-"), (day, 2, " "), (hour, 2, ":"), (minute, 2, ":"), (second, 2, ".")]
            as [(Int, Int, Unicode.Scalar)]
        {
            append(value, width: width, to: &out)
            out.append(UInt8(ascii: separator))
        }
        out.append(contentsOf: fraction)
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 6 - fraction.count))
        out.append(contentsOf: zone)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a number of at most `width` digits (as every field here is), with leading zeros.
    private static func append(_ value: Int, width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(48 + rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Whether a normalised time names its zone: without one it is exactly `YYYY-MM-DD HH:MM:SS.ffffff`.
    static func hasZone(_ normalised: String) -> Bool {
        normalised.count > 26
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

import Foundation
