public import Postgres

/// How a qualifying total spreads over a tier's members: the least, the quartiles and the most
/// (nil when the tier has no member).
public struct Spread<Value: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    public let minimum: Value
    public let lowerQuartile: Value
    public let median: Value
    public let upperQuartile: Value
    public let maximum: Value

    public init(minimum: Value, lowerQuartile: Value, median: Value, upperQuartile: Value, maximum: Value) {
        self.minimum = minimum
        self.lowerQuartile = lowerQuartile
        self.median = median
        self.upperQuartile = upperQuartile
        self.maximum = maximum
    }
}

/// One tier's members at a moment.
public struct TierReportLine: Sendable, Hashable, Codable {
    public let tier: String
    public let rank: Int
    /// Members whose earned tier it is (from their spending and tasks, or an admin's override).
    public let earned: Int64
    /// Members whose effective tier it is: their earned tier, raised by a paid or granted term.
    public let effective: Int64
    /// The qualifying points and spend in the tier period holding the moment, of the members
    /// whose effective tier it is: for a period still running, the totals so far.
    public let qualifyingPoints: Spread<Int64>?
    public let qualifyingSpend: Spread<Money>?
}

/// Members per tier at a moment, earned and effective, with their qualifying totals.
public struct TierReport: Sendable, Hashable, Codable {
    public let program: String
    public let asOf: Timestamp
    /// The first local day of the tier period holding `asOf`.
    public let periodStart: String
    public let lines: [TierReportLine]
}

extension Ledger {
    /// Members per tier at `asOf` (default: now): each member's earned tier then (from the tier
    /// changes recorded up to then, the entry tier before any) and effective tier then (raised by
    /// any term granted over that moment), and the spread of the qualifying totals of the tier
    /// period holding it. Counts every member created by then or with entries by then.
    public func tierReport(_ program: Program, asOf: Timestamp? = nil) async throws -> TierReport {
        if let asOf { try await checkAsOf(asOf, in: program) }
        let moment = asOf ?? .now
        // The least, the quartiles and the most of a total: columns points_0 … points_4.
        let spreads = ["points", "spend"].map { total in
            ["0", "0.25", "0.5", "0.75", "1"].enumerated().map { index, fraction in
                "percentile_disc(\(fraction)) WITHIN GROUP (ORDER BY s.\(total)) AS \(total)_\(index)"
            }.joined(separator: ", ")
        }.joined(separator: ", ")
        let (periodStart, lines) = try await readSnapshot { connection in
            let periodStart = try connection.query("""
                SELECT to_char(points.tier_period_start((points.settings_at(\(program.id), \(moment))).tier_period, \(moment), \(program.timeZone)),
                               'YYYY-MM-DD') AS start
                """).single().decode(String.self, column: "start")
            let rows = try connection.query("""
                WITH m AS (
                    SELECT mm.member_id, coalesce(c.to_tier, first.tier) AS earned
                    FROM points.members AS mm
                    CROSS JOIN (SELECT t.tier FROM points.tiers AS t WHERE t.program_id = \(program.id) ORDER BY t.rank LIMIT 1) AS first
                    LEFT JOIN LATERAL (
                        SELECT c.to_tier FROM points.tier_changes AS c
                        WHERE c.program_id = mm.program_id AND c.member_id = mm.member_id AND c.occurred_at <= \(moment)
                          AND c.cause NOT IN ('grant', 'grant_end')
                        ORDER BY c.occurred_at DESC, c.change_id DESC LIMIT 1
                    ) AS c ON true
                    WHERE mm.program_id = \(program.id)
                      AND (mm.created_at <= \(moment) OR EXISTS (
                          SELECT FROM points.journal_entries AS e
                          WHERE e.program_id = mm.program_id AND e.member_id = mm.member_id AND e.occurred_at <= \(moment)))
                ), s AS (
                    -- A period's totals are on the member's row while it is the member's latest, else in qualifying_totals.
                    SELECT m.member_id, m.earned, points.effective_tier(\(program.id), m.member_id, m.earned, \(moment)) AS effective,
                           coalesce(CASE WHEN mm.q_period = \(periodStart)::date THEN mm.q_points ELSE q.points END, 0)::bigint AS points,
                           coalesce(CASE WHEN mm.q_period = \(periodStart)::date THEN mm.q_spend ELSE q.spend_minor END, 0)::bigint AS spend
                    FROM m
                    JOIN points.members AS mm ON mm.program_id = \(program.id) AND mm.member_id = m.member_id
                    LEFT JOIN points.qualifying_totals AS q
                      ON q.program_id = \(program.id) AND q.member_id = m.member_id AND q.period_start = \(periodStart)::date
                )
                SELECT t.tier, t.rank::bigint AS rank, (SELECT count(*) FROM s AS e WHERE e.earned = t.tier) AS earned,
                       count(s.member_id) AS effective, \(unsafeSQL: spreads)
                FROM points.tiers AS t
                LEFT JOIN s ON s.effective = t.tier
                WHERE t.program_id = \(program.id)
                GROUP BY t.tier, t.rank
                ORDER BY t.rank
                """)
            return (periodStart, try rows.map { row in
                func spread(_ total: String) throws -> Spread<Int64>? {
                    let values = try (0..<5).map { try row.decode(Int64?.self, column: "\(total)_\($0)") }
                    guard let first = values[0] else { return nil }
                    return Spread(
                        minimum: first, lowerQuartile: values[1] ?? first, median: values[2] ?? first, upperQuartile: values[3] ?? first,
                        maximum: values[4] ?? first)
                }
                return TierReportLine(
                    tier: try row.decode(String.self, column: "tier"), rank: Int(try row.decode(Int64.self, column: "rank")),
                    earned: try row.decode(Int64.self, column: "earned"), effective: try row.decode(Int64.self, column: "effective"),
                    qualifyingPoints: try spread("points"),
                    qualifyingSpend: try spread("spend").map { spend in
                        let money = { (minor: Int64) in Money(minorUnits: minor, exponent: program.currencyExponent) }
                        return Spread(
                            minimum: money(spend.minimum), lowerQuartile: money(spend.lowerQuartile), median: money(spend.median),
                            upperQuartile: money(spend.upperQuartile), maximum: money(spend.maximum))
                    })
            })
        }
        return TierReport(program: program.name, asOf: moment, periodStart: periodStart, lines: lines)
    }
}
