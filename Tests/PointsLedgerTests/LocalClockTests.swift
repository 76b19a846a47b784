import Foundation
@testable import PointsLedger
import Postgres
import Testing

@Suite("Times as people read them: the program's wall clock with its offset")
struct LocalClockTests {
    func at(_ text: String) throws -> Timestamp { try Timestamp(postgresText: text) }

    @Test func berlinsClockJumpsAnHourAtTheChangeToSummerTimeAndBack() throws {
        let berlin = LocalClock(timeZone: "Europe/Berlin")
        #expect(berlin.text(try at("2026-03-29 00:59:59Z")) == "2026-03-29 01:59:59 +01:00")
        #expect(berlin.text(try at("2026-03-29 01:00:00Z")) == "2026-03-29 03:00:00 +02:00")
        #expect(berlin.text(try at("2026-10-25 00:59:59Z")) == "2026-10-25 02:59:59 +02:00")
        #expect(berlin.text(try at("2026-10-25 01:00:00Z")) == "2026-10-25 02:00:00 +01:00")
        #expect(berlin.machine(try at("2026-03-29 01:00:00.000042Z")) == "2026-03-29T03:00:00.000042+02:00")
        #expect(try Timestamp(postgresText: berlin.machine(try at("2026-10-25 01:00:00Z"))) == (try at("2026-10-25 01:00:00Z")))
    }

    @Test func anEndAtLocalMidnightIsTheEndOfTheDayBefore() throws {
        let shanghai = LocalClock(timeZone: "Asia/Shanghai")
        #expect(shanghai.end(try at("2026-12-31 16:00:00Z")) == "the end of 2026-12-31")
        #expect(shanghai.end(try at("2027-03-01 00:00:00+08")) == "the end of 2027-02-28")
        #expect(shanghai.end(try at("2026-12-31 16:00:00.000001Z")) == "2027-01-01 00:00:00 +08:00")
        #expect(shanghai.text(try at("2026-12-31 16:00:00Z")) == "2027-01-01 00:00:00 +08:00")
        #expect(shanghai.date(try at("2026-12-31 16:00:00Z")) == "2027-01-01")
        #expect(LocalClock.utc.text(try at("2026-12-31 16:00:00Z")) == "2026-12-31 16:00:00 UTC")
        #expect(LocalClock.utc.end(try at("2027-01-01 00:00:00Z")) == "the end of 2026-12-31")
        #expect(LocalClock.utc.machine(try at("2027-01-01 00:00:00Z")) == "2027-01-01T00:00:00.000000Z")
    }

    @Test func anEncoderWritesTimestampsAtTheClocksOffsets() throws {
        let encoder = JSONEncoder()
        encoder.userInfo[.timestampOffsets] = LocalClock(timeZone: "Europe/Berlin")
        let times = [try at("2026-03-28 11:00:00Z"), try at("2026-03-30 10:00:00Z")]
        let text = String(decoding: try encoder.encode(times), as: UTF8.self)
        #expect(text == #"["2026-03-28T12:00:00.000000+01:00","2026-03-30T12:00:00.000000+02:00"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: Data(text.utf8)) == times)
        #expect(String(decoding: try JSONEncoder().encode(times), as: UTF8.self) == #"["2026-03-28T11:00:00.000000Z","2026-03-30T10:00:00.000000Z"]"#)
    }

    @Test func moneyIsWrittenWithExactlyItsDecimalsAndReadBack() throws {
        for (minor, exponent, plain, grouped) in [
            (Int64(398_183_000), 2, "3981830.00", "3,981,830.00"), (-1_042, 3, "-1.042", "-1.042"), (1_234_567, 0, "1234567", "1,234,567"),
            (5, 2, "0.05", "0.05"), (100, 3, "0.100", "0.100"),
        ] {
            let money = Money(minorUnits: minor, exponent: exponent)
            #expect(money.description == plain && money.grouped == grouped)
            let json = try JSONEncoder().encode(money)
            #expect(String(decoding: json, as: UTF8.self) == "\"\(plain)\"")
            #expect(try JSONDecoder().decode(Money.self, from: json) == money)
        }
        #expect(Int64(-3_981_830).grouped == "-3,981,830" && Int64(999).grouped == "999" && Int64(1000).grouped == "1,000")
    }
}

@Suite("The liability page's chart: round ticks, twelve months of the program's calendar")
struct LiabilityChartTests {
    @Test func ticksAreRoundStepsFromZeroToAtLeastThePeak() {
        #expect(LiabilityPage.axisTicks(upTo: 13_200) == [0, 5_000, 10_000, 15_000])
        #expect(LiabilityPage.axisTicks(upTo: 100) == [0, 50, 100])
        #expect(LiabilityPage.axisTicks(upTo: 150) == [0, 50, 100, 150])
        #expect(LiabilityPage.axisTicks(upTo: 5) == [0, 2, 4, 6])
        #expect(LiabilityPage.axisTicks(upTo: 0) == [0, 1])
        for peak in [Int64(7), 999, 1_000, 123_456_789, Int64.max / 4] {
            let ticks = LiabilityPage.axisTicks(upTo: peak)
            #expect(ticks.first == 0 && ticks.last! >= peak && (2...6).contains(ticks.count), "\(peak): \(ticks)")
        }
    }

    @Test func theMonthsAreTheProgramsEvenWhenTheReaderReadsUTC() throws {
        let start = try Timestamp(postgresText: "2025-01-01 00:00:00+08")
        let month = BreakageMonth(
            month: "2025-12", issued: 1_200, adjusted: 0, redeemed: 300, expired: 0, writtenOff: 0, issuedGross: 1_200, clawedBack: 0,
            granted: 0, deducted: 0)
        let months = LiabilityPage.everyMonth([month], from: start, calendar: LocalClock(timeZone: "Asia/Shanghai"))
        #expect(months.map(\.month) == (1...12).map { String(format: "2025-%02d", $0) })
        #expect(months.last == month && months.dropLast().allSatisfy { $0.issued == 0 })
        let report = BreakageReport(program: "p", from: start, to: try Timestamp(postgresText: "2025-12-20 00:00:00+08"), months: [month])
        let liability = LiabilityReport(
            program: "p", asOf: report.to, currency: "CNY", pointValue: Decimal(string: "0.01")!, available: 900, pending: 0, owedByMembers: 0,
            value: Money(minorUnits: 900, exponent: 2), byTier: [], byExpiryMonth: [])
        let page = LiabilityPage.html(liability, months: report, calendar: LocalClock(timeZone: "Asia/Shanghai"), clock: .utc)
        #expect(page.contains(">2025-12</text>") && !page.contains(">2024-12</text>"))
        #expect(page.contains("as of 2025-12-19 16:00:00 UTC") && page.contains("<title>2025-12 issued: 1,200 points</title>"))
    }

    @Test func anOffsetOfLocalMeanTimeIsWrittenToTheMinuteAndReadsBackTheSameInstant() throws {
        let monrovia = LocalClock(timeZone: "Africa/Monrovia")  // UTC−00:44:30 until 1972
        let noon = try Timestamp(postgresText: "1960-06-01 12:00:00Z")
        let written = monrovia.machine(noon)
        #expect(written == "1960-06-01T11:16:00.000000-00:44")
        #expect(try Timestamp(postgresText: written) == noon)
        #expect(monrovia.text(noon) == "1960-06-01 11:16:00 -00:44")
    }
}

@Suite("A tier period's last day")
struct TierPeriodLastDayTests {
    @Test func aPeriodEndsAtTheEndOfItsLastLocalDay() throws {
        for (label, last) in [
            ("2026", "2026-12-31"), ("2026-Q1", "2026-03-31"), ("2026-Q3", "2026-09-30"), ("2028-02", "2028-02-29"), ("2100-02", "2100-02-28"),
            ("2000-02", "2000-02-29"), ("2026-11", "2026-11-30"),
        ] {
            #expect(try TierPeriodLabel.parse(label).lastDay == last, "\(label)")
        }
    }
}
