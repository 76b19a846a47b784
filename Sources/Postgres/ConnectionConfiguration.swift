internal import CLibPQ

/// Where and how to connect: a libpq connection URI (`postgresql://…`) or conninfo string
/// (`host=… dbname=…`), or, when empty, the standard `PG*` environment variables.
///
/// The string is checked when the configuration is made, so a malformed one fails before any
/// connection is tried. The password it may hold never appears in `description` or in errors.
public struct ConnectionConfiguration: Sendable, CustomStringConvertible {
    /// The string handed to libpq. Kept private: it may carry a password.
    let connectionString: String

    /// Parses and checks a connection string; an empty string means "use the `PG*` variables".
    /// - Throws: `PostgresError` of kind `.invalidConfiguration` naming what is wrong.
    public init(_ connectionString: String) throws(PostgresError) {
        let trimmed = connectionString.trimmingTrailingWhitespace()
        if !trimmed.isEmpty {
            var errorMessage: UnsafeMutablePointer<CChar>?
            guard let options = PQconninfoParse(trimmed, &errorMessage) else {
                let reason = errorMessage.map { String(cString: $0).trimmingTrailingWhitespace() } ?? "it could not be parsed"
                if let errorMessage { PQfreemem(errorMessage) }
                throw PostgresError(
                    kind: .invalidConfiguration,
                    message: "the connection string is malformed: \(ConnectionSecrets.redact(reason))")
            }
            PQconninfoFree(options)
        }
        self.connectionString = trimmed
    }

    /// The configuration of the standard `PG*` environment variables (`PGHOST`, `PGDATABASE`, …).
    public static var environment: ConnectionConfiguration {
        ConnectionConfiguration(unchecked: "")
    }

    init(unchecked: String) { self.connectionString = unchecked }

    /// The same server and credentials, but another database.
    public func replacingDatabase(with name: String) -> ConnectionConfiguration {
        // libpq applies the later `dbname` when a conninfo string repeats it; a URI is expanded
        // first by connecting through PQconnectdbParams, so both forms are handled there.
        var copy = self
        copy.databaseOverride = name
        return copy
    }

    var databaseOverride: String?

    /// The connection string with any password masked, for messages.
    public var description: String {
        let shown = connectionString.isEmpty ? "(PG* environment variables)" : ConnectionSecrets.redact(connectionString)
        return databaseOverride.map { "\(shown) [database \($0)]" } ?? shown
    }
}

/// Masks passwords in connection strings and in messages that may quote them.
enum ConnectionSecrets {
    static func redact(_ text: String) -> String {
        var result = text
        // key=value form: password=secret or password='se cret'
        result = result.replacing(#/(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/#) { match in
            "\(match.output.1)***"
        }
        // URI form: scheme://user:secret@host
        result = result.replacing(#/(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)@/#) { match in
            "\(match.output.1)***@"
        }
        return result
    }
}
