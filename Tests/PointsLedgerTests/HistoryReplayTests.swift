import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// A program moving in: years of history replayed from a directory of files end where the same
/// history posted one call at a time ends, with the period jobs run at the same moments: the
/// same balances, tiers, lots and reports as of any past date, line for line.
@Suite("Import: a whole history replayed from files equals it posted one call at a time")
struct HistoryReplayTests {
    enum Event {
        case purchase(order: String, member: String, amountMinor: Int64)
        case refund(refund: String, order: String, amountMinor: Int64)
        case spend(key: String, member: String, points: Int64)
        case grant(key: String, member: String, points: Int64, expires: Date?)
        case deduct(key: String, member: String, points: Int64)
        case checkin(member: String)

        /// The file it belongs to, in the replay's order of files.
        var file: Int {
            switch self {
            case .purchase: 0
            case .refund: 1
            case .spend: 2
            case .grant, .deduct: 3
            case .checkin: 4
            }
        }
    }

    /// Two and a half years of a few members' history, one event at a time, in time order: opening
    /// balances first, then purchases, refunds of them (some beyond what is left), spends and
    /// deductions (some beyond what a member has), grants and check-ins (some on days in a row).
    static func history(seed: UInt64) -> [(at: Date, event: Event)] {
        var random = SeededRandom(seed: seed)
        let members = (0..<5).map { "m\($0)" }
        var at = ISO8601DateFormatter().date(from: "2023-06-30T20:00:00Z")!
        var events: [(Date, Event)] = members.enumerated().map { index, member in
            at.addTimeInterval(60)
            let expires = index % 2 == 0 ? ISO8601DateFormatter().date(from: "2024-03-31T16:00:00Z")! : nil
            return (at, .grant(key: "open-\(member)", member: member, points: Int64(200 * (index + 1)), expires: expires))
        }
        var orders: [(order: String, amount: Int64)] = []
        var checkinDay: [String: Date] = [:]
        for index in 0..<260 {
            at.addTimeInterval(Double(Int.random(in: 20_000...400_000, using: &random)))
            let member = members[Int.random(in: 0..<members.count, using: &random)]
            switch Int.random(in: 0..<10, using: &random) {
            case 0...3:
                let amount = Int64.random(in: 2_000...150_000, using: &random)
                orders.append(("o\(index)", amount))
                events.append((at, .purchase(order: "o\(index)", member: member, amountMinor: amount)))
            case 4 where !orders.isEmpty:
                let order = orders[Int.random(in: 0..<orders.count, using: &random)]
                events.append((at, .refund(refund: "r\(index)", order: order.order, amountMinor: Int64.random(in: 100...order.amount, using: &random) / 2)))
            case 5, 6:
                events.append((at, .spend(key: "s\(index)", member: member, points: Int64.random(in: 10...900, using: &random))))
            case 7:
                events.append((at, .deduct(key: "d\(index)", member: member, points: Int64.random(in: 5...300, using: &random))))
            case 8:
                events.append((at, .grant(key: "g\(index)", member: member, points: Int64.random(in: 5...300, using: &random), expires: nil)))
            default:
                // A check-in, the next day after the member's last one when it is recent: streaks.
                var day = at
                if let last = checkinDay[member], at.timeIntervalSince(last) < 5 * 86_400 { day = last.addingTimeInterval(86_400) }
                if day <= at.addingTimeInterval(-60) || day > at { day = at }
                checkinDay[member] = day
                events.append((day, .checkin(member: member)))
                at = max(at, day)
            }
        }
        return events.sorted { $0.0 < $1.0 }
    }

    @Test(arguments: [UInt64(0x4157_0001), 0x4157_0002])
    func aReplayedDirectoryEndsAsTheSameHistoryPostedOneCallAtATime(seed: UInt64) async throws {
        try await TestDatabase.withMigrated { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            defer { Task { await ledger.pool.closeIdleConnections() } }
            let single = try await ledger.createProgram(name: "single", currency: "CNY", actor: "tests").program
            let replayed = try await ledger.createProgram(name: "replayed", currency: "CNY", actor: "tests").program
            let events = Self.history(seed: seed)
            let members = Set(events.compactMap { event -> String? in
                switch event.event {
                case .purchase(_, let member, _), .spend(_, let member, _), .grant(_, let member, _, _), .deduct(_, let member, _),
                    .checkin(let member):
                    member
                case .refund: nil
                }
            }).sorted()
            for program in [single, replayed] {
                try await ledger.useTestTiers(program)  // quarters; advanced from 1,000 at x1.5, premium from 5,000 at x2
                _ = try await ledger.changeSettings(
                    of: program, SettingsChange(returnWindowDays: 3, expiry: .months(12)),
                    effectiveAt: try await ledger.instant("2020-01-01", in: program, field: "since"), actor: "tests")
                for member in members { _ = try await ledger.createMember(member, in: program) }
            }

            // One call at a time, the jobs as of each day's start before its first event.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: single.timeZone)!
            var day: Date?
            var refused = 0
            for (at, event) in events {
                let start = calendar.startOfDay(for: at)
                if start != day {
                    day = start
                    _ = try await ledger.mature(single, asOf: Timestamp(start))
                    _ = try await ledger.expire(single, asOf: Timestamp(start))
                    _ = try await ledger.evaluateTiers(single, asOf: Timestamp(start))
                }
                let when = Timestamp(at)
                do {
                    switch event {
                    case .purchase(let order, let member, let amount):
                        _ = try await ledger.purchase(
                            PurchaseRequest(member: member, order: order, amount: Money(minorUnits: amount, exponent: 2), occurredAt: when, backdated: true),
                            in: single)
                    case .refund(let refund, let order, let amount):
                        _ = try await ledger.refund(
                            RefundRequest(order: order, refund: refund, amount: Money(minorUnits: amount, exponent: 2), occurredAt: when, backdated: true),
                            in: single)
                    case .spend(let key, let member, let points):
                        _ = try await ledger.spend(points: points, reason: "gift", member: member, in: single, key: key, at: when, backdated: true)
                    case .grant(let key, let member, let points, let expires):
                        _ = try await ledger.grant(
                            points: points, to: member, in: single, reason: "bonus", actor: "migration", key: key, at: when, backdated: true,
                            expiresAt: expires.map(Timestamp.init))
                    case .deduct(let key, let member, let points):
                        _ = try await ledger.deduct(
                            points: points, from: member, in: single, reason: "fix", actor: "migration", key: key, at: when, backdated: true)
                    case .checkin(let member):
                        _ = try await ledger.completeTask(
                            TaskCompletionRequest(task: "checkin", member: member, occurredAt: when, backdated: true), in: single)
                    }
                } catch {
                    refused += 1
                }
            }
            for job in 0..<3 {
                switch job {
                case 0: _ = try await ledger.mature(single, asOf: .now)
                case 1: _ = try await ledger.expire(single, asOf: .now)
                default: _ = try await ledger.evaluateTiers(single, asOf: .now)
                }
            }

            // The same history as files, replayed.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            func money(_ minor: Int64) -> String { String(format: "%d.%02d", minor / 100, minor % 100) }
            var files = [
                ["order_id,member,amount,occurred_at"], ["refund_id,order_id,amount,occurred_at"], ["key,member,points,reason,occurred_at"],
                ["key,member,points,reason,occurred_at,expires_at"], [],
            ]
            for (at, event) in events {
                let time = formatter.string(from: at)
                switch event {
                case .purchase(let order, let member, let amount): files[0].append("\(order),\(member),\(money(amount)),\(time)")
                case .refund(let refund, let order, let amount): files[1].append("\(refund),\(order),\(money(amount)),\(time)")
                case .spend(let key, let member, let points): files[2].append("\(key),\(member),\(points),gift,\(time)")
                case .grant(let key, let member, let points, let expires):
                    files[3].append("\(key),\(member),\(points),bonus,\(time),\(expires.map { formatter.string(from: $0) } ?? "")")
                case .deduct(let key, let member, let points): files[3].append("\(key),\(member),-\(points),fix,\(time),")
                case .checkin(let member): files[4].append(#"{"task": "checkin", "member": "\#(member)", "occurred_at": "\#(time)"}"#)
                }
            }
            for (index, name) in ["purchases.csv", "refunds.csv", "redemptions.csv", "adjustments.csv", "tasks.jsonl"].enumerated() {
                try Data((files[index].joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent(name))
            }
            let rejected = RejectedLines()
            let summary = try await ledger.importHistory(
                directory: folder.path, into: replayed, options: ImportOptions(allowBackdated: true, batchSize: 7, actor: "migration"),
                report: { file, line in if line.status == .rejected { rejected.add(file, line) } })
            #expect(summary.files.values.reduce(0) { $0 + $1.accepted } + rejected.count == events.count, "\(rejected.lines)")
            #expect(rejected.count == refused, "\(rejected.lines)")
            #expect(refused > 0 && refused < events.count / 4, "the history should have some refusals: \(refused)")

            func rows(_ program: Program, _ sql: String) throws -> [String] {
                try TestDatabase.sql(configuration, PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "$program", with: "\(program.id)")))
                    .map { row in try row.decode(String.self, at: 0) }
            }
            let views = [
                """
                SELECT concat_ws(' ', member_id, tier, available, pending, issued, redeemed, expired, written_off, adjustments, q_period, q_points,
                                 q_spend, coalesce(tier_before_upgrade, '-'), coalesce(tier_reached_period::text, '-'))
                FROM points.members WHERE program_id = $program ORDER BY member_id
                """,
                """
                SELECT concat_ws(' ', member_id, from_tier, to_tier, cause, period_start, qualifying_points, qualifying_spend_minor, occurred_at)
                FROM points.tier_changes WHERE program_id = $program ORDER BY member_id, occurred_at, change_id
                """,
                """
                SELECT concat_ws(' ', l.member_id, e.kind, e.idempotency_key, l.earned_at, l.expires_at, l.amount, l.remaining, l.expired_amount)
                FROM points.lots AS l JOIN points.journal_entries AS e USING (program_id, member_id, entry_id)
                WHERE l.program_id = $program ORDER BY l.member_id, l.earned_at, e.idempotency_key
                """,
                """
                SELECT concat_ws(' ', e.occurred_at, e.member_id, e.kind, CASE WHEN e.kind = 'expiry' THEN '(lot)' ELSE e.idempotency_key END,
                                 e.backdated, m.leg, m.from_account, m.to_account, m.amount, m.occurred_at)
                FROM points.journal_entries AS e JOIN points.movements AS m USING (program_id, member_id, entry_id)
                WHERE e.program_id = $program ORDER BY 1
                """,
            ]
            for view in views {
                let (expected, actual) = (try rows(single, view), try rows(replayed, view))
                let same = actual == expected
                #expect(same, "\(view): \(zip(actual, expected).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "counts \(actual.count) vs \(expected.count)")")
            }
            // Reports as of several past dates read the same.
            for date in ["2023-09-30 23:59", "2024-03-31 12:00", "2024-12-31 23:59", "2025-06-30 23:59"] {
                let asOf = try await ledger.instant(date, in: single, field: "as of")
                let trial = (try await ledger.trialBalance(single, asOf: asOf).lines, try await ledger.trialBalance(replayed, asOf: asOf).lines)
                #expect(trial.0 == trial.1, "\(date)")
                let all = PageRequest(limit: 1_000)
                let balances = (try await ledger.memberBalances(single, asOf: asOf, page: all), try await ledger.memberBalances(replayed, asOf: asOf, page: all))
                #expect(balances.0 == balances.1 && balances.0.nextCursor == nil, "\(date)")
                let tiers = (try await ledger.tierReport(single, asOf: asOf).lines, try await ledger.tierReport(replayed, asOf: asOf).lines)
                #expect(tiers.0 == tiers.1, "\(date)")
                let liability = (try await ledger.liability(single, asOf: asOf), try await ledger.liability(replayed, asOf: asOf))
                #expect(liability.0.byTier == liability.1.byTier && liability.0.byExpiryMonth == liability.1.byExpiryMonth, "\(date)")
            }
            // The history moved tiers and expired points, so the comparison says something.
            #expect(try rows(single, "SELECT 1 FROM points.tier_changes WHERE program_id = $program").count >= 2)
            #expect(try rows(single, "SELECT 1 FROM points.journal_entries WHERE program_id = $program AND kind = 'expiry'").count >= 1)
            #expect(try await ledger.verify(replayed).isSound)

            // Run again: nothing new.
            let again = try await ledger.importHistory(
                directory: folder.path, into: replayed, options: ImportOptions(allowBackdated: true, batchSize: 50, actor: "migration"), report: { _, _ in })
            #expect(again.files.values.reduce(0) { $0 + $1.accepted } == 0)
            let unchanged = try rows(replayed, views[3]) == rows(single, views[3])
            #expect(unchanged)
        }
    }

    final class RejectedLines: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var lines: [String] = []
        var count: Int { lock.withLock { lines.count } }
        func add(_ file: String, _ line: ImportLineResult) { lock.withLock { lines.append("\(file) \(line.line): \(line.reason ?? "")") } }
    }
}
