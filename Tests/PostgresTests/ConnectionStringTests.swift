import Foundation
@testable import Postgres
import TestSupport
import Testing

@Suite("Connection strings: checked before connecting, never quoted in an error")
struct ConnectionStringTests {
    /// Stands in every test string where a password (or any other secret part) would.
    static let marker = "Zq7Secr3t"

    /// The error `text` is refused with, or nil (recorded as an issue) when it is accepted.
    func refusal(_ text: String) -> PostgresError? {
        do {
            _ = try ConnectionConfiguration(text)
            Issue.record("accepted \(text)")
            return nil
        } catch {
            #expect(error.kind == .invalidConfiguration)
            #expect(!error.debugDescription.contains(Self.marker), "\(text): \(error.message)")
            return error
        }
    }

    @Test func optionValuesAreCheckedAsLibpqChecksThemWhenConnecting() throws {
        for (text, problem) in [
            ("sslmode=", "sslmode must be one of"),
            ("sslmode=Require", "sslmode must be one of"),
            ("port=0", "port must be a number"),
            ("port=65536", "port must be a number"),
            ("port=' '", "port must be a number"),
            ("host=/a port=5432,", "port lists 2 ports for 1 host;"),
            ("host=/a hostaddr=127.0.0.1,::1", "hostaddr lists 2 addresses for 1 host name;"),
            ("hostaddr=::1%zz", "hostaddr must be numeric"),
            ("keepalives=1.5", "keepalives must be a whole number"),
            ("tcp_user_timeout=99999999999", "tcp_user_timeout must be a whole number"),
            ("ssl_max_protocol_version=TLSv1.4", "ssl_max_protocol_version must be one of"),
        ] {
            #expect(refusal(text)?.message.hasPrefix("the connection string's \(problem)") == true, "\(text)")
        }
        // What libpq itself accepts stays accepted.
        for text in [
            "host=/a,/b port=,5432", "port=' +5432 '", "host=/a,/b port=5432", "hostaddr=127.1 port=1",
            "postgresql://h/db?ssl=true", "requiressl=1", "ssl_min_protocol_version=tlsv1.2 ssl_max_protocol_version=",
            "sslmode=verify-full target_session_attrs=prefer-standby channel_binding=require gssencmode=disable",
            "connect_timeout=-1 keepalives=0", "postgresql://[::1]:5433,localhost/db",
        ] {
            #expect(throws: Never.self, "\(text)") { try ConnectionConfiguration(text) }
        }
    }

    /// Strings built at random from pieces of both forms, most of them malformed: whatever libpq
    /// refuses is explained without the fallback, and no error quotes the marker.
    @Test func generatedMalformedStringsAreExplainedWithoutQuotingThem() {
        let m = Self.marker
        let pieces = [
            "postgresql://", "postgres://", "u:\(m)@", "\(m)@", "[", "]", "[::1]", ":", "5432", "99\(m)", ",", "/", "?", "&", "=",
            "%", "%zz", "%00", "%41", "\(m)", "password=", "password=\(m)", "sslmode=", "host=", "'", "\\", " ", "  ", "'\(m)",
            "dbname", "port=", "ssl=true", "application_name=\(m)", "\(m)=", "=\(m)", "@", "%2", "localhost",
            "\\'", "requiressl=1", "ssl=false", "%3D", "é", "\t", "[::1", "user=", "'\(m)'",
        ]
        var random = SeededRandom(seed: 20_240_611)
        var refused = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...7, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            do {
                let configuration = try ConnectionConfiguration(text)
                #expect(!configuration.description.contains(m), "\(text)")
            } catch {
                #expect(!error.message.contains(m), "\(text): \(error.message)")
                #expect(!error.message.contains(ConnectionStringDiagnosis.unexplained), "\(text) was not explained")
                refused += 1
            }
        }
        #expect(refused > 5_000)
    }

    @Test func failedConnectionsQuoteNoPartOfTheString() throws {
        let m = Self.marker
        for text in [
            "host=/nonexistent-\(m) port=5433 dbname=\(m)db user=\(m)user password=\(m) options='-c \(m)=1'",
            "postgresql://\(m)user:\(m)@/\(m)db?host=/nonexistent-\(m)&application_name=\(m)",
        ] {
            let configuration = try ConnectionConfiguration(text).replacingDatabase(with: "\(m)other")
            do {
                _ = try PostgresConnection(configuration: configuration)
                Issue.record("connected to \(text)")
            } catch {
                #expect(error.kind == .connectionFailed)
                #expect(error.message.hasPrefix("connection to server on socket \"…\" failed: No such file or directory"), "\(error.message)")
                #expect(!error.debugDescription.contains(m), "\(error.message)")
                #expect(!error.message.contains("5433"))
            }
        }
    }

    @Test func libpqMessagesLoseQuotedSegmentsAndGivenValuesInAnyLanguage() {
        let values = ["secret-host", "5433", "ab"]
        #expect(ConnectionSecrets.scrub(#"invalid integer value "x y" for connection option "keepalives""#, hiding: values)
            == #"invalid integer value "…" for connection option "keepalives""#)
        #expect(ConnectionSecrets.scrub(#"missing "=" after "abc" in connection info string"#, hiding: values)
            == #"missing "=" after "…" in connection info string"#)
        #expect(ConnectionSecrets.scrub("connection to server at secret-host, port 5433 failed", hiding: values)
            == "connection to server at …, port … failed")
        #expect(ConnectionSecrets.scrub("valeur « secret » invalide pour « port »", hiding: values) == "valeur «…» invalide pour « port »")
        #expect(ConnectionSecrets.scrub("ungültiger Wert „geheim“ für „sslmode“", hiding: values) == "ungültiger Wert „…“ für „sslmode“")
        #expect(ConnectionSecrets.scrub(#"unterminated "secret and more"#, hiding: values) == #"unterminated "…"#)
        // Values of one or two characters are left: hiding them would hide the message.
        #expect(ConnectionSecrets.scrub("ab cd", hiding: values) == "ab cd")
    }

    @Test func aPasswordInTheStringIsNoticedAndOneFromAFileIsNeverShown() throws {
        for text in ["password=x", "host=/a sslpassword=key", "postgresql://u:x@h/db", "postgresql://h/db?pass%77ord=x"] {
            #expect(try ConnectionConfiguration(text).carriesPassword, "\(text)")
        }
        for text in ["password=", "postgresql://u@h/db", "postgresql://u:@h/db", "host=/a", ""] {
            #expect(try !ConnectionConfiguration(text).carriesPassword, "\(text)")
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("password-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("\(Self.marker)\r\n".utf8).write(to: URL(fileURLWithPath: path))
        let configuration = try ConnectionConfiguration("host=/nonexistent port=5433").withPassword(fromFile: path)
        #expect(configuration.password == Self.marker)
        #expect(configuration.description == "connection (sets host, port; a password from a file)")
        // A connect-time message would lose it, as it loses the string's values.
        #expect(configuration.givenValues.contains(Self.marker))
    }

    @Test func descriptionNamesTheOptionsButNoValue() throws {
        let uri = try ConnectionConfiguration("postgresql://alice:\(Self.marker)@localhost:5433/ledger?sslmode=require")
        #expect(uri.description == "connection (sets user, password, dbname, host, port, sslmode)")
        #expect(uri.replacingDatabase(with: "other").description == "connection (sets user, password, dbname, host, port, sslmode; another database)")
        #expect(ConnectionConfiguration.environment.description == "connection (the PG* environment variables)")
    }
}
