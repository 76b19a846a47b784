import Foundation
public import Postgres

/// Progress and outcome of a period job (maturation, expiry).
public struct JobSummary: Sendable, Hashable, Codable {
    public let job: String
    public let asOf: Timestamp
    /// Transactions committed so far: each chunk commits on its own, so a stopped job loses nothing.
    public internal(set) var chunks: Int
    /// Purchases matured or lots expired.
    public internal(set) var items: Int64
    public internal(set) var points: Int64
    /// Member balances changed (a member touched by two chunks counts twice).
    public internal(set) var memberUpdates: Int64
    public internal(set) var seconds: Double
}

extension Ledger {
    /// Moves the pending points of every purchase whose return window ended by `asOf` to
    /// available, forming lots. Set-based and chunked: each chunk of up to `chunkSize` purchases
    /// commits on its own; rerunning, or running after an interruption, takes up what is left
    /// and never matures anything twice.
    /// - Throws: `.invalidInput` when `asOf` is in the future.
    public func mature(
        _ program: Program, asOf: Timestamp, chunkSize: Int = 5_000, progress: @Sendable (JobSummary) -> Void = { _ in }
    ) async throws -> JobSummary {
        try await runJob("mature", function: "points.mature_due", program: program, asOf: asOf, chunkSize: chunkSize, progress: progress)
    }

    /// Moves the remainder of every lot expired by `asOf` from available to expired. Set-based,
    /// chunked, idempotent and resumable like `mature`.
    /// - Throws: `.invalidInput` when `asOf` is in the future.
    public func expire(
        _ program: Program, asOf: Timestamp, chunkSize: Int = 20_000, progress: @Sendable (JobSummary) -> Void = { _ in }
    ) async throws -> JobSummary {
        try await runJob("expire", function: "points.expire_due", program: program, asOf: asOf, chunkSize: chunkSize, progress: progress)
    }

    func runJob(
        _ job: String, function: String, program: Program, asOf: Timestamp, chunkSize: Int,
        progress: @Sendable (JobSummary) -> Void
    ) async throws -> JobSummary {
        try Self.checkChunkSize(chunkSize)
        let started = Date()
        var summary = JobSummary(job: job, asOf: asOf, chunks: 0, items: 0, points: 0, memberUpdates: 0, seconds: 0)
        while true {
            // Each job names what it counts (purchases, lots, holds): read as items.
            let chunk = try await jobChunk(
                "SELECT * FROM \(unsafeSQL: function)(\(program.id), \(asOf), \(chunkSize)) AS chunk(items, points, members)",
                asOf: asOf, in: program
            ).decode(JobChunk.self)
            if chunk.items == 0 { break }
            summary.chunks += 1
            summary.items += chunk.items
            summary.points += chunk.points
            summary.memberUpdates += chunk.members
            summary.seconds = Date().timeIntervalSince(started)
            progress(summary)
        }
        summary.seconds = Date().timeIntervalSince(started)
        logger.info("job finished", metadata: ["job": "\(job)", "items": "\(summary.items)", "points": "\(summary.points)"])
        return summary
    }

    static func checkChunkSize(_ chunkSize: Int) throws(LedgerError) {
        guard chunkSize > 0 else { throw .invalidInput(field: "chunk size", reason: "\(chunkSize) must be positive") }
    }

    /// One chunk of a set-based job: one call of its server-side function, which commits on its own.
    /// - Throws: `.invalidInput` when the function refuses an as-of time in the future.
    func jobChunk(_ query: PostgresQuery, asOf: Timestamp, in program: Program) async throws -> Row {
        do {
            return try await pool.withConnection { connection in try connection.preparedQuery(query).single() }
        } catch let error as PostgresError where error.code == .invalidParameterValue {
            throw LedgerError.invalidInput(field: "as-of time", reason: "\(program.clock.text(asOf)) is in the future; jobs run up to now")
        } catch {
            throw LedgerError.wrap(error)
        }
    }
}

/// What one chunk of a job did.
private struct JobChunk: Decodable {
    let items: Int64
    let points: Int64
    let members: Int64
}

extension Ledger {
    /// Runs `body` unless another session (another points-server, an admin's `jobs` command run
    /// the same way) is running the job `job` of `program` now: a session advisory lock, held on a
    /// connection of its own while `body` works on others, so the pool needs two connections.
    /// Returns nil, having run nothing, when the lock is taken. A session that dies releases it.
    public func exclusively<T: Sendable>(
        _ job: String, in program: Program, _ body: () async throws -> T
    ) async throws -> T? {
        do {
            return try await pool.withLease { lease in
                let name = "points-ledger job " + job
                let locked = try await lease.run { connection in
                    try connection.preparedQuery("SELECT pg_try_advisory_lock(hashtext(\(name)), \(program.id)) AS locked")
                        .single().decode(Bool.self, column: "locked")
                }
                guard locked else { return nil }
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                // Unlocked even when this task was cancelled (a task of its own, which the
                // cancellation does not reach), so the connection never goes back to the pool
                // holding the lock. A connection that broke meanwhile took the lock with it.
                _ = try? await Task {
                    try await lease.run { connection in
                        try connection.preparedQuery("SELECT pg_advisory_unlock(hashtext(\(name)), \(program.id))")
                    }
                }.value
                return try result.get()
            }
        } catch {
            throw LedgerError.wrap(error)
        }
    }
}
