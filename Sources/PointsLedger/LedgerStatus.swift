public import Postgres

/// The answer of a ledger function that posts or changes something: a closed set of statuses
/// the database declares as an enum type (`points.<function>_status`, Schema/migrations) and
/// the library mirrors case for case (a test compares the two). A status this build does not
/// know means the database's schema is newer than the library: decoding it throws
/// `LedgerError.unexpectedAnswer`, never a crash of the caller's process.
protocol LedgerStatus: RawRepresentable<String>, CaseIterable, Decodable, Equatable, Sendable {
    /// The ledger function that answers with this status (`points.<function>`).
    static var function: String { get }
}

extension LedgerStatus {
    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let status = Self(rawValue: text) else {
            throw LedgerError.unexpectedAnswer(function: Self.function, status: text)
        }
        self = status
    }
}

extension Ledger {
    /// One call of a ledger function whose one row answers the operation, read by column name
    /// as `Answer`: one round trip (the hot paths: purchases, refunds, grants, task completions).
    func call<Answer: Decodable>(_ answer: Answer.Type, _ query: PostgresQuery) async throws -> Answer {
        do {
            return try await pool.query(query).single().decode(answer)
        } catch {
            throw LedgerError.wrap(error)
        }
    }
}

/// The one row a ledger function answers with, read by column name: its status, and the
/// columns each status fills.
protocol LedgerAnswer {
    associatedtype Status: LedgerStatus
    var status: Status { get }
}

extension LedgerAnswer {
    /// A column the answer's status promises to fill: NULL there means the database answered
    /// outside the contract this build knows, an error like an unknown status.
    func required<Value>(_ column: KeyPath<Self, Value?>) throws -> Value {
        guard let value = self[keyPath: column] else {
            throw LedgerError.unexpectedAnswer(function: Status.function, status: "\(status.rawValue)\" with a column it fills empty (\(column))")
        }
        return value
    }
}

/// An answer that is only a status (`SELECT status FROM points.…`).
struct StatusAnswer<Status: LedgerStatus>: Decodable, LedgerAnswer {
    let status: Status
}
