import Foundation
import Logging
import PointsLedger
import Postgres
public import ServiceLifecycle
import Synchronization

/// The API keys this server has checked, kept so that a request does not pay a round trip to
/// the database for its key (it was a third of an HTTP purchase's cost), and forgotten the moment
/// the server hears that any key changed: the database announces every change to the keys on the
/// channel `points_api_keys` (Schema/functions/api_keys.sql), and a connection of its own listens.
/// While that connection is down (not yet up, broken, reconnecting) nothing is kept and every
/// request's key is checked in the database. Only keys in force are kept; a key kept longer than
/// `maximumAge` is checked again.
public final class KeyCache: Service, Sendable {
    static let channel = "points_api_keys"
    static let maximumAge: Duration = .seconds(60)

    private struct State {
        var listening = false
        /// Bumped whenever what was kept is forgotten: a key read from the database before then
        /// (perhaps revoked since) is not kept.
        var generation: UInt64 = 0
        var keys: [String: (key: AuthenticatedKey, since: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())
    private let stopped = Atomic<Bool>(false)
    private let configuration: ConnectionConfiguration
    private let logger: Logger

    init(configuration: ConnectionConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The key in force this secret names, if it was checked while listening and nothing has changed since.
    func key(for secret: String) -> AuthenticatedKey? {
        state.withLock { state in
            guard state.listening, let kept = state.keys[secret] else { return nil }
            guard ContinuousClock.now - kept.since < Self.maximumAge else {
                state.keys[secret] = nil
                return nil
            }
            return kept.key
        }
    }

    /// The generation to pass to `keep` for a key about to be read from the database.
    func generation() -> UInt64 { state.withLock { $0.generation } }

    /// Keeps a key read from the database, unless the keys changed (or listening stopped) since
    /// `generation`.
    func keep(_ key: AuthenticatedKey, for secret: String, readAt generation: UInt64) {
        state.withLock { state in
            guard state.listening, state.generation == generation else { return }
            state.keys[secret] = (key, ContinuousClock.now)
        }
    }

    private func forgetAll(listening: Bool) {
        state.withLock { state in
            state.generation &+= 1
            state.keys.removeAll()
            state.listening = listening
        }
    }

    /// Whether the listening connection is up (tests wait for it).
    var isListening: Bool { state.withLock { $0.listening } }

    /// Listens on a thread of its own (libpq blocks) until the server stops.
    public func run() async throws {
        let thread = Thread { [self] in listen() }
        thread.name = "points-server key changes"
        thread.start()
        try? await gracefulShutdown()
        stopped.store(true, ordering: .relaxed)
        forgetAll(listening: false)
    }

    private func listen() {
        var failures = 0
        while !stopped.load(ordering: .relaxed) {
            do {
                let connection = try PostgresConnection(configuration: configuration)
                try connection.execute(script: "LISTEN \(Self.channel)")
                // Whatever changed before this moment was not heard: start from nothing.
                forgetAll(listening: true)
                failures = 0
                while !stopped.load(ordering: .relaxed) {
                    if !(try connection.notifications(waitingUpTo: .milliseconds(250))).isEmpty {
                        forgetAll(listening: true)
                    }
                }
            } catch {
                forgetAll(listening: false)
                failures += 1
                if failures == 1 {
                    logger.warning(
                        "not listening for API key changes (its connection failed); every request's key is checked in the database until it is")
                }
                Thread.sleep(forTimeInterval: min(5, 0.25 * Double(failures)))
            }
        }
    }
}
