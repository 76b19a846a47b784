internal import CLibPQ
import Dispatch
import Synchronization

/// Asks the server to cancel what one connection is running, from any thread (libpq's
/// `PQcancel`, which opens a connection of its own to deliver the request). A request that
/// arrives while the connection runs nothing is ignored by the server.
final class PostgresCanceller: Sendable {
    // Safety of the pointer: it is used only under the lock, and freed in deinit.
    private let cancel: Mutex<UnsafeCancel>

    private struct UnsafeCancel: @unchecked Sendable { var pointer: OpaquePointer? }

    init(connection: OpaquePointer) {
        cancel = Mutex(UnsafeCancel(pointer: PQgetCancel(connection)))
    }

    deinit {
        cancel.withLock { if let pointer = $0.pointer { PQfreeCancel(pointer) } }
    }

    /// Sends the cancel request; true when it was delivered (the server may still have finished first).
    @discardableResult
    func send() -> Bool {
        cancel.withLock { cancel in
            guard let pointer = cancel.pointer else { return false }
            var message = [CChar](repeating: 0, count: 256)
            return PQcancel(pointer, &message, Int32(message.count)) == 1
        }
    }
}

/// The cancellation of one task's use of a connection: the canceller of the connection while a
/// command runs on it, and whether the task was cancelled. Cancelling before the command starts
/// keeps it from starting; cancelling while it runs asks the server to cancel it, once, from a
/// queue of its own (the request opens a connection, which may take long: never on the thread
/// that cancelled). A connection whose task was cancelled is never lent again, so a request that
/// arrives late can only reach that connection's server process, never the next caller's.
final class QueryCancellation: Sendable {
    private struct State {
        var cancelled = false
        var running: PostgresCanceller?
    }
    private let state = Mutex(State())

    /// Called before the command starts: false when the task was cancelled already.
    func begin(_ canceller: PostgresCanceller) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.running = canceller
            return true
        }
    }

    /// Called when the command has ended, whatever its outcome.
    func end() {
        state.withLock { $0.running = nil }
    }

    /// The task's cancellation handler: a command running now is cancelled by the server.
    func cancel() {
        let running: PostgresCanceller? = state.withLock { state in
            guard !state.cancelled else { return nil }
            state.cancelled = true
            return state.running
        }
        if let running { DispatchQueue.global().async { running.send() } }
    }

    var wasCancelled: Bool { state.withLock { $0.cancelled } }
}
