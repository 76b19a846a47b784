import Postgres
import TestSupport
import Testing

@Suite("Rows read by column name into Decodable types")
struct RowDecodingTests {
    @Test func propertyNamesBecomeSnakeCaseColumns() {
        let names = ["entryID": "entry_id", "referralEntryID": "referral_entry_id", "maturesAt": "matures_at",
                     "points": "points", "heldPoints2": "held_points2", "qualifyingSpendMinor": "qualifying_spend_minor"]
        for (property, column) in names {
            #expect(snakeCaseColumnName(property) == column)
            #expect(snakeCaseColumnName(property) == column, "the second time, from the cache")
        }
    }

    private struct Answer: Decodable, Equatable {
        let status: String
        let entryID: Int64?
        let points: Int64
        let note: String?
    }

    @Test func columnsAreFoundByNameInAnyOrderAndAMissingOneIsNamed() async throws {
        try await TestDatabase.withMigrated { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let row = try connection.query("SELECT 7::bigint AS points, NULL::bigint AS entry_id, 'posted' AS status").single()
            #expect(try row.decode(Answer.self) == Answer(status: "posted", entryID: nil, points: 7, note: nil))
            let missing = try connection.query("SELECT 'posted' AS status").single()
            #expect { try missing.decode(Answer.self) } throws: { "\($0)".contains("points") || ($0 as? PostgresError)?.message.contains("points") == true }
            let null = try connection.query("SELECT 'posted' AS status, NULL::bigint AS points").single()
            #expect { try null.decode(Answer.self) } throws: { ($0 as? PostgresError)?.message == "column points is NULL, expected Int64" }
        }
    }
}
