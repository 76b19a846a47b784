internal import CLibPQ

/// An error from PostgreSQL or from talking to it.
///
/// `description` is deliberately generic (a kind and a SQLSTATE) so that logs carry no data;
/// `message`, `detail` and `hint` hold the server's words for callers that choose to show them.
/// No connection password ever appears in any of them.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The connection string could not be parsed.
        case invalidConfiguration
        /// The server could not be reached or refused the connection.
        case connectionFailed
        /// The connection broke while a command was in flight; the command's outcome is unknown.
        case connectionLost
        /// The server rejected a command (see `code`).
        case server
        /// A value in a result could not be read as the requested Swift type.
        case decoding
        /// The client library reported an unexpected state.
        case client
    }

    public let kind: Kind
    /// The SQLSTATE, for server errors and connection failures that carry one.
    public let code: SQLState?
    public let message: String
    public let detail: String?
    public let hint: String?
    /// The name of the constraint that was violated, when there is one.
    public let constraint: String?
    /// The SQL text of the failed command (never its bound values).
    public let sql: String?

    public init(
        kind: Kind, code: SQLState? = nil, message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil, sql: String? = nil
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.sql = sql
    }

    public var description: String {
        switch kind {
        case .invalidConfiguration: "PostgresError: invalid connection string"
        case .connectionFailed: "PostgresError: connection failed"
        case .connectionLost: "PostgresError: connection lost"
        case .server: "PostgresError: server error \(code?.rawValue ?? "?????")"
        case .decoding: "PostgresError: result decoding failed"
        case .client: "PostgresError: client error"
        }
    }

    public var debugDescription: String {
        var parts = [description + ": " + message]
        if let detail { parts.append("DETAIL: \(detail)") }
        if let hint { parts.append("HINT: \(hint)") }
        if let constraint { parts.append("CONSTRAINT: \(constraint)") }
        if let sql { parts.append("SQL: \(sql)") }
        return parts.joined(separator: "\n")
    }

    /// Whether the error means the connection is unusable (as opposed to one failed command).
    /// Whether the connection failed or the server ended it (a shutdown, a restart, a server
    /// still starting up): the command's outcome is unknown if it was sent, and a new connection
    /// may succeed.
    public var isConnectionError: Bool {
        kind == .connectionFailed || kind == .connectionLost || code?.errorClass == "08"
            || code.map { [.adminShutdown, .crashShutdown, .cannotConnectNow, .idleSessionTimeout].contains($0) } == true
    }

    /// Whether the same transaction may succeed if run again: a deadlock or a serialization
    /// failure, which PostgreSQL resolves by aborting one of the transactions involved.
    public var isTransient: Bool {
        code == .deadlockDetected || code == .serializationFailure
    }
}

extension PostgresError {
    /// Builds an error from a failed result, reading the server's structured fields.
    static func from(result: OpaquePointer, connection: OpaquePointer?, sql: String?) -> PostgresError {
        // The PG_DIAG_* field codes of postgres_ext.h, which are character macros.
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let state = field("C").map(SQLState.init)
        let primary = field("M")
        let fallback = String(cString: PQresultErrorMessage(result)).trimmingTrailingWhitespace()
        let connectionBad = connection.map { PQstatus($0) == CONNECTION_BAD } ?? false
        let kind: Kind = (connectionBad || state?.errorClass == "08") ? .connectionLost : .server
        let message = primary ?? (fallback.isEmpty ? connectionMessage(connection) : fallback)
        return PostgresError(
            kind: kind, code: state ?? (kind == .connectionLost ? .connectionFailure : nil),
            message: ConnectionSecrets.redact(message),
            detail: field("D").map(ConnectionSecrets.redact),
            hint: field("H"), constraint: field("n"), sql: sql)
    }

    /// Builds an error from the connection's last message (no result available).
    static func from(connection: OpaquePointer?, sql: String?) -> PostgresError {
        let bad = connection.map { PQstatus($0) == CONNECTION_BAD } ?? true
        return PostgresError(
            kind: bad ? .connectionLost : .client, code: bad ? .connectionFailure : nil,
            message: ConnectionSecrets.redact(connectionMessage(connection)), sql: sql)
    }

    static func connectionMessage(_ connection: OpaquePointer?) -> String {
        guard let connection, let text = PQerrorMessage(connection) else { return "no connection" }
        let message = oneLine(String(cString: text))
        return message.isEmpty ? "the server closed the connection" : message
    }

    /// libpq's message on one line. libpq wraps a sentence over indented lines ("server closed the
    /// connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore
    /// or while processing the request."): a line that goes on with a small letter continues the
    /// sentence; one that starts a new sentence follows a full stop.
    static func oneLine(_ text: String) -> String {
        let lines = text.split(whereSeparator: \.isNewline)
            .map { String($0.drop(while: \.isWhitespace)).trimmingTrailingWhitespace() }.filter { !$0.isEmpty }
        var joined = ""
        for line in lines {
            if joined.isEmpty {
                joined = line
            } else if line.first?.isLowercase == true || joined.last.map({ ".:;!?,".contains($0) }) == true {
                joined += " " + line
            } else {
                joined += ". " + line
            }
        }
        return joined
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var end = endIndex
        while end > startIndex, let last = self[..<end].last, last.isWhitespace { end = index(before: end) }
        return String(self[..<end])
    }
}
