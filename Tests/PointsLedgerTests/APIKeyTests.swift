import Foundation
@testable import PointsLedger
import Postgres
import TestSupport
import Testing

@Suite("API keys: one program, one role, a secret shown once and kept as a hash")
struct APIKeyTests {
    @Test func sha256MatchesTheStandardAndPostgreSQL() async throws {
        #expect(SHA256.hex("".utf8) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc".utf8) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            for length in [1, 55, 56, 63, 64, 65, 119, 120, 200] {
                let text = String((0..<length).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789é".randomElement()! })
                let server: String = try connection.query("SELECT encode(sha256(convert_to(\(text), 'UTF8')), 'hex')").single().decode(at: 0)
                #expect(SHA256.hex(text.utf8) == server, "\(text)")
            }
        }
    }

    @Test func aKeyWorksForItsProgramAndRoleUntilRevoked() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let made = try await ledger.createAPIKey(in: program, role: .checkout, name: "checkout of store 12", actor: "ops")
            #expect(made.secret.count == 68 && made.secret.hasPrefix("plk_"))
            #expect(made.key.role == .checkout && made.key.program == program.name && !made.key.isRevoked)
            var dumped = ""
            dump(made, to: &dumped)
            for shown in ["\(made)", String(reflecting: made), dumped] { #expect(!shown.contains(made.secret.dropFirst(4)), "\(shown)") }
            let found = try await ledger.authenticate(secret: made.secret)
            #expect(found == AuthenticatedKey(keyID: made.key.id, program: program, role: .checkout))
            // Only the hash is kept.
            let stored = try TestDatabase.sql(configuration, "SELECT encode(secret_hash, 'hex') FROM points.api_keys").single()
            #expect(try stored.decode(String.self, at: 0) == SHA256.hex(made.secret.utf8))
            let everything = try TestDatabase.sql(configuration, "SELECT row_to_json(k)::text FROM points.api_keys AS k").single()
            #expect(try !everything.decode(String.self, at: 0).contains(made.secret.dropFirst(4)))
            // Other secrets, malformed or not, find nothing.
            for other in ["", "plk_", made.secret + "0", "plk_" + String(repeating: "０", count: 21) + "0", String(made.secret.dropLast()) + (made.secret.last == "0" ? "1" : "0"), "Bearer " + made.secret] {
                #expect(try await ledger.authenticate(secret: other) == nil, "\(other)")
            }
            // A name names one key in force.
            await #expect(throws: LedgerError.self) {
                try await ledger.createAPIKey(in: program, role: .app, name: "checkout of store 12", actor: "ops")
            }
            let app = try await ledger.createAPIKey(in: program, role: .app, name: "mini-program", actor: "ops")
            #expect(try await ledger.apiKeys(of: program).map(\.name) == ["checkout of store 12", "mini-program"])

            let revoked = try await ledger.revokeAPIKey(made.key.id, in: program, actor: "security")
            #expect(revoked.isRevoked && revoked.revokedBy == "security")
            #expect(try await ledger.authenticate(secret: made.secret) == nil)
            #expect(try await ledger.authenticate(secret: app.secret)?.role == .app)
            #expect(try await ledger.revokeAPIKey(made.key.id, in: program, actor: "again").revokedBy == "security")
            await #expect(throws: LedgerError.notFound(.apiKey, id: "999")) {
                try await ledger.revokeAPIKey(999, in: program, actor: "ops")
            }
            // The name is free again once its key is revoked.
            _ = try await ledger.createAPIKey(in: program, role: .checkout, name: "checkout of store 12", actor: "ops")
        }
    }

    /// The server's roles may ask whether a hash is a key in force, and learn nothing else: they
    /// read no key, and write none.
    @Test func theWriterAndTheAuditorOnlyAuthenticate() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let made = try await ledger.createAPIKey(in: program, role: .finance, name: "finance", actor: "ops")
            let roles = RoleNames.standard
            for role in [roles.writer, roles.auditor] {
                let connection = try PostgresConnection(configuration: configuration)
                try connection.execute(script: "SET ROLE \(role)")
                let found = try connection.query(
                    "SELECT role::text FROM points.authenticate_api_key(decode(\(SHA256.hex(made.secret.utf8)), 'hex'))").single()
                #expect(try found.decode(String.self, at: 0) == "finance")
                for statement in [
                    "SELECT * FROM points.api_keys",
                    "UPDATE points.api_keys SET revoked_at = NULL",
                    "INSERT INTO points.api_keys (program_id, role, name, secret_hash, created_by) VALUES (\(program.id), 'finance', 'x', sha256('x'), 'x')",
                ] {
                    #expect(throws: PostgresError.self, "\(role): \(statement)") { try connection.query(PostgresQuery(unsafeSQL: statement)) }
                }
            }
        }
    }
}

/// The lock points-server's job schedule takes per job and program.
@Suite("Jobs: one run at a time")
struct ExclusiveJobTests {
    @Test func aJobRunsOnlyWhereItsLockIsFree() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let other = Ledger(configuration: configuration, maximumConnections: 2, logger: TestDatabase.quietLogger)
            let otherProgram = try await ledger.createProgram(name: "other", currency: "CNY", actor: "tests").program
            let outcome = try await ledger.exclusively("expire", in: program) {
                // While this holds it: the same job of the same program is skipped elsewhere;
                // another job, or another program's, runs.
                let same = try await other.exclusively("expire", in: program) { 1 }
                let otherJob = try await other.exclusively("mature", in: program) { 2 }
                let otherOne = try await other.exclusively("expire", in: otherProgram) { 3 }
                return [same, otherJob, otherOne]
            }
            #expect(outcome == [nil, 2, 3])
            // Released after the run, and after a run that failed.
            #expect(try await other.exclusively("expire", in: program) { 4 } == 4)
            await #expect(throws: LedgerError.self) {
                _ = try await ledger.exclusively("expire", in: program) { () async throws -> Int in throw LedgerError.schemaNotMigrated }
            }
            #expect(try await other.exclusively("expire", in: program) { 5 } == 5)
        }
    }
}
