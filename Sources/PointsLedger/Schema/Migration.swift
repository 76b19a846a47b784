import Foundation
import Postgres

/// One numbered file of `Schema/migrations/`, carried inside the binary: a step of the schema's
/// history (tables, types, indexes, roles, backfills), applied once and never edited after release.
public struct Migration: Sendable, Hashable {
    /// The number the file name starts with (`0001_baseline.sql` → 1).
    public let version: Int
    /// The file name, e.g. `0001_baseline.sql`.
    public let fileName: String
    /// The SQL text exactly as in the file; role placeholders are filled in when it is applied.
    public let sql: String

    /// Every migration this build carries, in order.
    public static let all: [Migration] = SchemaFiles.all.compactMap { file in
        guard file.path.hasPrefix("migrations/") else { return nil }
        let fileName = String(file.path.dropFirst("migrations/".count))
        let digits = fileName.prefix { $0.isNumber }
        guard let version = Int(digits), digits.count == 4, fileName.dropFirst(4).first == "_", !fileName.contains("/") else {
            preconditionFailure("Schema/\(file.path) must be named migrations/NNNN_name.sql")
        }
        return Migration(version: version, fileName: fileName, sql: file.sql)
    }.sorted { $0.version < $1.version }

    /// The SQL with role placeholders filled in (see `SchemaFiles.fill`).
    func sql(for roles: RoleNames) -> String { SchemaFiles.fill(sql, roles: roles) }
}

/// One file of `Schema/functions/`, carried inside the binary: the functions of one concern (and
/// the triggers that call them, and their grants). All of them are re-created together by
/// `db migrate` whenever any of them, or the migrations, changed.
public struct FunctionModule: Sendable, Hashable {
    /// The path below `Schema/functions/`, e.g. `earning/purchase.sql`.
    public let path: String
    public let sql: String

    /// Every function module this build carries, in path order.
    public static let all: [FunctionModule] = SchemaFiles.all.compactMap { file in
        guard file.path.hasPrefix("functions/") else { return nil }
        return FunctionModule(path: String(file.path.dropFirst("functions/".count)), sql: file.sql)
    }

    /// The SQL with role placeholders filled in (see `SchemaFiles.fill`).
    func sql(for roles: RoleNames) -> String { SchemaFiles.fill(sql, roles: roles) }
}

/// The `Schema/` files embedded at build time, by their path below `Schema/`.
enum SchemaFiles {
    static let all: [(path: String, sql: String)] = embeddedSchemaFiles.map { file in
        guard let data = Data(base64Encoded: file.base64), let sql = String(data: data, encoding: .utf8) else {
            preconditionFailure("Schema/\(file.path) must hold UTF-8 text")
        }
        guard file.path.hasPrefix("migrations/") || file.path.hasPrefix("functions/") else {
            preconditionFailure("Schema/\(file.path) must be in Schema/migrations or Schema/functions")
        }
        return (file.path, sql)
    }.sorted { $0.path < $1.path }

    /// `text` with `{{owner}}`-style placeholders replaced: `{{owner}}` by the quoted role name,
    /// `{{owner_name}}` by the name as a string literal (likewise writer and auditor).
    static func fill(_ text: String, roles: RoleNames) -> String {
        var text = text
        for (placeholder, name) in [("owner", roles.owner), ("writer", roles.writer), ("auditor", roles.auditor)] {
            text = text.replacingOccurrences(of: "{{\(placeholder)_name}}", with: quoteLiteral(name))
            text = text.replacingOccurrences(of: "{{\(placeholder)}}", with: quoteIdentifier(name))
        }
        return text
    }
}
