import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Every PL/pgSQL function of the ledger passes plpgsql_check: each statement's tables, columns,
/// functions and types exist and fit, which PostgreSQL itself checks only when a statement first
/// runs (Scripts/test.sh installs the extension).
@Suite("Schema: every PL/pgSQL function passes plpgsql_check")
struct FunctionLintTests {
    @Test func everyFunctionPassesPlpgsqlCheck() async throws {
        try await TestDatabase.withLedger { _, program, configuration in
            let connection = try PostgresConnection(configuration: configuration)
            try connection.execute(script: "CREATE EXTENSION IF NOT EXISTS plpgsql_check")
            // The imports' stages work on temporary tables that they create: run them on one staged
            // line each, in a transaction rolled back afterwards, so that the tables exist to check against.
            let p = program.id
            try connection.execute(script: """
                BEGIN;
                INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at)
                VALUES (nextval('points.import_batch_ids'), 1, 'o1', 'm1', 5000, 0, now());
                SELECT points.import_read_lines(\(p), r, currval('points.import_batch_ids'), true, false, 2::smallint, 'ordinary',
                                                true, true, 7) FROM points.programs AS r WHERE r.program_id = \(p);
                SELECT points.import_write_entries(\(p), true, false, 'ordinary');
                SELECT points.import_find_upgrades(\(p), r, 2::smallint, true) FROM points.programs AS r WHERE r.program_id = \(p);
                SELECT points.import_write_lines(\(p), false, true);
                INSERT INTO points.import_history_staging (batch_id, line, record_key, member_id, points, reason, actor, occurred_at)
                VALUES (nextval('points.import_batch_ids'), 1, 'k1', 'm1', 5, 'welcome', 'ops', now());
                SELECT count(*) FROM points.import_adjustment_batch(\(p), currval('points.import_batch_ids'), false);
                INSERT INTO points.import_history_staging (batch_id, line, record_key, member_id, points, reason, occurred_at)
                VALUES (nextval('points.import_batch_ids'), 1, 'k1', 'm1', 5, 'parking', now());
                SELECT count(*) FROM points.import_redemption_batch(\(p), currval('points.import_batch_ids'), false);
                """)
            let findings = try connection.query("""
                SELECT p.oid::regprocedure::text || ' line ' || coalesce(c.lineno::text, '?') || ': ' || c.level || ': ' || c.message
                FROM pg_catalog.pg_proc AS p
                JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang AND l.lanname = 'plpgsql'
                CROSS JOIN LATERAL plpgsql_check_function_tb(p.oid,
                    relid => coalesce((SELECT t.tgrelid FROM pg_catalog.pg_trigger AS t WHERE t.tgfoid = p.oid LIMIT 1), 0),
                    newtable => (SELECT t.tgnewtable FROM pg_catalog.pg_trigger AS t WHERE t.tgfoid = p.oid LIMIT 1),
                    fatal_errors => false, other_warnings => true, extra_warnings => true, performance_warnings => false) AS c
                WHERE p.pronamespace = 'points'::regnamespace
                ORDER BY 1
                """).map { try $0.decode(String.self, at: 0) }
            let checked = try connection.query("""
                SELECT count(*) FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
                WHERE l.lanname = 'plpgsql' AND p.pronamespace = 'points'::regnamespace
                """).single().decode(Int64.self, at: 0)
            try connection.execute(script: "ROLLBACK")
            #expect(checked >= 40)
            #expect(findings.isEmpty, "\(findings.joined(separator: "\n"))")
        }
    }
}
