import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// `points-admin`, run as the built binary, for every command and each of its errors.
@Suite("points-admin, as a user runs it")
struct CLITests {
    /// A database URL for the test database `configuration` names.
    func url(_ database: String) -> String {
        let server = TestDatabase.serverURL
        guard !server.isEmpty else { return "dbname=\(database)" }
        return server.replacingOccurrences(of: "postgresql:///postgres?", with: "postgresql:///\(database)?")
    }

    func database(_ configuration: ConnectionConfiguration) throws -> String {
        try TestDatabase.sql(configuration, "SELECT current_database()").single().decode(String.self, at: 0)
    }

    /// The CLI pointed at one test database.
    struct CLI {
        let databaseURL: String

        func callAsFunction(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandOutput {
            try PointsAdminBinary.run(arguments + ["--database-url", databaseURL], environment: environment)
        }
    }

    /// Runs the CLI against a fresh empty database, then drops it.
    func withCLI(_ body: (CLI, ConnectionConfiguration) async throws -> Void) async throws {
        try await TestDatabase.withEmpty { configuration in
            try await body(CLI(databaseURL: url(try database(configuration))), configuration)
        }
    }

    /// Runs the CLI against a migrated database with program `default` and member `m1` holding 100 points.
    func withProgram(_ body: (CLI, ConnectionConfiguration) async throws -> Void) async throws {
        try await withCLI { run, configuration in
            #expect(try run(["db", "migrate"]).status == 0)
            #expect(try run(["program", "create", "default", "--currency", "CNY", "--actor", "tests"]).status == 0)
            // Readied to load history: its settings in force since 2000, so writes may be dated back to then.
            #expect(try run(["program", "set", "--backdate-days", "7", "--effective-at", "2000-01-01", "--actor", "tests"]).status == 0)
            #expect(try run(["member", "create", "m1"]).status == 0)
            #expect(try run(grant(100, key: "seed")).status == 0)
            try await body(run, configuration)
        }
    }

    func grant(_ points: Int64, member: String = "m1", key: String) -> [String] {
        ["adjust", "grant", "--member", member, "--points", "\(points)", "--reason", "welcome", "--actor", "alice", "--key", key]
    }

    func entryCount(_ configuration: ConnectionConfiguration) throws -> Int64 {
        try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries").single().decode(Int64.self, at: 0)
    }

    @Test func migrateAndStatus() async throws {
        let files = Migration.all.map(\.fileName)
        let width = files.map(\.count).max()!
        // Columns as the table prints them: padded to their widest cell, two spaces apart, no trailing space.
        func row(_ cells: String...) -> String {
            zip(cells, [7, width, 7, 10]).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression)
        }
        try await withCLI { run, _ in
            let pending = try run(["db", "status"])
            #expect(pending.status == 0)
            let expected = [row("version", "file", "state", "applied at"), row("-------", String(repeating: "-", count: width), "-------", "----------")]
                + Migration.all.map { row(String(format: "%04d", $0.version), $0.fileName, "pending") }
            #expect(pending.stdout == expected.joined(separator: "\n") + "\n")
            let migrated = try run(["db", "migrate"])
            #expect(migrated.status == 0)
            #expect(migrated.stdout == files.map { "applied \($0)\n" }.joined() + "\(files.count) migration\(files.count == 1 ? "" : "s") applied.\n")
            #expect(try run(["db", "migrate"]).stdout == "The database is up to date; no migration was pending.\n")
            let status = try run(["db", "status", "--json"])
            let decoded = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [[String: Any]]
            #expect(decoded.map { $0["state"] as? String } == Array(repeating: "applied", count: files.count))
        }
    }

    @Test func anEditedMigrationIsRefused() async throws {
        try await withCLI { run, configuration in
            #expect(try run(["db", "migrate"]).status == 0)
            try TestDatabase.sql(configuration, "UPDATE points_meta.schema_migrations SET checksum = 'x' WHERE version = 1")
            let refused = try run(["db", "migrate"])
            #expect(refused.status == 1)
            #expect(refused.stderr == "Migration \(Migration.all[0].fileName) was edited after it was applied; restore the file and add a new migration for the change.\n")
        }
    }

    @Test func programCreateAndShow() async throws {
        try await withCLI { run, _ in
            #expect(try run(["db", "migrate"]).status == 0)
            let created = try run(["program", "create", "default", "--currency", "CNY", "--actor", "tests"])
            #expect(created.status == 0)
            #expect(created.stdout.hasPrefix("Created program default.\nprogram    default\ncurrency   CNY (2 decimals)\ntime zone  Asia/Shanghai\ntiers      ordinary, advanced, premium\n"))
            let again = try run(["program", "create", "default", "--currency", "CNY", "--actor", "tests"])
            #expect(again.status == 0)
            #expect(again.stdout.hasPrefix("Program default already exists with these settings; nothing changed.\n"))
            let shown = try run(["program", "show", "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as! [String: Any]
            #expect(json["program"] as? String == "default")
            #expect(json["currency"] as? String == "CNY")
            #expect(json["time_zone"] as? String == "Asia/Shanghai")
            #expect(json["tiers"] as? [String] == ["ordinary", "advanced", "premium"])
        }
    }

    @Test func programErrors() async throws {
        try await withCLI { run, _ in
            #expect(try run(["db", "migrate"]).status == 0)
            #expect(try run(["program", "create", "default", "--currency", "CNY"]).status == 0)
            let conflict = try run(["program", "create", "default", "--currency", "USD"])
            #expect(conflict.status == 1)
            #expect(conflict.stderr == "Program \"default\" already exists with currency CNY and time zone Asia/Shanghai; choose another name.\n")
            let currency = try run(["program", "create", "p2", "--currency", "XYZ"])
            #expect(currency.status == 2)
            #expect(currency.stderr == "Invalid currency: XYZ is not a currency the ledger knows.\n")
            let zone = try run(["program", "create", "p2", "--currency", "USD", "--time-zone", "Mars/Base"])
            #expect(zone.status == 2)
            #expect(zone.stderr == "Invalid time zone: \"Mars/Base\" is not an IANA time zone name such as Asia/Shanghai.\n")
            let missing = try run(["program", "show", "nope"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "Program \"nope\" does not exist; create it with `points-admin program create nope --currency CNY`.\n")
            let usage = try run(["program", "create", "p2"])
            #expect(usage.status == 2)
            #expect(usage.stderr.hasPrefix("Error: Missing expected argument '--currency <code>'"))
        }
    }

    @Test func memberCreateAndShow() async throws {
        try await withProgram { run, _ in
            let shown = try run(["member", "show", "m1", "--json"])
            #expect(shown.status == 0)
            let json = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as! [String: Any]
            #expect(json["member"] as? String == "m1")
            #expect(json["available"] as? Int == 100)
            #expect(json["pending"] as? Int == 0)
            #expect(json["held"] as? Int == 0)
            #expect(json["spendable"] as? Int == 100)
            #expect(json["tier"] as? String == "ordinary")
            let table = try run(["member", "show", "m1"])
            #expect(table.stdout.hasPrefix("member     m1\ntier       ordinary\navailable  100\npending    0\nheld       0\nspendable  100\ncreated    "))
            let again = try run(["member", "create", "m1"])
            #expect(again.status == 0)
            #expect(again.stdout.hasPrefix("Member m1 already exists in program default; nothing changed.\n"))
            let unknown = try run(["member", "show", "ghost"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr == "Member \"ghost\" does not exist in this program; create it with `points-admin member create ghost`.\n")
            let otherProgram = try run(["member", "show", "m1", "--program", "elsewhere"])
            #expect(otherProgram.status == 1)
            #expect(otherProgram.stderr.hasPrefix("Program \"elsewhere\" does not exist"))
        }
    }

    @Test func grantDeductAndReplay() async throws {
        try await withProgram { run, configuration in
            let deducted = try run(["adjust", "deduct", "--member", "m1", "--points", "30", "--reason", "gift", "--actor", "alice", "--key", "d1"])
            #expect(deducted.status == 0)
            #expect(deducted.stdout.contains("deducted 30 points, member m1.\navailable  70\nheld       0\nspendable  70\n"))
            let replay = try run(["adjust", "deduct", "--member", "m1", "--points", "30", "--reason", "gift", "--actor", "alice", "--key", "d1", "--json"])
            #expect(replay.status == 0)
            let json = try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as! [String: Any]
            #expect(json["outcome"] as? String == "replayed")
            #expect(json["available"] as? Int == 70)
            #expect(json["points"] as? Int == -30)
            #expect(try entryCount(configuration) == 2)
        }
    }

    @Test func grantsRedemptionsAndCheckInsOfThePastKeepTheirTimes() async throws {
        try await withProgram { run, _ in
            func available(asOf: String) throws -> Int? {
                let report = try run(["report", "trial-balance", "--as-of", asOf, "--json"])
                let lines = (try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])?["lines"] as? [[String: Any]]
                return lines?.first { $0["account"] as? String == "available" }?["balance"] as? Int
            }
            let opening = ["adjust", "grant", "--member", "m1", "--points", "400", "--reason", "opening balance", "--actor", "migration",
                           "--key", "open-m1", "--at", "2024-03-01"]
            let refused = try run(opening)
            #expect(refused.status == 2 && refused.stderr.hasPrefix(
                "Invalid occurred at: 2024-03-01 00:00:00 +08:00 is older than the program's back-dating window of 7 days; "
                    + "loading history needs an explicit back-dating permission (--allow-backdated).\n"), "\(refused.stderr)")
            let badExpiry = try run(opening + ["--allow-backdated", "--expires-at", "2024-02-01"])
            #expect(badExpiry.status == 2 && badExpiry.stderr.hasPrefix("Invalid expires at: 2024-02-01 00:00:00 +08:00 is not after the grant's time 2024-03-01 00:00:00 +08:00"), "\(badExpiry.stderr)")
            #expect(try run(opening + ["--allow-backdated", "--expires-at", "2030-01-01"]).status == 0)
            let redeemed = try run(["redeem", "--member", "m1", "--points", "150", "--reason", "gift card", "--key", "r1",
                                    "--at", "2024-05-01", "--allow-backdated"])
            #expect(redeemed.status == 0, "\(redeemed.stderr)")
            #expect(try run(["adjust", "deduct", "--member", "m1", "--points", "50", "--reason", "correction", "--actor", "migration",
                             "--key", "fix-m1", "--at", "2024-06-01", "--allow-backdated"]).status == 0)
            let checkin = try run(["task", "complete", "checkin", "--member", "m1", "--at", "2024-06-02 09:00", "--allow-backdated"])
            #expect(checkin.status == 0 && checkin.stdout.contains("on 2024-06-02 earned 5 points"), "\(checkin.stdout)\(checkin.stderr)")
            #expect(try available(asOf: "2024-04-01") == 400)
            #expect(try available(asOf: "2024-05-15") == 250)
            #expect(try available(asOf: "2024-07-01") == 205)
            #expect(try available(asOf: "now") == 305)
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    @Test func adjustmentErrorsLeaveTheDatabaseAsItWas() async throws {
        try await withProgram { run, configuration in
            let cases: [([String], Int32, String)] = [
                (grant(100, member: "ghost", key: "k"), 1,
                 "Member \"ghost\" does not exist in this program; create it with `points-admin member create ghost`.\n"),
                (grant(5, key: "seed"), 1,
                 "Idempotency conflict: key \"seed\" was already used by entry 1 with different content; use a new key for a new operation.\n"),
                (["adjust", "deduct", "--member", "m1", "--points", "500", "--reason", "r", "--actor", "a", "--key", "k"], 1,
                 "Member \"m1\" has 100 spendable points, fewer than the 500 requested.\n"),
                (grant(Int64.max, key: "huge"), 1, "The amount would take a balance out of range; use a smaller number.\n"),
                (["adjust", "grant", "--member", "m1", "--points", "0", "--reason", "r", "--actor", "a", "--key", "k"], 2,
                 "Error: --points must be a positive whole number of points, not 0.\n"),
                (["adjust", "grant", "--member", "m1", "--points", "-5", "--reason", "r", "--actor", "a", "--key", "k"], 2,
                 "Error: The value '-5' is invalid for '--points <n>': \"-5\" is not a whole number written with digits only, such as 12\n"),
                (["adjust", "grant", "--member", "m1", "--points", "1.5", "--reason", "r", "--actor", "a", "--key", "k"], 2,
                 "Error: The value '1.5' is invalid for '--points <n>': \"1.5\" is not a whole number written with digits only, such as 12\n"),
                (["adjust", "grant", "--member", "m1", "--points", "99999999999999999999", "--reason", "r", "--actor", "a", "--key", "k"], 2,
                 "Error: The value '99999999999999999999' is invalid for '--points <n>': \"99999999999999999999\" is more than the largest whole number this takes, 9223372036854775807\n"),
                (["adjust", "grant", "--member", "m1", "--points", "5", "--reason", " ", "--actor", "a", "--key", "k"], 2,
                 "Invalid reason: it is empty; say it in a few words.\n"),
                (["adjust", "grant", "--member", "m1", "--points", "5", "--reason", "r", "--actor", "a", "--key", "k", "--program", "nope"], 1,
                 "Program \"nope\" does not exist; create it with `points-admin program create nope --currency CNY`.\n"),
            ]
            for (arguments, status, message) in cases {
                let output = try run(arguments)
                #expect(output.status == status, "\(arguments)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
                #expect(output.stdout.isEmpty, "\(arguments)")
            }
            #expect(try entryCount(configuration) == 1)
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    @Test func auditVerifyPassesThenNamesWhatIsWrong() async throws {
        try await withProgram { run, configuration in
            let sound = try run(["audit", "verify"])
            #expect(sound.status == 0)
            #expect(sound.stdout == """
                program           default
                members           1
                entries           1
                movements         1
                sum of balances   0
                sealed            nothing yet (run jobs seal)
                unsealed entries  1
                Verified: every balance equals its movements, the program sums to zero, \
                lots, pending and held points agree, and every sealed block still holds what was sealed.

                """)
            try TestDatabase.sql(configuration, as: "points_owner", "UPDATE points.movements SET amount = 90")
            let broken = try run(["audit", "verify"])
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("FAILED: 2 problem(s):\n"), "\(broken.stdout)")
            #expect(broken.stdout.contains("- member m1 account adjustments stores -100 but its movements sum to -90\n"))
            #expect(broken.stdout.contains("- member m1 account available stores 100 but its movements sum to 90\n"))
            let json = try run(["audit", "verify", "--json"])
            #expect(json.status == 1)
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
            #expect((report["problems"] as? [Any])?.count == 2)
        }
    }

    @Test func apiKeysAreMadeListedAndRevokedAndTheSecretIsShownOnce() async throws {
        try await withProgram { run, configuration in
            let made = try run(["api-key", "create", "--role", "checkout", "--name", "checkout of store 12", "--actor", "ops"])
            #expect(made.status == 0, "\(made.stderr)")
            let secret = try #require(made.stdout.split(separator: "\n").first { $0.hasPrefix("secret") }?.split(separator: " ").last)
            #expect(secret.count == 68 && secret.hasPrefix("plk_"))
            #expect(made.stdout.contains("it is shown only this once"))
            let listed = try run(["api-key", "list"])
            #expect(listed.status == 0 && listed.stdout.contains("checkout of store 12") && listed.stdout.contains("in force"))
            let json = try run(["api-key", "list", "--json"])
            #expect(!json.stdout.contains(String(secret.dropFirst(4))) && !listed.stdout.contains(String(secret.dropFirst(4))))
            #expect(try run(["api-key", "create", "--role", "cashier", "--name", "x", "--actor", "ops"]).stderr
                .hasPrefix("Invalid --role: \"cashier\" is not a role: use checkout, app or finance."))
            let revoked = try run(["api-key", "revoke", "1", "--actor", "security"])
            #expect(revoked.status == 0 && revoked.stdout.hasPrefix("Key 1 (checkout, checkout of store 12) is revoked since "))
            let unknown = try run(["api-key", "revoke", "7", "--actor", "security"])
            #expect(unknown.status == 1 && unknown.stderr.hasPrefix("API key \"7\" does not exist in this program."), "\(unknown.stderr)")
        }
    }

    @Test func connectionProblemsGetTheirOwnExitCodes() throws {
        let unreachable = try PointsAdminBinary.run(["member", "show", "m1", "--database-url", "host=/nonexistent-socket-dir dbname=x password=hunter2"])
        #expect(unreachable.status == 3)
        #expect(unreachable.stderr.hasPrefix("Warning: --database-url holds a password"))
        #expect(unreachable.stderr.contains("\nCannot reach the database: "))
        #expect(!unreachable.stderr.contains("hunter2"))
        let malformed = try PointsAdminBinary.run(["member", "show", "m1", "--database-url", "host=/tmp password=hunter2 oops"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.hasPrefix("Invalid --database-url: the connection string is malformed: "))
        #expect(!malformed.stderr.contains("hunter2"))
    }

    @Test func anUnmigratedDatabaseSaysWhatToRun() async throws {
        try await withCLI { run, _ in
            let output = try run(["program", "show", "default"])
            #expect(output.status == 1)
            #expect(output.stderr == "The database has no PointsLedger schema; run `points-admin db migrate` first.\n")
        }
    }

    @Test func usageErrorsAndHelp() throws {
        let unknown = try PointsAdminBinary.run(["frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("Error: Unexpected argument 'frobnicate'"))
        let help = try PointsAdminBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("SUBCOMMANDS:"))
        #expect(help.stdout.contains("adjust"))
    }

    @Test func theEnvironmentVariablesAreUsedWithoutAURL() async throws {
        try await withCLI { run, configuration in
            #expect(try run(["db", "migrate"]).status == 0)
            let name = try database(configuration)
            var environment = ["PGDATABASE": name]
            if let host = TestDatabase.serverURL.split(separator: "host=").last?.split(separator: "&").first {
                environment["PGHOST"] = String(host)
                environment["PGUSER"] = "postgres"
            }
            let output = try PointsAdminBinary.run(["db", "status"], environment: environment)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains("applied"))
        }
    }
}
