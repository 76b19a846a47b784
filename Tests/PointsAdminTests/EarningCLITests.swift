import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// The earning commands, run as the built binary.
@Suite("points-admin: purchases, refunds, settings, jobs, import")
struct EarningCLITests {
    let cli = CLITests()

    @Test func settingsPurchasesRefundsAndViews() async throws {
        try await cli.withProgram { run, _ in
            let set = try run([
                "program", "set", "--earn-rate", "1.5", "--return-window-days", "7", "--expiry", "months 12", "--referral-bonus", "20",
                "--actor", "alice",
            ])
            #expect(set.status == 0)
            #expect(set.stdout.contains("earn rate       1.5 points per unit, rounded down\nreturn window   7 days\n"))
            #expect(try run(["member", "create", "m2", "--referrer", "m1"]).status == 0)
            let bought = try run(["purchase", "post", "--member", "m2", "--order", "o1", "--amount", "100.00", "--json"])
            #expect(bought.status == 0)
            let purchase = try JSONSerialization.jsonObject(with: Data(bought.stdout.utf8)) as! [String: Any]
            #expect(purchase["points"] as? Int == 150)
            #expect(purchase["pending"] as? Int == 150)
            #expect(purchase["referral_entry_id"] != nil)
            let refunded = try run(["purchase", "refund", "--order", "o1", "--refund", "r1", "--amount", "40.00"])
            #expect(refunded.status == 0)
            #expect(refunded.stdout.contains("clawed back 60 points from member m2.\nfrom pending     60\n"), "\(refunded.stdout)")
            // Beyond what is left of the order: refused (1), not malformed (2).
            let beyond = try run(["purchase", "refund", "--order", "o1", "--refund", "r2", "--amount", "60.01"])
            #expect(beyond.status == 1)
            #expect(beyond.stderr == "A refund of 60.01 is more than what is left of order o1: 60.00 of 100.00 (40.00 refunded).\n")
            let shown = try run(["member", "show", "m2"])
            #expect(shown.stdout.contains("pending points, by maturity:\norder  points  spendable from\n"))
            #expect(shown.stdout.contains("\no1         90  2"))
            let history = try run(["member", "history", "m2", "--json"])
            let page = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])
            let entries = try #require(page["items"] as? [[String: Any]])
            #expect(entries.map { $0["kind"] as? String } == ["refund", "purchase"] && page["next_cursor"] == nil)
            let referrer = try run(["member", "show", "m1", "--json"])
            let lots = (try JSONSerialization.jsonObject(with: Data(referrer.stdout.utf8)) as! [String: Any])["lots"] as! [[String: Any]]
            // The bonus lot expires (months 12), the seed grant's never does: the bonus is spent first.
            #expect(lots.map { $0["remaining"] as? Int } == [20, 100])
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    @Test func earningErrors() async throws {
        try await cli.withProgram { run, _ in
            let cases: [([String], Int32, String)] = [
                (["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "12.345"], 2,
                 "Invalid --amount: \"12.345\" has 3 decimals; the program's currency has 2.\n"),
                (["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "0"], 2, "Invalid amount: 0.00 must be more than zero.\n"),
                (["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "-3"], 2,
                 "Invalid --amount: \"-3\" is not an amount; write it like 12.34.\n"),
                (["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "10", "--at", "2026-13-01"], 2,
                 "Invalid --at: \"2026-13-01\" is not a time"),
                (["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "10", "--at", "2020-01-01"], 2,
                 "Invalid occurred at: 2020-01-01 00:00:00 +08:00 is older than the program's back-dating window of 7 days; "
                    + "loading history needs an explicit back-dating permission (--allow-backdated).\n"),
                (["purchase", "post", "--member", "ghost", "--order", "o1", "--amount", "10"], 1, "Member \"ghost\" does not exist"),
                (["purchase", "refund", "--order", "nope", "--refund", "r1", "--amount", "1"], 1,
                 "Order \"nope\" does not exist in this program.\n"),
                (["program", "set", "--earn-rate", "abc"], 2, "Invalid --earn-rate: \"abc\" is not a decimal number such as 1.25.\n"),
                (["program", "set", "--expiry", "weeks 2"], 2, "Invalid expiry: \"weeks 2\" is not an expiry policy"),
                (["program", "set", "--rounding", "sideways"], 2, "Invalid --rounding: \"sideways\" is not one of down, up, half_up, half_even.\n"),
                (["program", "set", "--return-window-days", "400"], 2, "Invalid return window: 400 days must be between 0 and 365.\n"),
                (["program", "set", "--earn-rate", "2", "--effective-at", "2020-01-01"], 2, "Invalid effective time: settings cannot take effect in the past"),
                (["program", "set"], 2, "Invalid settings: no setting was given to change.\n"),
                (["jobs", "expire", "--as-of", "2099-01-01"], 2, "Invalid as-of time:"),
                (["member", "create", "m9", "--referrer", "ghost"], 1, "Referrer \"ghost\" does not exist in this program.\n"),
            ]
            for (arguments, status, message) in cases {
                let output = try run(arguments)
                #expect(output.status == status, "\(arguments): \(output.stderr)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            }
            let purchases = try run(["member", "history", "m1"])
            #expect(!purchases.stdout.contains("purchase"))
        }
    }

    @Test func jobsReportWhatTheyDid() async throws {
        try await cli.withProgram { run, _ in
            let matured = try run(["jobs", "mature", "--json"])
            #expect(matured.status == 0)
            let summary = try JSONSerialization.jsonObject(with: Data(matured.stdout.utf8)) as! [String: Any]
            #expect(summary["items"] as? Int == 0)
            let expired = try run(["jobs", "expire"])
            #expect(expired.stdout.hasPrefix("expire as of "))
            #expect(expired.stdout.contains(": 0 lots expired, 0 points, 0 chunks committed in "))
        }
    }

    @Test func theReportIsWrittenIntoThePathNotOverIt() async throws {
        try await cli.withProgram { run, _ in
            // A report path that is a link (like /dev/null, a device) must be written through,
            // never replaced by a new file.
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let target = folder.appendingPathComponent("target.txt")
            let link = folder.appendingPathComponent("report.txt")
            try Data("old contents that are longer than the report\n".utf8).write(to: target)
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
            let input = folder.appendingPathComponent("in.csv")
            try Data("order_id,member,amount,occurred_at\nz1,m1,1.00,\(Timestamp.now)\n".utf8).write(to: input)
            let output = try run(["import", "purchases", input.path, "--report", link.path])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
            let report = try String(contentsOf: target, encoding: .utf8)
            #expect(report.hasPrefix("line 2: accepted order z1 entry "))
            #expect(!report.contains("old contents"))
        }
    }

    @Test func theJSONReportHasOneObjectALineWithTheReasonEscaped() async throws {
        try await cli.withProgram { run, _ in
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let input = folder.appendingPathComponent("in.jsonl")
            let now = Timestamp.now
            try Data("""
                {"order_id": "j\\"1", "member": "m1", "amount": "2.00", "occurred_at": "\(now)"}
                {"order_id": "j2", "member": "m1", "amount": "2.001", "occurred_at": "\(now)"}
                {"order_id": "j\\"1", "member": "m1", "amount": "2.00", "occurred_at": "\(now)"}

                """.utf8).write(to: input)
            let reportPath = folder.appendingPathComponent("report.jsonl").path
            let output = try run(["import", "purchases", input.path, "--report", reportPath, "--json"])
            #expect(output.status == 1, "\(output.stderr)")
            let lines = try String(contentsOfFile: reportPath, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 3)
            let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            #expect(objects[0]["status"] as? String == "accepted")
            #expect(objects[0]["order"] as? String == "j\"1")
            #expect(objects[0]["points"] as? Int == 2)
            #expect(objects[0]["entry_id"] is Int)
            #expect(objects[1]["status"] as? String == "rejected")
            #expect(objects[1]["line"] as? Int == 2)
            #expect((objects[1]["reason"] as? String)?.contains("has 3 decimals") == true)
            #expect(objects[1]["entry_id"] == nil)
            #expect(objects[2]["status"] as? String == "duplicate")
            // Keys sorted, no spaces: the form scripts can compare line by line.
            #expect(lines[1].hasPrefix(#"{"line":2,"order":"j2","reason":"#))
        }
    }

    @Test func anImportKilledHalfWayAndRunAgainPostsEachOrderOnce() async throws {
        try await cli.withProgram { run, configuration in
            let now = Timestamp.now.description
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString).jsonl")
            let lines = (1...30_000).map { #"{"order_id": "k\#($0)", "member": "m\#($0 % 500)", "amount": "9.99", "occurred_at": "\#(now)"}"# }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }

            let process = Process()
            process.executableURL = PointsAdminBinary.url
            process.arguments = ["import", "purchases", url.path, "--batch", "20", "--report", "/dev/null", "--database-url", run.databaseURL]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill it once some batches have committed, well before the end (small batches: many
            // commits, so a busy machine still sees one long before the last).
            var committed: Int64 = 0
            for _ in 0..<600 where committed == 0 {
                try await Task.sleep(for: .milliseconds(20))
                committed = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.purchases").single().decode(Int64.self, at: 0)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try await Self.waitForOtherSessionsToEnd(configuration)
            let partial = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.purchases").single().decode(Int64.self, at: 0)
            #expect(partial > 0)
            #expect(partial < 30_000)

            let rerun = try run(["import", "purchases", url.path, "--report", "/dev/null", "--json"])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            // With its report elsewhere, standard output is the summary's one line.
            #expect(rerun.stdout.split(separator: "\n").count == 1, "\(rerun.stdout)")
            let summary = (try JSONSerialization.jsonObject(with: Data(rerun.stdout.utf8)) as! [String: Any])["summary"] as! [String: Any]
            #expect(summary["accepted"] as? Int == 30_000 - Int(partial))
            #expect(summary["duplicates"] as? Int == Int(partial))
            let counts = try TestDatabase.sql(configuration, """
                SELECT count(*), count(DISTINCT idempotency_key) FROM points.journal_entries WHERE kind = 'purchase'
                """).single()
            #expect(try counts.decode(Int64.self, at: 0) == 30_000)
            #expect(try counts.decode(Int64.self, at: 1) == 30_000)
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    /// The history commands: a report line per line naming its key, and a grant file killed
    /// half-way and run again posts every grant once.
    @Test func historyImportsReportEachLineAndAKilledImportFinishesOnARerun() async throws {
        try await cli.withProgram { run, configuration in
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let redemptions = folder.appendingPathComponent("redemptions.csv")
            try Data("key,member,points,reason,occurred_at\nr1,m1,30,parking,2024-03-01\nr2,m1,500,parking,2024-03-02\n".utf8).write(to: redemptions)
            let refused = try run(["import", "redemptions", redemptions.path])
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stdout.contains("line 2: rejected key r1: Invalid occurred at:") && refused.stdout.contains("(--allow-backdated)"), "\(refused.stdout)")
            let redeemed = try run(["import", "redemptions", redemptions.path, "--allow-backdated"])
            #expect(redeemed.status == 1)
            #expect(redeemed.stdout.hasPrefix("line 2: accepted key r1 entry "), "\(redeemed.stdout)")
            #expect(redeemed.stdout.contains("line 3: rejected key r2: Member \"m1\" has 70 spendable points, fewer than the 500 requested\n"), "\(redeemed.stdout)")
            #expect(redeemed.stdout.contains("2 lines: 1 accepted (-30 points), 0 duplicates, 1 rejected"), "\(redeemed.stdout)")

            let members = folder.appendingPathComponent("members.csv")
            try Data((["order_id,member,amount,occurred_at"] + (0..<300).map { "p\($0),m\($0),1.00,\(Timestamp.now)" }).joined(separator: "\n").utf8)
                .write(to: members)
            #expect(try run(["import", "purchases", members.path, "--report", "/dev/null"]).status == 0)
            let url = folder.appendingPathComponent("grants.jsonl")
            let lines = (1...50_000).map {
                #"{"key": "open-\#($0)", "member": "m\#($0 % 300)", "points": 7, "reason": "opening balance", "occurred_at": "2024-01-01"}"#
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
            let process = Process()
            process.executableURL = PointsAdminBinary.url
            process.arguments = [
                "import", "adjustments", url.path, "--allow-backdated", "--batch", "50", "--connections", "1", "--report", "/dev/null",
                "--database-url", run.databaseURL,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            func grants() throws -> Int64 {
                try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries WHERE idempotency_key LIKE 'open-%'")
                    .single().decode(Int64.self, at: 0)
            }
            var committed: Int64 = 0
            for _ in 0..<600 where committed == 0 {
                try await Task.sleep(for: .milliseconds(20))
                committed = try grants()
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try await Self.waitForOtherSessionsToEnd(configuration)
            let partial = try grants()
            #expect(partial > 0 && partial < 50_000, "\(partial)")
            let rerun = try run(["import", "adjustments", url.path, "--allow-backdated", "--report", "/dev/null", "--json"])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            let summary = (try JSONSerialization.jsonObject(with: Data(rerun.stdout.utf8)) as! [String: Any])["summary"] as! [String: Any]
            #expect(summary["accepted"] as? Int == 50_000 - Int(partial))
            #expect(summary["duplicates"] as? Int == Int(partial))
            #expect(try grants() == 50_000)
            let total = try TestDatabase.sql(configuration, "SELECT sum(available) FROM points.members").single()
            let held = try total.decode(Int64.self, at: 0)
            // m1's 100 less the 30 it redeemed, a point a member from the purchases, and the grants.
            #expect(held == 70 + 300 + 50_000 * 7, "\(held)")
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    /// `import history`: a directory's files replayed in time order, report lines naming their
    /// file, a summary per file, nothing posted twice on a second run.
    @Test func aHistoryDirectoryReplaysInTimeOrder() async throws {
        try await cli.withProgram { run, _ in
            let folder = try temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let empty = try run(["import", "history", folder.path])
            #expect(empty.status == 2 && empty.stderr.contains("holds none of purchases.csv, refunds.csv, redemptions.csv, adjustments.csv, tasks.csv"),
                    "\(empty.stderr)")
            try Data("order_id,member,amount,occurred_at\no1,m2,50.00,2024-01-02 10:00\no2,m2,20.00,2024-01-01 09:00\n".utf8)
                .write(to: folder.appendingPathComponent("purchases.csv"))
            // The redemption comes after the purchase of the 2nd in time, though its file is read first in order of files.
            try Data(#"{"key": "r1", "member": "m2", "points": 40, "reason": "gift", "occurred_at": "2024-01-03"}"#.utf8)
                .write(to: folder.appendingPathComponent("redemptions.jsonl"))
            try Data("key,member,points,reason,occurred_at,expires_at\nopen-m2,m2,100,opening balance,2023-12-31 23:00,2026-12-31\n".utf8)
                .write(to: folder.appendingPathComponent("adjustments.csv"))
            let replay = try run(["import", "history", folder.path, "--allow-backdated"])
            #expect(replay.status == 1, "\(replay.stderr)")
            #expect(replay.stdout.contains("adjustments.csv line 2: accepted key open-m2 entry "), "\(replay.stdout)")
            #expect(replay.stdout.contains("purchases.csv line 2: accepted order o1 entry "), "\(replay.stdout)")
            #expect(replay.stdout.contains("purchases.csv line 3: rejected order o2: occurred_at is earlier than line 2's"), "\(replay.stdout)")
            #expect(replay.stdout.contains("redemptions.jsonl line 1: accepted key r1 entry "), "\(replay.stdout)")
            #expect(replay.stdout.contains("purchases.csv: 2 lines: 1 accepted (50 points), 0 duplicates, 1 rejected."), "\(replay.stdout)")
            let member = try JSONSerialization.jsonObject(with: Data(try run(["member", "show", "m2", "--json"]).stdout.utf8)) as? [String: Any]
            #expect(member?["available"] as? Int == 110, "\(String(describing: member))")
            let again = try run(["import", "history", folder.path, "--allow-backdated", "--json", "--report", "/dev/null"])
            let summary = (try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])?["summary"] as? [String: Any]
            let files = summary?["files"] as? [String: [String: Any]]
            #expect(files?.values.map { $0["accepted"] as? Int } == [0, 0, 0], "\(again.stdout)")
            #expect(files?["adjustments.csv"]?["duplicates"] as? Int == 1, "\(again.stdout)")
        }
    }

    /// The server may still be committing the batch whose COMMIT a killed client had sent: counts
    /// are taken once the killed client's session has ended.
    static func waitForOtherSessionsToEnd(_ configuration: ConnectionConfiguration) async throws {
        for _ in 0..<250 {
            let sessions = try TestDatabase.sql(configuration, """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                """).single().decode(Int64.self, at: 0)
            if sessions == 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A new, empty folder; the caller removes it.
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}
