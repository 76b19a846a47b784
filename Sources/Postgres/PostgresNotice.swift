internal import CLibPQ

/// A message the server sent besides an answer: a `WARNING` a function raised, or the reason it
/// is about to close the connection (`FATAL: terminating connection due to administrator
/// command`, a shutdown's `WARNING`). libpq would print it raw on standard error; a connection
/// hands it to its configuration's `noticeHandler` instead, or drops it when there is none.
public struct PostgresNotice: Sendable, Hashable, CustomStringConvertible {
    /// `WARNING`, `NOTICE`, `FATAL`, … (in English whatever the server's language).
    public let severity: String
    public let code: SQLState?
    /// The server's text, with anything that looks like a connection secret removed. It may hold
    /// any character: escape it before it reaches a terminal or a log.
    public let message: String

    public init(severity: String, code: SQLState?, message: String) {
        self.severity = severity
        self.code = code
        self.message = message
    }

    /// Whether the server is ending the session (a shutdown, a crash of another backend, a
    /// terminated backend, an idle session's timeout): the connection will not answer again, and
    /// the error that follows says so.
    public var endsTheSession: Bool {
        severity == "FATAL" || severity == "PANIC"
            || code.map { [.adminShutdown, .crashShutdown, .idleSessionTimeout].contains($0) } == true
    }

    public var description: String { "\(severity): \(message)" }
}

/// The notices a connection's server sent, kept by C code (`pl_notices` in shim.h) while libpq
/// runs and handed to the configuration's handler once each libpq call has returned. Touched only
/// by the thread that uses the connection.
final class NoticeReceiver {
    private let handler: (@Sendable (PostgresNotice) -> Void)?
    private let kept = UnsafeMutablePointer<pl_notices>.allocate(capacity: 1)
    /// Whether the server said it is ending the session.
    private(set) var sessionEnded = false

    init(handler: (@Sendable (PostgresNotice) -> Void)?) {
        self.handler = handler
        kept.initialize(to: pl_notices(head: nil, tail: nil))
    }

    /// Keeps `connection`'s notices here. The receiver must outlive the connection's `PQfinish`.
    func install(on connection: OpaquePointer) {
        pl_keep_notices(connection, kept)
    }

    /// Hands every notice kept so far to the handler, in order.
    func deliver() {
        while let taken = pl_take_notice(kept) {
            func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
            let notice = PostgresNotice(
                severity: text(taken.pointee.severity) ?? "NOTICE", code: text(taken.pointee.code).map(SQLState.init),
                message: ConnectionSecrets.redact(PostgresError.oneLine(text(taken.pointee.message) ?? "")))
            pl_free_notice(taken)
            if notice.endsTheSession { sessionEnded = true }
            handler?(notice)
        }
    }

    deinit {
        while let taken = pl_take_notice(kept) { pl_free_notice(taken) }
        kept.deallocate()
    }
}
