internal import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection to PostgreSQL. Blocking: every call waits for the server.
///
/// Not `Sendable`: a connection is used by one thread at a time. `PostgresPool` is the
/// concurrent face; it runs each connection's work on that connection's own serial queue, off
/// Swift's cooperative thread pool. The `PGconn` is freed in exactly one place, `deinit`.
public final class PostgresConnection {
    private let handle: OpaquePointer
    private var preparedStatements: [String: String] = [:]
    /// Set when a pipeline broke off half-way: the protocol state is unknown, so never reuse it.
    private var abandoned = false
    /// The answer being collected by the one-round-trip path (`send`, then `takeAnswer`).
    private var answer: Result<QueryResult, PostgresError>?
    /// Cancels what this connection is running, from any thread.
    let canceller: PostgresCanceller
    /// Receives the server's notices; lives as long as the connection.
    private let notices: NoticeReceiver

    /// Connects, then fixes the session settings the value decoders rely on (UTC, ISO dates, UTF-8).
    /// - Throws: `PostgresError` of kind `.connectionFailed` with libpq's reason, from which every
    ///   part of the connection string (and the password in use) is removed.
    public init(configuration: ConnectionConfiguration) throws(PostgresError) {
        var keywords = ["dbname", "client_encoding", "fallback_application_name"]
        var values = [configuration.connectionString, "UTF8", "points-ledger"]
        if let database = configuration.databaseOverride {
            keywords.append("dbname")
            values.append(database)
        }
        if let user = configuration.userOverride {
            keywords.append("user")
            values.append(user)
        }
        // Later keywords override the string's; without one, libpq reads PGPASSWORD and ~/.pgpass.
        if let password = configuration.password {
            keywords.append("password")
            values.append(password)
        }
        let connection: OpaquePointer? = withCStringArray(keywords.map(Optional.some) + [nil]) { keywordPointers in
            withCStringArray(values.map(Optional.some) + [nil]) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connectionFailed, code: .connectionFailure, message: "out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let passwordInUse = PQpass(connection).map { String(cString: $0) }
            let error = PostgresError(
                kind: .connectionFailed, code: .connectionFailure,
                message: ConnectionSecrets.scrub(
                    PostgresError.connectionMessage(connection), hiding: configuration.givenValues + [passwordInUse].compactMap { $0 }))
            PQfinish(connection)
            throw error
        }
        handle = connection
        canceller = PostgresCanceller(connection: connection)
        notices = NoticeReceiver(handler: configuration.noticeHandler)
        notices.install(on: connection)
        try execute(script: "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET client_min_messages = 'warning'")
        for (name, value) in configuration.sessionSettings.sorted(by: { $0.key < $1.key }) {
            guard !Self.fixedSettings.contains(name.lowercased()) else {
                throw PostgresError(kind: .invalidConfiguration, message: "the session setting \(name) is fixed by the connection")
            }
            try query("SELECT pg_catalog.set_config(\(name), \(value), false)")
        }
    }

    /// The settings the value decoders rely on: no `sessionSettings` may change them.
    static let fixedSettings: Set<String> = ["timezone", "datestyle", "intervalstyle", "client_encoding", "client_min_messages"]

    deinit {
        PQfinish(handle)
        notices.deliver()
    }

    /// Whether the connection is open and outside any transaction, ready for the next user.
    public var isReadyForReuse: Bool {
        !abandoned && PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// Whether the connection is broken for good.
    public var isBroken: Bool { abandoned || PQstatus(handle) == CONNECTION_BAD }

    /// Whether the server closed this connection while it sat idle (a restart, an administrator's
    /// `pg_terminate_backend`, `idle_session_timeout`): reads what the server sent meanwhile,
    /// without waiting, and answers true when the connection cannot serve another command. Call it
    /// only between commands, as a pool does before lending a connection.
    public func closedWhileIdle() -> Bool {
        if isBroken || notices.sessionEnded { return true }
        // libpq's socket never blocks: this reads whatever arrived between commands (the reason
        // the server is closing, read as a notice; the end of the stream; a parameter's new
        // value), also what TLS has buffered, and returns at once when nothing has. Reading is
        // not parsing: PQisBusy parses what was read, handing a message to the notice receiver.
        if PQconsumeInput(handle) == 0 { notices.deliver(); return true }
        _ = PQisBusy(handle)
        notices.deliver()
        return notices.sessionEnded || PQstatus(handle) == CONNECTION_BAD
    }

    /// The server process serving this connection (for `pg_terminate_backend`, logs).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// The server's version as a number, e.g. 150018 for 15.18.
    public var serverVersion: Int32 { PQserverVersion(handle) }

    /// Runs a command once, parsed by the server each time (no statement is kept).
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresError) -> QueryResult {
        try checkBinds(query)
        let result = withCStringArray(query.binds) { binds in
            PQexecParams(handle, query.sql, Int32(binds.count), nil, binds, nil, nil, 0)
        }
        return try consume(result, sql: query.sql)
    }

    /// Runs a command as a prepared statement: parsed and planned once per connection, then reused.
    /// Use it for the statements a hot path runs again and again.
    @discardableResult
    public func preparedQuery(_ query: PostgresQuery) throws(PostgresError) -> QueryResult {
        try checkBinds(query)
        let name = try statementName(for: query.sql, parameterCount: query.binds.count)
        let result = withCStringArray(query.binds) { binds in
            PQexecPrepared(handle, name, Int32(binds.count), binds, nil, nil, 0)
        }
        return try consume(result, sql: query.sql)
    }

    /// Runs SQL text with no parameters, possibly several statements (the simple query protocol).
    /// Only for SQL the program itself carries (migrations, session settings), never user input.
    public func execute(script sql: String) throws(PostgresError) {
        defer { notices.deliver() }
        var result = PQexec(handle, sql)
        while let current = result {
            let status = PQresultStatus(current)
            if status == PGRES_FATAL_ERROR {
                let error = PostgresError.from(result: current, connection: handle, sql: sql)
                PQclear(current)
                drainResults()
                throw error
            }
            PQclear(current)
            result = PQgetResult(handle)
        }
        if isBroken { throw PostgresError.from(connection: handle, sql: sql) }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    public func withTransaction<T>(
        isolation: IsolationLevel = .readCommitted, _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        try execute(script: "BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        let value: T
        do {
            value = try body(self)
        } catch {
            if !isBroken { try? execute(script: "ROLLBACK") }
            throw error
        }
        try execute(script: "COMMIT")
        return value
    }

    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    /// How a pipeline's commands relate to one another.
    public enum PipelineMode: Sendable {
        /// Each command commits or fails on its own (a sync after each).
        case independent
        /// All commands form one transaction: the first failure aborts the rest and rolls back all.
        case atomic
    }

    /// Sends many commands without waiting for each answer (libpq pipeline mode), then reads
    /// the answers in order: one round trip for the lot instead of one per command.
    ///
    /// Statements are prepared once per connection, as with `preparedQuery`. In `.atomic` mode a
    /// failure leaves later commands with an error saying they were skipped.
    public func pipeline(
        _ queries: [PostgresQuery], mode: PipelineMode = .independent
    ) throws(PostgresError) -> [Result<QueryResult, PostgresError>] {
        guard !queries.isEmpty else { return [] }
        for query in queries {
            try checkBinds(query)
            _ = try statementName(for: query.sql, parameterCount: query.binds.count)
        }
        guard PQenterPipelineMode(handle) == 1 else { throw PostgresError.from(connection: handle, sql: nil) }
        defer { PQexitPipelineMode(handle) }

        for query in queries {
            let name = preparedStatements[query.sql]!
            let sent = withCStringArray(query.binds) { binds in
                PQsendQueryPrepared(handle, name, Int32(binds.count), binds, nil, nil, 0)
            }
            guard sent == 1 else { throw abandonPipeline(sql: query.sql) }
            if mode == .independent, PQpipelineSync(handle) != 1 { throw abandonPipeline(sql: query.sql) }
        }
        if mode == .atomic, PQpipelineSync(handle) != 1 { throw abandonPipeline(sql: nil) }

        var outcomes: [Result<QueryResult, PostgresError>] = []
        outcomes.reserveCapacity(queries.count)
        for query in queries {
            var outcome: Result<QueryResult, PostgresError>?
            while let result = PQgetResult(handle) {
                switch PQresultStatus(result) {
                case PGRES_PIPELINE_ABORTED:
                    outcome = .failure(PostgresError(
                        kind: .server, code: .inFailedSQLTransaction,
                        message: "skipped: an earlier command of the pipeline failed", sql: query.sql))
                    PQclear(result)
                default:
                    outcome = Result { () throws(PostgresError) in try consume(result, sql: query.sql) }
                }
            }
            guard let outcome else { throw abandonPipeline(sql: query.sql) }
            outcomes.append(outcome)
            if mode == .independent { try readPipelineSync() }
        }
        if mode == .atomic { try readPipelineSync() }
        return outcomes
    }

    /// Sends a statement prepared on this connection before, without waiting for its answer:
    /// the first half of `PostgresPool.query`. Returns false, sending nothing, when the statement
    /// is not prepared here yet.
    ///
    /// Only plain connections qualify (under TLS or GSS encryption, decrypted bytes may wait in
    /// the library while the socket shows nothing to read), and only short commands (a long one
    /// could fill the socket's buffer, and the send would wait for the server to read it).
    func send(_ query: PostgresQuery) throws(PostgresError) -> Bool {
        guard let name = preparedStatements[query.sql], PQsslInUse(handle) == 0, PQgssEncInUse(handle) == 0,
              query.binds.reduce(0, { $0 + ($1?.utf8.count ?? 0) }) <= 4096
        else { return false }
        try checkBinds(query)
        let sent = withCStringArray(query.binds) { binds in
            PQsendQueryPrepared(handle, name, Int32(binds.count), binds, nil, nil, 0)
        }
        guard sent == 1 else { throw PostgresError.from(connection: handle, sql: query.sql) }
        answer = nil
        return true
    }

    /// Reads what has arrived of the answer to `send`: the result once it is complete, `nil`
    /// while more must come first (wait for it, then call again). Never waits.
    func takeAnswer(sql: String) throws(PostgresError) -> QueryResult? {
        while PQisBusy(handle) == 0 {
            guard let result = PQgetResult(handle) else {
                defer { answer = nil }
                guard let answer else { throw PostgresError.from(connection: handle, sql: sql) }
                return try answer.get()
            }
            let outcome = Result { () throws(PostgresError) in try consume(result, sql: sql) }
            if answer == nil { answer = outcome }
        }
        return nil
    }

    /// The answer to `send` will never come: the connection broke. Retires it.
    func answerLost(sql: String) -> PostgresError {
        abandonPipeline(sql: sql)
    }

    /// The connection's handle, for the thread that waits on its socket.
    var waitHandle: WaitHandle { WaitHandle(pointer: handle) }

    /// A `PGconn` pointer in transit to the reactor, which uses it only while its owner waits.
    struct WaitHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private func readPipelineSync() throws(PostgresError) {
        guard let result = PQgetResult(handle) else { throw abandonPipeline(sql: nil) }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_PIPELINE_SYNC else { throw abandonPipeline(sql: nil) }
    }

    /// After a failure to send or read mid-pipeline the connection's state is unknown: retire it.
    private func abandonPipeline(sql: String?) -> PostgresError {
        let error = PostgresError.from(connection: handle, sql: sql)
        abandoned = true
        return PostgresError(kind: .connectionLost, code: .connectionFailure, message: error.message, sql: sql)
    }

    private func statementName(for sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let name = preparedStatements[sql] { return name }
        let name = "pl_\(preparedStatements.count + 1)"
        let result = PQprepare(handle, name, sql, Int32(parameterCount), nil)
        _ = try consume(result, sql: sql)
        preparedStatements[sql] = name
        return name
    }

    private func checkBinds(_ query: PostgresQuery) throws(PostgresError) {
        for bind in query.binds where bind?.utf8.contains(0) == true {
            throw PostgresError(
                kind: .client, code: .invalidParameterValue,
                message: "a value contains a NUL character, which PostgreSQL text cannot hold", sql: query.sql)
        }
    }

    /// Turns a `PGresult` into a `QueryResult` or an error, and frees it.
    private func consume(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> QueryResult {
        notices.deliver()
        guard let result else { throw PostgresError.from(connection: handle, sql: sql) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_SINGLE_TUPLE:
            let rows = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var columns: [String] = []
            columns.reserveCapacity(columnCount)
            for column in 0..<columnCount { columns.append(String(cString: PQfname(result, Int32(column)))) }
            var values: [String?] = []
            values.reserveCapacity(rows * columnCount)
            for row in 0..<Int32(rows) {
                for column in 0..<Int32(columnCount) {
                    if PQgetisnull(result, row, column) == 1 {
                        values.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, row, column))
                        let bytes = UnsafeRawPointer(PQgetvalue(result, row, column)!).assumingMemoryBound(to: UInt8.self)
                        values.append(String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
                    }
                }
            }
            let tag = String(cString: PQcmdStatus(result))
            let affected = Int(String(cString: PQcmdTuples(result))) ?? rows
            return QueryResult(columns: columns, values: values, commandTag: tag, affectedRows: affected)
        default:
            let error = PostgresError.from(result: result, connection: handle, sql: sql)
            // Only a connection that is gone is drained here: on a live one the rest of the
            // answer may still be on its way, and its reader collects it.
            if error.kind == .connectionLost, PQstatus(handle) == CONNECTION_BAD { drainResults() }
            throw error
        }
    }

    private func drainResults() {
        while let extra = PQgetResult(handle) { PQclear(extra) }
    }
}

@available(*, unavailable)
extension PostgresConnection: Sendable {}

/// Calls `body` with C strings for `strings` (NULL for `nil`), alive for the call only.
func withCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> R) rethrows -> R {
    let copies = strings.map { $0.map { strdup($0)! } }
    defer { for copy in copies { free(copy) } }
    return try body(copies.map { $0.map { UnsafePointer($0) } })
}


extension PostgresConnection {
    /// Streams rows into a table with `COPY … FROM STDIN` (text format): the fastest way to load
    /// many rows. `copy` names the table and columns, e.g. `"COPY staging (a, b) FROM STDIN"`.
    /// Each row is a list of column values; `nil` is NULL. Values are escaped here.
    /// - Returns: the number of rows the server stored.
    @discardableResult
    public func copyIn(_ copy: String, rows: some Sequence<[String?]>) throws(PostgresError) -> Int {
        try copyIn(copy) { send throws(PostgresError) in
            for row in rows { try send(row) }
        }
    }

    /// Streams rows into a table, produced by `body` through the `send` function it is given.
    @discardableResult
    public func copyIn(
        _ copy: String, _ body: (_ send: ([String?]) throws(PostgresError) -> Void) throws(PostgresError) -> Void
    ) throws(PostgresError) -> Int {
        defer { notices.deliver() }
        guard let start = PQexec(handle, copy) else { throw PostgresError.from(connection: handle, sql: copy) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            let error = PostgresError.from(result: start, connection: handle, sql: copy)
            PQclear(start)
            throw error
        }
        PQclear(start)

        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        func flush() throws(PostgresError) {
            guard !buffer.isEmpty else { return }
            let sent = buffer.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
            }
            buffer.removeAll(keepingCapacity: true)
            guard sent == 1 else { throw PostgresError.from(connection: handle, sql: copy) }
        }
        var failure: PostgresError?
        do {
            try body { row throws(PostgresError) in
                for (index, value) in row.enumerated() {
                    if index > 0 { buffer.append(UInt8(ascii: "\t")) }
                    guard let value else {
                        buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                        continue
                    }
                    for byte in value.utf8 {
                        switch byte {
                        case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                        case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                        case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                        case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                        case 0:
                            throw PostgresError(
                                kind: .client, code: .invalidParameterValue,
                                message: "a value contains a NUL character, which PostgreSQL text cannot hold", sql: copy)
                        default: buffer.append(byte)
                        }
                    }
                }
                buffer.append(UInt8(ascii: "\n"))
                if buffer.count >= 1 << 16 { try flush() }
            }
            try flush()
        } catch {
            failure = error
        }
        // End the COPY either way: with an error message it is aborted and nothing is stored.
        let ended = failure == nil ? PQputCopyEnd(handle, nil) : PQputCopyEnd(handle, "aborted by the client")
        var stored = 0
        var serverError: PostgresError?
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                stored = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if serverError == nil && failure == nil {
                serverError = PostgresError.from(result: result, connection: handle, sql: copy)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        if let serverError { throw serverError }
        guard ended == 1 else { throw PostgresError.from(connection: handle, sql: copy) }
        return stored
    }
}

extension PostgresConnection {
    /// Waits up to `timeout` for notifications (`NOTIFY`) on the channels this connection
    /// `LISTEN`s to, and returns their channels in the order they came (empty when none came).
    /// Blocks the calling thread: use a connection and a thread of its own.
    /// - Throws: `PostgresError` of kind `.connectionLost` when the connection broke (notifications
    ///   may then have been missed).
    public func notifications(waitingUpTo timeout: Duration) throws(PostgresError) -> [String] {
        var channels = takeNotifications()
        if !channels.isEmpty { return channels }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard descriptor.fd >= 0 else { throw lostWhileListening() }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0 && errno != EINTR { throw lostWhileListening() }
        if ready > 0 {
            guard PQconsumeInput(handle) == 1 else { throw lostWhileListening() }
            channels = takeNotifications()
        }
        guard PQstatus(handle) == CONNECTION_OK, !notices.sessionEnded else { throw lostWhileListening() }
        return channels
    }

    private func takeNotifications() -> [String] {
        defer { notices.deliver() }
        var channels: [String] = []
        while let notification = PQnotifies(handle) {
            channels.append(String(cString: notification.pointee.relname))
            PQfreemem(notification)
        }
        return channels
    }

    private func lostWhileListening() -> PostgresError {
        let error = PostgresError.from(connection: handle, sql: nil)
        return PostgresError(kind: .connectionLost, code: .connectionFailure, message: error.message)
    }
}
