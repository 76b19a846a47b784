import Foundation
import TestSupport
import Testing

/// `points-admin` never prints any part of the connection string it was given, and tells a
/// malformed one (exit 2) from a server it cannot reach (exit 3).
@Suite("points-admin keeps connection strings out of its output")
struct ConnectionCLITests {
    /// Stands in every test string where a password (or any other secret part) would.
    static let marker = "Zq7Secr3t"

    /// Runs `db status` with `url` and checks that the marker appears nowhere in its output.
    func status(_ url: String) throws -> CommandOutput {
        let output = try PointsAdminBinary.run(["db", "status", "--database-url", url])
        #expect(!(output.stdout + output.stderr).lowercased().contains(Self.marker.lowercased()), "\(url) printed: \(output.stderr)")
        return output
    }

    @Test func malformedStringsNameThePartWithoutQuotingIt() throws {
        let m = Self.marker
        let cases: [(url: String, says: String)] = [
            ("postgresql://u:\(m)%zz@localhost/db", "percent-encoding is invalid in the password"),
            ("postgresql://u:\(m)@localhost/db?passwort=\(m)", "option name libpq does not know"),
            ("postgresql://u:p@localhost/db?\(m)-option=1", "option name libpq does not know"),
            ("postgresql://u:\(m)@localhost/db?host=%ZZ\(m)", "percent-encoding is invalid in the value of \"host\""),
            ("postgresql://u:p@localhost/db?password=\(m)%00", "percent-encoding is invalid in the value of \"password\""),
            ("postgresql://u:p@localhost/\(m)%G1", "percent-encoding is invalid in the database name"),
            ("postgresql://\(m)%4@localhost/db", "percent-encoding is invalid in the user name"),
            ("postgresql://u:\(m)@[::1/db", "IPv6 address in the URI has no closing \"]\""),
            ("postgresql://u:\(m)@[]/db", "IPv6 address in the URI is empty"),
            ("postgresql://u:\(m)@[::1]\(m)/db", "IPv6 address in the URI (in \"[]\") is followed by"),
            ("postgresql://u:p@localhost/db?sslmode=require&\(m)", "has no \"=\""),
            ("postgresql://u:p@localhost/db?application_name=a=\(m)", "has a second \"=\""),
            ("user=x \(m)_without_equals", "not an option of the form keyword=value"),
            ("host=/tmp password=\(m) dbname", "\"dbname\" has no \"=\" after it"),
            ("host=/tmp password='\(m)", "a quoted value is not closed"),
            ("host=/tmp password=\(m) \(m)=1", "option name libpq does not know"),
            ("=\(m) password=\(m)", "an \"=\" has no option name before it"),
        ]
        try expectUsageErrors(cases, saying: "Invalid --database-url: the connection string is malformed: ")
    }

    /// Each URL makes `db status` exit 2 with a message that starts with `prefix` and says its case's words.
    func expectUsageErrors(_ cases: [(url: String, says: String)], saying prefix: String) throws {
        for (url, words) in cases {
            let output = try status(url)
            #expect(output.status == 2, "\(url): \(output.stderr)")
            #expect(output.stderr.hasPrefix(prefix), "\(url): \(output.stderr)")
            #expect(output.stderr.contains(words), "\(url): \(output.stderr)")
        }
    }

    @Test func malformedValuesExitTwoNamingTheOption() throws {
        let m = Self.marker
        let cases: [(url: String, says: String)] = [
            ("host=/nonexistent sslmode=bogus password=\(m)", "sslmode must be one of"),
            ("postgresql://u:\(m)@/db?host=/nonexistent&sslmode=\(m)", "sslmode must be one of"),
            ("host=/nonexistent port=99999 password=\(m)", "port must be a number from 1 to 65535"),
            ("postgresql://u:\(m)@localhost:99999/db", "port must be a number from 1 to 65535"),
            ("postgresql://u:p@localhost:\(m)/db", "port must be a number from 1 to 65535"),
            ("host=/a,/b port=1,2,3 password=\(m)", "port lists 3 ports for 2 hosts"),
            ("host=/nonexistent gssencmode=\(m)", "gssencmode must be one of"),
            ("host=/nonexistent target_session_attrs=\(m)", "target_session_attrs must be one of"),
            ("host=/nonexistent channel_binding=\(m)", "channel_binding must be one of"),
            ("host=/nonexistent connect_timeout=\(m)", "connect_timeout must be a whole number"),
            ("host=/nonexistent keepalives_idle=''", "keepalives_idle must be a whole number"),
            ("hostaddr=\(m) port=1", "hostaddr must be numeric IP addresses"),
            ("host=/nonexistent ssl_min_protocol_version=\(m)", "ssl_min_protocol_version must be one of"),
            ("host=/nonexistent ssl_min_protocol_version=TLSv1.3 ssl_max_protocol_version=tlsv1.2", "ssl_min_protocol_version is above"),
        ]
        try expectUsageErrors(cases, saying: "Invalid --database-url: the connection string's ")
    }

    @Test func anUnreachableServerIsReportedWithoutTheString() throws {
        let m = Self.marker
        for url in [
            "host=/nonexistent-\(m) dbname=\(m)db user=\(m)user password=\(m) application_name=\(m)app",
            "postgresql://\(m)user:\(m)@/\(m)db?host=/nonexistent-\(m)&port=5433",
        ] {
            let output = try status(url)
            #expect(output.status == 3, "\(url): \(output.stderr)")
            let lines = output.stderr.split(separator: "\n", maxSplits: 1)
            #expect(lines.first?.hasPrefix("Warning: --database-url holds a password") == true, "\(output.stderr)")
            #expect(lines.last?.hasPrefix("Cannot reach the database: connection to server on socket \"…\" failed: ") == true, "\(output.stderr)")
            #expect(!output.stderr.contains("5433"))
        }
    }
}
