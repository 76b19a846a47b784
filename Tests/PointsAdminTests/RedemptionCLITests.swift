import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// The reward and redeem commands, run as the built binary.
@Suite("points-admin: rewards and redemption")
struct RedemptionCLITests {
    let cli = CLITests()

    @Test func catalogRedeemAndRefusals() async throws {
        try await cli.withProgram { run, _ in  // m1 has 100 points
            let set = try run(["reward", "set", "mug", "--name", "Coffee mug", "--cost", "30", "--stock", "2", "--limit-per-member", "5", "--actor", "ops"])
            #expect(set.status == 0, "\(set.stderr)")
            #expect(set.stdout.contains("\nmug     Coffee mug    30           2         0  -                  5  -     -\n"), "\(set.stdout)")
            let redeemed = try run(["redeem", "--member", "m1", "--reward", "mug", "--key", "r1"])
            #expect(redeemed.stdout == "Entry 2: member m1 spent 30 points on 1 × mug.\nspendable   70\nstock left  1\n", "\(redeemed.stdout)")
            #expect(try run(["redeem", "--member", "m1", "--reward", "mug", "--key", "r1"]).stdout.contains("was redeemed before (30 points)"))
            let spent = try run(["redeem", "--member", "m1", "--points", "5", "--reason", "parking", "--key", "s1", "--json"])
            #expect((try JSONSerialization.jsonObject(with: Data(spent.stdout.utf8)) as! [String: Any])["available"] as? Int == 65)
            let cases: [([String], Int32, String)] = [
                (["redeem", "--member", "m1", "--reward", "mug", "--quantity", "2", "--key", "r2"], 1, "Reward mug is out of stock: 1 left, 2 asked for.\n"),
                (["redeem", "--member", "m1", "--points", "70", "--reason", "x", "--key", "s2"], 1,
                 "Member \"m1\" has 65 spendable points, fewer than the 70 requested.\n"),
                (["redeem", "--member", "m1", "--reward", "mug", "--key", "r1", "--quantity", "3"], 1, "Idempotency conflict: key \"r1\""),
                (["redeem", "--member", "m1", "--reward", "vase", "--key", "r3"], 1,
                 "Reward \"vase\" does not exist in this program; `points-admin reward list` shows them.\n"),
                (["redeem", "--member", "m1", "--reward", "mug", "--quantity", "0", "--key", "r4"], 2, "Error: --quantity must be 1 or more, not 0."),
                (["redeem", "--member", "m1", "--points", "5", "--key", "r5"], 2, "Error: A spend without a reward needs --reason."),
                (["reward", "set", "vase", "--cost", "5", "--actor", "ops"], 2, "Invalid reward: \"vase\" is new: give its --name and --cost.\n"),
                (["reward", "set", "mug", "--cost", "-5", "--actor", "ops"], 2, "Invalid --cost: \"-5\" is not a whole number of points above 0.\n"),
                (["reward", "set", "mug", "--min-tier", "gold", "--actor", "ops"], 2, "Invalid tier: \"gold\" is not a tier of this program"),
                (["reward", "set", "mug", "--from", "2026-12-01", "--until", "2026-11-01", "--actor", "ops"], 2, "Invalid until:"),
            ]
            for (arguments, status, message) in cases {
                let output = try run(arguments)
                #expect(output.status == status, "\(arguments): \(output.stderr)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            }
            #expect(try run(["reward", "list"]).stdout.contains("\nmug     Coffee mug    30           1         1  "))
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }
}

extension RedemptionCLITests {
    @Test func holdCreateCaptureVoidAndExpire() async throws {
        try await cli.withProgram { run, _ in  // m1 has 100 points
            let created = try run(["hold", "create", "--member", "m1", "--points", "60", "--expires-in", "15m", "--key", "cart-1", "--json"])
            #expect(created.status == 0, "\(created.stderr)")
            let hold = (try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as! [String: Any])["hold_id"] as! Int
            #expect(try run(["member", "show", "m1"]).stdout.contains("\nspendable  40\n"))
            let capture = try run(["hold", "capture", "\(hold)", "--points", "45"])
            #expect(capture.stdout.hasPrefix("Hold \(hold) captured 45 of 60 points as entry "), "\(capture.stdout)")
            #expect(capture.stdout.contains("\nspendable  55\n"))
            let second = try run(["hold", "create", "--member", "m1", "--points", "10", "--expires-in", "1d", "--key", "cart-2", "--json"])
            let other = (try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as! [String: Any])["hold_id"] as! Int
            #expect(try run(["hold", "void", "\(other)"]).stdout.hasPrefix("Hold \(other) voided: 10 points released.\n"))
            let cases: [([String], Int32, String)] = [
                (["hold", "void", "\(hold)"], 1, "Hold \(hold) was captured (45 points); a hold resolves only once.\n"),
                (["hold", "capture", "\(other)"], 1, "Hold \(other) was voided; a hold resolves only once.\n"),
                (["hold", "create", "--member", "m1", "--points", "500", "--expires-in", "15m", "--key", "cart-3"], 1,
                 "Member \"m1\" has 55 spendable points, fewer than the 500 requested.\n"),
                (["hold", "create", "--member", "m1", "--points", "5", "--expires-in", "15 minutes", "--key", "cart-4"], 2,
                 "Invalid --expires-in: \"15 minutes\" is not a duration: write 90s, 15m, 2h or 1d.\n"),
                (["hold", "create", "--member", "m1", "--points", "5", "--expires-in", "31d", "--key", "cart-5"], 2,
                 "Invalid expires in: a hold lasts between 1 second and 30 days.\n"),
                (["hold", "capture", "424242"], 1, "Hold \"424242\" does not exist in this program.\n"),
            ]
            for (arguments, status, message) in cases {
                let output = try run(arguments)
                #expect(output.status == status, "\(arguments): \(output.stderr)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            }
            let job = try run(["jobs", "holds"])
            #expect(job.stdout.hasPrefix("holds as of "), "\(job.stdout)")
            #expect(job.stdout.contains(": 0 holds expired, 0 points"))
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }
}
