internal import CLibPQ

/// Where and how to connect: a libpq connection URI (`postgresql://…`) or conninfo string
/// (`host=… dbname=…`), or, when empty, the standard `PG*` environment variables.
///
/// The string and its option values are checked when the configuration is made, so a malformed
/// one fails before any connection is tried. No part of the string (and no password) appears in
/// `description` or in errors: they name the option that is wrong, never its value. A password
/// may also come from `PGPASSWORD`, a `~/.pgpass` file (libpq reads both) or `withPassword(fromFile:)`.
public struct ConnectionConfiguration: Sendable, CustomStringConvertible {
    /// The string handed to libpq. Kept private: it may carry a password.
    let connectionString: String
    /// The options the string sets, as libpq read it.
    let options: [ConnectionOption]
    /// Another database than the string's, from `replacingDatabase(with:)`.
    var databaseOverride: String?
    /// A password that overrides the string's, from `withPassword(fromFile:)`.
    var password: String?
    /// Another login role than the string's, from `replacingUser(with:)`.
    var userOverride: String?
    /// Where the server's notices go (`PostgresNotice`): nowhere when nil, never raw to standard error.
    public var noticeHandler: (@Sendable (PostgresNotice) -> Void)?
    /// Settings every session starts with (`lock_timeout` → `5s`), set right after connecting.
    /// Names are PostgreSQL parameter names (letters, digits, `_` and `.`); values are quoted.
    public var sessionSettings: [String: String] = [:]

    /// Parses and checks a connection string; an empty string means "use the `PG*` variables".
    /// - Throws: `PostgresError` of kind `.invalidConfiguration` naming the part or the option
    ///   that is wrong, without quoting it.
    public init(_ connectionString: String) throws(PostgresError) {
        let trimmed = connectionString.trimmingTrailingWhitespace()
        let options = trimmed.isEmpty ? [] : try Self.parse(trimmed)
        self.connectionString = trimmed
        self.options = options
    }

    /// The configuration of the standard `PG*` environment variables (`PGHOST`, `PGDATABASE`, …).
    public static var environment: ConnectionConfiguration {
        ConnectionConfiguration(unchecked: "")
    }

    init(unchecked: String) {
        connectionString = unchecked
        options = []
    }

    /// The same server and credentials, but another database.
    public func replacingDatabase(with name: String) -> ConnectionConfiguration {
        // libpq applies the later `dbname` when a conninfo string repeats it; a URI is expanded
        // first by connecting through PQconnectdbParams, so both forms are handled there.
        var copy = self
        copy.databaseOverride = name
        return copy
    }

    /// The same server and database, but another login role (with the credentials libpq finds
    /// for it: `PGPASSWORD`, `~/.pgpass`, or the server's trust of local connections).
    public func replacingUser(with name: String) -> ConnectionConfiguration {
        var copy = self
        copy.userOverride = name
        return copy
    }

    /// Whether the string itself holds a password (or a TLS key's password), which anyone who
    /// can see it (in `ps`, in a shell's history) can read.
    public var carriesPassword: Bool {
        options.contains { LibPQOptions.keywords[$0.keyword] == true && !$0.value.isEmpty }
    }

    /// The options the string sets, by name only: no value, so it is safe to log.
    public var description: String {
        var parts = [connectionString.isEmpty ? "the PG* environment variables" : "sets " + options.map(\.keyword).joined(separator: ", ")]
        if databaseOverride != nil { parts.append("another database") }
        if password != nil { parts.append("a password from a file") }
        return "connection (\(parts.joined(separator: "; ")))"
    }

    /// Every value the user gave that a message must not show: the string's option values (but
    /// libpq's own words, such as `sslmode`'s), the database and the password.
    var givenValues: [String] {
        options.filter { !ConnectionOptionRules.isVocabulary($0) }.map(\.value) + [databaseOverride, password].compactMap { $0 }
    }

    private static func parse(_ text: String) throws(PostgresError) -> [ConnectionOption] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(text, &errorMessage) else {
            // libpq's message quotes the token it stopped at: it is never shown.
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                kind: .invalidConfiguration,
                message: "the connection string is malformed: \(ConnectionStringDiagnosis.reason(text))")
        }
        defer { PQconninfoFree(parsed) }
        var options: [ConnectionOption] = []
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                options.append(ConnectionOption(keyword: String(cString: keyword), value: String(cString: value)))
            }
            option += 1
        }
        if let problem = ConnectionOptionRules.problem(in: options) {
            throw PostgresError(kind: .invalidConfiguration, message: "the connection string's \(problem)")
        }
        return options
    }
}

/// `dump()`, `debugPrint` and loggers that reflect values see only what `description` says: the
/// connection string, the options' values and the password stay out of them.
extension ConnectionConfiguration: CustomReflectable, CustomDebugStringConvertible {
    public var customMirror: Mirror { Mirror(self, children: ["description": description], displayStyle: .struct) }
    public var debugDescription: String { description }
}

extension ConnectionConfiguration {
    /// The configuration from the options points-admin and points-server both take: a
    /// connection string (else the PG* environment variables) and a password file.
    /// - Throws: the option that is wrong (`--database-url` or `--password-file`) and why.
    public static func fromOptions(databaseURL: String?, passwordFile: String?) throws(ConnectionOptionError) -> ConnectionConfiguration {
        var configuration = ConnectionConfiguration.environment
        if let databaseURL {
            do {
                configuration = try ConnectionConfiguration(databaseURL)
            } catch {
                throw ConnectionOptionError(option: "--database-url", message: error.message)
            }
        }
        if let passwordFile {
            do {
                configuration = try configuration.withPassword(fromFile: passwordFile)
            } catch {
                throw ConnectionOptionError(option: "--password-file", message: error.message)
            }
        }
        return configuration
    }
}

extension ConnectionConfiguration {
    /// What a program says when its `--database-url` holds a password (it goes on all the same).
    public static let visiblePasswordWarning = """
        Warning: --database-url holds a password, which other users of this machine can see with `ps`; \
        pass it with --password-file PATH, the PGPASSWORD environment variable or a ~/.pgpass file instead.
        """

    /// A message about a command line (a usage error that quotes an argument back) with every
    /// argument that looks like a connection string, or holds a password, replaced.
    public static func hidingConnectionStrings(in message: String, arguments: [String]) -> String {
        var message = message
        for argument in arguments {
            let lowered = argument.lowercased()
            guard lowered.contains("://") || lowered.contains("password") || lowered.contains("host=") else { continue }
            for shown in [argument] + argument.split(separator: "=", maxSplits: 1).dropFirst().map(String.init)
            where shown.count >= 3 {
                message = message.replacing(shown, with: "(a connection string)")
            }
        }
        return message
    }
}

/// A connection option that cannot be used: which one, and why (never its value).
public struct ConnectionOptionError: Error, Sendable {
    public let option: String
    public let message: String
}
