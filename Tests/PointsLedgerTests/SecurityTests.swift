import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// What a checkout system gone rogue can do with the writer role, and what finance may trust:
/// no way from the writer to the owner, a seal no caller can steer, text and times the ledger can
/// always show back (DESIGN.md, principle 8).
@Suite("Security: no way up from the writer, a seal no caller steers, text and times that read back")
struct SecurityTests {
    static let roles = RoleNames.standard
    static let fixedPath = "search_path=pg_catalog, points, pg_temp"

    /// Every SECURITY DEFINER function, in any schema of the ledger's database, runs with the
    /// fixed search path: a new function that forgets it fails here.
    @Test func everyDefinerFunctionRunsWithAFixedSearchPath() async throws {
        try await TestDatabase.withMigrated { configuration in
            let rows = try TestDatabase.sql(configuration, """
                SELECT n.nspname || '.' || p.proname, coalesce(array_to_string(p.proconfig, ';'), '')
                FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
                WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                ORDER BY 1
                """)
            let definers = try rows.map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            #expect(definers.count >= 10, "\(definers)")
            for (name, config) in definers {
                #expect(config.split(separator: ";").contains { $0 == Self.fixedPath }, "\(name) runs with [\(config)]")
            }
        }
    }

    /// The functions the writer and the auditor may call, exactly: a grant added by mistake (or a
    /// function left executable by PUBLIC) fails here.
    @Test func eachRoleMayCallExactlyItsFunctions() async throws {
        try await TestDatabase.withMigrated { configuration in
            func callable(by role: String) throws -> [String] {
                try TestDatabase.sql(configuration, """
                    SELECT DISTINCT p.proname FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
                    WHERE n.nspname IN ('points', 'points_meta') AND has_function_privilege(\(role), p.oid, 'EXECUTE')
                    ORDER BY 1
                    """).map { try $0.decode(String.self, at: 0) }
            }
            let readable = [
                "authenticate_api_key", "canonical_line", "entry_row_hash", "fingerprint", "genesis_hash", "journal_digest", "movement_row_hash",
                "effective_tier", "first_write_at", "held_now", "settings_at", "tier_at", "tier_period_start", "tiers_at",
            ]
            let writer = try callable(by: Self.roles.writer)
            let auditor = try callable(by: Self.roles.auditor)
            #expect(writer == [
                "adjust", "authenticate_api_key", "canonical_line", "complete_task", "create_hold", "create_member", "effective_tier", "first_write_at", "held_now", "import_adjustment_batch", "import_history_batch", "import_purchase_batch", "import_redemption_batch",
                "purchase", "redeem", "refund", "resolve_hold", "reward_offers", "set_birthday", "settings_at", "tier_at", "tier_period_start",
                "tiers_at",
            ])
            #expect(auditor == (readable + ["seal_journal"]).sorted())
        }
    }

    /// A writer that can create temporary objects (a database whose TEMP right the migrator could
    /// not take back) plants a type, a domain, functions, an operator and tables under the names
    /// the ledger's functions use, puts its own schema first, and calls every function it may
    /// call: none of its objects runs, so nothing runs as the owner.
    @Test func objectsAWriterPlantsNeverRunAsTheOwner() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 500, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            try TestDatabase.sql(configuration, "GRANT TEMPORARY ON DATABASE \(unsafeSQL: quoteIdentifier(try databaseName(configuration))) TO \(unsafeSQL: Self.roles.writer)")
            let writer = try PostgresConnection(configuration: configuration)
            try writer.execute(script: """
                SET ROLE \(Self.roles.writer);
                CREATE FUNCTION pg_temp.planted(pg_catalog.text) RETURNS boolean LANGUAGE plpgsql AS $f$
                BEGIN
                    UPDATE points.postings SET amount = amount * 1000;
                    RAISE EXCEPTION 'planted code ran as %', current_user;
                END $f$;
                CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.planted(VALUE));
                CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.planted(VALUE::pg_catalog.text));
                CREATE DOMAIN pg_temp.timestamptz AS pg_catalog.timestamptz CHECK (pg_temp.planted(VALUE::pg_catalog.text));
                CREATE DOMAIN pg_temp.date AS pg_catalog.date CHECK (pg_temp.planted(VALUE::pg_catalog.text));
                CREATE DOMAIN pg_temp.interval AS pg_catalog.interval CHECK (pg_temp.planted(VALUE::pg_catalog.text));
                CREATE TYPE pg_temp.account AS ENUM ('available');
                CREATE FUNCTION pg_temp.now() RETURNS pg_catalog.timestamptz LANGUAGE sql
                    AS $f$ SELECT CASE WHEN pg_temp.planted('now') THEN pg_catalog.now() END $f$;
                CREATE FUNCTION pg_temp.jsonb_build_object(VARIADIC pg_catalog.text[]) RETURNS pg_catalog.jsonb LANGUAGE sql
                    AS $f$ SELECT CASE WHEN pg_temp.planted('jsonb_build_object') THEN '{}'::pg_catalog.jsonb END $f$;
                CREATE FUNCTION pg_temp.planted_eq(pg_catalog.text, pg_catalog.text) RETURNS boolean LANGUAGE sql
                    AS $f$ SELECT pg_temp.planted($1) $f$;
                CREATE OPERATOR pg_temp.= (LEFTARG = pg_catalog.text, RIGHTARG = pg_catalog.text, FUNCTION = pg_temp.planted_eq);
                CREATE TABLE pg_temp.members (program_id integer, member_id pg_catalog.text);
                CREATE TABLE pg_temp.postings (program_id integer, member_id pg_catalog.text);
                CREATE TABLE pg_temp.import_work (line bigint);
                SET search_path = pg_temp, points, pg_catalog;
                """)
            let p = program.id
            let calls = [
                "SELECT status FROM points.create_member(\(p), 'm2', 'm1')",
                "SELECT status FROM points.adjust(\(p), 'm1', 5, 'bonus', 'ops', 'k2')",
                "SELECT status FROM points.purchase(\(p), 'm2', 'o1', 10000, 0, now(), false)",
                "SELECT status FROM points.refund(\(p), 'o1', 'r1', 2000, now(), false)",
                "SELECT status FROM points.complete_task(\(p), 'm1', 'checkin', NULL, now())",
                "SELECT points.set_birthday(\(p), 'm1', 5::smallint, 17::smallint)",
                "SELECT status FROM points.redeem(\(p), 'm1', NULL, 1, 20, 'parking', 'x1')",
                "SELECT status FROM points.create_hold(\(p), 'm1', 30, now() + interval '1 hour', 'h1')",
                "SELECT status FROM points.resolve_hold(\(p), (SELECT max(hold_id) FROM points.holds), false, 10)",
            ]
            for call in calls {
                do {
                    _ = try writer.query(PostgresQuery(unsafeSQL: call))
                } catch {
                    Issue.record("\(call): \(error)")
                }
            }
            // The batch path: a staged line and the set-based call. The work table the writer
            // planted under the batch's own name is the writer's: the batch refuses to use it.
            let stage = """
                INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at)
                VALUES (nextval('points.import_batch_ids'), 1, 'o2', 'm1', 5000, 0, now())
                """
            let post = "SELECT * FROM points.import_purchase_batch(\(p), currval('points.import_batch_ids'), false, false)"
            _ = try writer.query(PostgresQuery(unsafeSQL: stage))
            #expect { _ = try writer.query(PostgresQuery(unsafeSQL: post)) } throws: { error in
                (error as? PostgresError)?.code == .insufficientPrivilege
            }
            try writer.execute(script: "DROP TABLE pg_temp.import_work")
            // A batch is staged and posted in one transaction: the rows are that transaction's.
            try writer.execute(script: "BEGIN")
            _ = try writer.query(PostgresQuery(unsafeSQL: stage))
            do {
                let answer = try writer.query(PostgresQuery(unsafeSQL: post)).single()
                #expect(try answer.decode(String.self, at: 1) == "accepted")
            } catch {
                Issue.record("import: \(error)")
            }
            try writer.execute(script: "COMMIT")
            #expect(try await ledger.member("m1", in: program).available > 0)
            // The history path likewise: a staged grant, posted by points.adjust.
            try writer.execute(script: "BEGIN")
            do {
                _ = try writer.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO points.import_history_staging (batch_id, line, record_key, member_id, points, reason, actor, occurred_at)
                    VALUES (nextval('points.import_batch_ids'), 1, 'hk1', 'm1', 7, 'bonus', 'ops', now())
                    """))
                let answer = try writer.query(PostgresQuery(unsafeSQL: """
                    SELECT answer->>'status' FROM points.import_history_batch(\(p), currval('points.import_batch_ids'), 'adjustment', false)
                    """)).single()
                #expect(try answer.decode(String.self, at: 0) == "posted")
            } catch {
                Issue.record("history import: \(error)")
            }
            try writer.execute(script: "COMMIT")
            #expect(try await ledger.verify(program).isSound)
            let largest = try TestDatabase.sql(configuration, "SELECT max(abs(amount)) FROM points.postings").single()
            #expect(try largest.decode(Int64.self, at: 0) < 1000)
        }
    }

    /// Where the migrator owns the database, nobody but the owner may create temporary objects.
    @Test func onlyTheOwnerMayCreateTemporaryObjects() async throws {
        try await TestDatabase.withEmpty { configuration in
            let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
            _ = try await ledger.migrate()
            await ledger.pool.closeIdleConnections()
            for (role, allowed) in [(Self.roles.writer, false), (Self.roles.auditor, false), (Self.roles.owner, true)] {
                let row = try TestDatabase.sql(configuration, "SELECT has_database_privilege(\(role), current_database(), 'TEMPORARY')")
                #expect(try row.single().decode(Bool.self, at: 0) == allowed, "\(role)")
            }
            // PUBLIC's entry in the database's privileges (an empty grantee) holds no T.
            let acl = try TestDatabase.sql(configuration, "SELECT datacl::text FROM pg_database WHERE datname = current_database()")
                .single().decode(String.self, at: 0)
            #expect(acl.wholeMatch(of: /.*[{,]=[A-Za-z*]*T.*/) == nil, "PUBLIC keeps TEMPORARY: \(acl)")
            do {
                try TestDatabase.sql(configuration, as: Self.roles.writer, "CREATE TEMPORARY TABLE planted (i integer)")
                Issue.record("the writer created a temporary table")
            } catch let error as PostgresError {
                #expect(error.code == .insufficientPrivilege, "\(error)")
            }
        }
    }

    /// The writer cannot seal; finance can, and cannot move the horizon past an entry still being
    /// written, whatever it asks for; the block names the login role, not a name the caller chose.
    @Test func onlyFinanceOrTheOwnerSealsAndNoCallerSetsTheHorizon() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let seal = "SELECT blocks FROM points.seal_journal(\(program.id), 10, 10, 9223372036854775807, interval '200 milliseconds')"
            do {
                try TestDatabase.sql(configuration, as: Self.roles.writer, PostgresQuery(unsafeSQL: seal))
                Issue.record("the writer sealed")
            } catch let error as PostgresError {
                #expect(error.code == .insufficientPrivilege, "\(error)")
            }
            // A writer's transaction holds an entry it has not committed: finance's seal waits and gives up.
            let open = try PostgresConnection(configuration: configuration)
            try open.execute(script: "BEGIN; SELECT * FROM points.adjust(\(program.id), 'm1', 5, 'late', 'ops', 'late')")
            do {
                try TestDatabase.sql(configuration, as: Self.roles.auditor, PostgresQuery(unsafeSQL: seal))
                Issue.record("sealed past an uncommitted entry")
            } catch let error as PostgresError {
                #expect(error.code == .lockNotAvailable && error.message.contains("sealing waits for"), "\(error)")
            }
            // Nor at REPEATABLE READ, whose snapshot would miss what commits while it waits.
            let repeatable = try PostgresConnection(configuration: configuration)
            try repeatable.execute(script: "SET ROLE \(Self.roles.auditor); BEGIN ISOLATION LEVEL REPEATABLE READ")
            #expect(throws: PostgresError.self) { try repeatable.query(PostgresQuery(unsafeSQL: seal)) }
            try open.execute(script: "COMMIT")
            let blocks = try TestDatabase.sql(configuration, as: Self.roles.auditor, PostgresQuery(unsafeSQL: seal)).single()
            #expect(try blocks.decode(Int32.self, at: 0) == 1)
            let sealedBy = try TestDatabase.sql(configuration, "SELECT sealed_by::text, session_user::text FROM points.journal_blocks").single()
            #expect(try sealedBy.decode(String.self, at: 0) == sealedBy.decode(String.self, at: 1))
            #expect(try await ledger.verify(program).isSound)
        }
    }

    /// From an outside review: sealing waits for exactly the transactions that drew entry ids,
    /// whatever the sealer's own transaction has read before, prepared transactions included,
    /// and never for one that wrote no entry.
    @Test func sealingWaitsForEveryWriterOfEntriesAndOnlyForThem() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 50, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let seal = "SELECT blocks FROM points.seal_journal(\(program.id), 10, 10, NULL, interval '300 milliseconds')"
            // A transaction that wrote no entry does not hold sealing up.
            let idle = try PostgresConnection(configuration: configuration)
            try idle.execute(script: "SET ROLE \(Self.roles.writer); BEGIN; SELECT count(*) FROM points.members")
            #expect(try TestDatabase.sql(configuration, as: Self.roles.auditor, PostgresQuery(unsafeSQL: seal)).single()
                .decode(Int32.self, at: 0) == 1)
            try idle.execute(script: "COMMIT")
            // A sealer whose transaction read the server's activity before a writer started still
            // waits for that writer.
            let auditor = try PostgresConnection(configuration: configuration)
            try auditor.execute(script: "SET ROLE \(Self.roles.auditor); BEGIN; SELECT count(*) FROM pg_stat_activity")
            let open = try PostgresConnection(configuration: configuration)
            try open.execute(script: "BEGIN; SELECT * FROM points.adjust(\(program.id), 'm1', 5, 'late', 'ops', 'late')")
            _ = try await ledger.createMember("m2", in: program)
            _ = try await ledger.grant(points: 1, to: "m2", in: program, reason: "after", actor: "ops", key: "g2")
            #expect { _ = try auditor.query(PostgresQuery(unsafeSQL: seal)) } throws: { error in
                (error as? PostgresError)?.code == .lockNotAvailable
            }
            try auditor.execute(script: "ROLLBACK")
            // A prepared transaction that drew an id is waited for too, until it commits.
            try open.execute(script: "PREPARE TRANSACTION 'sealing-test'")
            #expect { try TestDatabase.sql(configuration, as: Self.roles.auditor, PostgresQuery(unsafeSQL: seal)) } throws: { error in
                (error as? PostgresError)?.message.contains("a prepared transaction") == true
            }
            try TestDatabase.sql(configuration, "COMMIT PREPARED 'sealing-test'")
            #expect(try TestDatabase.sql(configuration, as: Self.roles.auditor, PostgresQuery(unsafeSQL: seal)).single()
                .decode(Int32.self, at: 0) == 1)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    /// From an outside review: a staged import line belongs to the transaction that staged it, so
    /// lines a writer stages under a batch id another session will draw are never posted.
    @Test func importLinesStagedByAnotherTransactionAreNeverPosted() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let rogue = try PostgresConnection(configuration: configuration)
            try rogue.execute(script: "SET ROLE \(Self.roles.writer)")
            let next = try rogue.query("SELECT nextval('points.import_batch_ids') + 1").single().decode(Int64.self, at: 0)
            _ = try rogue.query("""
                INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at)
                VALUES (\(next), 2, 'injected', 'mallory', 100000, 0, now())
                """)
            #expect(throws: PostgresError.self) {
                try rogue.query("""
                    INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at, staged_by)
                    VALUES (\(next), 3, 'forged', 'mallory', 100000, 0, now(), '1')
                    """)
            }
            let victim = try PostgresConnection(configuration: configuration)
            try victim.execute(script: "SET ROLE \(Self.roles.writer); BEGIN")
            #expect(try victim.query("SELECT nextval('points.import_batch_ids')").single().decode(Int64.self, at: 0) == next)
            _ = try victim.query("""
                INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at)
                VALUES (\(next), 1, 'mine', 'm1', 5000, 0, now())
                """)
            let answers = try victim.query("SELECT line, status FROM points.import_purchase_batch(\(program.id), \(next), true, false)")
                .map { "\(try $0.decode(Int64.self, at: 0)) \(try $0.decode(String.self, at: 1))" }
            try victim.execute(script: "COMMIT")
            #expect(answers == ["1 accepted"])
            #expect(try TestDatabase.sql(configuration, "SELECT count(*) FROM points.members WHERE member_id = 'mallory'").single()
                .decode(Int64.self, at: 0) == 0)
            #expect(try TestDatabase.sql(configuration, "SELECT count(*) FROM points.import_staging").single().decode(Int64.self, at: 0) == 0)
            #expect(try await ledger.verify(program).isSound)
        }
    }

    /// The same for the history path: lines a rogue writer stages under a batch id another
    /// session will draw are never posted by that session's batch.
    @Test func historyLinesStagedByAnotherTransactionAreNeverPosted() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.createMember("mallory", in: program)
            let rogue = try PostgresConnection(configuration: configuration)
            try rogue.execute(script: "SET ROLE \(Self.roles.writer)")
            let next = try rogue.query("SELECT nextval('points.import_batch_ids') + 1").single().decode(Int64.self, at: 0)
            _ = try rogue.query("""
                INSERT INTO points.import_history_staging (batch_id, line, record_key, member_id, points, reason, actor, occurred_at)
                VALUES (\(next), 2, 'injected', 'mallory', 100000, 'gift', 'nobody', now())
                """)
            let victim = try PostgresConnection(configuration: configuration)
            try victim.execute(script: "SET ROLE \(Self.roles.writer); BEGIN")
            #expect(try victim.query("SELECT nextval('points.import_batch_ids')").single().decode(Int64.self, at: 0) == next)
            _ = try victim.query("""
                INSERT INTO points.import_history_staging (batch_id, line, record_key, member_id, points, reason, actor, occurred_at)
                VALUES (\(next), 1, 'mine', 'm1', 50, 'welcome', 'ops', now())
                """)
            let answers = try victim.query("SELECT line, answer->>'status' FROM points.import_history_batch(\(program.id), \(next), 'adjustment', false)")
                .map { "\(try $0.decode(Int64.self, at: 0)) \(try $0.decode(String.self, at: 1))" }
            try victim.execute(script: "COMMIT")
            #expect(answers == ["1 posted"])
            #expect(try await ledger.member("mallory", in: program).available == 0)
            #expect(try await ledger.member("m1", in: program).available == 50)
        }
    }

    /// Control characters, line separators and bidirectional controls reach no stored text; ids
    /// and keys refuse invisible characters, U+FFFD, edge spaces and other forms than NFC. Checked
    /// by the database itself, on every path (the writer calling functions or staging an import),
    /// and by the library first, with the field named and the character shown, not sent raw.
    @Test func textRulesHoldOnEveryPath() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.createMember("m1", in: program)
            let p = program.id
            let refusedByTheDatabase: [String] = [
                "SELECT points.create_member(\(p), E'm\\x1b[31m', NULL)",
                "SELECT points.create_member(\(p), E'm\\u200b2', NULL)",
                "SELECT points.create_member(\(p), E'm\\ufffd', NULL)",
                "SELECT points.create_member(\(p), ' m3', NULL)",
                "SELECT points.create_member(\(p), E'e\\u0301', NULL)",
                // Invisible but not format characters (from an outside review): Hangul filler,
                // combining grapheme joiner, variation selector, blank braille pattern.
                "SELECT points.create_member(\(p), E'alice\\u3164', NULL)",
                "SELECT points.create_member(\(p), E'alice\\u034f', NULL)",
                "SELECT points.create_member(\(p), E'alice\\ufe0f', NULL)",
                "SELECT points.create_member(\(p), E'alice\\u2800', NULL)",
                "SELECT points.create_member(\(p), 'm4', E'm1\\n')",
                "SELECT points.adjust(\(p), 'm1', 5, E'bonus\\x1b[2J', 'ops', 'k1')",
                "SELECT points.adjust(\(p), 'm1', 5, 'bonus', E'ops\\u202e', 'k2')",
                "SELECT points.adjust(\(p), 'm1', 5, 'bonus', 'ops', E'k\\r3')",
                "SELECT points.purchase(\(p), 'm1', E'o\\u2028', 100, 0, now(), false)",
                "SELECT points.redeem(\(p), 'm1', NULL, 1, 1, E'line\\u0085break', 'k4')",
                """
                INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at)
                VALUES (nextval('points.import_batch_ids'), 1, 'o9', E'm\\x1b', 100, 0, now())
                """,
            ]
            for sql in refusedByTheDatabase {
                do {
                    try TestDatabase.sql(configuration, as: Self.roles.writer, PostgresQuery(unsafeSQL: sql))
                    Issue.record("accepted: \(sql)")
                } catch let error as PostgresError {
                    #expect(error.code == .checkViolation, "\(sql): \(error)")
                }
            }
            do {
                _ = try await ledger.setReward("mug", in: program, RewardChange(name: "Mug\n| forged | row", cost: 10), actor: "ops")
                Issue.record("a reward name with a newline was accepted")
            } catch LedgerError.invalidInput(let field, _) {
                #expect(field == "name")
            }
            // The library names the field and shows the character without sending it raw.
            for (member, shown) in [
                ("m\u{1B}[31m", "\\u{1B}"), ("m\u{200B}", "\\u{200B}"), ("m\u{FFFD}", "U+FFFD"), ("alice\u{3164}", "U+3164"),
            ] {
                do {
                    _ = try await ledger.createMember(member, in: program)
                    Issue.record("created \(member.debugDescription)")
                } catch let error as LedgerError {
                    #expect(error.description.contains(shown), "\(error)")
                    #expect(!error.description.unicodeScalars.contains(where: VisibleText.needsEscape), "\(error)")
                    #expect(!error.description.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(error)")
                }
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.grant(points: 5, to: "m1", in: program, reason: "bonus\u{1B}[2J", actor: "ops", key: "k5")
            }
            await #expect(throws: LedgerError.self) {
                try await ledger.grant(points: 5, to: "m1", in: program, reason: "bonus", actor: "ops", key: "caf\u{65}\u{301}")
            }
            #expect(try await ledger.history(of: "m1", in: program).items.isEmpty)
        }
    }

    /// Times outside the years 1900 to 9999 (and infinities) are refused on every write path, so
    /// every member's history reads back; a hold's expiry is finite and at most 30 days away.
    @Test func timesOutsideTheStatedRangeAreRefusedEverywhere() async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            _ = try await ledger.changeSettings(
                of: program, SettingsChange(backdateDays: 3650), effectiveAt: nil, actor: "tests")
            _ = try await ledger.createMember("m1", in: program)
            _ = try await ledger.grant(points: 100, to: "m1", in: program, reason: "welcome", actor: "ops", key: "g1")
            let p = program.id
            for sql in [
                "SELECT points.purchase(\(p), 'm1', 'o1', 100, 0, '-infinity', true)",
                "SELECT points.purchase(\(p), 'm1', 'o2', 100, 0, '0001-01-01 00:00:00+00', true)",
                "SELECT points.refund(\(p), 'o1', 'r1', 100, 'infinity', true)",
                "SELECT points.complete_task(\(p), 'm1', 'checkin', NULL, '1899-01-01')",
                "SELECT points.create_hold(\(p), 'm1', 10, 'infinity', 'h1')",
                "SELECT points.create_hold(\(p), 'm1', 10, now() + interval '31 days', 'h2')",
                """
                INSERT INTO points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at)
                VALUES (nextval('points.import_batch_ids'), 1, 'o9', 'm1', 100, 0, '-infinity')
                """,
            ] {
                do {
                    try TestDatabase.sql(configuration, as: Self.roles.writer, PostgresQuery(unsafeSQL: sql))
                    Issue.record("accepted: \(sql)")
                } catch let error as PostgresError {
                    #expect(error.code == .checkViolation || error.code == .invalidParameterValue, "\(sql): \(error)")
                }
            }
            // Through the library: the time is named as the problem.
            let ancient = Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)  // 0001-01-01
            do {
                _ = try await ledger.purchase(
                    PurchaseRequest(member: "m1", order: "o3", amount: Money(minorUnits: 100, exponent: 2), occurredAt: ancient, backdated: true),
                    in: program)
                Issue.record("a purchase in year 1 was accepted")
            } catch LedgerError.invalidInput(let field, let reason) {
                #expect(field == "time" && reason.contains("1900"), "\(reason)")
            }
            await #expect(throws: LedgerError.self) { try await ledger.instant("0001-01-01 00:00", in: program, field: "--at") }
            // The member's history and standing read back.
            #expect(try await ledger.history(of: "m1", in: program).items.count == 1)
            #expect(try await ledger.member("m1", in: program).available == 100)
        }
    }

    /// From an outside review: reflection (`dump`, loggers that mirror values) shows no part of a
    /// connection string.
    @Test func aConnectionConfigurationReflectsNoSecret() throws {
        let configuration = try ConnectionConfiguration("postgresql://clerk:Zq7Secr3t@db.example/shop?sslmode=require")
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("Zq7Secr3t") && !dumped.contains("db.example") && !dumped.contains("clerk"), "\(dumped)")
        #expect(!String(reflecting: configuration).contains("Zq7Secr3t"))
    }

    private func databaseName(_ configuration: ConnectionConfiguration) throws -> String {
        try TestDatabase.sql(configuration, "SELECT current_database()::text").single().decode(String.self, at: 0)
    }
}
