import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Statuses are a closed set known to both sides (DESIGN.md, principle 11): a function that
/// answers with a status declares it as its own enumeration, so it cannot answer outside the set
/// the Swift library maps.
@Suite("Schema: every status a function returns is an enumeration of its own")
struct StatusContractTests {
    static let roles = RoleNames.standard

    /// Every function of the `points` schema with an OUT or TABLE column named `status` declares
    /// it as `points.<function>_status`, an enum: a new function that answers with text fails
    /// here. The functions the writer and the auditor may call must be among those checked.
    @Test func everyStatusColumnIsTheFunctionsOwnEnum() async throws {
        try await TestDatabase.withMigrated { configuration in
            let rows = try TestDatabase.sql(configuration, """
                SELECT p.proname, tn.nspname || '.' || t.typname, t.typtype::text,
                       has_function_privilege(\(Self.roles.writer), p.oid, 'EXECUTE')
                           OR has_function_privilege(\(Self.roles.auditor), p.oid, 'EXECUTE')
                FROM pg_catalog.pg_proc AS p
                JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
                CROSS JOIN LATERAL unnest(p.proargnames, p.proallargtypes, p.proargmodes) AS a(name, type, mode)
                JOIN pg_catalog.pg_type AS t ON t.oid = a.type
                JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.typnamespace
                WHERE n.nspname = 'points' AND a.name = 'status' AND a.mode IN ('o', 'b', 't')
                ORDER BY 1
                """)
            let columns = try rows.map {
                (function: try $0.decode(String.self, at: 0), type: try $0.decode(String.self, at: 1),
                 kind: try $0.decode(String.self, at: 2), callable: try $0.decode(Bool.self, at: 3))
            }
            let callable = columns.filter(\.callable).map(\.function)
            #expect(Set(["purchase", "refund", "adjust", "complete_task", "redeem", "create_hold", "resolve_hold",
                         "create_member", "import_purchase_batch"]).isSubset(of: callable), "\(callable)")
            for column in columns {
                #expect(column.type == "points.\(column.function)_status" && column.kind == "e",
                        "points.\(column.function) returns status as \(column.type) (typtype \(column.kind))")
            }
        }
    }
}
