import Foundation
public import Logging
public import PointsLedger
import Postgres
public import ServiceLifecycle

/// The period jobs on a schedule (`points-server --jobs`): every `interval`, for each program,
/// maturation, expiry, hold expiry, tier evaluation (which does nothing until a period has
/// ended) and sealing, after rolling back transactions left prepared for more than a minute; birthdays once a day, on the program's local date. Each job of each
/// program runs under an advisory lock, so that several servers run it once between them; a
/// server that finds it taken skips it. Each run is logged with its counts.
///
/// The jobs need the ledger owner's rights (sealing, the auditor's): `ledger` is a pool of its
/// own with at least two connections (one holds the lock), never the one requests use.
public struct JobSchedule: Service {
    let ledger: Ledger
    let interval: Duration
    let metrics: ServerMetrics
    let logger: Logger
    /// How long a transaction may stay prepared before a pass rolls it back.
    let preparedBound: Duration

    public init(
        ledger: Ledger, interval: Duration, metrics: ServerMetrics, logger: Logger,
        preparedBound: Duration = PreparedTransactions.defaultBound
    ) {
        precondition(ledger.pool.maximumConnections >= 2, "the job schedule holds a lock on one connection while the jobs use another")
        self.ledger = ledger
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
        self.preparedBound = preparedBound
    }

    public func run() async throws {
        var birthdaysPaid: [Int32: String] = [:]
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await runOnce(birthdaysPaid: &birthdaysPaid)
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One pass over every program; a job that fails is logged and tried again next time.
    func runOnce(birthdaysPaid: inout [Int32: String]) async {
        let programs: [Program]
        do {
            programs = try await ledger.programs()
        } catch {
            logger.error("the job schedule cannot list the programs", metadata: ["error": "\(Self.said(error))"])
            return
        }
        await rollBackPreparedTransactions()
        for program in programs {
            if Task.isShuttingDownGracefully { return }
            await run("mature", program) { try await $0.mature(program, asOf: .now).items }
            await run("expire", program) { try await $0.expire(program, asOf: .now).items }
            await run("holds", program) { try await $0.expireHolds(program, asOf: .now).items }
            await run("tiers", program) { ledger in
                let summary = try await ledger.evaluateTiers(program, asOf: .now)
                return summary.periods.reduce(0) { $0 + $1.members } + summary.termsEnded
            }
            let today = Self.localDate(in: program.timeZone)
            if birthdaysPaid[program.id] != today {
                let paid = await run("birthday", program) { try await $0.payBirthdays(program, asOf: .now).paid }
                if paid { birthdaysPaid[program.id] = today }
            }
            await run("seal", program) { try await $0.seal(program, wait: .seconds(5)).entries }
        }
    }

    /// Rolls back transactions left prepared for more than `preparedBound` (they hold members' rows
    /// past their session), and logs each one, and each one this role may not roll back.
    private func rollBackPreparedTransactions() async {
        do {
            for transaction in try await ledger.rollBackPreparedTransactions(olderThan: preparedBound) {
                let metadata: Logger.Metadata = [
                    "name": "\(VisibleText.escaped(transaction.name))", "role": "\(VisibleText.escaped(transaction.role))",
                    "preparedAt": "\(transaction.preparedAt)",
                ]
                if transaction.rolledBack {
                    logger.warning("rolled back a transaction left prepared", metadata: metadata)
                } else {
                    logger.error("a transaction left prepared holds rows: \(transaction.reason ?? "")", metadata: metadata)
                }
            }
        } catch {
            logger.error("the job schedule cannot look for transactions left prepared", metadata: ["error": "\(Self.said(error))"])
        }
    }

    /// Runs one job under its lock; logs and counts what it did. Returns whether it ran.
    @discardableResult
    private func run(_ job: String, _ program: Program, _ body: (Ledger) async throws -> Int64) async -> Bool {
        let started = ContinuousClock.now
        do {
            guard let items = try await ledger.exclusively(job, in: program, { try await body(ledger) }) else {
                metrics.job(job, program: program.name, outcome: "skipped", items: 0)
                logger.debug("job skipped: another server runs it", metadata: ["job": "\(job)", "program": "\(program.name)"])
                return false
            }
            metrics.job(job, program: program.name, outcome: "ran", items: items)
            logger.info("job ran", metadata: [
                "job": "\(job)", "program": "\(program.name)", "items": "\(items)", "duration": "\(ContinuousClock.now - started)",
            ])
            return true
        } catch where Task.isCancelled {
            // The server is stopping: the job's committed chunks stand, the next run takes up the rest.
            logger.info("job stopped with the server", metadata: ["job": "\(job)", "program": "\(program.name)"])
            return false
        } catch {
            metrics.job(job, program: program.name, outcome: "failed", items: 0)
            logger.error("job failed", metadata: ["job": "\(job)", "program": "\(program.name)", "error": "\(Self.said(error))"])
            return false
        }
    }

    private static func said(_ error: any Error) -> String { API.logged(error) }

    /// Today's date in `timeZone` (`2026-12-03`).
    static func localDate(in timeZone: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
