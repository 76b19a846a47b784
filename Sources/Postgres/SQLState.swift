/// A PostgreSQL error code (SQLSTATE), matched by name in `catch` clauses.
///
/// Codes are the five-character values of PostgreSQL's Appendix A; the named constants cover
/// the ones callers act on. Unknown codes are kept verbatim.
public struct SQLState: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The error class: the first two characters (`23` integrity constraint violation, `08` connection…).
    public var errorClass: String { String(rawValue.prefix(2)) }

    public var description: String { rawValue }

    public static let successfulCompletion = SQLState("00000")
    public static let connectionException = SQLState("08000")
    public static let connectionDoesNotExist = SQLState("08003")
    public static let connectionFailure = SQLState("08006")
    public static let featureNotSupported = SQLState("0A000")
    public static let invalidParameterValue = SQLState("22023")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let invalidDatetimeFormat = SQLState("22007")
    public static let datetimeFieldOverflow = SQLState("22008")
    public static let stringDataRightTruncation = SQLState("22001")
    public static let divisionByZero = SQLState("22012")
    public static let integrityConstraintViolation = SQLState("23000")
    public static let notNullViolation = SQLState("23502")
    public static let foreignKeyViolation = SQLState("23503")
    public static let uniqueViolation = SQLState("23505")
    public static let checkViolation = SQLState("23514")
    public static let exclusionViolation = SQLState("23P01")
    public static let invalidTransactionState = SQLState("25000")
    public static let inFailedSQLTransaction = SQLState("25P02")
    public static let invalidAuthorizationSpecification = SQLState("28000")
    public static let invalidPassword = SQLState("28P01")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let syntaxError = SQLState("42601")
    public static let insufficientPrivilege = SQLState("42501")
    public static let undefinedColumn = SQLState("42703")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedFunction = SQLState("42883")
    public static let duplicateObject = SQLState("42710")
    public static let invalidCatalogName = SQLState("3D000")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let idleSessionTimeout = SQLState("57P05")
    public static let queryCanceled = SQLState("57014")
    public static let lockNotAvailable = SQLState("55P03")
    public static let raiseException = SQLState("P0001")
    public static let internalError = SQLState("XX000")
}
