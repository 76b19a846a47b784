import Foundation
public import Postgres

/// A member's birthday: month and day. 29 February counts as 28 February in other years.
public struct Birthday: Sendable, Hashable, Codable, CustomStringConvertible {
    public let month: Int
    public let day: Int

    /// Parses `MM-DD`, such as `02-29`.
    public static func parse(_ text: String) throws(LedgerError) -> Birthday {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let daysIn = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let month = Int(parts[0]), let day = Int(parts[1]),
            (1...12).contains(month), (1...daysIn[month - 1]).contains(day)
        else {
            throw .invalidInput(field: "birthday", reason: "\"\(text)\" is not a birthday: write MM-DD, such as 05-17 or 02-29")
        }
        return Birthday(month: month, day: day)
    }

    public var description: String { String(format: "%02d-%02d", month, day) }

    public init(month: Int, day: Int) {
        self.month = month
        self.day = day
    }

    public init(from decoder: any Decoder) throws {
        self = try Birthday.parse(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Progress and outcome of the birthday job.
public struct BirthdaySummary: Sendable, Hashable, Codable {
    public let job: String
    public let asOf: Timestamp
    /// Transactions committed so far: each chunk commits on its own.
    public internal(set) var chunks: Int
    /// Members looked at, and members paid.
    public internal(set) var members: Int64
    public internal(set) var paid: Int64
    public internal(set) var points: Int64
    public internal(set) var seconds: Double
}

extension Ledger {
    /// Sets a member's birthday, or clears it with nil.
    /// - Throws: `.notFound(.member, …)`.
    public func setBirthday(_ birthday: Birthday?, of member: String, in program: Program) async throws {
        try Validate.memberID(member)
        let status = try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT points.set_birthday(\(program.id), \(member), \(birthday.map { Int16($0.month) })::smallint,
                                           \(birthday.map { Int16($0.day) })::smallint) AS status
                """).single().decode(StatusAnswer<SetBirthdayStatus>.self).status
        }
        switch status {
        case .set: return
        case .unknownMember: throw LedgerError.notFound(.member, id: member)
        }
    }

    /// Pays each member's tier birthday bonus once a year: for every member whose latest
    /// birthday on or before `asOf` (local date) lies within the program's back-dating window and
    /// is unpaid, an entry dated at the start of that day. Set-based and chunked by member id;
    /// each chunk commits on its own, and a rerun never pays a birthday twice.
    /// - Throws: `.invalidInput` when `asOf` is in the future.
    public func payBirthdays(
        _ program: Program, asOf: Timestamp, chunkSize: Int = 20_000, progress: @Sendable (BirthdaySummary) -> Void = { _ in }
    ) async throws -> BirthdaySummary {
        try Self.checkChunkSize(chunkSize)
        let started = Date()
        var summary = BirthdaySummary(job: "birthday", asOf: asOf, chunks: 0, members: 0, paid: 0, points: 0, seconds: 0)
        var cursor: String? = nil
        while true {
            let chunk = try await jobChunk(
                "SELECT * FROM points.pay_birthdays(\(program.id), \(asOf), \(cursor), \(chunkSize))", asOf: asOf, in: program
            ).decode(BirthdayChunk.self)
            cursor = chunk.cursor
            guard cursor != nil else { break }
            summary.chunks += 1
            summary.members += chunk.members
            summary.paid += chunk.paid
            summary.points += chunk.points
            summary.seconds = Date().timeIntervalSince(started)
            progress(summary)
        }
        summary.seconds = Date().timeIntervalSince(started)
        logger.info("job finished", metadata: ["job": "birthday", "paid": "\(summary.paid)", "points": "\(summary.points)"])
        return summary
    }
}

/// What `points.set_birthday` answers (Schema/functions/tasks/birthday.sql).
enum SetBirthdayStatus: String, LedgerStatus {
    case set, unknownMember = "unknown_member"
    static let function = "set_birthday"
}

/// What one chunk of the birthday job did, and the member id to go on from (nil: done).
private struct BirthdayChunk: Decodable {
    let members: Int64
    let paid: Int64
    let points: Int64
    let cursor: String?
}
