public import Postgres
import Foundation

/// A member's balances at one moment. Points are whole numbers.
public struct MemberBalance: Sendable, Hashable, Codable {
    /// Spendable-in-principle points (may be negative after a clawback under the `negative` policy).
    public let available: Int64
    /// Earned but not yet spendable (inside a return window).
    public let pending: Int64
    /// Reserved by open holds of checkouts in progress.
    public let held: Int64
    /// What the member can spend now: available − held.
    public var spendable: Int64 { available - held }

    public init(available: Int64, pending: Int64, held: Int64) {
        self.available = available
        self.pending = pending
        self.held = held
    }
}

/// A member of a program, with balances and tier.
public struct Member: Sendable, Hashable, Codable {
    public let member: String
    public let tier: String
    /// The member who referred this one, paid a bonus on this member's first purchase.
    public let referrer: String?
    public let available: Int64
    public let pending: Int64
    public let held: Int64
    public let spendable: Int64
    public let createdAt: Timestamp
    /// Paid the tier's birthday bonus once a year (`jobs birthday`).
    public let birthday: Birthday?

    public var balance: MemberBalance { MemberBalance(available: available, pending: pending, held: held) }
}

/// What `createMember` did.
public enum MemberCreation: Sendable, Hashable {
    case created(Member)
    /// The member existed already; it is returned as it is.
    case existed(Member)

    public var member: Member {
        switch self {
        case .created(let member), .existed(let member): member
        }
    }
}

extension Ledger {
    /// Creates a member in the program's entry tier, optionally referred by an existing member.
    /// Idempotent: an existing member with the same referrer (or none given) is returned.
    /// - Throws: `.invalidInput` for a malformed id; `.idempotencyConflict` for an existing member
    ///   with another referrer (a referrer never changes); `.notFound(.referrer, …)` for a
    ///   referrer who is not a member.
    public func createMember(_ id: String, referrer: String? = nil, in program: Program) async throws -> MemberCreation {
        try Validate.memberID(id)
        if let referrer {
            try Validate.memberID(referrer)
            guard referrer != id else { throw LedgerError.invalidInput(field: "referrer", reason: "a member cannot refer themselves") }
        }
        let (status, member) = try await withConnection { connection in
            let status = try connection.preparedQuery(
                "SELECT status FROM points.create_member(\(program.id), \(id), \(referrer))"
            ).single().decode(StatusAnswer<CreateMemberStatus>.self).status
            if status == .unknownReferrer { return (status, nil as Member?) }
            return (status, try Self.loadMember(id, program: program, connection: connection))
        }
        switch (status, member) {
        case (.created, let member?): return .created(member)
        case (.exists, let member?): return .existed(member)
        case (.conflict, let member?):
            throw LedgerError.idempotencyConflict(key: id, existing: .member(id, referrer: member.referrer))
        case (.unknownReferrer, _), (_, nil):
            throw LedgerError.notFound(.referrer, id: referrer ?? "")
        }
    }

    /// The member's balances and tier, read in O(1).
    /// - Throws: `LedgerError.notFound(.member, …)`.
    public func member(_ id: String, in program: Program) async throws -> Member {
        try Validate.memberID(id)
        return try await withConnection { connection in
            try Self.loadMember(id, program: program, connection: connection)
        }
    }

    static func loadMember(_ id: String, program: Program, connection: PostgresConnection) throws -> Member {
        let rows = try connection.preparedQuery("""
            SELECT member_id, tier, available, pending, points.held_now(program_id, member_id, held) AS held, created_at, referrer,
                   extract(month FROM birthday)::smallint AS birthday_month, extract(day FROM birthday)::smallint AS birthday_day
            FROM points.members WHERE program_id = \(program.id) AND member_id = \(id)
            """)
        guard let row = rows.first else { throw LedgerError.notFound(.member, id: id) }
        let stored = try row.decode(MemberRow.self)
        return Member(
            member: stored.memberID, tier: stored.tier, referrer: stored.referrer, available: stored.available,
            pending: stored.pending, held: stored.held, spendable: stored.available - stored.held, createdAt: stored.createdAt,
            birthday: stored.birthdayMonth.flatMap { month in stored.birthdayDay.map { Birthday(month: Int(month), day: Int($0)) } })
    }
}

/// A member's row as `loadMember` reads it.
private struct MemberRow: Decodable {
    let memberID: String
    let tier: String
    let available: Int64
    let pending: Int64
    let held: Int64
    let createdAt: Timestamp
    let referrer: String?
    let birthdayMonth: Int16?
    let birthdayDay: Int16?
}

/// What `points.create_member` answers (Schema/functions/member.sql).
enum CreateMemberStatus: String, LedgerStatus {
    case created, exists, conflict, unknownReferrer = "unknown_referrer"
    static let function = "create_member"
}
