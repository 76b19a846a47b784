import Foundation
public import Postgres

/// Progress and outcome of a period job (maturation, expiry).
public struct JobSummary: Sendable, Hashable, Codable {
    public let job: String
    public let asOf: Timestamp
    /// Transactions committed so far: each chunk commits on its own, so a stopped job loses nothing.
    public let chunks: Int
    /// Purchases matured or lots expired.
    public let items: Int64
    public let points: Int64
    /// Member balances changed (a member touched by two chunks counts twice).
    public let memberUpdates: Int64
    public let seconds: Double
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

    private func runJob(
        _ job: String, function: String, program: Program, asOf: Timestamp, chunkSize: Int,
        progress: @Sendable (JobSummary) -> Void
    ) async throws -> JobSummary {
        guard chunkSize > 0 else { throw LedgerError.invalidInput(field: "chunk size", reason: "\(chunkSize) must be positive") }
        let started = Date()
        var summary = JobSummary(job: job, asOf: asOf, chunks: 0, items: 0, points: 0, memberUpdates: 0, seconds: 0)
        while true {
            let row: Row
            do {
                row = try await pool.withConnection { connection in
                    try connection.preparedQuery("SELECT * FROM \(unsafeSQL: function)(\(program.id), \(asOf), \(chunkSize))").single()
                }
            } catch let error as PostgresError where error.code == .invalidParameterValue {
                throw LedgerError.invalidInput(field: "as-of time", reason: "\(asOf) is in the future; jobs run up to now")
            } catch {
                throw LedgerError.wrap(error)
            }
            let items = Int64(try row.decode(Int32.self, at: 0))
            if items == 0 { break }
            summary = JobSummary(
                job: job, asOf: asOf, chunks: summary.chunks + 1, items: summary.items + items,
                points: summary.points + (try row.decode(Int64.self, at: 1)),
                memberUpdates: summary.memberUpdates + Int64(try row.decode(Int32.self, at: 2)),
                seconds: Date().timeIntervalSince(started))
            progress(summary)
        }
        summary = JobSummary(
            job: job, asOf: asOf, chunks: summary.chunks, items: summary.items, points: summary.points,
            memberUpdates: summary.memberUpdates, seconds: Date().timeIntervalSince(started))
        logger.info("job finished", metadata: ["job": "\(job)", "items": "\(summary.items)", "points": "\(summary.points)"])
        return summary
    }
}
