public import Postgres

/// What an API key of points-server may do: post and read as a checkout system, act for members
/// as a member app, or read as finance.
public enum APIRole: String, Sendable, Codable, CaseIterable {
    case checkout, app, finance
}

/// An API key as the ledger keeps it: never its secret, which only its creator saw.
public struct APIKey: Sendable, Hashable, Codable {
    public let id: Int64
    public let program: String
    public let role: APIRole
    public let name: String
    public let createdAt: Timestamp
    public let createdBy: String
    public let revokedAt: Timestamp?
    public let revokedBy: String?

    public var isRevoked: Bool { revokedAt != nil }
}

/// A key just made, with its secret: shown once, stored nowhere. Printing it (a log line, a
/// `dump`) shows the key, never the secret.
public struct NewAPIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let key: APIKey
    /// `plk_` and 64 hexadecimal digits (256 random bits).
    public let secret: String

    public var description: String { "NewAPIKey(key: \(key), secret: <hidden>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["key": key, "secret": "<hidden>"]) }
}

/// A key in force, found by its secret: whom a request speaks for.
public struct AuthenticatedKey: Sendable, Hashable {
    public let keyID: Int64
    /// The one program the key may act in.
    public let program: Program
    public let role: APIRole

    public init(keyID: Int64, program: Program, role: APIRole) {
        self.keyID = keyID
        self.program = program
        self.role = role
    }
}

extension Ledger {
    /// Makes an API key for `program` and `role`: the secret is returned once, and the ledger keeps
    /// only its SHA-256. `name` says who holds it ("checkout of store 12") and names one key in
    /// force in the program. Needs the owner's (the admin's) rights.
    public func createAPIKey(in program: Program, role: APIRole, name: String, actor: String) async throws -> NewAPIKey {
        let name = try Validate.text(name, field: "name", maximumLength: 100)
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        var generator = SystemRandomNumberGenerator()
        let secret = "plk_" + (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
        let hash = SHA256.hex(secret.utf8)
        do {
            let key = try await withConnection { connection in
                try connection.query("""
                    WITH made AS (
                        INSERT INTO points.api_keys (program_id, role, name, secret_hash, created_by)
                        VALUES (\(program.id), \(role.rawValue)::points.api_role, \(name), decode(\(hash), 'hex'), \(actor))
                        RETURNING *
                    )
                    \(unsafeSQL: Self.keyColumns) FROM made AS k JOIN points.programs AS p USING (program_id)
                    """).single().decode(APIKey.self)
            }
            return NewAPIKey(key: key, secret: secret)
        } catch LedgerError.database(let error) where error.constraint == "api_key_name_in_force" {
            throw LedgerError.invalidInput(
                field: "name", reason: "program \(program.name) has a key in force named \"\(name)\"; choose another name or revoke that key first")
        }
    }

    /// The program's API keys, in force and revoked, oldest first.
    public func apiKeys(of program: Program) async throws -> [APIKey] {
        try await withConnection { connection in
            try connection.query("""
                \(unsafeSQL: Self.keyColumns) FROM points.api_keys AS k JOIN points.programs AS p USING (program_id)
                WHERE k.program_id = \(program.id) ORDER BY k.key_id
                """).decode(APIKey.self)
        }
    }

    /// Revokes a key of the program: it stops working at once. Revoking a revoked key changes nothing.
    /// - Throws: `.notFound(.apiKey, id:)` for a key that is not the program's.
    @discardableResult
    public func revokeAPIKey(_ id: Int64, in program: Program, actor: String) async throws -> APIKey {
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        let keys = try await withConnection { connection in
            try connection.query("""
                WITH revoked AS (
                    UPDATE points.api_keys SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, \(actor))
                    WHERE program_id = \(program.id) AND key_id = \(id)
                    RETURNING *
                )
                \(unsafeSQL: Self.keyColumns) FROM revoked AS k JOIN points.programs AS p USING (program_id)
                """).decode(APIKey.self)
        }
        guard let key = keys.first else { throw LedgerError.notFound(.apiKey, id: String(id)) }
        return key
    }

    /// The key in force whose secret this is, or nil (unknown, malformed or revoked). Works with
    /// the writer's and the auditor's rights: they learn a key's program and role, nothing else.
    public func authenticate(secret: String) async throws -> AuthenticatedKey? {
        guard secret.utf8.count == 68, secret.hasPrefix("plk_"),
              secret.utf8.dropFirst(4).allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) })
        else { return nil }
        let hash = SHA256.hex(secret.lowercased().utf8)
        // One round trip: the key and its program, as `program(named:)` reads it.
        let rows = try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT \(unsafeSQL: Self.programColumns), k.key_id, k.role::text AS role
                FROM \(unsafeSQL: Self.programTables) JOIN points.authenticate_api_key(decode(\(hash), 'hex')) AS k USING (program_id)
                """).map { row in
                let key = try row.decode(AuthenticatedRow.self)
                return AuthenticatedKey(keyID: key.keyID, program: try row.decode(Program.self), role: key.role)
            }
        }
        return rows.first
    }

    private static let keyColumns = """
        SELECT k.key_id AS id, p.name AS program, k.role::text AS role, k.name, k.created_at, k.created_by, k.revoked_at, k.revoked_by
        """
}

private struct AuthenticatedRow: Decodable {
    let keyID: Int64
    let role: APIRole
}
