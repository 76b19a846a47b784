#if os(Linux)
internal import CLibPQ
import Foundation
import Glibc
import Synchronization

/// One thread that waits for the answers of every connection with a command in flight, and runs
/// the tasks that prefer it as their executor.
///
/// A caller of `PostgresPool.query` sends its command on its own thread (a short write that
/// does not wait for the server), then suspends in `waitForAnswer`; this thread reads the
/// socket when it becomes readable and resumes the caller once the answer is complete. Each
/// wait arms the socket for one event, so a connection is watched only while someone waits on it.
///
/// As a `TaskExecutor` (`PostgresPool.executor`), it also runs tasks: a task that prefers it
/// sends, waits and carries on with the answer all on this one thread, with no thread woken in
/// between, the way an event loop serves many connections.
final class AnswerReactor: TaskExecutor, Sendable {
    static let shared = AnswerReactor()

    /// What a waiting connection's answer came to.
    enum Readiness: Sendable {
        /// The answer can be read without waiting.
        case ready
        /// The connection broke (or could not be watched): the answer will never come.
        case broken
    }

    /// A suspended caller and its connection's handle. The reactor touches the handle only while
    /// the caller waits, and the caller only after it has been resumed: never both at once.
    private struct Waiter: @unchecked Sendable {
        let handle: OpaquePointer
        let continuation: CheckedContinuation<Readiness, Never>
    }

    private struct Jobs: ~Copyable {
        var queue: [UnownedJob] = []
        /// Whether the thread is about to wait, or waiting, in epoll: an enqueue must wake it.
        var sleeping = false
    }

    private let epoll: Int32
    private let wakeup: Int32
    private let waiters = Mutex<[Int32: Waiter]>([:])
    private let jobs = Mutex(Jobs())

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        wakeup = pl_epoll_add_wakeup(epoll)
        precondition(wakeup >= 0, "eventfd failed: errno \(errno)")
        let thread = Thread { [self] in run() }
        thread.name = "points-ledger.postgres.answers"
        thread.start()
    }

    /// Suspends until the answer to the command the connection has sent can be read without waiting.
    func waitForAnswer(_ connection: PostgresConnection.WaitHandle) async -> Readiness {
        let handle = connection.pointer
        let socket = PQsocket(handle)
        guard socket >= 0 else { return .broken }
        return await withCheckedContinuation { continuation in
            waiters.withLock { $0[socket] = Waiter(handle: handle, continuation: continuation) }
            if pl_epoll_arm(epoll, socket) != 0 {
                let waiter = waiters.withLock { $0.removeValue(forKey: socket) }
                waiter?.continuation.resume(returning: .broken)
            }
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wake = jobs.withLock { jobs in
            jobs.queue.append(job)
            defer { jobs.sleeping = false }
            return jobs.sleeping
        }
        if wake { pl_wakeup_signal(wakeup) }
    }

    private func run() {
        var ready = [Int32](repeating: -1, count: 64)
        let executor = asUnownedTaskExecutor()
        while true {
            let batch = jobs.withLock { jobs in
                let batch = jobs.queue
                jobs.queue.removeAll(keepingCapacity: true)
                jobs.sleeping = batch.isEmpty
                return batch
            }
            for job in batch { job.runSynchronously(on: executor) }
            // With jobs just run, more may be queued: look at the sockets without sleeping.
            let count = pl_epoll_wait(epoll, &ready, Int32(ready.count), batch.isEmpty ? -1 : 0)
            if batch.isEmpty { jobs.withLock { $0.sleeping = false } }
            if count < 0 {
                precondition(errno == EINTR, "epoll_wait failed: errno \(errno)")
                continue
            }
            for socket in ready[0..<Int(count)] {
                if socket == wakeup {
                    pl_wakeup_reset(wakeup)
                    continue
                }
                // Taken out before libpq reads: a broken connection closes its socket inside
                // PQconsumeInput, and a new connection may reuse the number at once.
                guard let waiter = waiters.withLock({ $0.removeValue(forKey: socket) }) else { continue }
                let readiness: Readiness
                if PQconsumeInput(waiter.handle) == 0 {
                    readiness = .broken
                } else if PQisBusy(waiter.handle) == 1 {
                    // Only part of the answer has come: wait for the rest.
                    waiters.withLock { $0[socket] = waiter }
                    if pl_epoll_arm(epoll, socket) == 0 { continue }
                    waiters.withLock { _ = $0.removeValue(forKey: socket) }
                    readiness = .broken
                } else {
                    readiness = .ready
                }
                waiter.continuation.resume(returning: readiness)
            }
        }
    }
}
#endif
