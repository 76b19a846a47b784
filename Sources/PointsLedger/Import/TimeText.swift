/// A time as written in an import file, checked and normalised so PostgreSQL reads it exactly:
/// `2026-11-22T10:00:00+08:00`, `2026-11-22 10:00:00Z`, `2026-11-22 10:00` (the program's local
/// time), `2026-11-22` (local midnight). Fractions of a second up to microseconds.
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
        guard let year = digits(4), take("-"), let month = digits(2), take("-"), let day = digits(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction = ""
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
                    fraction = String(decoding: bytes[start..<index], as: UTF8.self)
                }
            }
        }
        guard hour < 24, minute < 60, second < 60 else { return nil }
        var zone = ""
        if take("Z") {
            zone = "Z"
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index]
            index += 1
            guard let zoneHours = digits(2), zoneHours <= 15 else { return nil }
            zone = String(decoding: [sign], as: UTF8.self) + pad(zoneHours, 2)
            let colon = take(":")
            if index < bytes.count {
                guard let zoneMinutes = digits(2), zoneMinutes < 60 else { return nil }
                zone += ":" + pad(zoneMinutes, 2)
            } else if colon {
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + " " + pad(hour, 2) + ":" + pad(minute, 2) + ":"
            + pad(second, 2) + "." + fraction + String(repeating: "0", count: 6 - fraction.count) + zone
    }

    /// A number with leading zeros to `width` digits.
    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
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
