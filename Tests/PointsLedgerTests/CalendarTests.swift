import PointsLedger
import Postgres
import TestSupport
import Testing

/// Expiry dates and rounding, computed by the database's own functions, at the boundaries that
/// matter: local day, month and year ends, daylight saving, 29 February.
@Suite("Calendar: expiry in the program's time zone, rounding modes")
struct CalendarTests {
    func expiry(_ kind: String, _ count: Int?, earned: String, zone: String) async throws -> String? {
        try await TestDatabase.withMigrated { configuration in
            let row = try TestDatabase.sql(configuration, """
                SELECT to_char(points.lot_expiry(\(kind), \(count), \(earned)::timestamptz, \(zone)) AT TIME ZONE \(zone),
                               'YYYY-MM-DD HH24:MI:SS')
                """).single()
            return try row.decode(String?.self, at: 0)
        }
    }

    @Test func daysCountLocalDaysInShanghai() async throws {
        // 23:59 local on 31 December is still that day: 3 days later ends with 3 January.
        #expect(try await expiry("days", 3, earned: "2026-12-31 23:59:59.999999+08", zone: "Asia/Shanghai") == "2027-01-04 00:00:00")
        // One microsecond later it is 1 January: it lasts through 4 January.
        #expect(try await expiry("days", 3, earned: "2027-01-01 00:00:00+08", zone: "Asia/Shanghai") == "2027-01-05 00:00:00")
        #expect(try await expiry("never", nil, earned: "2027-01-01 00:00:00+08", zone: "Asia/Shanghai") == nil)
    }

    @Test func monthsEndAtTheEndOfTheNthMonthAfter() async throws {
        #expect(try await expiry("months", 1, earned: "2026-01-31 12:00:00+08", zone: "Asia/Shanghai") == "2026-03-01 00:00:00")
        #expect(try await expiry("months", 12, earned: "2026-11-15 12:00:00+08", zone: "Asia/Shanghai") == "2027-12-01 00:00:00")
        // 2026-02-28 16:30 UTC is already 1 March in Shanghai.
        #expect(try await expiry("months", 1, earned: "2026-02-28 16:30:00Z", zone: "Asia/Shanghai") == "2026-05-01 00:00:00")
    }

    @Test func yearsEndAtTheEndOfTheNthCalendarYearAfter() async throws {
        #expect(try await expiry("years", 1, earned: "2026-01-01 00:00:00+08", zone: "Asia/Shanghai") == "2028-01-01 00:00:00")
        #expect(try await expiry("years", 1, earned: "2026-12-31 23:59:59+08", zone: "Asia/Shanghai") == "2028-01-01 00:00:00")
        // 29 February: a leap day counts like any other day of its year.
        #expect(try await expiry("years", 2, earned: "2028-02-29 10:00:00+08", zone: "Asia/Shanghai") == "2031-01-01 00:00:00")
        #expect(try await expiry("days", 1, earned: "2028-02-28 10:00:00+08", zone: "Asia/Shanghai") == "2028-03-01 00:00:00")
        #expect(try await expiry("days", 365, earned: "2028-02-29 10:00:00+08", zone: "Asia/Shanghai") == "2029-03-01 00:00:00")
    }

    @Test func daylightSavingDaysAreLocalDays() async throws {
        // Berlin springs forward on 29 March 2026 (a 23-hour day) and falls back on 25 October (25 hours).
        #expect(try await expiry("days", 1, earned: "2026-03-28 12:00:00+01", zone: "Europe/Berlin") == "2026-03-30 00:00:00")
        #expect(try await expiry("days", 1, earned: "2026-10-24 12:00:00+02", zone: "Europe/Berlin") == "2026-10-26 00:00:00")
        try await TestDatabase.withMigrated { configuration in
            // The 23-hour day: from local midnight to local midnight is 23 hours of real time.
            let hours = try TestDatabase.sql(configuration, """
                SELECT extract(epoch FROM points.lot_expiry('days', 0, '2026-03-29 12:00:00+02', 'Europe/Berlin')
                                          - '2026-03-29 00:00:00+01'::timestamptz) / 3600
                """).single().decode(Decimal.self, at: 0)
            #expect(hours == 23)
            let longDay = try TestDatabase.sql(configuration, """
                SELECT extract(epoch FROM points.lot_expiry('days', 0, '2026-10-25 12:00:00+01', 'Europe/Berlin')
                                          - '2026-10-25 00:00:00+02'::timestamptz) / 3600
                """).single().decode(Decimal.self, at: 0)
            #expect(longDay == 25)
        }
    }

    @Test func roundingHappensOnceByTheProgramsMode() async throws {
        let cases: [(String, String, Int64)] = [
            ("12.99", "down", 12), ("12.01", "up", 13), ("12.5", "half_up", 13), ("12.4999", "half_up", 12),
            ("12.5", "half_even", 12), ("13.5", "half_even", 14), ("13.2", "half_even", 13), ("12", "up", 12),
        ]
        let rounded = try await TestDatabase.withMigrated { configuration in
            try cases.map { value, mode, _ in
                try TestDatabase.sql(configuration, "SELECT points.round_points(\(value)::numeric, \(mode))").single().decode(Int64.self, at: 0)
            }
        }
        #expect(rounded == cases.map(\.2))
    }
}

import Foundation
