import Foundation
import Postgres
import TestSupport
import Testing

/// `points-admin` takes a password from `--password-file`, `PGPASSWORD` or `~/.pgpass`, and warns
/// when one sits in `--database-url`, where `ps` shows it.
///
/// The test server trusts local connections but those of the role `points_password_probe`
/// (`Scripts/dev-db.sh`), which must give its password: a command that connects as that role shows
/// that the password reached the server.
@Suite("points-admin takes the password from a file, PGPASSWORD or ~/.pgpass")
struct PasswordCLITests {
    static let role = "points_password_probe"
    static let password = "probe-Zq7Secr3t"

    /// A folder of its own for the files a test writes.
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("points-password-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Writes `bytes` to a file of the folder, readable by its owner only (as libpq asks of ~/.pgpass).
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        return path
    }

    /// Runs `db status` with nothing but what it is given to find a password in: no PGPASSWORD,
    /// no ~/.pgpass (unless `environment` names them).
    func status(_ url: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> CommandOutput {
        var variables = ["PGPASSWORD": "", "PGPASSFILE": folder.appendingPathComponent("no-such-pgpass").path]
        variables.merge(environment) { $1 }
        let output = try PointsAdminBinary.run(["db", "status", "--database-url", url] + extra, environment: variables)
        #expect(!(output.stdout + output.stderr).contains(Self.password), "\(output.stderr)")
        return output
    }

    @Test func unusablePasswordFilesAreUsageErrorsNamingTheOption() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(path: String, problem: String)] = [
            (folder.appendingPathComponent("missing").path, "cannot be read (No such file or directory)"),
            (folder.path, "is a directory"),
            (try file("empty", []), "is empty"),
            (try file("newline", Array("\n".utf8)), "is empty"),
            (try file("crlf", Array("\r\n".utf8)), "is empty"),
            (try file("two-lines", Array("\(Self.password)\nsecond\n".utf8)), "has more than one line"),
            (try file("two-crlf-lines", Array("\(Self.password)\r\nsecond".utf8)), "has more than one line"),
            (try file("nul", Array(Self.password.utf8) + [0, 0x41]), "holds a NUL byte, which no password can"),
        ]
        for (path, problem) in cases {
            let output = try status("host=/nonexistent", ["--password-file", path])
            #expect(output.status == 2, "\(path): \(output.stderr)")
            #expect(output.stderr == "Invalid --password-file: \(path) \(problem); give a file that holds only the password, on one line.\n")
        }
    }

    @Test func aPasswordReachesTheServerFromEachSafePlace() async throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        try await TestDatabase.withEmpty { configuration in
            try TestDatabase.sql(configuration, """
                DO $$ BEGIN CREATE ROLE \(unsafeSQL: Self.role) LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$
                """)
            try TestDatabase.sql(configuration, "ALTER ROLE \(unsafeSQL: Self.role) PASSWORD \(unsafeSQL: quoteLiteral(Self.password))")
            let database = try TestDatabase.sql(configuration, "SELECT current_database()").single().decode(String.self, at: 0)
            let url = probeURL(database)

            // Without a password the server refuses the role: what follows connects only with one.
            let none = try status(url)
            #expect(none.status == 3)
            #expect(none.stderr.contains("no password supplied"), "\(none.stderr)")

            let wrong = try status(url, ["--password-file", try file("wrong", Array("not-the-password\n".utf8))])
            #expect(wrong.status == 3)
            #expect(wrong.stderr.contains("password authentication failed for user \"…\""), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains(Self.role) && !wrong.stderr.contains("not-the-password"))

            for ending in ["", "\n", "\r\n"] {
                let fromFile = try status(url, ["--password-file", try file("right\(ending.count)", Array((Self.password + ending).utf8))])
                #expect(fromFile.status == 0, "\(fromFile.stderr)")
                #expect(fromFile.stderr == "")
            }
            let fromVariable = try status(url, environment: ["PGPASSWORD": Self.password])
            #expect(fromVariable.status == 0, "\(fromVariable.stderr)")
            let pgpass = try file("pgpass", Array("*:*:*:\(Self.role):\(Self.password)\n".utf8))
            let fromPgpass = try status(url, environment: ["PGPASSFILE": pgpass])
            #expect(fromPgpass.status == 0, "\(fromPgpass.stderr)")

            // A password in the URL works, with one warning; a file's password overrides it.
            let warning = "Warning: --database-url holds a password, which other users of this machine can see with `ps`; "
                + "pass it with --password-file PATH, the PGPASSWORD environment variable or a ~/.pgpass file instead.\n"
            let inURL = try status(probeURL(database, password: Self.password))
            #expect(inURL.status == 0, "\(inURL.stderr)")
            #expect(inURL.stderr == warning)
            let overridden = try status(probeURL(database, password: "stale"), ["--password-file", try file("right", Array(Self.password.utf8))])
            #expect(overridden.status == 0, "\(overridden.stderr)")
            #expect(overridden.stderr == warning)
        }
        try TestDatabase.sql(TestDatabase.server, "DROP ROLE IF EXISTS \(unsafeSQL: Self.role)")
    }

    /// The test server's URL for `database`, as the probe role (with `password` in it, if given).
    func probeURL(_ database: String, password: String? = nil) -> String {
        let server = TestDatabase.serverURL
        guard !server.isEmpty else { return "dbname=\(database) user=\(Self.role)" + (password.map { " password=\($0)" } ?? "") }
        return server.replacingOccurrences(of: "postgresql:///postgres?", with: "postgresql:///\(database)?")
            + "&user=\(Self.role)" + (password.map { "&password=\($0)" } ?? "")
    }
}
