import Foundation
import Postgres

/// One numbered file of `Schema/`, carried inside the binary.
public struct Migration: Sendable, Hashable {
    /// The number the file name starts with (`0002_ledger.sql` → 2).
    public let version: Int
    /// The file name, e.g. `0002_ledger.sql`.
    public let fileName: String
    /// The SQL text exactly as in the file; role placeholders are filled in when it is applied.
    public let sql: String

    /// Every migration this build carries, in order.
    public static let all: [Migration] = embeddedMigrationFiles.map { file in
        let digits = file.fileName.prefix { $0.isNumber }
        guard let version = Int(digits), digits.count == 4, file.fileName.dropFirst(4).first == "_",
            let data = Data(base64Encoded: file.base64), let sql = String(data: data, encoding: .utf8)
        else {
            preconditionFailure("Schema/\(file.fileName) must be named NNNN_name.sql and hold UTF-8 text")
        }
        return Migration(version: version, fileName: file.fileName, sql: sql)
    }.sorted { $0.version < $1.version }

    /// The SQL with `{{owner}}`-style placeholders replaced: `{{owner}}` by the quoted role name,
    /// `{{owner_name}}` by the name as a string literal (likewise writer and auditor).
    func sql(for roles: RoleNames) -> String {
        var text = sql
        for (placeholder, name) in [("owner", roles.owner), ("writer", roles.writer), ("auditor", roles.auditor)] {
            text = text.replacingOccurrences(of: "{{\(placeholder)_name}}", with: quoteLiteral(name))
            text = text.replacingOccurrences(of: "{{\(placeholder)}}", with: quoteIdentifier(name))
        }
        return text
    }
}
