public import Foundation
public import Postgres

/// How a person reads an instant of a program: the wall clock of the program's time zone, to
/// the second, with its UTC offset (`2027-01-01 00:00:00 +08:00`), or UTC for those who ask.
///
/// Machine forms (JSON, CSV) take `machine(_:)`: RFC 3339 with microseconds at the same offset,
/// which any reader parses back to the same instant.
public struct LocalClock: Sendable, TimestampOffsets {
    /// The zone's rules; nil reads in UTC.
    public let zone: TimeZone?

    /// The clock of an IANA time zone (`Asia/Shanghai`); UTC for a name this machine's zone
    /// data does not know, so a time is never shown at a wrong offset.
    public init(timeZone name: String) {
        zone = TimeZone(identifier: name)
    }

    private init(zone: TimeZone?) {
        self.zone = zone
    }

    /// Reads in UTC: `2026-12-31 16:00:00 UTC`.
    public static let utc = LocalClock(zone: nil)

    public func offsetSeconds(at instant: Timestamp) -> Int {
        guard let zone else { return 0 }
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.microsecondsSinceEpoch.floorDividedBy(1_000_000))))
    }

    /// `2027-01-01 00:00:00 +08:00`; in UTC, `2026-12-31 16:00:00 UTC`.
    public func text(_ instant: Timestamp) -> String {
        let offset = offsetSeconds(at: instant)
        let wall = instant.wallClock(offsetSeconds: offset)
        return "\(wall.date) \(wall.time) " + (zone == nil ? "UTC" : Timestamp.offsetText(offset))
    }

    /// The end of something (a lot's life, a period, a report's range), read as a person says
    /// it: `the end of 2026-12-31` when it falls at a local midnight, else its time; `article`
    /// is what precedes "end" (none in a table's cell: `end of 2026-12-31`).
    public func end(_ instant: Timestamp, article: String = "the ") -> String {
        let wall = instant.wallClock(offsetSeconds: offsetSeconds(at: instant))
        return wall.isMidnight ? "\(article)end of \(Timestamp.dayBefore(wall.date))" : text(instant)
    }

    /// The local date: `2027-01-01`.
    public func date(_ instant: Timestamp) -> String {
        instant.wallClock(offsetSeconds: offsetSeconds(at: instant)).date
    }

    /// RFC 3339 with microseconds at the local offset: `2027-01-01T00:00:00.000000+08:00`.
    public func machine(_ instant: Timestamp) -> String {
        instant.rfc3339(offsetSeconds: offsetSeconds(at: instant))
    }
}

extension Program {
    /// The program's clock: its time zone's wall clock.
    public var clock: LocalClock { LocalClock(timeZone: timeZone) }
}

extension Int64 {
    fileprivate func floorDividedBy(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return self % divisor < 0 ? quotient - 1 : quotient
    }
}
