import Postgres
import TestSupport
import Testing

@Suite("Connections: prepared statements, transactions, pipelines")
struct ConnectionTests {
    @Test func preparedStatementsAreReused() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            for value in Int64(1)...5 {
                let row = try connection.preparedQuery("SELECT \(value)::bigint * 2").single()
                #expect(try row.decode(Int64.self, at: 0) == value * 2)
            }
            let prepared = try connection.query("SELECT count(*) FROM pg_prepared_statements").single()
            #expect(try prepared.decode(Int64.self, at: 0) == 1)
        }
    }

    @Test func transactionsCommitOrRollBack() async throws {
        struct Planned: Error {}
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            try connection.query("CREATE TABLE t (v int)")
            try connection.withTransaction { try $0.query("INSERT INTO t VALUES (1)") }
            #expect(throws: Planned.self) {
                try connection.withTransaction { connection in
                    try connection.query("INSERT INTO t VALUES (2)")
                    throw Planned()
                }
            }
            #expect(connection.isReadyForReuse)
            let rows = try connection.query("SELECT v FROM t")
            #expect(try rows.map { try $0.decode(Int.self, at: 0) } == [1])
        }
    }

    @Test func commandTagsReportAffectedRows() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            try connection.query("CREATE TABLE t (v int)")
            let inserted = try connection.query("INSERT INTO t SELECT generate_series(1, 3)")
            #expect(inserted.affectedRows == 3)
            #expect(inserted.commandTag == "INSERT 0 3")
        }
    }

    @Test func independentPipelineCommandsSucceedOrFailAlone() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            try connection.query("CREATE TABLE t (v int PRIMARY KEY)")
            let values: [Int32] = [1, 2, 2, 3]
            let results = try connection.pipeline(values.map { "INSERT INTO t VALUES (\($0)) RETURNING v" })
            #expect(results.count == 4)
            #expect(try results[0].get().first?.decode(Int32.self, at: 0) == 1)
            #expect(throws: PostgresError.self) { try results[2].get() }
            if case .failure(let error) = results[2] { #expect(error.code == .uniqueViolation) }
            #expect(try results[3].get().affectedRows == 1)
            #expect(try connection.query("SELECT count(*) FROM t").single().decode(Int64.self, at: 0) == 3)
        }
    }

    @Test func atomicPipelineRollsBackEverythingOnOneFailure() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            try connection.query("CREATE TABLE t (v int PRIMARY KEY)")
            let results = try connection.pipeline([1, 2, 2, 3].map { (v: Int32) in "INSERT INTO t VALUES (\(v))" }, mode: .atomic)
            if case .failure(let error) = results[2] { #expect(error.code == .uniqueViolation) } else { Issue.record("no failure") }
            if case .failure(let error) = results[3] { #expect(error.code == .inFailedSQLTransaction) } else { Issue.record("not skipped") }
            #expect(try connection.query("SELECT count(*) FROM t").single().decode(Int64.self, at: 0) == 0)
            #expect(connection.isReadyForReuse)
        }
    }

    @Test func largePipelinesDoNotDeadlock() async throws {
        try await TestDatabase.withEmpty { configuration in
            let connection = try PostgresConnection(configuration: configuration)
            let queries: [PostgresQuery] = (0..<5_000).map { (i: Int64) in "SELECT \(i)::bigint, repeat('x', 200)" }
            let results = try connection.pipeline(queries)
            #expect(try results.last?.get().single().decode(Int64.self, at: 0) == 4_999)
        }
    }
}
