import Dispatch
import Synchronization

/// A bounded set of connections, shared by concurrent tasks.
///
/// `withConnection` lends a connection to a synchronous closure that runs on that connection's
/// own serial dispatch queue: libpq's blocking calls never occupy Swift's cooperative thread
/// pool. Connections open lazily, up to `maximumConnections`; callers beyond that wait their
/// turn in order. A connection that breaks, is handed back inside a transaction, or was closed by
/// the server while it sat idle, is closed and replaced by a fresh one on its next use.
public final class PostgresPool: Sendable {
    public let configuration: ConnectionConfiguration
    public let maximumConnections: Int

    private let state: Mutex<State>

    private struct State: ~Copyable {
        var idle: [Slot] = []
        var created = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Slot, any Error>)] = []
        /// Waiters cancelled before they could queue.
        var cancelled: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
        var waits = 0
        var waitSeconds = 0.0
    }

    /// How busy the pool has been: calls that waited for a free connection, and for how long.
    public struct Statistics: Sendable, Hashable {
        public let waits: Int
        public let waitSeconds: Double
        /// Connections opened so far (lanes, each reopened when its connection broke).
        public let opened: Int
    }

    public var statistics: Statistics {
        state.withLock { Statistics(waits: $0.waits, waitSeconds: $0.waitSeconds, opened: $0.created) }
    }

    /// One lane of the pool: a serial queue and the connection that lives on it.
    fileprivate final class Slot: @unchecked Sendable {
        // Safety: `connection` is read and written only by the slot's current holder (between
        // `acquire` and `release`, which hand it over under the pool's lock): on `queue`, or in
        // `query` on the holder's task.
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
        let slot = try await acquireOpen()
        defer { release(slot) }
        return try await run(body, on: slot)
    }

    /// Holds one connection of the pool for the whole of `body`, which runs commands on it with
    /// `lease.run` and may await other work between them: for session state that must outlive
    /// one command, such as an advisory lock held while a job works on other connections (the
    /// pool then needs a connection more than the lease). The lease is valid only inside `body`.
    public func withLease<T>(_ body: (Lease) async throws -> T) async throws -> T {
        let slot = try await acquireOpen()
        defer { release(slot) }
        return try await body(Lease(pool: self, slot: slot))
    }

    /// One connection of the pool, held by `withLease`.
    public struct Lease: Sendable {
        fileprivate let pool: PostgresPool
        fileprivate let slot: Slot

        /// Runs `body` on the leased connection, off the cooperative thread pool, as `withConnection` does.
        public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
            try await pool.run(body, on: slot)
        }
    }

    /// Runs one command as a prepared statement: one round trip, for the hot paths (a purchase,
    /// a check-in) that are one call of a server-side function.
    ///
    /// Once a connection has prepared the statement, the command is sent from the caller's
    /// thread and the caller suspends while one shared thread waits on every such connection's
    /// socket: no thread blocks per waiting caller, and no thread hop happens before the send.
    /// The first use on a connection (connect, prepare) runs as `withConnection` does.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> QueryResult {
        let slot = try await acquireOpen()
        defer { release(slot) }
        #if os(Linux)
        // Safety: the slot is ours until `release`; nothing else touches its connection meanwhile.
        if let connection = slot.connection {
            let cancellation = QueryCancellation()
            defer { if !connection.isReadyForReuse || cancellation.wasCancelled { slot.connection = nil } }
            return try await Self.cancellable(cancellation) {
                guard cancellation.begin(connection.canceller) else { throw CancellationError() }
                defer { cancellation.end() }
                if try connection.send(query) {
                    while true {
                        if let answer = try connection.takeAnswer(sql: query.sql) { return answer }
                        if await AnswerReactor.shared.waitForAnswer(connection.waitHandle) == .broken {
                            throw connection.answerLost(sql: query.sql)
                        }
                    }
                }
                cancellation.end()
                return try await self.run({ connection in try connection.preparedQuery(query) }, on: slot, cancellation: cancellation)
            }
        }
        #endif
        return try await run({ connection in try connection.preparedQuery(query) }, on: slot)
    }

    /// Runs `operation` so that cancelling the task cancels, through `cancellation`, the command
    /// it runs; a command the server cancelled for it is answered with `CancellationError`. A
    /// cancel that arrives between two commands of one body reaches neither: the next command runs
    /// (check `Task.isCancelled` between them where that matters).
    private static func cancellable<T>(
        _ cancellation: QueryCancellation, _ operation: () async throws -> T
    ) async throws -> T {
        try Task.checkCancellation()
        do {
            return try await withTaskCancellationHandler(operation: operation, onCancel: { cancellation.cancel() })
        } catch let error as PostgresError where error.code == .queryCanceled && cancellation.wasCancelled {
            // The server cancelled the command for this task. Any other failure (a broken
            // connection, whose outcome is unknown) is reported as it is.
            throw CancellationError()
        }
    }

    /// Runs `body` on the slot's queue, with its connection (opened now if it has none). Cancelling
    /// the task cancels the command `body` is running, and `body` ends with `CancellationError`
    /// (or whatever it makes of the server's `query_canceled`); a task cancelled before `body`
    /// starts never runs it.
    private func run<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T, on slot: Slot,
        cancellation: QueryCancellation = QueryCancellation()
    ) async throws -> T {
        let configuration = self.configuration
        return try await Self.cancellable(cancellation) {
            try await withCheckedThrowingContinuation { continuation in
                slot.queue.async {
                    continuation.resume(with: Result {
                        if slot.connection == nil {
                            slot.connection = try PostgresConnection(configuration: configuration)
                        }
                        let connection = slot.connection!
                        defer {
                            if !connection.isReadyForReuse || cancellation.wasCancelled { slot.connection = nil }
                        }
                        guard cancellation.begin(connection.canceller) else { throw CancellationError() }
                        defer { cancellation.end() }
                        return try body(connection)
                    })
                }
            }
        }
    }

    /// The executor on which `query` waits for answers. Tasks that prefer it
    /// (`withTaskExecutorPreference`, `addTask(executorPreference:)`) send, wait and go on with
    /// the answer on one thread with no other thread woken in between: the cheapest way to run
    /// many concurrent one-round-trip operations, as a checkout system's request handlers do.
    /// That one thread also delivers every answer: work that blocks it (a long computation, a
    /// semaphore waiting for a query's result) stalls every caller, so keep such work elsewhere.
    public var executor: any TaskExecutor {
        #if os(Linux)
        AnswerReactor.shared
        #else
        globalConcurrentExecutor
        #endif
    }

    /// Closes idle connections; those lent out close when handed back and no longer used.
    public func closeIdleConnections() async {
        // Taken out of the idle list, so that no caller uses a slot while its connection closes.
        let slots = state.withLock { state in
            defer { state.idle.removeAll() }
            return state.idle
        }
        for slot in slots {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                slot.queue.async {
                    slot.connection = nil
                    continuation.resume()
                }
            }
            release(slot)
        }
    }

    /// A free connection's slot, or (beyond `maximumConnections`) the next one handed back, in
    /// order. A task cancelled while it waits leaves the queue with `CancellationError`: a
    /// request past its deadline never waits on for a connection.
    private func acquire() async throws -> Slot {
        enum Next { case ready(Slot), wait(UInt64) }
        let next: Next = state.withLock { state in
            if let slot = state.idle.popLast() { return .ready(slot) }
            if state.created < maximumConnections {
                state.created += 1
                return .ready(Slot(number: state.created))
            }
            state.nextWaiter += 1
            return .wait(state.nextWaiter)
        }
        let id: UInt64
        switch next {
        case .ready(let slot): return slot
        case .wait(let waiter): id = waiter
        }
        let started = ContinuousClock.now
        defer {
            let waited = ContinuousClock.now - started
            state.withLock { state in
                state.cancelled.remove(id)
                state.waits += 1
                state.waitSeconds += Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
            }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Slot, any Error>) in
                enum Now { case handOver(Slot), cancel, queued }
                let now: Now = state.withLock { state in
                    if let slot = state.idle.popLast() { return .handOver(slot) }
                    if state.cancelled.contains(id) { return .cancel }
                    state.waiters.append((id: id, continuation: continuation))
                    return .queued
                }
                switch now {
                case .handOver(let slot): continuation.resume(returning: slot)
                case .cancel: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Slot, any Error>? = state.withLock { state in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) { return state.waiters.remove(at: index).continuation }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// A slot to lend, without the connection it had if the server closed that while it sat idle
    /// (a database restart closes them all): the slot opens a new one on first use, so no command
    /// is sent on a connection that cannot answer it.
    private func acquireOpen() async throws -> Slot {
        let slot = try await acquire()
        // Safety: the slot is ours until `release`, and no work of its previous holder is left on its queue.
        if slot.connection?.closedWhileIdle() == true { slot.connection = nil }
        return slot
    }

    private func release(_ slot: Slot) {
        let waiter: CheckedContinuation<Slot, any Error>? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst().continuation }
            state.idle.append(slot)
            return nil
        }
        waiter?.resume(returning: slot)
    }
}
