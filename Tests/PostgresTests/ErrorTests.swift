import Postgres
import TestSupport
import Testing

@Suite("Errors carry SQLSTATE, message, detail and hint, never a password")
struct ErrorTests {
    func serverError(_ sql: PostgresQuery, setup: String = "") async throws -> PostgresError {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            if !setup.isEmpty { try connection.execute(script: setup) }
            do {
                try connection.query(sql)
            } catch let error as PostgresError {
                return error
            }
            Issue.record("expected an error from \(sql.sql)")
            return PostgresError(kind: .client, message: "none")
        }
    }

    @Test func uniqueViolationHasCodeDetailAndConstraint() async throws {
        let error = try await serverError(
            "INSERT INTO things VALUES (1)", setup: "CREATE TABLE things (id int CONSTRAINT things_pk PRIMARY KEY); INSERT INTO things VALUES (1)")
        #expect(error.kind == .server)
        #expect(error.code == .uniqueViolation)
        #expect(error.constraint == "things_pk")
        #expect(error.detail?.contains("already exists") == true)
        #expect(error.description == "PostgresError: server error 23505")
        #expect(!error.description.contains("things"))
    }

    @Test func codesMapToNamedConstants() async throws {
        #expect(try await serverError("SELEC 1").code == .syntaxError)
        #expect(try await serverError("SELECT 1 / 0").code == .divisionByZero)
        #expect(try await serverError("SELECT * FROM missing_table").code == .undefinedTable)
        #expect(try await serverError("SELECT 'x'::bigint").code == .invalidTextRepresentation)
        #expect(try await serverError("SELECT 9223372036854775807::bigint + 1").code == .numericValueOutOfRange)
    }

    @Test func raisedErrorsKeepTheirHint() async throws {
        let error = try await serverError("""
            DO $$ BEGIN RAISE EXCEPTION 'custom failure' USING ERRCODE = 'check_violation', HINT = 'do the other thing'; END $$
            """)
        #expect(error.code == .checkViolation)
        #expect(error.message == "custom failure")
        #expect(error.hint == "do the other thing")
    }

    @Test func malformedConnectionStringsAreRefusedWithoutThePassword() {
        for text in ["host=/tmp password=supersecret junk", "postgresql://user:supersecret@[bad", "port=notanumber password='supersecret"] {
            do {
                _ = try ConnectionConfiguration(text)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.kind == .invalidConfiguration)
                #expect(!error.message.contains("supersecret"), "\(error.message)")
                #expect(!error.debugDescription.contains("supersecret"))
            }
        }
    }

    @Test func failedConnectionsNameTheReasonWithoutThePassword() throws {
        for text in [
            "host=/nonexistent-socket-dir password=supersecret dbname=x",
            "postgresql://someone:supersecret@/x?host=/nonexistent-socket-dir",
        ] {
            let configuration = try ConnectionConfiguration(text)
            #expect(!configuration.description.contains("supersecret"))
            do {
                _ = try PostgresConnection(configuration: configuration)
                Issue.record("connected to \(text)")
            } catch {
                #expect(error.kind == .connectionFailed)
                #expect(error.isConnectionError)
                #expect(error.message.contains("No such file or directory"))
                #expect(!error.message.contains("nonexistent-socket-dir"))
                #expect(!error.debugDescription.contains("supersecret"))
            }
        }
    }

    @Test func descriptionsShowNoPasswordInEitherForm() throws {
        let keyValue = try ConnectionConfiguration("host=/tmp password=supersecret dbname=x")
        #expect(keyValue.description == "connection (sets password, dbname, host)")
        let uri = try ConnectionConfiguration("postgresql://alice:supersecret@localhost/db?pass%77ord=supersecret")
        #expect(uri.description == "connection (sets user, password, dbname, host)")
    }
}
