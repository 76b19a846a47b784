import Foundation
@testable import PointsLedger
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
    /// it as an enum of that schema, and each the writer or the auditor may call as its own,
    /// `points.<function>_status` (a helper that answers for one, such as
    /// `purchase_not_posted`, uses that one's): a new function that answers with text fails here.
    @Test func everyStatusColumnIsAnEnumOfTheLedger() async throws {
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
                #expect(column.kind == "e" && column.type.hasPrefix("points."),
                        "points.\(column.function) returns status as \(column.type) (typtype \(column.kind))")
                if column.callable {
                    #expect(column.type == "points.\(column.function)_status", "points.\(column.function) returns \(column.type)")
                }
            }
        }
    }

    /// The statuses each Swift enumeration maps, case for case, against the labels of the
    /// database's enumeration of the same function: a label added to one side only fails here.
    @Test func theLibraryMapsEveryStatusTheDatabaseDeclares() async throws {
        let library: [String: [String]] = [
            PurchaseAnswer.Status.function: PurchaseAnswer.Status.allCases.map(\.rawValue),
            RefundAnswer.Status.function: RefundAnswer.Status.allCases.map(\.rawValue),
            AdjustAnswer.Status.function: AdjustAnswer.Status.allCases.map(\.rawValue),
            CompleteTaskAnswer.Status.function: CompleteTaskAnswer.Status.allCases.map(\.rawValue),
            ImportLineAnswer.Status.function: ImportLineAnswer.Status.allCases.map(\.rawValue),
            RedeemAnswer.Status.function: RedeemAnswer.Status.allCases.map(\.rawValue),
            CreateHoldAnswer.Status.function: CreateHoldAnswer.Status.allCases.map(\.rawValue),
            ResolveHoldAnswer.Status.function: ResolveHoldAnswer.Status.allCases.map(\.rawValue),
            CreateMemberStatus.function: CreateMemberStatus.allCases.map(\.rawValue),
            CreateProgramStatus.function: CreateProgramStatus.allCases.map(\.rawValue),
            SetProgramSettingsStatus.function: SetProgramSettingsStatus.allCases.map(\.rawValue),
            SetTaskStatus.function: SetTaskStatus.allCases.map(\.rawValue),
            SetTierStatus.function: SetTierStatus.allCases.map(\.rawValue),
            SetRewardStatus.function: SetRewardStatus.allCases.map(\.rawValue),
            GrantTierAnswer.Status.function: GrantTierAnswer.Status.allCases.map(\.rawValue),
            OverrideTierAnswer.Status.function: OverrideTierAnswer.Status.allCases.map(\.rawValue),
        ]
        try await TestDatabase.withMigrated { configuration in
            let rows = try TestDatabase.sql(configuration, """
                SELECT regexp_replace(t.typname, '_status$', '') AS function,
                       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
                FROM pg_catalog.pg_type AS t
                JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
                JOIN pg_catalog.pg_enum AS e ON e.enumtypid = t.oid
                WHERE n.nspname = 'points' AND t.typname LIKE '%\\_status'
                GROUP BY t.typname
                """)
            var database: [String: [String]] = [:]
            for row in rows {
                database[try row.decode(String.self, column: "function")] = try row.decode([String].self, column: "labels")
            }
            #expect(Set(database.keys) == Set(library.keys))
            for (function, labels) in database {
                #expect(Set(library[function] ?? []) == Set(labels), "points.\(function)")
            }
            // The hold's state, which resolve_hold answers with, is mapped the same way.
            let states = try TestDatabase.sql(configuration, "SELECT enum_range(NULL::points.hold_state)::text[] AS states").single()
            #expect(try states.decode([String].self, column: "states") == HoldState.allCases.map(\.rawValue))
        }
    }

    /// A library older than its database's schema meets a status it does not know: the call
    /// throws `.unexpectedAnswer` naming the function and the status, and the host process goes on.
    @Test func aStatusFromANewerSchemaIsAnErrorNotACrash() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            // A newer schema: adjust may also answer 'frozen' (a member whose points are frozen).
            try TestDatabase.sql(configuration, "ALTER TYPE points.adjust_status ADD VALUE 'frozen'")
            let definition = try TestDatabase.sql(
                configuration, "SELECT pg_get_functiondef('points.adjust'::regproc) AS sql"
            ).single().decode(String.self, column: "sql")
            let newer = definition.replacingOccurrences(of: "BEGIN", with: """
                BEGIN
                    IF p_member = 'm1' THEN
                        RETURN QUERY SELECT 'frozen'::points.adjust_status, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint;
                        RETURN;
                    END IF;
                """, options: [], range: definition.range(of: "BEGIN"))
            try TestDatabase.sql(configuration, PostgresQuery(unsafeSQL: newer))
            await #expect(throws: LedgerError.unexpectedAnswer(function: "adjust", status: "frozen")) {
                try await ledger.grant(points: 5, to: "m1", in: program, reason: "r", actor: "a", key: "k1")
            }
        }
    }
}
