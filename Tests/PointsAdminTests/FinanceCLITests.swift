import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Finance's commands, run as the built binary: seal, reports, statements, exports, as the auditor.
@Suite("points-admin: finance")
struct FinanceCLITests {
    let cli = CLITests()

    /// The CLI connected as the auditor role (read-only), through the superuser's session.
    func auditor(_ run: CLITests.CLI) -> CLITests.CLI { acting(as: RoleNames.standard.auditor, run) }
    func writer(_ run: CLITests.CLI) -> CLITests.CLI { acting(as: RoleNames.standard.writer, run) }
    func acting(as role: String, _ run: CLITests.CLI) -> CLITests.CLI {
        CLITests.CLI(databaseURL: run.databaseURL + "&options=-c%20role%3D\(role)")
    }

    /// Issue 33, finding 4: ids and keys that would start a formula go out in CSV behind an
    /// apostrophe, in reports and in the journal's export; figures, negative ones too, as they are.
    @Test func csvThatFinanceOpensCannotRun() async throws {
        try await cli.withProgram { run, _ in  // m1 has 100 points
            let formula = "=cmd|' /C calc'!A0"
            #expect(try run(["member", "create", formula]).status == 0)
            #expect(try run(cli.grant(70, member: formula, key: "@key")).status == 0)
            #expect(try run(["adjust", "deduct", "--member", "m1", "--points", "30", "--reason", "x", "--actor", "ops", "--key=-d1"]).status == 0)
            let balances = try auditor(run)(["report", "balances", "--csv"])
            #expect(balances.status == 0 && balances.stdout.contains("\n'\(formula),70,0,0\n") && balances.stdout.contains("\nm1,70,0,0\n"), "\(balances.stdout)")
            let trial = try auditor(run)(["report", "trial-balance", "--csv"])
            #expect(trial.stdout.contains("\nissued,program,-170,") || trial.stdout.contains("\nadjustments,program,-140,"), "\(trial.stdout)")
            let journal = try auditor(run)(["export", "journal", "--format", "csv"])
            #expect(journal.stdout.contains(",'\(formula),adjustment.grant,adjustment,'@key,") && journal.stdout.contains(",m1,adjustment.deduct,adjustment,'-d1,"), "\(journal.stdout)")
            #expect(!journal.stdout.contains(",\(formula),") && !journal.stdout.contains(",@key,"))
        }
    }

    @Test func theHledgerExportOpensInHledgerWithTheLedgersBalances() async throws {
        try await cli.withProgram { run, configuration in  // m1 has 100 points
            #expect(try run(["member", "create", "ann smith;x"]).status == 0)
            #expect(try run(cli.grant(70, member: "ann smith;x", key: "g2")).status == 0)
            #expect(try run(["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "25.50"]).status == 0)
            #expect(try run(["redeem", "--member", "m1", "--points", "30", "--reason", "parking", "--key", "s1"]).status == 0)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hledger-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("points.journal").path
            // From after the first grant: its balance arrives as the opening transaction.
            let cut = try TestDatabase.sql(configuration, "SELECT min(occurred_at) + interval '1 microsecond' FROM points.journal_entries")
                .single().decode(Timestamp.self, at: 0)
            for from in [nil, cut] {
                let exported = try auditor(run)(["export", "journal", "--format", "hledger", "--output", file] + (from.map { ["--from", $0.description] } ?? []))
                #expect(exported.status == 0, "\(exported.stderr)")
                let hledger = Process()
                hledger.executableURL = URL(fileURLWithPath: "/usr/bin/hledger")
                hledger.arguments = ["-f", file, "balance", "--flat", "--no-total", "-O", "csv"]
                let out = Pipe()
                let err = Pipe()
                hledger.standardOutput = out
                hledger.standardError = err
                try hledger.run()
                let csv = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                hledger.waitUntilExit()
                #expect(hledger.terminationStatus == 0, "\(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
                let balances = Dictionary(uniqueKeysWithValues: csv.split(separator: "\n").dropFirst().map { line in
                    let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                    return (fields[0], Int64(fields[1].replacingOccurrences(of: " pts", with: ""))!)
                })
                let ledger = try TestDatabase.sql(configuration, """
                    SELECT 'members:' || replace(replace(member_id, ' ', '%20'), ';', '%3B') || ':available', available FROM points.members WHERE available <> 0
                    UNION ALL SELECT 'program:' || a, sum(b)::bigint FROM points.members,
                        LATERAL (VALUES ('issued', issued), ('redeemed', redeemed), ('adjustments', adjustments)) AS x(a, b) GROUP BY a HAVING sum(b) <> 0
                    """).map { (try $0.decode(String.self, at: 0), try $0.decode(Int64.self, at: 1)) }
                #expect(balances == Dictionary(uniqueKeysWithValues: ledger), "\(csv)")
            }
            // Other formats, and the rest of finance's commands, as the auditor.
            let jsonl = try auditor(run)(["export", "journal", "--format", "jsonl"])
            #expect(jsonl.status == 0 && jsonl.stdout.split(separator: "\n").count == 4, "\(jsonl.stderr)")
            let csvExport = try auditor(run)(["export", "journal", "--format", "csv"])
            #expect(csvExport.stdout.hasPrefix("entry_id,occurred_at,recorded_at,member,kind,key_scope,key,account,amount\n"))
            #expect(csvExport.stdout.split(separator: "\n").count == 9)
            let html = directory.appendingPathComponent("liability.html").path
            for command in [
                ["report", "trial-balance"], ["report", "balances", "--as-of", "2099-01-01", "--csv"], ["report", "liability", "--html", html],
                ["report", "balances", "--csv"], ["report", "balances", "--as-of", "now"], ["report", "trial-balance", "--as-of", "NOW"],
                ["report", "tiers"], ["report", "tiers", "--as-of", "now", "--csv"], ["report", "breakage", "--from", "2020-01-01", "--csv"],
                ["report", "breakage", "--from", "2020-01-01"], ["member", "statement", "m1", "--from", "2020-01-01"], ["audit", "verify"],
            ] {
                let output = try auditor(run)(command)
                #expect(command[2...].contains("2099-01-01") ? output.status == 2 : output.status == 0, "\(command): \(output.stderr)")
            }
            // Rows that start with empty cells keep their columns: the opening balance sits under its heading.
            let statement = try run(["member", "statement", "m1", "--from", "2020-01-01"]).stdout.split(separator: "\n")
            let heading = statement[1].range(of: "kind")!.lowerBound.utf16Offset(in: statement[1])
            #expect(statement[3].range(of: "opening balance")?.lowerBound.utf16Offset(in: statement[3]) == heading, "\(statement)")
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(page.contains("<svg") && page.contains("Tier mix") && !page.contains("http://") == false)
            #expect(!page.contains("<script") && !page.contains("src="))
            let tiers = try auditor(run)(["report", "tiers", "--csv"])
            #expect(tiers.stdout.hasPrefix("tier,earned,effective,points_min,points_p25,points_median,points_p75,points_max,spend_min,"), "\(tiers.stdout)")
            #expect(tiers.stdout.contains("\nordinary,"), "\(tiers.stdout)")
            let trial = try auditor(run)(["report", "trial-balance", "--csv"])
            #expect(trial.stdout.hasPrefix("account,side,balance,received,given\n"), "\(trial.stdout)")
            let liability = try auditor(run)(["report", "liability", "--json"])
            #expect((try JSONSerialization.jsonObject(with: Data(liability.stdout.utf8)) as! [String: Any])["available"] as? Int == 165)
            // Sealing is finance's (or the owner's), never the writer's.
            let refused = try writer(run)(["jobs", "seal"])
            #expect(refused.status == 1 && refused.stderr.contains("Permission denied"), "\(refused.stderr)")
            let sealed = try auditor(run)(["jobs", "seal"])
            #expect(sealed.stdout.hasPrefix("Sealed 4 entries (8 postings) into 1 blocks"), "\(sealed.stdout)")
            let head = String(sealed.stdout.split(separator: " ").last!.dropLast())
            #expect(try auditor(run)(["audit", "verify", "--head", head]).status == 0)
        }
    }

    @Test func badInputIsRefusedAndNothingIsHalfWritten() async throws {
        try await cli.withProgram { run, _ in
            let cases: [([String], String)] = [
                (["report", "balances", "--as-of", "2099-01-01"], "Invalid --as-of: 2099-01-01 00:00:00 +08:00 is in the future"),
                (["report", "liability", "--as-of", "2001-01-01"], "Invalid --as-of: 2001-01-01 00:00:00 +08:00 is before program default existed"),
                (["report", "breakage", "--from", "2026-02-01", "--to", "2026-01-01"], "Invalid --from: 2026-02-01 00:00:00 +08:00 is not before --to 2026-01-01 00:00:00 +08:00"),
                (["export", "journal", "--format", "xml"], "Invalid --format: \"xml\" is not one of csv, jsonl, hledger"),
                (["export", "journal", "--format", "csv", "--output", "/nonexistent/dir/out.csv"], "Invalid --output: cannot write /nonexistent/dir/out.csv"),
                (["member", "statement", "ghost", "--from", "2026-01-01"], "Member \"ghost\""),
            ]
            for (arguments, message) in cases {
                let output = try run(arguments)
                #expect(output.status != 0, "\(arguments)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent/dir/out.csv"))
        }
    }
}
