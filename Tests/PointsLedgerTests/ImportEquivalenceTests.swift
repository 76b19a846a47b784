import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// RULES.md, Earning from purchases: the same purchases earn the same points whether they are
/// posted one by one or imported in a file, line for line, including a member who crosses a tier
/// threshold in the middle of a file.
@Suite("Import: the same history imported and posted one by one ends the same")
struct ImportEquivalenceTests {
    struct Line { let order: String; let member: String; let amountMinor: Int64; let paidMinor: Int64; let at: Date }

    /// A year of random purchases by a few members, in time order, some paid partly with points.
    static func history(seed: UInt64) -> [Line] {
        var random = SeededRandom(seed: seed)
        var at = ISO8601DateFormatter().date(from: "2025-01-01T01:00:00Z")!
        return (0..<160).map { index in
            at.addTimeInterval(Double(Int.random(in: 3_600...200_000, using: &random)))
            let amount = Int64.random(in: 1_000...90_000, using: &random)
            let paid = Int.random(in: 0...3, using: &random) == 0 ? Int64.random(in: 0...amount, using: &random) : 0
            return Line(order: "o\(index)", member: "m\(Int.random(in: 0...3, using: &random))", amountMinor: amount, paidMinor: paid, at: at)
        }
    }

    static func money(_ minor: Int64) -> String { String(format: "%d.%02d", minor / 100, minor % 100) }

    @Test(arguments: [UInt64(0x1A7E_0001), 0x1A7E_0002, 0x1A7E_0003])
    func importedInBatchesEqualsPostedOneByOne(seed: UInt64) async throws {
        try await TestDatabase.withMigrated { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            defer { Task { await ledger.pool.closeIdleConnections() } }
            let single = try await ledger.createProgram(name: "single", currency: "CNY", actor: "tests").program
            let imported = try await ledger.createProgram(name: "imported", currency: "CNY", actor: "tests").program
            for program in [single, imported] {
                try await ledger.useTestTiers(program)  // quarters; advanced from 1,000 at x1.5, premium from 5,000 at x2
                _ = try await ledger.changeSettings(
                    of: program, SettingsChange(earnRate: Decimal(string: "1.3"), returnWindowDays: 3),
                    effectiveAt: try await ledger.instant("2020-01-01", in: program, field: "since"), actor: "tests")
            }
            let lines = Self.history(seed: seed)
            for name in Set(lines.map(\.member)).sorted() { _ = try await ledger.createMember(name, in: single) }
            for line in lines {
                _ = try await ledger.purchase(
                    PurchaseRequest(
                        member: line.member, order: line.order, amount: Money(minorUnits: line.amountMinor, exponent: 2),
                        pointsPaid: line.paidMinor > 0 ? Money(minorUnits: line.paidMinor, exponent: 2) : nil,
                        occurredAt: Timestamp(line.at), backdated: true),
                    in: single)
            }
            let formatter = ISO8601DateFormatter()
            let file = (["order_id,member,amount,points_paid,occurred_at"] + lines.map { line in
                "\(line.order),\(line.member),\(Self.money(line.amountMinor)),\(line.paidMinor > 0 ? Self.money(line.paidMinor) : ""),\(formatter.string(from: line.at))"
            }).joined(separator: "\n")
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).csv")
            try Data(file.utf8).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            let summary = try await ledger.importPurchases(
                from: try FileHandle(forReadingFrom: url), name: "history", into: imported,
                options: ImportOptions(allowBackdated: true, batchSize: 37), report: { _ in })
            #expect(summary.accepted == lines.count)

            func rows(_ program: Program, _ sql: String) throws -> [String] {
                try TestDatabase.sql(configuration, PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "$program", with: "\(program.id)")))
                    .map { row in try row.decode(String.self, at: 0) }
            }
            let views = [
                "SELECT concat_ws(' ', order_id, points, pending_points, matures_at) FROM points.purchases WHERE program_id = $program ORDER BY order_id",
                """
                SELECT concat_ws(' ', member_id, tier, available, pending, q_period, q_points, q_spend,
                                 coalesce(tier_before_upgrade, '-'), coalesce(tier_reached_period::text, '-'))
                FROM points.members WHERE program_id = $program ORDER BY member_id
                """,
                """
                SELECT concat_ws(' ', member_id, from_tier, to_tier, cause, period_start, qualifying_points, qualifying_spend_minor, occurred_at)
                FROM points.tier_changes WHERE program_id = $program ORDER BY member_id, change_id
                """,
                """
                SELECT concat_ws(' ', member_id, period_start, points, spend_minor) FROM points.qualifying_totals
                WHERE program_id = $program ORDER BY member_id, period_start
                """,
            ]
            for view in views {
                #expect(try rows(imported, view) == rows(single, view), "\(view)")
            }
            // The history crossed thresholds mid-file, so the test says something.
            #expect(try rows(single, "SELECT 1 FROM points.tier_changes WHERE program_id = $program").count >= 3)
            #expect(try await ledger.verify(single).isSound)
            #expect(try await ledger.verify(imported).isSound)
        }
    }
}
