import Foundation

/// The names of the ledger's three database roles (DESIGN.md, principle 8).
///
/// Chosen at the first migration and recorded in the database; later migrations use the
/// recorded names, and asking for other names is refused.
public struct RoleNames: Sendable, Hashable, Codable {
    /// Owns every object; runs migrations.
    public var owner: String
    /// Posts through the ledger's functions; can never update or delete a ledger row.
    public var writer: String
    /// Reads everything, changes nothing.
    public var auditor: String

    public static let standard = RoleNames(owner: "points_owner", writer: "points_writer", auditor: "points_auditor")

    public init(owner: String, writer: String, auditor: String) {
        self.owner = owner
        self.writer = writer
        self.auditor = auditor
    }

    /// Checks that each name is a plain lower-case SQL identifier and that the three differ.
    func validate() throws(LedgerError) {
        for (role, name) in [("owner", owner), ("writer", writer), ("auditor", auditor)] {
            guard name.range(of: #"^[a-z_][a-z0-9_]{0,62}$"#, options: .regularExpression) != nil else {
                throw .invalidInput(
                    field: "\(role) role",
                    reason: "\"\(name)\" is not a valid role name: use lower-case letters, digits and _, starting with a letter")
            }
        }
        guard Set([owner, writer, auditor]).count == 3 else {
            throw .invalidInput(field: "roles", reason: "the owner, writer and auditor roles need three different names")
        }
    }
}
