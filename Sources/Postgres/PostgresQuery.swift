import Foundation

/// A SQL command and its bound parameters, built by string interpolation.
///
/// Every interpolated value becomes a bound `$n` parameter, so no value is ever spliced into
/// SQL text: `"SELECT * FROM members WHERE member_id = \(id)"` sends `… = $1` and `id` apart.
/// Raw SQL text must be spelled out as `\(unsafeSQL: text)`.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The SQL text with `$1`, `$2`… placeholders.
    public private(set) var sql: String
    /// The parameters in text format; `nil` is SQL NULL.
    public private(set) var binds: [String?]

    /// A query from SQL text that the caller vouches for (no user input in it) and its parameters.
    public init(unsafeSQL sql: String, binds: [String?] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next `$n` parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresText)
            sql += "$\(binds.count)"
        }

        /// Binds an optional value; `nil` is SQL NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            binds.append(value?.postgresText)
            sql += "$\(binds.count)"
        }

        /// Splices SQL text (identifiers, keywords) that the caller vouches for.
        public mutating func appendInterpolation(unsafeSQL text: String) {
            sql += text
        }
    }
}

/// Quotes a name as an SQL identifier (`"my table"`), doubling embedded quotes.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// Quotes text as an SQL string literal (`'it''s'`), for DDL that cannot take parameters.
public func quoteLiteral(_ text: String) -> String {
    let escaped = text.replacingOccurrences(of: "'", with: "''")
    return text.contains("\\") ? "E'" + escaped.replacingOccurrences(of: "\\", with: "\\\\") + "'" : "'" + escaped + "'"
}
