/// A time as written in an import file, checked and normalised so PostgreSQL reads it exactly:
/// `2026-11-22T10:00:00+08:00`, `2026-11-22 10:00:00Z`, `2026-11-22 10:00` (the program's local
/// time), `2026-11-22` (local midnight). Fractions of a second up to microseconds.
enum TimeText {
    /// The normalised text (`YYYY-MM-DD HH:MM:SS.ffffff` plus the offset as written, if any).
    static func normalise(_ text: String) -> String? {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$"#
        guard let match = try? Regex(pattern).wholeMatch(in: text) else { return nil }
        func part(_ index: Int) -> Substring? { match.output[index].substring }
        guard let year = Int(part(1)!), let month = Int(part(2)!), let day = Int(part(3)!),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        let hour = part(4).flatMap { Int($0) } ?? 0
        let minute = part(5).flatMap { Int($0) } ?? 0
        let second = part(6).flatMap { Int($0) } ?? 0
        guard hour < 24, minute < 60, second < 60 else { return nil }
        let fraction = (part(7).map(String.init) ?? "").padding(toLength: 6, withPad: "0", startingAt: 0)
        let zone = part(8).map(String.init) ?? ""
        if zone.count > 1 {
            let digits = zone.dropFirst().filter(\.isNumber)
            guard let hours = Int(digits.prefix(2)), hours <= 15, Int(digits.dropFirst(2)).map({ $0 < 60 }) ?? true else { return nil }
        }
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d.", year, month, day, hour, minute, second) + fraction + zone
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
