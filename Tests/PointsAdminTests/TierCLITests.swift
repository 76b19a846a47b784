import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// The tier commands, run as the built binary.
@Suite("points-admin: tiers")
struct TierCLITests {
    let cli = CLITests()

    @Test func configureUpgradeShowAndEvaluate() async throws {
        try await cli.withProgram { run, _ in
            #expect(try run(["program", "set", "--downgrade", "requalify"]).stdout.contains("\ndowngrade       requalify\n"))
            let premium = try run(["tier", "set", "premium", "--entry-points", "5000", "--retain-points", "3000", "--multiplier", "2"])
            #expect(premium.status == 0, "\(premium.stderr)")
            let advanced = try run(["tier", "set", "advanced", "--entry-points", "1000", "--multiplier", "1.5"])
            #expect(advanced.stdout.contains("\nadvanced     1         1,000  -                    1,000  -             ×1.5                     0"))

            let crossing = try run(["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "1000.00"])
            #expect(crossing.stdout.contains("earned 1,000 points"), "\(crossing.stdout)")
            #expect(crossing.stdout.contains("Member m1 moved up to tier advanced.\n"))
            let shown = try run(["member", "show", "m1"])
            #expect(shown.stdout.contains(" advanced, reached this period: kept through the next\n"), "\(shown.stdout)")
            #expect(shown.stdout.contains("\nto reach premium  4,000 more points\n"), "\(shown.stdout)")
            #expect(shown.stdout.contains("\nqualifying        1,000 points, 1,000.00 spend\n"), "\(shown.stdout)")
            let json = try JSONSerialization.jsonObject(with: Data(try run(["member", "show", "m1", "--json"]).stdout.utf8)) as! [String: Any]
            #expect((json["tier_standing"] as? [String: Any])?["qualifying_points"] as? Int == 1000)

            let history = try run(["member", "tiers", "m1"])
            #expect(history.stdout.contains(" ordinary  advanced  upgrade  20"), "\(history.stdout)")
            let refund = try run(["purchase", "refund", "--order", "o1", "--refund", "r1", "--amount", "1.00"])
            #expect(refund.stdout.contains("The refund undid an upgrade of its period: member m1 is back in tier ordinary.\n"))
            let changes = try JSONSerialization.jsonObject(with: Data(try run(["member", "tiers", "m1", "--json"]).stdout.utf8)) as! [[String: Any]]
            #expect(changes.map { $0["cause"] as? String } == ["upgrade", "refund"])

            let granted = try run(["tier", "grant", "--member", "m1", "--tier", "premium", "--term", "quarter", "--actor", "ops"])
            #expect(granted.stdout.contains("Effective tier at its start: premium, was ordinary.\n"), "\(granted.stdout)")
            let overridden = try run(["tier", "override", "--member", "m1", "--tier", "advanced", "--reason", "support case 17", "--actor", "ops"])
            #expect(overridden.stdout == "Member m1: earned tier advanced, was ordinary.\n", "\(overridden.stdout)")
            let causes = try JSONSerialization.jsonObject(with: Data(try run(["member", "tiers", "m1", "--json"]).stdout.utf8)) as! [[String: Any]]
            #expect(causes.map { $0["cause"] as? String } == ["upgrade", "refund", "grant", "override"])
            #expect(causes.last?["reason"] as? String == "support case 17")

            let nothing = try run(["jobs", "tiers"])
            #expect(nothing.status == 0, "\(nothing.stderr)")
            #expect(nothing.stdout == "No period has ended since the last evaluation; nothing to evaluate.\n", "\(nothing.stdout)")
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    @Test func tierErrors() async throws {
        try await cli.withProgram { run, _ in
            let cases: [([String], Int32, String)] = [
                (["tier", "set", "advanced", "--entry-points", "9000"], 2,
                 "Invalid thresholds: tier premium needs more entry points than tier advanced (9000); thresholds rise with rank.\n"),
                (["tier", "set", "advanced", "--multiplier", "-1"], 2, "Invalid --multiplier: \"-1\" is not a decimal number such as 1.25.\n"),
                (["tier", "set", "advanced", "--multiplier", "1.23456"], 2, "Invalid multiplier: 1.23456 must be between 0 and 100 with at most 4 decimals.\n"),
                (["tier", "set", "gold", "--multiplier", "2"], 2, "Invalid tier: \"gold\" is not a tier of this program"),
                (["tier", "set", "advanced", "--entry-spend", "12.345"], 2, "Invalid --entry-spend:"),
                (["jobs", "tiers", "--period", "2026-Q5"], 2, "Invalid period: \"2026-Q5\" is not a period: write a year (2026), a quarter (2026-Q3) or a month (2026-07).\n"),
                (["jobs", "tiers", "--period", "2026-07"], 2, "Invalid period: 2026-07 is a month, but the program's tier period then is year.\n"),
                (["jobs", "tiers", "--period", "2099"], 2, "Invalid period: 2099 has not ended yet"),
                (["jobs", "tiers", "--period", "2001"], 2,
                 "Invalid period: 2001 is before the program's first period; there is nothing in it to evaluate.\n"),
                (["jobs", "tiers", "--period", "2026", "--as-of", "2026-01-01"], 2, "Error: Give --period or --as-of, not both."),
                (["program", "set", "--tier-period", "week"], 2, "Invalid --tier-period: \"week\" is not one of month, quarter, year.\n"),
                (["program", "set", "--tier-period", "month"], 2, "Invalid tier period: once the program has entries, the tier period changes only at the start of a year"),
                (["member", "tiers", "ghost"], 1, "Member \"ghost\" does not exist"),
                (["tier", "grant", "--member", "m1", "--tier", "premium", "--term", "week", "--actor", "ops"], 2,
                 "Invalid --term: \"week\" is not one of month, quarter, year.\n"),
                (["tier", "grant", "--member", "m1", "--tier", "gold", "--term", "year", "--actor", "ops"], 2,
                 "Invalid tier: \"gold\" is not a tier of this program; its tiers are ordinary, advanced, premium.\n"),
                (["tier", "override", "--member", "m1", "--tier", "premium", "--actor", "ops"], 2, "Error: Missing expected argument '--reason <text>'"),
                (["tier", "override", "--member", "m1", "--tier", "premium", "--reason", "x", "--until", "2020-01-01", "--actor", "ops"], 2,
                 "Invalid until: 2020-01-01 00:00:00 +08:00 is not in the future; an override ends later than now.\n"),
            ]
            for (arguments, status, message) in cases {
                let output = try run(arguments)
                #expect(output.status == status, "\(arguments): \(output.stderr)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            }
            #expect(try run(["member", "tiers", "m1"]).stdout == "Member m1 has never changed tier.\n")
        }
    }
}
