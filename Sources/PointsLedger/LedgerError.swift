public import Postgres

/// Why a ledger operation did not happen. Each case reads as one sentence that names the
/// problem and what to do (`description`); nothing was posted when any of them is thrown.
/// `description` is one line with every value in it escaped (`VisibleText`), so an id, key or
/// reason can neither add a line nor send a terminal a control sequence.
public enum LedgerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A caller's value is malformed: `field` names it, `reason` says what is wrong and what to do.
    case invalidInput(field: String, reason: String)
    /// The program, member, order, hold, reward, task or tier named does not exist.
    case notFound(LedgerEntity, id: String)
    /// A program created again with another currency or time zone.
    case programConflict(name: String, currency: String, timeZone: String)
    /// A spend larger than spendable points (available − held). State-dependent: a retry may succeed.
    case insufficientPoints(member: String, spendable: Int64, requested: Int64)
    /// The ledger's state does not allow the operation now (a reward out of stock, a hold already
    /// resolved, a refund beyond what is left of its order). Not remembered: a retry may succeed.
    case refused(Refusal)
    /// The key was used before, for a write with other content: `existing` is what it names.
    case idempotencyConflict(key: String, existing: KeyedWrite)
    /// A balance would leave the range of a 64-bit integer.
    case amountOutOfRange(field: String)
    /// The database has no ledger schema yet, or an older one.
    case schemaNotMigrated
    case migrationEdited(fileName: String)
    case migrationUnknown(fileName: String)
    case migrationFailed(fileName: String, reason: String)
    /// The database role lacks the privilege for the operation.
    case permissionDenied(reason: String)
    /// The server could not be reached, or the connection broke.
    case unreachable(reason: String)
    /// A ledger function answered with a status this build does not know: the database's schema
    /// is newer than the library. Never a crash of the caller's process.
    case unexpectedAnswer(function: String, status: String)
    /// Any other database error.
    case database(PostgresError)

    /// The problem in the library's words (a caller's own interface adds its own, such as the
    /// command that creates what was not found).
    public var description: String {
        let shown = VisibleText.echoed
        return switch self {
        case .invalidInput(let field, let reason):
            // The reason is the library's sentence, which cuts what it quotes itself.
            "Invalid \(shown(field)): \(VisibleText.escaped(reason))."
        case .notFound(let entity, let id):
            "\(entity.name.capitalizedFirst) \"\(shown(id))\" does not exist\(entity == .program ? "" : " in this program")."
        case .programConflict(let name, let currency, let timeZone):
            "Program \"\(shown(name))\" already exists with currency \(shown(currency)) and time zone \(shown(timeZone)); choose another name."
        case .insufficientPoints(let member, let spendable, let requested):
            "Member \"\(shown(member))\" has \(spendable.grouped) spendable points, fewer than the \(requested.grouped) requested."
        case .refused(let refusal):
            Self.sentence(refusal.description)
        case .idempotencyConflict(let key, let existing):
            "Idempotency conflict: key \"\(shown(key))\" was already used by \(existing) with different content; use a new key for a new operation."
        case .amountOutOfRange(let field):
            "The \(shown(field)) would take a balance out of range; use a smaller number."
        case .schemaNotMigrated:
            "The database has no PointsLedger schema, or an older one; migrate it first."
        case .migrationEdited(let fileName):
            "Migration \(shown(fileName)) was edited after it was applied; restore the file and add a new migration for the change."
        case .migrationUnknown(let fileName):
            "The database has migration \(shown(fileName)), which this build does not carry; use a newer version of PointsLedger."
        case .migrationFailed(let fileName, let reason):
            "Migration \(shown(fileName)) failed and was rolled back: \(shown(reason))."
        case .permissionDenied(let reason):
            "Permission denied: \(shown(reason)). Connect as a role that may do this (the ledger's owner or writer role)."
        case .unreachable(let reason):
            // libpq lays its message out on lines of its own (a hint on an indented line): one sentence each here.
            "Cannot reach the database: \(reason.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }.map { Self.sentence(String($0)) }.joined(separator: " "))"
        case .unexpectedAnswer(let function, let status):
            "The database's \(function) answered \"\(shown(status))\", which this version of PointsLedger does not know: its schema is newer; update PointsLedger to the version that migrated it."
        case .database(let error):
            "Database error \(error.code?.rawValue ?? ""): \(shown(error.message))."
        }
    }

    /// `text` trimmed, escaped and ending with a full stop, unless it ends with its own punctuation.
    static func sentence(_ text: String) -> String {
        let trimmed = VisibleText.escaped(text.trimmingCharacters(in: .whitespacesAndNewlines))
        return trimmed.last.map { ".?!".contains($0) } == true ? trimmed : trimmed + "."
    }

    /// The database's text and time rules (domains), by constraint name, as a caller reads them:
    /// a caller of the library meets them only when it sends what the library's own checks let
    /// through (a `Timestamp` out of range), or when it calls the database directly.
    private static let textRuleRefusals: [String: (field: String, reason: String)] = [
        "event_time_range": ("time", "it is outside the years 1900 to 9999; give a time within them"),
        "id_text_format": (
            "id", "an id or key needs visible characters in Unicode NFC, without control or format characters or a space at either end"
        ),
        "member_id_length": ("member", "a member id has at most 128 characters"),
        "idempotency_key_length": ("key", "an id or key has at most 200 characters"),
        "label_text_format": (
            "text", "a reason, actor or name needs 1 to 1000 characters without control characters, line separators or bidirectional controls"
        ),
    ]

    /// Maps errors of the Postgres layer to the ledger's own.
    static func wrap(_ error: any Error) -> any Error {
        guard let error = error as? PostgresError else { return error }
        if error.kind == .invalidConfiguration {
            return LedgerError.invalidInput(field: "database URL", reason: error.message)
        }
        if error.isConnectionError { return LedgerError.unreachable(reason: error.message) }
        if error.code == .checkViolation, let constraint = error.constraint, let refusal = textRuleRefusals[constraint] {
            return LedgerError.invalidInput(field: refusal.field, reason: refusal.reason)
        }
        switch error.code {
        case .undefinedTable?, .undefinedFunction?, SQLState("3F000")?:
            return LedgerError.schemaNotMigrated
        case .insufficientPrivilege?:
            return LedgerError.permissionDenied(reason: error.message)
        case .lockNotAvailable?:
            // A ledger function that refuses to wait says why and what to do (sealing); the server's
            // lock_timeout says only that it gave up.
            if let hint = error.hint { return LedgerError.refused(.busy(detail: "\(error.message); \(hint)")) }
            return LedgerError.refused(.busy(detail: """
                another transaction has held the rows this needs for more than \(Ledger.lockWaitSeconds) seconds; nothing was written: \
                try again in a moment (if it lasts, \(PreparedTransactions.advice))
                """))
        case .numericValueOutOfRange?:
            return LedgerError.amountOutOfRange(field: "amount")
        default:
            return LedgerError.database(error)
        }
    }
}
