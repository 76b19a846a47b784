public import Foundation
import Postgres

/// The records of a program's past, beside its purchases, that an import carries: what a
/// program moving in from another system brings with it.
public enum HistoryKind: String, Sendable, CaseIterable {
    /// `refund_id, order_id, amount, occurred_at`: refunds of purchases posted before.
    case refunds
    /// `key, member, reward[, quantity] | points, reason, occurred_at`: rewards redeemed, or
    /// points spent for a reason.
    case redemptions
    /// `key, member, points, reason, occurred_at[, actor][, expires_at]`: grants (points above
    /// zero; an opening balance, with its original expiry where known) and deductions (below).
    case adjustments
    /// `task, member[, ref], occurred_at`: task completions; a check-in's ref is its local date.
    case tasks

    /// The fields of its lines: the required ones first.
    var fields: (required: [String], optional: [String]) {
        switch self {
        case .refunds: (["refund_id", "order_id", "amount", "occurred_at"], [])
        case .redemptions: (["key", "member", "occurred_at"], ["reward", "quantity", "points", "reason"])
        case .adjustments: (["key", "member", "points", "reason", "occurred_at"], ["actor", "expires_at"])
        case .tasks: (["task", "member", "occurred_at"], ["ref"])
        }
    }

    /// How messages name one record.
    var noun: String {
        switch self {
        case .refunds: "refund"
        case .redemptions: "redemption"
        case .adjustments: "grant or deduction"
        case .tasks: "task completion"
        }
    }

    /// The kind's name in the database (`points.history_kind`).
    var databaseKind: String {
        switch self {
        case .refunds: "refund"
        case .redemptions: "redemption"
        case .adjustments: "adjustment"
        case .tasks: "task"
        }
    }
}

extension Ledger {
    /// Imports records of a program's past other than purchases, streaming the input in constant
    /// memory: each line is checked as a single call's arguments are, staged by COPY, and posted
    /// by the function a single call uses, in line order for each member (refunds, whose member is
    /// their order's, in line order on one connection), so a file gives what the same records
    /// posted one call at a time would give, line for line. Every line gets a result, as for
    /// purchases: accepted, duplicate (posted before: a file run twice posts once) or rejected
    /// with the single call's reason. Each batch commits on its own: an import stopped half-way
    /// is finished by running it again. `options.actor` is recorded on adjustments whose line
    /// names none; `options.createMembers` does not apply (members come with their purchases, or
    /// `member create`).
    /// - Throws: as `importPurchases`.
    public func importHistory(
        _ kind: HistoryKind, from input: FileHandle, name: String, into program: Program, options: ImportOptions = ImportOptions(),
        report: @escaping @Sendable (ImportLineResult) -> Void
    ) async throws -> ImportSummary {
        let lines = HistoryLines(kind: kind, window: try await backdateWindow(program), actor: options.actor)
        let summary = try await importRecords(lines, from: input, name: name, into: program, options: options, report: report)
        logger.info("imported \(kind.rawValue)", metadata: ["accepted": "\(summary.accepted)", "rejected": "\(summary.rejected)"])
        return summary
    }
}

/// One checked line of history, ready for `points.import_history_staging`.
struct HistoryRecord: Sendable {
    let line: Int
    /// A refund's id, a redemption's or adjustment's key, a task completion's ref.
    var key: String?
    var member: String?
    var order: String?
    /// Signed for adjustments (a deduction below zero); spent points for a redemption.
    var points: Int64?
    var amount: Money?
    var reward: String?
    var quantity: Int?
    var reason: String?
    var actor: String?
    var task: String?
    var occurredAt = ""
    var expiresAt: String?
}

/// Reading, checking and posting lines of one kind of history.
struct HistoryLines: ImportLineKind {
    let kind: HistoryKind
    /// The program's back-dating window in days, named by a time refusal.
    let window: BackdateWindow
    /// Recorded on adjustments whose line names no actor.
    let actor: String

    var noun: String { kind.noun }

    private var allFields: [String] { kind.fields.required + kind.fields.optional }

    func columns(_ header: String) throws(LedgerError) -> [String] {
        try ImportLines.headerNames(
            header, known: allFields, required: kind.fields.required,
            listed: "the columns of \(kind.rawValue) are \(allFields.joined(separator: ", "))")
    }

    func record(_ text: String, lineNumber: Int, format: ImportFormat, columns: [String]?, program: Program)
        -> Result<HistoryRecord, ImportLines.LineError>
    {
        var values: [String: String] = [:]
        var key: String?
        do {
            if format == .csv {
                for (name, value) in zip(columns!, try ImportLines.csvFields(text, count: columns!.count)) where !value.isEmpty {
                    values[name] = value
                }
            } else {
                let known = allFields
                try ImportLines.jsonFields(text, listed: "the fields of \(kind.rawValue) are \(known.joined(separator: ", "))") { name in
                    known.contains(name) ? { values[name] = $0 } : nil
                }
            }
            key = values[kind == .refunds ? "refund_id" : kind == .tasks ? "ref" : "key"]
            return .success(try checked(values, line: lineNumber, program: program))
        } catch let error as ImportLines.LineError {
            return .failure(ImportLines.LineError(reason: error.reason, order: error.order ?? key))
        } catch {
            return .failure(ImportLines.LineError(reason: "\(error)", order: key))
        }
    }

    /// The line's values checked as a single call checks its arguments.
    private func checked(_ values: [String: String], line: Int, program: Program) throws -> HistoryRecord {
        for field in kind.fields.required where values[field] == nil {
            throw ImportLines.LineError(reason: "the field \(field) is missing")
        }
        var record = HistoryRecord(line: line)
        do {
            record.occurredAt = try time(values["occurred_at"]!, field: "occurred_at")
            switch kind {
            case .refunds:
                record.key = values["refund_id"]
                record.order = values["order_id"]
                try Validate.reference(record.key!, field: "refund_id")
                try Validate.reference(record.order!, field: "order_id")
                let amount = try Money.parse(values["amount"]!, exponent: program.currencyExponent, field: "amount")
                try Validate.amount(amount, in: program, field: "amount")
                record.amount = amount
            case .redemptions:
                record.key = values["key"]
                record.member = values["member"]
                try Validate.key(record.key!)
                try Validate.memberID(record.member!)
                switch (values["reward"], values["points"]) {
                case (let reward?, nil):
                    guard values["reason"] == nil else {
                        throw LedgerError.invalidInput(field: "reason", reason: "a reason goes with points, not with a reward")
                    }
                    record.reward = reward
                    record.quantity = try values["quantity"].map { try count($0, field: "quantity", range: 1...1_000_000) } ?? 1
                case (nil, let points?):
                    guard values["quantity"] == nil else {
                        throw LedgerError.invalidInput(field: "quantity", reason: "a quantity goes with a reward, not with points")
                    }
                    guard let reason = values["reason"] else {
                        throw LedgerError.invalidInput(field: "reason", reason: "points spent without a reward need a reason")
                    }
                    record.points = Int64(try count(points, field: "points", range: 1...Int(Int64.max)))
                    record.reason = try Validate.text(reason, field: "reason")
                default:
                    throw LedgerError.invalidInput(field: "reward", reason: "give a reward (and a quantity), or points and a reason: one of the two")
                }
            case .adjustments:
                record.key = values["key"]
                record.member = values["member"]
                try Validate.key(record.key!)
                try Validate.memberID(record.member!)
                record.points = try Numbers.signedPoints(values["points"]!, field: "points")
                record.reason = try Validate.text(values["reason"]!, field: "reason")
                record.actor = try Validate.text(values["actor"] ?? actor, field: "actor", maximumLength: 100)
                if let expiresAt = values["expires_at"] {
                    guard record.points! > 0 else {
                        throw LedgerError.invalidInput(field: "expires_at", reason: "an expiry belongs to a grant, not to a deduction")
                    }
                    record.expiresAt = try time(expiresAt, field: "expires_at")
                }
            case .tasks:
                record.task = values["task"]
                record.member = values["member"]
                record.key = values["ref"]
                try TaskCode.validate(record.task!)
                try Validate.memberID(record.member!)
                if let ref = record.key { try Validate.reference(ref, field: "ref") }
            }
            return record
        } catch let error as LedgerError {
            guard case .invalidInput(let field, let reason) = error else { throw error }
            throw ImportLines.LineError(reason: "\(field): \(reason)", order: record.key)
        }
    }

    private func time(_ text: String, field: String) throws -> String {
        guard let normalised = TimeText.normalise(text) else {
            throw LedgerError.invalidInput(
                field: field, reason: "\(TextRules.shown(text)) is not a time from the years 1900 to 9999 such as 2026-11-22T10:00:00+08:00")
        }
        return normalised
    }

    private func count(_ text: String, field: String, range: ClosedRange<Int>) throws -> Int {
        guard Numbers.isWhole(text), let value = Int(text), range.contains(value) else {
            throw LedgerError.invalidInput(
                field: field, reason: "\(TextRules.shown(text)) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A refund's member is its order's, unknown until it is posted: refunds go in line order
    /// through one worker. Other records go by member.
    func partition(of record: HistoryRecord) -> String { record.member ?? "" }

    func occurredAt(of record: HistoryRecord) -> String { record.occurredAt }

    func member(of record: HistoryRecord) -> String? { record.member }

    func rejected(line: Int, _ error: ImportLines.LineError) -> ImportLineResult {
        ImportLineResult(line: line, status: .rejected, order: nil, entryID: nil, points: nil, reason: error.reason, key: error.order)
    }

    func post(_ records: [HistoryRecord], connection: PostgresConnection, program: Program, options: ImportOptions) throws
        -> [ImportLineResult]
    {
        try ImportBatch.post(records, together: { try postTogether($0, connection: connection, program: program, options: options) }) {
            rejected($0, reason: $1)
        }
    }

    func rejected(_ record: HistoryRecord, reason: String) -> ImportLineResult {
        ImportLineResult(line: record.line, status: .rejected, order: record.order, entryID: nil, points: nil, reason: reason, key: record.key)
    }

    private func postTogether(_ records: [HistoryRecord], connection: PostgresConnection, program: Program, options: ImportOptions) throws
        -> [ImportLineResult]
    {
        let byLine = Dictionary(records.map { ($0.line, $0) }, uniquingKeysWith: { first, _ in first })
        return try connection.withTransaction { connection in
            let batchID = try connection.preparedQuery("SELECT nextval('points.import_batch_ids')").single().decode(Int64.self, column: "nextval")
            // Times without a zone are the program's local time.
            try connection.preparedQuery("SELECT set_config('TimeZone', \(program.timeZone), true)")
            try connection.copyIn(
                """
                COPY points.import_history_staging (batch_id, line, record_key, member_id, order_id, points, amount_minor, reward, quantity,
                                                    reason, actor, task, occurred_at, expires_at) FROM STDIN
                """,
                rows: records.lazy.map { record in
                    [
                        String(batchID), String(record.line), record.key, record.member, record.order, record.points.map { String($0) },
                        record.amount.map { String($0.minorUnits) }, record.reward, record.quantity.map { String($0) }, record.reason,
                        record.actor, record.task, record.occurredAt, record.expiresAt,
                    ]
                })
            try connection.preparedQuery("SELECT set_config('TimeZone', 'UTC', true)")
            // Grants, deductions and redemptions have set-based paths of their own; refunds and
            // task completions go line by line.
            let answers = kind == .adjustments
                ? try connection.preparedQuery("""
                    SELECT line, occurred_at, answer::text AS answer
                    FROM points.import_adjustment_batch(\(program.id), \(batchID), \(options.allowBackdated))
                    """)
                : kind == .redemptions
                ? try connection.preparedQuery("""
                    SELECT line, occurred_at, answer::text AS answer
                    FROM points.import_redemption_batch(\(program.id), \(batchID), \(options.allowBackdated))
                    """)
                : try connection.preparedQuery("""
                    SELECT line, occurred_at, answer::text AS answer
                    FROM points.import_history_batch(\(program.id), \(batchID), \(kind.databaseKind)::points.history_kind, \(options.allowBackdated))
                    """)
            return try answers.decode(HistoryLineAnswer.self).map { row in
                result(of: byLine[row.line]!, at: row.occurredAt, answer: Data(row.answer.utf8), program: program)
            }
        }
    }

    /// A posted line's result, read by the code that reads a single call's answer.
    private func result(of record: HistoryRecord, at occurredAt: Timestamp, answer: Data, program: Program) -> ImportLineResult {
        func line(_ outcome: PostingResult.Outcome, entry: Int64, points: Int64) -> ImportLineResult {
            ImportLineResult(
                line: record.line, status: outcome == .posted ? .accepted : .duplicate, order: record.order, entryID: entry, points: points,
                reason: nil, key: record.key)
        }
        do {
            switch kind {
            case .adjustments:
                let posting = try Ledger.posting(
                    try Self.decoder.decode(AdjustAnswer.self, from: answer), points: record.points!, member: record.member!, key: record.key!,
                    occurredAt: occurredAt, window: window)
                return line(posting.outcome, entry: posting.entryID, points: record.points!)
            case .redemptions:
                let redemption = try Ledger.redemption(
                    try Self.decoder.decode(RedeemAnswer.self, from: answer), reward: record.reward, quantity: record.quantity,
                    member: record.member!, key: record.key!, occurredAt: occurredAt, window: window)
                return line(redemption.outcome, entry: redemption.entryID, points: -redemption.points)
            case .refunds:
                let request = RefundRequest(order: record.order!, refund: record.key!, amount: record.amount!, occurredAt: occurredAt)
                let refund = try Ledger.refund(try Self.decoder.decode(RefundAnswer.self, from: answer), request: request, program: program, window: window)
                return line(refund.outcome, entry: refund.entryID, points: -refund.clawedBack)
            case .tasks:
                let request = TaskCompletionRequest(task: record.task!, member: record.member!, ref: record.key, occurredAt: occurredAt)
                let completion = try Ledger.completion(try Self.decoder.decode(CompleteTaskAnswer.self, from: answer), request: request, window: window)
                return line(completion.outcome, entry: completion.entryID, points: completion.points + completion.streakBonus)
            }
        } catch {
            let reason = "\(error)"
            return ImportLineResult(
                line: record.line, status: .rejected, order: record.order, entryID: nil, points: nil,
                reason: reason.hasSuffix(".") ? String(reason.dropLast()) : reason, key: record.key)
        }
    }

    /// Reads a function's row as JSON (`to_jsonb`) into its answer type: `entry_id` is `entryID`,
    /// as a row's column is (`snakeCaseColumnName`).
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            let words = path.last!.stringValue.split(separator: "_").enumerated().map { index, word in
                word == "id" ? "ID" : index == 0 ? String(word) : word.prefix(1).uppercased() + word.dropFirst()
            }
            return HistoryAnswerKey(stringValue: words.joined())
        }
        return decoder
    }()
}

private struct HistoryAnswerKey: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// A row of `points.import_history_batch` (Schema/functions/import/history_import.sql).
private struct HistoryLineAnswer: Decodable {
    let line: Int
    let occurredAt: Timestamp
    let answer: String
}
