import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

extension Ledger {
    /// A completion at a local time of the program (`2025-03-30 00:30`), or now.
    func complete(_ task: String, _ member: String, ref: String? = nil, at local: String? = nil, in program: Program)
        async throws -> TaskCompletionResult
    {
        var occurredAt: Timestamp?
        if let local { occurredAt = try await instant(local, in: program, field: "at") }
        return try await completeTask(TaskCompletionRequest(task: task, member: member, ref: ref, occurredAt: occurredAt), in: program)
    }

    /// Lets events be dated up to ten years back, so tests can replay calendar boundaries.
    func allowHistory(_ program: Program) async throws {
        _ = try await changeSettings(of: program, SettingsChange(backdateDays: 3650), effectiveAt: TestDatabase.settingsSince, actor: "tests")
    }

    /// A task change in force since 2000, made before the program has entries, for tests of history.
    func changeTaskSince2000(_ task: String, in program: Program, _ change: TaskChange) async throws {
        _ = try await changeTask(task, in: program, change, effectiveAt: try Timestamp(postgresText: "2000-01-01 00:00:00+00"), actor: "tests")
    }
}

@Suite("Tasks: check-ins and streaks, caps, configuration in time")
struct TaskTests {
    @Test func aTasksLotExpiresByThePolicyInForceWhenItWasCompleted() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.changeTask("post", in: program, TaskChange(capDay: .some(nil)), actor: "tests")
            _ = try await ledger.changeSettings(of: program, SettingsChange(expiry: .days(30)), actor: "tests")
            // Completed half a day ago, before the change: never expires. Completed now: in 30 days.
            let before = Timestamp(Date().addingTimeInterval(-43_200))
            _ = try await ledger.completeTask(TaskCompletionRequest(task: "post", member: "m1", ref: "p1", occurredAt: before), in: program)
            _ = try await ledger.complete("post", "m1", ref: "p2", in: program)
            let lots = try await ledger.lots(of: "m1", in: program)
            #expect(lots.count == 2)
            #expect(lots.filter { $0.expiresAt == nil }.map(\.earnedAt) == [before])
            let expiring = try #require(lots.first { $0.expiresAt != nil })
            let days = (expiring.expiresAt!.date.timeIntervalSince(expiring.earnedAt.date)) / 86_400
            #expect(days > 29 && days <= 31)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func streaksRunAcrossMonthYearAndLeapDayAndAMissedDayResets() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.allowHistory(program)
            _ = try await ledger.createMember("m1", in: program)
            try await ledger.changeTaskSince2000("checkin", in: program, TaskChange(streak: [], streakCycle: .some(nil)))
            var streaks: [Int?] = []
            for day in ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01",  // leap day
                "2024-12-30", "2024-12-31", "2025-01-01",  // year end
                "2025-04-30", "2025-05-01",  // month end
                "2025-06-01", "2025-06-03", "2025-06-04"]  // a missed day
            {
                streaks.append(try await ledger.complete("checkin", "m1", at: "\(day) 09:00", in: program).streak)
            }
            #expect(streaks == [1, 2, 3, 4, 1, 2, 3, 1, 2, 1, 1, 2])
            #expect(try await ledger.member("m1", in: program).available == 12 * 5)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func streakBonusesPayOnTheirDaysAndRepeatWithACycle() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.allowHistory(program)
            _ = try await ledger.createMember("m1", in: program)
            let rules = [try StreakRule.parse("3:5"), try StreakRule.parse("7:20")]
            try await ledger.changeTaskSince2000("checkin", in: program, TaskChange(streak: rules, streakCycle: .some(7)))
            var bonuses: [Int64] = []
            for day in 1...10 {
                let result = try await ledger.complete("checkin", "m1", at: String(format: "2025-07-%02d 08:00", day), in: program)
                #expect(result.points == 5)
                bonuses.append(result.streakBonus)
            }
            #expect(bonuses == [0, 0, 5, 0, 0, 0, 20, 0, 0, 5])
            #expect(try await ledger.member("m1", in: program).available == 10 * 5 + 30)
        }
    }

    @Test func daysAreLocalInAZoneWithDaylightSaving() async throws {
        try await TestDatabase.withMigrated { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            let program = try await ledger.createProgram(name: "berlin", currency: "EUR", timeZone: "Europe/Berlin", actor: "tests").program
            try await ledger.allowHistory(program)
            _ = try await ledger.createMember("m1", in: program)
            // 30 March 2025 has 23 hours in Berlin, 26 October 2025 has 25.
            let short1 = try await ledger.complete("checkin", "m1", at: "2025-03-30 00:30", in: program)
            let short2 = try await ledger.complete("checkin", "m1", at: "2025-03-30 23:30", in: program)
            let next = try await ledger.complete("checkin", "m1", at: "2025-03-31 00:10", in: program)
            #expect(short1.localDay == "2025-03-30" && short1.outcome == .posted)
            #expect(short2.outcome == .replayed && short2.entryID == short1.entryID)
            #expect(next.localDay == "2025-03-31" && next.streak == 2)
            let before = try await ledger.complete("checkin", "m1", at: "2025-10-25 23:59", in: program)
            let long1 = try await ledger.complete("checkin", "m1", at: "2025-10-26 00:01", in: program)
            let long2 = try await ledger.complete("checkin", "m1", at: "2025-10-26 23:59", in: program)
            #expect(before.localDay == "2025-10-25" && long1.localDay == "2025-10-26" && long1.streak == 2)
            #expect(long2.outcome == .replayed)
            // 02:30 on 26 October happens twice; both are the same local day.
            let post1 = try await ledger.completeTask(
                TaskCompletionRequest(task: "post", member: "m1", ref: "p1", occurredAt: try Timestamp(postgresText: "2025-10-26 00:30:00+00")),
                in: program)
            let post2 = try await ledger.completeTask(
                TaskCompletionRequest(task: "post", member: "m1", ref: "p2", occurredAt: try Timestamp(postgresText: "2025-10-26 01:30:00+00")),
                in: program)
            #expect(post1.localDay == "2025-10-26" && post2.localDay == "2025-10-26")
            await ledger.pool.closeIdleConnections()
        }
    }

    @Test func sixteenSimultaneousCompletionsOfATaskCappedAtThreeEarnThree() async throws {
        try await TestDatabase.withLedger(connections: 16) { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.changeTask("like", in: program, TaskChange(points: 4, capDay: .some(3)), actor: "tests")
            let results = try await withThrowingTaskGroup(of: TaskCompletionResult.self) { group in
                for index in 0..<16 {
                    group.addTask { try await ledger.complete("like", "m1", ref: "like-\(index)", in: program) }
                }
                return try await group.reduce(into: [TaskCompletionResult]()) { $0.append($1) }
            }
            #expect(results.filter { $0.cappedBy == nil }.count == 3)
            #expect(results.filter { $0.cappedBy == "day" }.count == 13)
            #expect(results.allSatisfy { $0.outcome == .posted })
            #expect(try await ledger.member("m1", in: program).available == 12)
            let progress = try await ledger.taskProgress(of: "m1", in: program).first { $0.task == "like" }
            #expect(progress?.today == 3 && progress?.capDay == 3)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    @Test func weekAndMonthCapsCountTheirOwnPeriods() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            try await ledger.allowHistory(program)
            _ = try await ledger.createMember("m1", in: program)
            try await ledger.changeTaskSince2000("review", in: program, TaskChange(points: 10, capWeek: .some(2), capMonth: .some(3)))
            // Monday 3 to Sunday 9 March 2025, then the next week, then April.
            var capped: [String?] = []
            for (ref, day) in [("a", "03-03"), ("b", "03-09"), ("c", "03-09"), ("d", "03-10"), ("e", "03-11"), ("f", "04-01")] {
                capped.append(try await ledger.complete("review", "m1", ref: ref, at: "2025-\(day) 12:00", in: program).cappedBy)
            }
            #expect(capped == [nil, nil, "week", nil, "month", nil])
        }
    }

    @Test func aTaskDeactivatedMidDayRefusesCompletionsFromThen() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.complete("share", "m1", ref: "s0", in: program)
            let switchOff = Timestamp(Date().addingTimeInterval(60))
            _ = try await ledger.changeTask("share", in: program, TaskChange(active: false), effectiveAt: switchOff, actor: "tests")
            let before = try await ledger.completeTask(TaskCompletionRequest(task: "share", member: "m1", ref: "s1"), in: program)
            #expect(before.points == 5)
            let later = TaskCompletionRequest(task: "share", member: "m1", ref: "s2", occurredAt: Timestamp(Date().addingTimeInterval(120)))
            await #expect {
                try await ledger.completeTask(later, in: program)
            } throws: { error in
                guard case LedgerError.invalidInput(field: "task", let reason) = error else { return false }
                return reason.contains("inactive")
            }
            // A replay of a completion made while it was active still answers.
            let replay = try await ledger.completeTask(TaskCompletionRequest(task: "share", member: "m1", ref: "s1"), in: program)
            #expect(replay.outcome == .replayed && replay.entryID == before.entryID)
        }
    }

    @Test func aConfigurationChangeAppliesFromItsEffectiveTimeOnly() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.complete("post", "m1", ref: "first", in: program)
            let from = Timestamp(Date().addingTimeInterval(60))
            _ = try await ledger.changeTask("post", in: program, TaskChange(points: 25), effectiveAt: from, actor: "ops")
            let now = try await ledger.completeTask(TaskCompletionRequest(task: "post", member: "m1", ref: "p-now"), in: program)
            let after = try await ledger.completeTask(
                TaskCompletionRequest(task: "post", member: "m1", ref: "p-after", occurredAt: Timestamp(Date().addingTimeInterval(90))),
                in: program)
            #expect(now.points == 10 && after.points == 25)
            let current = try await ledger.tasks(of: program, at: Timestamp(Date().addingTimeInterval(100))).first { $0.task == "post" }
            #expect(current?.points == 25 && current?.capDay == 3)
            // Once the program has entries, a change cannot reach into the past.
            await #expect(throws: LedgerError.self) {
                try await ledger.changeTask(
                    "post", in: program, TaskChange(points: 1), effectiveAt: Timestamp(Date().addingTimeInterval(-3600)), actor: "ops")
            }
        }
    }

    @Test func badInputIsRefusedWithItsReasonAndPostsNothing() async throws {
        try await TestDatabase.withLedger { ledger, program, _ in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("m2", in: program)
            let hourAgo = Timestamp(Date().addingTimeInterval(-3_600))
            let first = try await ledger.completeTask(TaskCompletionRequest(task: "post", member: "m1", ref: "p1", occurredAt: hourAgo), in: program)
            // A ref is unique per member and task: m2 may post the same article (issue 32, finding 3).
            let second = try await ledger.complete("post", "m2", ref: "p1", in: program)
            #expect(second.outcome == .posted && second.entryID != first.entryID && second.points == 10)
            #expect(try await ledger.complete("post", "m2", ref: "p1", in: program).outcome == .replayed)
            let otherTime = TaskCompletionRequest(task: "post", member: "m1", ref: "p1", occurredAt: Timestamp(Date().addingTimeInterval(-7_200)))
            await #expect(throws: LedgerError.idempotencyConflict(key: "post p1", existing: .entry(first.entryID))) {
                try await ledger.completeTask(otherTime, in: program)
            }
            await #expect(throws: LedgerError.notFound(.member, id: "ghost")) {
                try await ledger.complete("checkin", "ghost", in: program)
            }
            for (task, ref) in [("dance", "d1"), ("Bad Code", "x"), ("post", nil as String?)] {
                await #expect(throws: LedgerError.self) { try await ledger.complete(task, "m1", ref: ref, in: program) }
            }
            await #expect(throws: LedgerError.self) { try await ledger.complete("checkin", "m1", ref: "1999-01-01", in: program) }
            let old = TaskCompletionRequest(task: "share", member: "m1", ref: "s", occurredAt: Timestamp(Date().addingTimeInterval(-9 * 86_400)))
            await #expect {
                try await ledger.completeTask(old, in: program)
            } throws: { error in
                guard case LedgerError.invalidInput(field: "occurred at", let reason) = error else { return false }
                return reason.contains("back-dating window")
            }
            for change in [TaskChange(points: -1), TaskChange(capDay: .some(-2)), TaskChange(capMonth: .some(-1))] {
                await #expect(throws: LedgerError.self) { try await ledger.changeTask("post", in: program, change, actor: "ops") }
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.changeTask("post", in: program, TaskChange(streak: [StreakRule(days: 3, points: 5)]), actor: "ops")
            }
            await #expect(throws: LedgerError.self) { try await ledger.changeTask("newtask", in: program, TaskChange(capDay: .some(1)), actor: "ops") }
            for text in ["3", "3-5", "0:5", "a:b", "3:-1", "3:5:1", ""] {
                #expect(throws: LedgerError.self) { try StreakRule.parse(text) }
            }
            #expect(try await ledger.member("m1", in: program).available == 10)
            #expect(try await ledger.verify(program).entries == 2)
        }
    }
}
