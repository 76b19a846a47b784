import Foundation
public import Postgres

/// How many members went from one tier to another (or kept it) at one period's end.
public struct TierMove: Sendable, Hashable, Codable {
    public let from: String
    public let to: String
    public let members: Int64
    /// kept, upgraded or downgraded.
    public let outcome: String
}

/// One evaluated period: its members by the tier they had and the tier they got.
public struct EvaluatedPeriod: Sendable, Hashable, Codable {
    public let period: TierPeriodLabel
    public let endedAt: Timestamp
    /// Evaluated before this run (a rerun changes nothing and reports the first run's counts).
    public let alreadyEvaluated: Bool
    public internal(set) var members: Int64
    public internal(set) var changed: Int64
    public internal(set) var moves: [TierMove]
}

/// Progress and outcome of period-end tier evaluation.
public struct TierEvaluationSummary: Sendable, Hashable, Codable {
    public let job: String
    public internal(set) var periods: [EvaluatedPeriod]
    /// Overrides and grants that ended (tier changes recorded for them).
    public internal(set) var termsEnded: Int64
    /// Transactions committed so far: each chunk commits on its own.
    public internal(set) var chunks: Int
    public internal(set) var seconds: Double
}

extension Ledger {
    /// Evaluates every period that ended by `asOf` and has not been evaluated, oldest first
    /// (RULES.md: Tiers): a member who reached their tier during the period keeps it, one who
    /// met its retention threshold keeps it, the others move down by the program's downgrade
    /// policy. Set-based and chunked by member id; each chunk commits on its own, and a rerun
    /// (or a run after an interruption) takes up where the last stopped and never evaluates a
    /// period twice.
    /// - Throws: `.invalidInput` when `asOf` is in the future.
    public func evaluateTiers(
        _ program: Program, asOf: Timestamp, chunkSize: Int = 10_000,
        progress: @Sendable (TierEvaluationSummary) -> Void = { _ in }
    ) async throws -> TierEvaluationSummary {
        try Self.checkChunkSize(chunkSize)
        let started = Date()
        var summary = TierEvaluationSummary(job: "tiers", periods: [], termsEnded: 0, chunks: 0, seconds: 0)
        while let (kind, start, end) = try await nextTierPeriod(program, asOf: asOf) {
            summary.termsEnded += try await endTierTerms(program, asOf: end)
            try await evaluatePeriod(program, kind: kind, start: start, end: end, chunkSize: chunkSize, started: started,
                                     summary: &summary, progress: progress)
        }
        summary.termsEnded += try await endTierTerms(program, asOf: asOf)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Records the overrides and grants that ended by `asOf`; returns the tier changes recorded.
    private func endTierTerms(_ program: Program, asOf: Timestamp) async throws -> Int64 {
        try await jobChunk("SELECT points.end_tier_terms(\(program.id), \(asOf)) AS changes", asOf: asOf, in: program).decode(Int64.self, column: "changes")
    }

    /// Evaluates one period, which must have ended, after every earlier period of the program.
    /// Evaluating it again reports what its evaluation did and changes nothing.
    /// - Throws: `.invalidInput` for a period of another kind than the program's tier period, one
    ///   that has not ended, one before the program's first period, or one with an earlier period
    ///   not yet evaluated.
    public func evaluateTiers(
        _ program: Program, period: TierPeriodLabel, chunkSize: Int = 10_000,
        progress: @Sendable (TierEvaluationSummary) -> Void = { _ in }
    ) async throws -> TierEvaluationSummary {
        try Self.checkChunkSize(chunkSize)
        let started = Date()
        var summary = TierEvaluationSummary(job: "tiers", periods: [], termsEnded: 0, chunks: 0, seconds: 0)
        let (kindInForce, end, finished) = try await withConnection { connection in
            let row = try connection.preparedQuery("""
                SELECT s.tier_period, points.tier_period_end(\(period.kind.rawValue), \(period.start)::date, p.time_zone) AS period_end,
                       (SELECT e.finished_at IS NOT NULL FROM points.tier_evaluations AS e
                        WHERE e.program_id = p.program_id AND e.period_start = \(period.start)::date) AS finished
                FROM points.programs AS p
                CROSS JOIN LATERAL points.settings_at(p.program_id, \(period.start)::timestamp AT TIME ZONE p.time_zone) AS s
                WHERE p.program_id = \(program.id)
                """).single().decode(PeriodRow.self)
            return (row.tierPeriod, row.periodEnd, row.finished)
        }
        guard kindInForce == period.kind.rawValue else {
            throw LedgerError.invalidInput(
                field: "period", reason: "\(period) is a \(period.kind.rawValue), but the program's tier period then is \(kindInForce)")
        }
        if finished == true {
            summary.periods.append(try await evaluatedPeriod(program, kind: period.kind, start: period.start, end: end, already: true))
            return summary
        }
        guard end <= Timestamp.now else {
            throw LedgerError.invalidInput(field: "period", reason: "\(period) has not ended yet (it runs to \(program.clock.end(end))); evaluate it after its end")
        }
        guard let (kind, start, nextEnd) = try await nextTierPeriod(program, asOf: end) else {
            throw LedgerError.invalidInput(
                field: "period", reason: "\(period) is before the program's first period; there is nothing in it to evaluate")
        }
        let next = TierPeriodLabel(kind: kind, start: start)
        guard start == period.start else {
            if start < period.start {
                throw LedgerError.invalidInput(
                    field: "period",
                    reason: "\(next) has not been evaluated yet, and periods are evaluated in order; evaluate the periods up to \(program.clock.end(end)) first")
            }
            throw LedgerError.invalidInput(field: "period", reason: "\(period) is before the program's first period, \(next)")
        }
        summary.termsEnded += try await endTierTerms(program, asOf: nextEnd)
        try await evaluatePeriod(program, kind: kind, start: start, end: nextEnd, chunkSize: chunkSize, started: started,
                                 summary: &summary, progress: progress)
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// The period to evaluate next if it ended by `asOf` (started, in the database), or nil.
    private func nextTierPeriod(_ program: Program, asOf: Timestamp) async throws -> (TierPeriod, String, Timestamp)? {
        let row = try await jobChunk(
            """
            SELECT period_kind, period_start::text AS period_start, period_end
            FROM points.next_tier_period(\(program.id), \(asOf))
            UNION ALL SELECT NULL, NULL, NULL LIMIT 1
            """, asOf: asOf, in: program
        ).decode(NextPeriodRow.self)
        guard let kind = row.periodKind, let start = row.periodStart, let end = row.periodEnd else { return nil }
        guard let period = TierPeriod(rawValue: kind) else {
            throw LedgerError.unexpectedAnswer(function: "next_tier_period", status: "period_kind \(kind)")
        }
        return (period, start, end)
    }

    private func evaluatePeriod(
        _ program: Program, kind: TierPeriod, start: String, end: Timestamp, chunkSize: Int, started: Date,
        summary: inout TierEvaluationSummary, progress: @Sendable (TierEvaluationSummary) -> Void
    ) async throws {
        summary.periods.append(EvaluatedPeriod(
            period: TierPeriodLabel(kind: kind, start: start), endedAt: end, alreadyEvaluated: false, members: 0, changed: 0, moves: []))
        let last = summary.periods.count - 1
        while true {
            let chunk = try await jobChunk(
                "SELECT * FROM points.evaluate_tiers(\(program.id), \(start)::date, \(chunkSize))", asOf: end, in: program
            ).decode(EvaluationChunk.self)
            if chunk.finished { break }
            summary.chunks += 1
            summary.periods[last].members += chunk.members
            summary.periods[last].changed += chunk.changed
            summary.seconds = Date().timeIntervalSince(started)
            progress(summary)
        }
        // The counts of the whole evaluation, including chunks of an earlier, interrupted run.
        summary.periods[last] = try await evaluatedPeriod(program, kind: kind, start: start, end: end, already: false)
        logger.info("tier evaluation finished", metadata: [
            "period": "\(summary.periods[last].period)", "members": "\(summary.periods[last].members)",
            "changed": "\(summary.periods[last].changed)",
        ])
    }

    private func evaluatedPeriod(_ program: Program, kind: TierPeriod, start: String, end: Timestamp, already: Bool) async throws
        -> EvaluatedPeriod
    {
        let moves = try await withConnection { connection in
            try connection.preparedQuery("""
                SELECT n.from_tier AS "from", n.to_tier AS "to", n.members,
                       CASE WHEN t.rank > f.rank THEN 'upgraded' WHEN t.rank < f.rank THEN 'downgraded' ELSE 'kept' END AS outcome
                FROM points.tier_evaluation_counts AS n
                JOIN points.tiers AS f ON f.program_id = n.program_id AND f.tier = n.from_tier
                JOIN points.tiers AS t ON t.program_id = n.program_id AND t.tier = n.to_tier
                WHERE n.program_id = \(program.id) AND n.period_start = \(start)::date
                ORDER BY f.rank, t.rank
                """).decode(TierMove.self)
        }
        return EvaluatedPeriod(
            period: TierPeriodLabel(kind: kind, start: start), endedAt: end, alreadyEvaluated: already,
            members: moves.reduce(0) { $0 + $1.members }, changed: moves.filter { $0.from != $0.to }.reduce(0) { $0 + $1.members },
            moves: moves)
    }
}

/// The program's tier period in force at a period's start, the period's end, and whether its
/// evaluation finished (nil: never started).
private struct PeriodRow: Decodable {
    let tierPeriod: String
    let periodEnd: Timestamp
    let finished: Bool?
}

/// The period `points.next_tier_period` names, or a row of NULLs when none has ended.
private struct NextPeriodRow: Decodable {
    let periodKind: String?
    let periodStart: String?
    let periodEnd: Timestamp?
}

/// What one chunk of a period's evaluation did.
private struct EvaluationChunk: Decodable {
    let members: Int64
    let changed: Int64
    let finished: Bool
}
