import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("Birthdays: the tier's bonus once a year, 29 February on the 28th in other years")
struct BirthdayTests {
    @Test func theJobPaysEachBirthdayOnceAndLeapDayBirthdaysOnThe28th() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            let since2000 = try Timestamp(postgresText: "2000-01-01 00:00:00+00")
            _ = try await ledger.changeTier("ordinary", in: program, TierChange(birthdayBonus: 50), effectiveAt: since2000, actor: "tests")
            for (member, birthday) in [("leap", "02-29"), ("feb28", "02-28"), ("mar10", "03-10"), ("dec30", "12-30"), ("none", nil)] {
                _ = try await ledger.createMember(member, in: program)
                if let birthday { try await ledger.setBirthday(try Birthday.parse(birthday), of: member, in: program) }
            }
            func run(_ local: String) async throws -> BirthdaySummary {
                try await ledger.payBirthdays(program, asOf: try await ledger.instant(local, in: program, field: "as-of"), chunkSize: 2)
            }
            let first = try await run("2025-02-28 12:00")
            #expect(first.paid == 2 && first.points == 100 && first.members == 5 && first.chunks == 3)
            #expect(try await run("2025-02-28 18:00").paid == 0)
            #expect(try await run("2025-03-03 09:00").paid == 0)
            #expect(try await run("2024-02-28 12:00").paid == 1)  // feb28 only: leap's birthday is tomorrow
            #expect(try await run("2024-02-29 12:00").paid == 1)  // leap, on the day itself in a leap year
            #expect(try await run("2025-03-20 12:00").paid == 0)  // mar10: older than the 7-day window
            #expect(try await run("2025-01-02 12:00").paid == 1)  // dec30, for 2024
            #expect(try await run("2025-01-03 12:00").paid == 0)

            let history = try await ledger.history(of: "leap", in: program).items
            #expect(Set(history.map(\.reference)) == ["leap/2024", "leap/2025"])
            let midnight = try await ledger.instant("2025-02-28 00:00", in: program, field: "at")
            #expect(history.first { $0.reference == "leap/2025" }?.occurredAt == midnight)
            #expect(try await ledger.member("leap", in: program).available == 100)
            #expect(try await ledger.member("none", in: program).available == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func twoRunsAtOnceStillPayOnce() async throws {
        try await TestDatabase.withLedger(connections: 4) { ledger, program, _ in
            _ = try await ledger.changeTier(
                "ordinary", in: program, TierChange(birthdayBonus: 20), effectiveAt: try Timestamp(postgresText: "2000-01-01 00:00:00+00"), actor: "tests")
            let today = try await ledger.instant("2025-06-15 12:00", in: program, field: "as-of")
            for index in 0..<50 {
                _ = try await ledger.createMember("m\(index)", in: program)
                try await ledger.setBirthday(Birthday(month: 6, day: 10 + index % 5), of: "m\(index)", in: program)
            }
            async let one = ledger.payBirthdays(program, asOf: today, chunkSize: 7)
            async let two = ledger.payBirthdays(program, asOf: today, chunkSize: 7)
            let paid = try await one.paid + two.paid
            #expect(paid == 50)
            #expect(try await ledger.verify(program).entries == 50)
        }
    }

    @Test func birthdaysAndBonusesAreChecked() async throws {
        for text in ["2-29", "02-30", "13-01", "00-10", "04-31", "0229", "02-29-2000", ""] {
            #expect(throws: LedgerError.self) { try Birthday.parse(text) }
        }
        #expect(try Birthday.parse("02-29") == Birthday(month: 2, day: 29))
        try await TestDatabase.withLedger { ledger, program, _ in
            await #expect(throws: LedgerError.notFound(.member, id: "ghost")) {
                try await ledger.setBirthday(Birthday(month: 1, day: 1), of: "ghost", in: program)
            }
            await #expect(throws: LedgerError.self) { try await ledger.changeTier("gold", in: program, TierChange(birthdayBonus: 5), actor: "ops") }
            await #expect(throws: LedgerError.self) { try await ledger.changeTier("premium", in: program, TierChange(birthdayBonus: -5), actor: "ops") }
            let future = Timestamp(Date().addingTimeInterval(3600))
            await #expect(throws: LedgerError.self) { try await ledger.payBirthdays(program, asOf: future) }
        }
    }
}
