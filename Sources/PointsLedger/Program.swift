public import Postgres
import Foundation

/// A member program: its own members, currency, time zone, tiers and rules.
public struct Program: Sendable, Hashable, Codable {
    public let id: Int32
    public let name: String
    /// ISO 4217 code; money amounts are integer counts of its minor unit.
    public let currency: String
    /// Digits of the currency's minor unit (2 for CNY: amounts are in fen).
    public let currencyExponent: Int
    /// IANA time zone in which days, months, quarters and years are counted.
    public let timeZone: String
    public let createdAt: Timestamp
    /// The program's tiers, entry tier first.
    public let tiers: [String]
}

/// What `createProgram` did.
public enum ProgramCreation: Sendable, Hashable {
    case created(Program)
    /// A program of that name and the same settings existed; it is returned unchanged.
    case existed(Program)

    public var program: Program {
        switch self {
        case .created(let program), .existed(let program): program
        }
    }
}

extension Ledger {
    /// Creates a program with the default tiers (`ordinary`, `advanced`, `premium`).
    /// Idempotent: the same name and settings return the existing program.
    /// - Throws: `LedgerError.invalidInput` for a malformed name, an unknown currency or time
    ///   zone; `.programConflict` when the name exists with other settings.
    public func createProgram(
        name: String, currency: String, timeZone: String = "Asia/Shanghai", actor: String
    ) async throws -> ProgramCreation {
        try Validate.programName(name)
        let actor = try Validate.text(actor, field: "actor", maximumLength: 100)
        let currency = currency.uppercased()
        guard currency.range(of: "^[A-Z]{3}$", options: .regularExpression) != nil else {
            throw LedgerError.invalidInput(field: "currency", reason: "\"\(currency)\" is not an ISO 4217 code such as CNY or USD")
        }
        let row: (status: CreateProgramStatus, program: Program) = try await withConnection { connection in
            let known = try connection.preparedQuery("SELECT 1 FROM points.currencies WHERE currency = \(currency)")
            guard !known.isEmpty else {
                throw LedgerError.invalidInput(field: "currency", reason: "\(currency) is not a currency the ledger knows")
            }
            let status: CreateProgramStatus
            do {
                status = try connection.query("""
                    SELECT status FROM points.create_program(\(name), \(currency), \(timeZone), \(actor))
                    """).single().decode(StatusAnswer<CreateProgramStatus>.self).status
            } catch let error as PostgresError where error.code == .invalidParameterValue {
                throw LedgerError.invalidInput(
                    field: "time zone", reason: "\"\(timeZone)\" is not an IANA time zone name such as Asia/Shanghai")
            }
            return (status, try Self.loadProgram(named: name, connection: connection))
        }
        switch row.status {
        case .created:
            logger.info("created program", metadata: ["program": "\(name)"])
            return .created(row.program)
        case .exists: return .existed(row.program)
        case .conflict:
            throw LedgerError.programConflict(name: name, currency: row.program.currency, timeZone: row.program.timeZone)
        }
    }

    /// The program of that name.
    /// - Throws: `LedgerError.notFound(.program, …)`.
    public func program(named name: String) async throws -> Program {
        try await withConnection { connection in
            try Self.loadProgram(named: name, connection: connection)
        }
    }

    /// Every program, by name (points-server's schedule runs the period jobs of each).
    public func programs() async throws -> [Program] {
        try await withConnection { connection in
            try connection.preparedQuery("\(unsafeSQL: Self.programRows) ORDER BY p.name").decode(Program.self)
        }
    }

    static func loadProgram(named name: String, connection: PostgresConnection) throws -> Program {
        let rows = try connection.preparedQuery("\(unsafeSQL: Self.programRows) WHERE p.name = \(name)")
        guard let row = rows.first else { throw LedgerError.notFound(.program, id: name) }
        return try row.decode(Program.self)
    }

    /// The programs as `Program` decodes them, for a WHERE clause to follow.
    private static let programRows = "SELECT \(programColumns) FROM \(programTables)"
    /// A program's columns as `Program` decodes them, from `programTables`.
    static let programColumns = """
        p.program_id AS id, p.name, p.currency, c.exponent AS currency_exponent, p.time_zone, p.created_at,
        ARRAY(SELECT t.tier FROM points.tiers AS t WHERE t.program_id = p.program_id ORDER BY t.rank) AS tiers
        """
    static let programTables = "points.programs AS p JOIN points.currencies AS c USING (currency)"
}

/// What `points.create_program` answers (Schema/functions/program.sql).
enum CreateProgramStatus: String, LedgerStatus {
    case created, exists, conflict
    static let function = "create_program"
}
