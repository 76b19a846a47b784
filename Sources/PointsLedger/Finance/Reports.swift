public import Foundation
public import Postgres

/// One account of the program at a moment: the system accounts and the members' accounts summed.
public struct TrialBalanceLine: Sendable, Hashable, Codable {
    public enum Side: String, Sendable, Codable {
        case member, program

        /// Members hold available and pending; every other account is the program's.
        public init(account: String) { self = account == "available" || account == "pending" ? .member : .program }
    }
    public let account: String
    public let side: Side
    public let balance: Int64
    /// Gross points moved into and out of the account by then: `balance` is `received − given`.
    /// For `issued`, `given` is the points issued and `received` those clawed back by refunds;
    /// for `adjustments`, `given` is grants and `received` deductions.
    public let received: Int64
    public let given: Int64
}

/// Every account of a program at a moment; the balances sum to zero.
public struct TrialBalance: Sendable, Hashable, Codable {
    public let program: String
    public let asOf: Timestamp
    public let lines: [TrialBalanceLine]
    public var total: Int64 { lines.reduce(0) { $0 + $1.balance } }
}

/// One member's line of the balances report: their balances at its moment.
public struct BalanceReportLine: Sendable, Hashable, Codable {
    public let member: String
    public let available: Int64
    public let pending: Int64
    public let held: Int64
}

/// Points outstanding in one group (a tier, or an expiry month), and their money value.
public struct LiabilityLine: Sendable, Hashable, Codable {
    public let group: String
    public let members: Int64?
    public let points: Int64
    public let value: Money
}

/// What the program owes its members at a moment: points spendable or pending, valued at the
/// point value in force then. Negative balances (members who owe points) are shown apart and
/// not netted against what is owed.
public struct LiabilityReport: Sendable, Hashable, Codable {
    public let program: String
    public let asOf: Timestamp
    public let currency: String
    /// Currency (major units) per point, in force at `asOf`.
    public let pointValue: Decimal
    public let available: Int64
    public let pending: Int64
    /// Points owed by members with a negative balance (a positive number).
    public let owedByMembers: Int64
    public var outstanding: Int64 { available + pending }
    /// The outstanding points' value, rounded half to even to the currency's minor unit.
    public let value: Money
    public let byTier: [LiabilityLine]
    /// Available points by the month their lots expire ("never" for lots that do not), and the
    /// pending points, which form lots only when they mature.
    public let byExpiryMonth: [LiabilityLine]
}

/// Points issued, redeemed and expired in one month of the program's calendar.
public struct BreakageMonth: Sendable, Hashable, Encodable {
    public let month: String
    /// Points earned from purchases, tasks, referrals and bonuses, net of clawbacks.
    public let issued: Int64
    /// Points granted by hand, net of deductions.
    public let adjusted: Int64
    public let redeemed: Int64
    public let expired: Int64
    public let writtenOff: Int64
    /// The gross figures behind `issued` and `adjusted`: points issued and clawed back by
    /// refunds, granted and deducted.
    public let issuedGross: Int64
    public let clawedBack: Int64
    public let granted: Int64
    public let deducted: Int64
    /// redeemed / issued and expired / issued (nil when nothing was issued).
    public var redemptionRate: Decimal? { rate(redeemed) }
    public var breakageRate: Decimal? { rate(expired) }

    func rate(_ points: Int64) -> Decimal? {
        guard issued > 0 else { return nil }
        var result = Decimal()
        var ratio = Decimal(points) / Decimal(issued)
        NSDecimalRound(&result, &ratio, 4, .plain)
        return result
    }

    enum CodingKeys: String, CodingKey {
        case month, issued, adjusted, redeemed, expired, writtenOff, issuedGross, clawedBack, granted, deducted, redemptionRate, breakageRate
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(month, forKey: .month)
        try container.encode(issued, forKey: .issued)
        try container.encode(adjusted, forKey: .adjusted)
        try container.encode(redeemed, forKey: .redeemed)
        try container.encode(expired, forKey: .expired)
        try container.encode(writtenOff, forKey: .writtenOff)
        try container.encode(issuedGross, forKey: .issuedGross)
        try container.encode(clawedBack, forKey: .clawedBack)
        try container.encode(granted, forKey: .granted)
        try container.encode(deducted, forKey: .deducted)
        try container.encode(redemptionRate, forKey: .redemptionRate)
        try container.encode(breakageRate, forKey: .breakageRate)
    }
}

public struct BreakageReport: Sendable, Hashable, Encodable {
    public let program: String
    public let from: Timestamp
    public let to: Timestamp
    public let months: [BreakageMonth]
    public var total: BreakageMonth {
        BreakageMonth(
            month: "total", issued: months.reduce(0) { $0 + $1.issued }, adjusted: months.reduce(0) { $0 + $1.adjusted },
            redeemed: months.reduce(0) { $0 + $1.redeemed }, expired: months.reduce(0) { $0 + $1.expired },
            writtenOff: months.reduce(0) { $0 + $1.writtenOff }, issuedGross: months.reduce(0) { $0 + $1.issuedGross },
            clawedBack: months.reduce(0) { $0 + $1.clawedBack }, granted: months.reduce(0) { $0 + $1.granted },
            deducted: months.reduce(0) { $0 + $1.deducted })
    }
}

extension Ledger {
    /// Checks a report's moment: not in the future, and not before the program's history begins
    /// (its creation, or its earliest back-dated entry).
    func checkAsOf(_ asOf: Timestamp, in program: Program, field: String = "as of") async throws {
        if asOf > .now {
            throw LedgerError.invalidInput(field: field, reason: "\(program.clock.text(asOf)) is in the future; reports show what has happened, up to now")
        }
        guard asOf < program.createdAt else { return }
        let history = try await withConnection { connection in
            try connection.query("""
                SELECT EXISTS (SELECT 1 FROM points.journal_entries WHERE program_id = \(program.id) AND occurred_at <= \(asOf)) AS present
                """).single().decode(Bool.self, column: "present")
        }
        if !history {
            throw LedgerError.invalidInput(
                field: field, reason: "\(program.clock.text(asOf)) is before program \(program.name) existed (created \(program.clock.text(program.createdAt))); choose a later time")
        }
    }

    /// Checks a report's period: `from` before `to`, and `to` not in the future.
    public func checkPeriod(from: Timestamp, to: Timestamp, in program: Program) throws(LedgerError) {
        let clock = program.clock
        guard from < to else {
            throw .invalidInput(
                field: "from", reason: "\(clock.text(from)) is not before the period's end \(clock.text(to)); give the start of the period first")
        }
        guard to.microsecondsSinceEpoch <= Timestamp.now.microsecondsSinceEpoch + 1_000_000 else {
            throw .invalidInput(field: "to", reason: "\(clock.text(to)) is in the future; reports show what has happened, up to now")
        }
    }

    /// Every account of the program at `asOf` (default: now, from the stored balances).
    public func trialBalance(_ program: Program, asOf: Timestamp? = nil) async throws -> TrialBalance {
        if let asOf { try await checkAsOf(asOf, in: program) }
        let moment = asOf ?? .now
        let lines = try await readSnapshot { connection in
            // Gross movements into and out of each account by then: one pass over the movements.
            let gross = try connection.query("""
                SELECT a.account::text, coalesce(p.received, 0)::bigint AS received, coalesce(p.given, 0)::bigint AS given
                FROM unnest(enum_range(NULL::points.account)) AS a(account)
                LEFT JOIN (
                    SELECT s.account, sum(s.amount) FILTER (WHERE s.amount > 0) AS received, -sum(s.amount) FILTER (WHERE s.amount < 0) AS given
                    FROM points.movements AS m \(unsafeSQL: Self.movementSides)
                    WHERE m.program_id = \(program.id) AND (\(asOf)::timestamptz IS NULL OR m.occurred_at <= \(asOf))
                    GROUP BY s.account
                ) AS p USING (account)
                ORDER BY a.account
                """).map { row in
                (account: try row.decode(String.self, column: "account"), received: try row.decode(Int64.self, column: "received"),
                 given: try row.decode(Int64.self, column: "given"))
            }
            // Now, the balances are the members' stored ones (which `audit verify` checks against the movements).
            var stored: [String: Int64] = [:]
            if asOf == nil {
                let row = try connection.query("""
                    SELECT coalesce(sum(available), 0)::bigint AS available, coalesce(sum(pending), 0)::bigint AS pending,
                           coalesce(sum(issued), 0)::bigint AS issued, coalesce(sum(redeemed), 0)::bigint AS redeemed,
                           coalesce(sum(expired), 0)::bigint AS expired, coalesce(sum(written_off), 0)::bigint AS written_off,
                           coalesce(sum(adjustments), 0)::bigint AS adjustments
                    FROM points.members WHERE program_id = \(program.id)
                    """).single()
                for account in ["available", "pending", "issued", "redeemed", "expired", "written_off", "adjustments"] {
                    stored[account] = try row.decode(Int64.self, column: account)
                }
            }
            return gross.filter { asOf != nil || stored[$0.account] != nil }.map {
                TrialBalanceLine(
                    account: $0.account, side: .init(account: $0.account), balance: stored[$0.account] ?? $0.received - $0.given,
                    received: $0.received, given: $0.given)
            }
        }
        return TrialBalance(program: program.name, asOf: moment, lines: lines)
    }

    /// Every member's available, pending and held points at `asOf`, in member order, a page at a
    /// time: every member who existed then or had postings by then. A page's cursor keeps its
    /// `asOf`, so that the pages after it are of the same moment; `asOf` (nil: now, or the
    /// cursor's) must agree with a cursor's.
    /// - Throws: `.invalidInput` for a limit, a cursor, or an `asOf` other than the cursor's.
    public func memberBalances(_ program: Program, asOf: Timestamp?, page: PageRequest = PageRequest()) async throws -> Page<BalanceReportLine> {
        let limit = try page.checkedLimit()
        var after: String? = nil
        var moment = asOf ?? .now
        if let values = try PageCursor.read(page.cursor, list: "balances", count: 2) {
            guard let micros = Int64(values[0]) else {
                throw LedgerError.invalidInput(field: "cursor", reason: "the cursor is not one of this list; ask for the first page without one")
            }
            let cursorMoment = Timestamp(microsecondsSinceEpoch: micros)
            if let asOf, asOf != cursorMoment {
                throw LedgerError.invalidInput(
                    field: "as of",
                    reason: "the cursor is of the balances as of \(program.clock.text(cursorMoment)); leave the as-of time out, or give that one")
            }
            moment = cursorMoment
            after = values[1]
        }
        let asOf = moment
        let afterMember = after
        try await checkAsOf(asOf, in: program)
        // One more member than the page, read in member order: the lines of members who did not
        // exist yet are left out after the page's members are chosen, so the cursor names the
        // last member read, not the last line.
        let (lines, scanned) = try await readSnapshot { connection in
            let scanned = try connection.query("""
                SELECT member_id FROM points.members
                WHERE program_id = \(program.id) AND (\(afterMember)::text IS NULL OR member_id > \(afterMember))
                ORDER BY member_id LIMIT \(limit + 1)
                """).map { try $0.decode(String.self, at: 0) }
            let members = Array(scanned.prefix(limit))
            guard let last = members.last else { return ([BalanceReportLine](), scanned) }
            let first = members[0]
            let lines = try connection.query("""
                WITH p AS (
                    SELECT member_id, \(unsafeSQL: Self.availableAndPending)
                    FROM points.movements
                    WHERE program_id = \(program.id) AND member_id BETWEEN \(first) AND \(last) AND occurred_at <= \(asOf)
                      AND (from_account IN ('available', 'pending') OR to_account IN ('available', 'pending'))
                    GROUP BY member_id
                ), h AS (
                    SELECT member_id, sum(points) AS held FROM points.holds
                    WHERE program_id = \(program.id) AND member_id BETWEEN \(first) AND \(last)
                      AND created_at <= \(asOf) AND expires_at > \(asOf) AND (resolved_at IS NULL OR resolved_at > \(asOf))
                    GROUP BY member_id
                )
                SELECT m.member_id AS member, coalesce(p.available, 0)::bigint AS available, coalesce(p.pending, 0)::bigint AS pending,
                       coalesce(h.held, 0)::bigint AS held
                FROM points.members AS m
                LEFT JOIN p ON p.member_id = m.member_id
                LEFT JOIN h ON h.member_id = m.member_id
                WHERE m.program_id = \(program.id) AND m.member_id BETWEEN \(first) AND \(last)
                  AND (m.created_at <= \(asOf) OR p.member_id IS NOT NULL)
                ORDER BY m.member_id
                """).decode(BalanceReportLine.self)
            return (lines, scanned)
        }
        guard scanned.count > limit else { return Page(items: lines, nextCursor: nil) }
        return Page(items: lines, nextCursor: PageCursor.make("balances", [String(asOf.microsecondsSinceEpoch), scanned[limit - 1]]))
    }

    /// The points the program owes at `asOf`: in total, by the tier members held then, and by
    /// the month their lots expire, valued at the point value in force then.
    public func liability(_ program: Program, asOf: Timestamp) async throws -> LiabilityReport {
        try await checkAsOf(asOf, in: program)
        let exponent = program.currencyExponent
        return try await readSnapshot { connection in
            let pointValue: Decimal = try connection.query("""
                SELECT point_value FROM points.program_settings
                WHERE program_id = \(program.id) AND effective_at <= \(asOf) ORDER BY effective_at DESC LIMIT 1
                """).single().decode(column: "point_value")
            func value(_ points: Int64) throws(LedgerError) -> Money {
                var exact = Decimal(points) * pointValue
                var rounded = Decimal()
                NSDecimalRound(&rounded, &exact, exponent, .bankers)
                let minor = rounded * pow(10, exponent)
                guard minor >= Decimal(Int64.min), minor <= Decimal(Int64.max) else {
                    throw .invalidInput(
                        field: "point value",
                        reason: "\(pointValue) \(program.currency) a point values \(points.grouped) points beyond what an amount can hold; set a smaller point value")
                }
                return Money(minorUnits: NSDecimalNumber(decimal: minor).int64Value, exponent: exponent)
            }
            // Every member's balances at asOf, grouped by the tier they held then: one pass, on the server.
            let tiers = try connection.query("""
                WITH l AS (
                    SELECT member_id, \(unsafeSQL: Self.availableAndPending)
                    FROM points.movements
                    WHERE program_id = \(program.id) AND occurred_at <= \(asOf)
                      AND (from_account IN ('available', 'pending') OR to_account IN ('available', 'pending'))
                    GROUP BY member_id
                )
                SELECT coalesce(c.to_tier, first.tier) AS tier,
                       count(*) FILTER (WHERE greatest(l.available, 0) + l.pending > 0) AS members,
                       sum(greatest(l.available, 0) + l.pending)::bigint AS points, sum(greatest(l.available, 0))::bigint AS available,
                       sum(l.pending)::bigint AS pending, (-sum(least(l.available, 0)))::bigint AS owed
                FROM l
                CROSS JOIN (SELECT tier FROM points.tiers WHERE program_id = \(program.id) ORDER BY rank LIMIT 1) AS first
                LEFT JOIN LATERAL (
                    SELECT c.to_tier FROM points.tier_changes AS c
                    WHERE c.program_id = \(program.id) AND c.member_id = l.member_id AND c.occurred_at <= \(asOf)
                    ORDER BY c.occurred_at DESC, c.change_id DESC LIMIT 1
                ) AS c ON true
                JOIN points.tiers AS t ON t.program_id = \(program.id) AND t.tier = coalesce(c.to_tier, first.tier)
                GROUP BY 1, t.rank ORDER BY t.rank
                """).decode(TierLiabilityRow.self).map { row in
                (line: LiabilityLine(group: row.tier, members: row.members, points: row.points, value: Money(minorUnits: 0, exponent: exponent)),
                 available: row.available, pending: row.pending, owed: row.owed)
            }
            let available = tiers.reduce(0) { $0 + $1.available }
            let pending = tiers.reduce(0) { $0 + $1.pending }
            let owed = tiers.reduce(0) { $0 + $1.owed }
            let byTier = try tiers.map(\.line).filter { $0.points > 0 }.map {
                LiabilityLine(group: $0.group, members: $0.members, points: $0.points, value: try value($0.points))
            }
            // A lot's remainder at asOf: its amount less what spends took and expiry removed by then,
            // by the month of its last spendable moment (a lot that ends at midnight on 1 January
            // expires at the end of December).
            let byMonth = try connection.query("""
                SELECT coalesce(to_char((l.expires_at AT TIME ZONE \(program.timeZone)) - interval '1 microsecond', 'YYYY-MM'), 'never') AS month,
                       sum(l.amount - coalesce(a.taken, 0)
                           - CASE WHEN x.occurred_at <= \(asOf) THEN l.expired_amount ELSE 0 END)::bigint AS remaining
                FROM points.lots AS l
                LEFT JOIN LATERAL (
                    SELECT sum(al.amount) AS taken FROM points.lot_allocations AS al
                    JOIN points.journal_entries AS e
                      ON e.program_id = al.program_id AND e.member_id = al.member_id AND e.entry_id = al.entry_id
                    WHERE al.program_id = l.program_id AND al.member_id = l.member_id AND al.lot_id = l.lot_id AND e.occurred_at <= \(asOf)
                ) AS a ON true
                LEFT JOIN points.journal_entries AS x
                  ON x.program_id = l.program_id AND x.member_id = l.member_id AND x.entry_id = l.expired_entry_id
                WHERE l.program_id = \(program.id) AND l.earned_at <= \(asOf)
                GROUP BY 1 HAVING sum(l.amount - coalesce(a.taken, 0) - CASE WHEN x.occurred_at <= \(asOf) THEN l.expired_amount ELSE 0 END) > 0
                ORDER BY 1  -- "never" sorts after every month
                """).map { row in
                let points: Int64 = try row.decode(column: "remaining")
                return LiabilityLine(group: try row.decode(column: "month"), members: nil, points: points, value: try value(points))
            }
            let pendingLine = pending > 0 ? [LiabilityLine(group: "pending", members: nil, points: pending, value: try value(pending))] : []
            return LiabilityReport(
                program: program.name, asOf: asOf, currency: program.currency, pointValue: pointValue, available: available,
                pending: pending, owedByMembers: owed, value: try value(available + pending), byTier: byTier,
                byExpiryMonth: byMonth + pendingLine)
        }
    }

    /// Points issued, adjusted, redeemed, expired and written off in each month (program
    /// calendar) of [from, to).
    public func breakage(_ program: Program, from: Timestamp, to: Timestamp) async throws -> BreakageReport {
        try checkPeriod(from: from, to: to, in: program)
        let months = try await readSnapshot { connection in
            try connection.query("""
                SELECT to_char(m.occurred_at AT TIME ZONE \(program.timeZone), 'YYYY-MM') AS month,
                       coalesce(-sum(s.amount) FILTER (WHERE s.account = 'issued'), 0)::bigint AS issued,
                       coalesce(-sum(s.amount) FILTER (WHERE s.account = 'adjustments'), 0)::bigint AS adjusted,
                       coalesce(sum(s.amount) FILTER (WHERE s.account = 'redeemed'), 0)::bigint AS redeemed,
                       coalesce(sum(s.amount) FILTER (WHERE s.account = 'expired'), 0)::bigint AS expired,
                       coalesce(sum(s.amount) FILTER (WHERE s.account = 'written_off'), 0)::bigint AS written_off,
                       coalesce(-sum(s.amount) FILTER (WHERE s.account = 'issued' AND s.amount < 0), 0)::bigint AS issued_gross,
                       coalesce(sum(s.amount) FILTER (WHERE s.account = 'issued' AND s.amount > 0), 0)::bigint AS clawed_back,
                       coalesce(-sum(s.amount) FILTER (WHERE s.account = 'adjustments' AND s.amount < 0), 0)::bigint AS granted,
                       coalesce(sum(s.amount) FILTER (WHERE s.account = 'adjustments' AND s.amount > 0), 0)::bigint AS deducted
                FROM points.movements AS m \(unsafeSQL: Self.movementSides)
                WHERE m.program_id = \(program.id) AND m.occurred_at >= \(from) AND m.occurred_at < \(to)
                  AND (m.from_account IN ('issued', 'adjustments', 'redeemed', 'expired', 'written_off')
                       OR m.to_account IN ('issued', 'adjustments', 'redeemed', 'expired', 'written_off'))
                GROUP BY 1 ORDER BY 1
                """).map { row in
                BreakageMonth(
                    month: try row.decode(column: "month"), issued: try row.decode(column: "issued"),
                    adjusted: try row.decode(column: "adjusted"), redeemed: try row.decode(column: "redeemed"),
                    expired: try row.decode(column: "expired"), writtenOff: try row.decode(column: "written_off"),
                    issuedGross: try row.decode(column: "issued_gross"), clawedBack: try row.decode(column: "clawed_back"),
                    granted: try row.decode(column: "granted"), deducted: try row.decode(column: "deducted"))
            }
        }
        return BreakageReport(program: program.name, from: from, to: to, months: months)
    }

    /// The two sides of a movement `m` as rows (account, amount): the points it gave to one
    /// account (positive) and took from the other (negative); for a FROM clause after the movements.
    static let movementSides = """
        CROSS JOIN LATERAL (VALUES (m.to_account, m.amount), (m.from_account, -m.amount)) AS s(account, amount)
        """

    /// A member's available and pending points from their movements, for a SELECT list grouped by member.
    static let availableAndPending = """
        coalesce(sum(CASE WHEN to_account = 'available' THEN amount WHEN from_account = 'available' THEN -amount END), 0) AS available,
        coalesce(sum(CASE WHEN to_account = 'pending' THEN amount WHEN from_account = 'pending' THEN -amount END), 0) AS pending
        """
}

/// A tier's members, points and balances in the liability report.
private struct TierLiabilityRow: Decodable {
    let tier: String
    let members: Int64
    let points: Int64
    let available: Int64
    let pending: Int64
    let owed: Int64
}
