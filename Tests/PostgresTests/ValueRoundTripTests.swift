import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Values round-trip through PostgreSQL")
struct ValueRoundTripTests {
    func roundTrip<T: PostgresEncodable & PostgresDecodable & Equatable>(_ value: T, as type: String) async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let row = try connection.query("SELECT \(value)::\(unsafeSQL: type)").single()
            #expect(try row.decode(T.self, at: 0) == value, "\(type)")
        }
    }

    @Test func bigints() async throws {
        for value in [Int64.min, -1, 0, 1, Int64.max] { try await roundTrip(value, as: "bigint") }
        try await roundTrip(Int32.max, as: "integer")
        try await roundTrip(Int16.min, as: "smallint")
    }

    @Test func text() async throws {
        for value in ["", "plain", "quote ' and \" and \\ backslash", "积分 ポイント 🎉", "line\nbreak\ttab", "{a,b}"] {
            try await roundTrip(value, as: "text")
        }
    }

    @Test func numeric() async throws {
        for text in ["0", "12.34", "-0.0001", "12345678901234567890.123456789", "1.25"] {
            try await roundTrip(Decimal(string: text)!, as: "numeric")
        }
    }

    @Test func booleans() async throws {
        try await roundTrip(true, as: "boolean")
        try await roundTrip(false, as: "boolean")
    }

    @Test func timestamps() async throws {
        let instants: [Int64] = [0, 1, -1, 1_795_000_000_123_456, -62_135_596_800_000_000, 253_402_300_799_999_999]
        for micros in instants {
            try await roundTrip(Timestamp(microsecondsSinceEpoch: micros), as: "timestamptz")
        }
    }

    @Test func timestampsWrittenInOtherZonesReadAsTheSameInstant() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let row = try connection.query("""
                SELECT '2026-03-31 23:59:59.999999+08'::timestamptz, '2026-03-31 15:59:59.999999Z'::timestamptz
                """).single()
            let first: Timestamp = try row.decode(at: 0)
            #expect(first == (try row.decode(Timestamp.self, at: 1)))
            #expect(first.description == "2026-03-31T15:59:59.999999Z")
        }
    }

    @Test func json() async throws {
        struct Payload: Codable, Equatable { let member: String; let points: Int64 }
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let sent = try PostgresJSON(encoding: Payload(member: "m-1", points: 42))
            let row = try connection.query("SELECT \(sent)::jsonb, \(sent)::jsonb -> 'points'").single()
            #expect(try row.decode(PostgresJSON.self, at: 0).decode(Payload.self) == Payload(member: "m-1", points: 42))
            #expect(try row.decode(Int64.self, at: 1) == 42)
        }
    }

    @Test func arrays() async throws {
        try await roundTrip([Int64](), as: "bigint[]")
        try await roundTrip([Int64.min, 0, Int64.max], as: "bigint[]")
        try await roundTrip(["a", "", "NULL", "with,comma", "{brace}", "quote\"s", "back\\slash", "space d"], as: "text[]")
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let text = try connection.query("SELECT ARRAY['x', NULL, 'NULL']::text[]").single()[0]!
            #expect(try PostgresArrayLiteral.decode(text) == ["x", nil, "NULL"])
        }
    }

    @Test func nulls() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let none: Int64? = nil
            let row = try connection.query("SELECT \(none)::bigint AS a, NULL::text AS b, 7::bigint AS c").single()
            #expect(row.isNull(0))
            #expect(try row.decode(Int64?.self, column: "a") == nil)
            #expect(try row.decode(String?.self, column: "b") == nil)
            #expect(try row.decode(Int64?.self, column: "c") == 7)
            #expect(throws: PostgresError.self) { try row.decode(Int64.self, column: "a") }
        }
    }

    @Test func valuesAreBoundNeverSpliced() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let hostile = "x'); DROP TABLE victims; --"
            try connection.query("CREATE TABLE victims (name text)")
            let query: PostgresQuery = "INSERT INTO victims VALUES (\(hostile))"
            #expect(query.sql == "INSERT INTO victims VALUES ($1)")
            try connection.query(query)
            let rows = try connection.query("SELECT name FROM victims")
            #expect(try rows.single().decode(String.self, at: 0) == hostile)
        }
    }

    @Test func aNulCharacterIsRefusedBeforeSending() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            #expect(throws: PostgresError.self) { try connection.query("SELECT \("a\u{0}b")::text") }
            #expect(try connection.query("SELECT 1").count == 1)
        }
    }
}
