import Dispatch
import Synchronization

/// A bounded set of connections, shared by concurrent tasks.
///
/// `withConnection` lends a connection to a synchronous closure that runs on that connection's
/// own serial dispatch queue: libpq's blocking calls never occupy Swift's cooperative thread
/// pool. Connections open lazily, up to `maximumConnections`; callers beyond that wait their
/// turn in order. A connection that breaks, or is handed back inside a transaction, is closed
/// and replaced by a fresh one on its next use.
public final class PostgresPool: Sendable {
    public let configuration: ConnectionConfiguration
    public let maximumConnections: Int

    private let state: Mutex<State>

    private struct State: ~Copyable {
        var idle: [Slot] = []
        var created = 0
        var waiters: [CheckedContinuation<Slot, Never>] = []
    }

    /// One lane of the pool: a serial queue and the connection that lives on it.
    private final class Slot: @unchecked Sendable {
        // Safety: `connection` is read and written only on `queue`, one closure at a time.
        let queue: DispatchQueue
        var connection: PostgresConnection?

        init(number: Int) {
            queue = DispatchQueue(label: "points-ledger.postgres.\(number)")
        }
    }

    public init(configuration: ConnectionConfiguration, maximumConnections: Int = 8) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        self.state = Mutex(State())
    }

    /// Runs `body` with a connection of the pool, off the cooperative thread pool.
    /// - Throws: whatever `body` throws, or `PostgresError` if no connection could be opened.
    @discardableResult
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let slot = await acquire()
        defer { release(slot) }
        let configuration = self.configuration
        return try await withCheckedThrowingContinuation { continuation in
            slot.queue.async {
                continuation.resume(with: Result {
                    if slot.connection == nil {
                        slot.connection = try PostgresConnection(configuration: configuration)
                    }
                    let connection = slot.connection!
                    defer {
                        if !connection.isReadyForReuse { slot.connection = nil }
                    }
                    return try body(connection)
                })
            }
        }
    }

    /// Closes idle connections; those lent out close when handed back and no longer used.
    public func closeIdleConnections() async {
        let slots = state.withLock { state in state.idle }
        for slot in slots {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                slot.queue.async {
                    slot.connection = nil
                    continuation.resume()
                }
            }
        }
    }

    private func acquire() async -> Slot {
        enum Next { case ready(Slot), wait }
        let next: Next = state.withLock { state in
            if let slot = state.idle.popLast() { return .ready(slot) }
            if state.created < maximumConnections {
                state.created += 1
                return .ready(Slot(number: state.created))
            }
            return .wait
        }
        if case .ready(let slot) = next { return slot }
        return await withCheckedContinuation { continuation in
            let handedOver: Slot? = state.withLock { state in
                if let slot = state.idle.popLast() { return slot }
                state.waiters.append(continuation)
                return nil
            }
            if let handedOver { continuation.resume(returning: handedOver) }
        }
    }

    private func release(_ slot: Slot) {
        let waiter: CheckedContinuation<Slot, Never>? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(slot)
            return nil
        }
        waiter?.resume(returning: slot)
    }
}
