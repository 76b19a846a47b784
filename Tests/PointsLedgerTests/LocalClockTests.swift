import Foundation
import PointsLedger
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
