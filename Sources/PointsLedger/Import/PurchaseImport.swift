import Foundation
import Postgres

/// The form of an import file.
public enum ImportFormat: String, Sendable, CaseIterable {
    /// One JSON object a line: `{"order_id": "A1", "member": "m1", "amount": "12.34", "occurred_at": "…"}`.
    case jsonLines = "jsonl"
    /// A header line naming the columns, then one purchase a line.
    case csv

    /// The format a file's name gives (in any case): `.jsonl`, `.ndjson` or `.json` is JSON Lines,
    /// `.csv` is CSV; nil for any other name, whose content then decides.
    public init?(fileName: String) {
        switch URL(fileURLWithPath: fileName).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": self = .jsonLines
        case "csv": self = .csv
        default: return nil
        }
    }
}

/// How an import runs.
public struct ImportOptions: Sendable {
    /// The file's form; nil: decided by the content, JSON Lines when its first byte other than
    /// blanks and a byte-order mark is `{`, CSV otherwise (one long first line does not change that).
    public var format: ImportFormat?
    /// Create members on their first purchase (with the line's referrer), or refuse their lines.
    public var createMembers: Bool
    /// Record a permission to load history older than the back-dating window.
    public var allowBackdated: Bool
    /// Lines per batch: each batch is one COPY and one set-based call, committed on its own.
    public var batchSize: Int
    /// Connections posting batches in parallel; each owns a share of the members, so they never
    /// wait on each other's rows. At most the pool's size.
    public var connections: Int
    /// Who is recorded on imported adjustments whose line names no actor.
    public var actor: String

    public init(
        format: ImportFormat? = nil, createMembers: Bool = true, allowBackdated: Bool = false, batchSize: Int = 50_000,
        connections: Int = 2, actor: String = "import"
    ) {
        self.actor = actor
        self.format = format
        self.createMembers = createMembers
        self.allowBackdated = allowBackdated
        self.batchSize = batchSize
        self.connections = connections
    }
}

/// What became of one line of an import file.
public struct ImportLineResult: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Posted now.
        case accepted
        /// Its order was posted before with the same content: nothing new was posted.
        case duplicate
        /// Not posted; `reason` says why.
        case rejected
    }

    public let line: Int
    public let status: Status
    public let order: String?
    public let entryID: Int64?
    public let points: Int64?
    public let reason: String?
    /// The line's own key, for records other than purchases: a refund's id, a redemption's or
    /// an adjustment's key, a task completion's ref.
    public var key: String? = nil
}

/// The outcome of a whole import.
public struct ImportSummary: Sendable, Hashable, Codable {
    public var lines = 0
    public var accepted = 0
    public var duplicates = 0
    public var rejected = 0
    /// Points earned by the accepted lines.
    public var points: Int64 = 0
    /// Batches committed.
    public var batches = 0
    public var seconds = 0.0
}

/// The columns of an import, by their names in a CSV header or JSON object.
enum ImportField: String, CaseIterable {
    case orderID = "order_id", member, amount, occurredAt = "occurred_at", pointsPaid = "points_paid", referrer

    static let required: [ImportField] = [.orderID, .member, .amount, .occurredAt]
    static let names = allCases.map(\.rawValue).joined(separator: ", ")
}

/// A line's values by column, before they are checked: fixed fields rather than a dictionary,
/// which cost more per line than reading the line.
struct ImportValues {
    private var orderID, member, amount, occurredAt, pointsPaid, referrer: String?

    subscript(field: ImportField) -> String? {
        get {
            switch field {
            case .orderID: orderID
            case .member: member
            case .amount: amount
            case .occurredAt: occurredAt
            case .pointsPaid: pointsPaid
            case .referrer: referrer
            }
        }
        set {
            switch field {
            case .orderID: orderID = newValue
            case .member: member = newValue
            case .amount: amount = newValue
            case .occurredAt: occurredAt = newValue
            case .pointsPaid: pointsPaid = newValue
            case .referrer: referrer = newValue
            }
        }
    }
}

/// One checked line, ready for the staging table.
struct ImportRecord {
    let line: Int
    let order: String
    let member: String
    let amountMinor: Int64
    let pointsPaidMinor: Int64
    let occurredAt: String
    let referrer: String?
}


/// Parsing and checking of single lines.
enum ImportLines {
    struct LineError: Error {
        let reason: String
        var order: String? = nil
    }

    /// The header's columns: every required one, nothing unknown, nothing twice.
    static func columns(_ header: String) throws(LedgerError) -> [ImportField] {
        try headerNames(
            header, known: ImportField.allCases.map(\.rawValue), required: ImportField.required.map(\.rawValue),
            listed: "the columns are \(ImportField.names)"
        ).map { ImportField(rawValue: $0)! }
    }

    /// A CSV header's names, trimmed and in lower case: each one of `known`, none twice, and
    /// every one of `required`. `listed` ends a message about a name: "the columns are …".
    static func headerNames(_ header: String, known: [String], required: [String], listed: String) throws(LedgerError) -> [String] {
        let names: [String]
        do {
            names = try CSVLine.fields(header).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        } catch {
            throw .invalidInput(field: "header", reason: "line 1 is not a CSV header: \(error.reason)")
        }
        for (index, name) in names.enumerated() {
            guard known.contains(name) else { throw .invalidInput(field: "header", reason: "unknown column \"\(name)\"; \(listed)") }
            guard !names[..<index].contains(name) else { throw .invalidInput(field: "header", reason: "column \(name) appears twice") }
        }
        for name in required where !names.contains(name) {
            throw .invalidInput(field: "header", reason: "the required column \(name) is missing; \(listed)")
        }
        return names
    }

    /// What is wrong with a line that is not UTF-8, and what to do: `has byte 0xFF at byte 14, …`.
    static func notUTF8(offset: Int, value: UInt8) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "has byte 0x\(hex.count < 2 ? "0" + hex : hex) at byte \(offset), which is not UTF-8 text; save the file as UTF-8"
    }

    /// A line's text, or the reason it has none: too long, not UTF-8, or blank.
    static func text(of line: LineReader.Line, noun: String) -> Result<String, LineError> {
        switch line {
        case .tooLong(let bytes):
            return .failure(LineError(reason: "the line is \(bytes) bytes long, more than the 65536 a \(noun) may take"))
        case .notUTF8(let offset, let value):
            return .failure(LineError(reason: "the line " + notUTF8(offset: offset, value: value)))
        case .text(let text):
            guard !text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return .failure(LineError(reason: "the line is empty")) }
            return .success(text)
        }
    }

    static func csvValues(_ text: String, columns: [ImportField]) throws -> ImportValues {
        var values = ImportValues()
        for (field, value) in zip(columns, try csvFields(text, count: columns.count)) where !value.isEmpty { values[field] = value }
        return values
    }

    static func jsonValues(_ text: String) throws -> ImportValues {
        var values = ImportValues()
        try jsonFields(text, listed: "the fields are \(ImportField.names)") { name in
            guard let field = ImportField(rawValue: name) else { return nil }
            return { values[field] = $0 }
        }
        return values
    }

    /// A CSV line's fields: as many as the header has columns.
    static func csvFields(_ text: String, count: Int) throws -> [String] {
        let fields: [String]
        do {
            fields = try CSVLine.fields(text)
        } catch {
            throw LineError(reason: "the line is not valid CSV: \(error.reason)")
        }
        guard fields.count == count else { throw LineError(reason: "the line has \(fields.count) fields; the header has \(count)") }
        return fields
    }

    /// A JSON Lines object's fields as text, each given to the setter `field` answers for its
    /// name (nil: an unknown field, refused; `listed` ends that message: "the fields are …");
    /// nulls are left out.
    static func jsonFields(_ text: String, listed: String, _ field: (String) -> ((String) -> Void)?) throws {
        let object: [String: FlatJSON.Value]
        do {
            object = try FlatJSON.parseObject(text)
        } catch {
            throw LineError(reason: "the line is not a valid JSON object: \(error.reason)")
        }
        for (key, value) in object {
            guard let set = field(key) else { throw LineError(reason: "unknown field \"\(key)\"; \(listed)") }
            switch value {
            case .string(let text), .number(let text): set(text)
            case .null: continue
            case .bool: throw LineError(reason: "field \(key) must be a string or a number, not true or false")
            }
        }
    }

    static func record(_ values: ImportValues, line: Int, program: Program) throws -> ImportRecord {
        let order = values[.orderID]
        for field in ImportField.required where values[field] == nil {
            throw LineError(reason: "the field \(field.rawValue) is missing", order: order)
        }
        let exponent = program.currencyExponent
        do {
            try Validate.reference(order!, field: "order_id")
            try Validate.memberID(values[.member]!)
            let amount = try Money.parse(values[.amount]!, exponent: exponent, field: "amount")
            try Validate.amount(amount, in: program, field: "amount")
            let paid = try values[.pointsPaid].map { text throws(LedgerError) in try Money.parse(text, exponent: exponent, field: "points_paid") }
            if let paid, paid > amount {
                throw LedgerError.invalidInput(field: "points_paid", reason: "\(paid.grouped) is more than the amount \(amount.grouped)")
            }
            guard let occurredAt = TimeText.normalise(values[.occurredAt]!) else {
                throw LedgerError.invalidInput(
                    field: "occurred_at",
                    reason: "\(TextRules.shown(values[.occurredAt]!)) is not a time from the years 1900 to 9999 such as 2026-11-22T10:00:00+08:00")
            }
            if let referrer = values[.referrer] { try Validate.memberID(referrer) }
            return ImportRecord(
                line: line, order: order!, member: values[.member]!, amountMinor: amount.minorUnits,
                pointsPaidMinor: paid?.minorUnits ?? 0, occurredAt: occurredAt, referrer: values[.referrer])
        } catch let error as LedgerError {
            guard case .invalidInput(let field, let reason) = error else { throw error }
            throw LineError(reason: "\(field.hasPrefix("member") ? "member" : field): \(reason)", order: order)
        }
    }
}

/// Posting one batch on one connection.
enum ImportBatch {
    /// Posts the batch (one COPY and one set-based call, in one transaction). If the database
    /// refuses the batch for a line the checks let through, each half is posted on its own, down
    /// to the line at fault, which is reported rejected with the database's reason while the
    /// others go in. A deadlock or serialization failure is no line's fault: the transaction is
    /// run again, and if it keeps failing the import stops with the error (a rerun finishes it).
    static func post<Record>(
        _ records: [Record], together: ([Record]) throws -> [ImportLineResult], rejected: (Record, String) -> ImportLineResult
    ) throws -> [ImportLineResult] {
        do {
            return try retryingTransientFailures { try together(records) }
        } catch let error as PostgresError where !error.isConnectionError && !error.isTransient {
            guard records.count > 1 else { return [rejected(records[0], error.message)] }
            let half = records.count / 2
            return try post(Array(records[..<half]), together: together, rejected: rejected)
                + post(Array(records[half...]), together: together, rejected: rejected)
        }
    }

    /// Runs `body` again, up to four more times with a growing pause, while it fails transiently.
    static func retryingTransientFailures<T>(_ body: () throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try body()
            } catch let error as PostgresError where error.isTransient && attempt < 5 {
                usleep(useconds_t(10_000 * attempt))
                attempt += 1
            }
        }
    }

    static func postTogether(_ records: [ImportRecord], connection: PostgresConnection, program: Program, options: ImportOptions) throws
        -> [ImportLineResult]
    {
        let orders = Dictionary(records.map { ($0.line, $0.order) }, uniquingKeysWith: { first, _ in first })
        return try connection.withTransaction { connection in
            let batchID = try connection.preparedQuery("SELECT nextval('points.import_batch_ids')").single().decode(Int64.self, column: "nextval")
            // Times without a zone are the program's local time.
            try connection.preparedQuery("SELECT set_config('TimeZone', \(program.timeZone), true)")
            try connection.copyIn(
                "COPY points.import_staging (batch_id, line, order_id, member_id, amount_minor, points_paid_minor, occurred_at, referrer) FROM STDIN",
                rows: records.lazy.map { record in
                    [
                        String(batchID), String(record.line), record.order, record.member, String(record.amountMinor),
                        String(record.pointsPaidMinor), record.occurredAt, record.referrer,
                    ]
                })
            try connection.preparedQuery("SELECT set_config('TimeZone', 'UTC', true)")
            return try connection.preparedQuery("""
                SELECT * FROM points.import_purchase_batch(\(program.id), \(batchID), \(options.createMembers), \(options.allowBackdated))
                """).decode(ImportLineAnswer.self).map { answer in
                ImportLineResult(
                    line: answer.line, status: answer.status.result, order: orders[answer.line], entryID: answer.entryID,
                    points: answer.points, reason: answer.reason)
            }
        }
    }
}

/// A row `points.import_purchase_batch` answers with: one per line of the batch
/// (Schema/functions/import/purchase_import.sql).
struct ImportLineAnswer: Decodable, LedgerAnswer {
    enum Status: String, LedgerStatus {
        case accepted, duplicate, rejected
        static let function = "import_purchase_batch"

        var result: ImportLineResult.Status {
            switch self {
            case .accepted: .accepted
            case .duplicate: .duplicate
            case .rejected: .rejected
            }
        }
    }

    let line: Int
    let status: Status
    let entryID: Int64?
    let points: Int64?
    let reason: String?
}
