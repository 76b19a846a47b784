import Dispatch
import Postgres
import Synchronization

/// One thing `verify` found wrong, named precisely enough to investigate.
public struct AuditProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// A stored balance that differs from what the journal's movements gave and took.
        case balanceMismatch = "balance_mismatch"
        /// The program's balances do not sum to zero.
        case programNotZero = "program_not_zero"
        /// A member's lots do not sum to available (or to 0 while available is negative).
        case lotsNotAvailable = "lots_not_available"
        /// A lot's remainder differs from its amount less what was spent from it and what expired.
        case lotRemainderMismatch = "lot_remainder_mismatch"
        /// A member's pending balance differs from the pending points of their purchases.
        case pendingNotPurchases = "pending_not_purchases"
        /// A member's held balance differs from the points of their open holds.
        case heldNotHolds = "held_not_holds"
        /// A lot, a purchase, a task completion or a movement names a journal entry that does not exist.
        case missingEntry = "missing_entry"
        /// A journal entry names a member who does not exist.
        case unknownMember = "unknown_member"
        /// A sealed block's entries and postings no longer hash to the block's hash: an entry or
        /// movement in its range was altered, inserted or deleted after sealing.
        case blockAltered = "block_altered"
        /// A block does not follow the one before it: its previous hash or its first entry differ.
        case chainBroken = "chain_broken"
        /// The chain does not contain the head hash the auditor recorded (`--head`).
        case headNotFound = "head_not_found"
    }

    public let kind: Kind
    public let member: String?
    /// The entry, or for `lotRemainderMismatch` the lot.
    public let entryID: Int64?
    public let account: String?
    /// What is stored (a balance) or found (an entry's total).
    public let stored: Int64?
    /// What the movements say it should be.
    public let expected: Int64?
    /// For the chain's problems: the block, and what differs.
    public var block: Int? = nil
    public var detail: String? = nil

    public var description: String {
        switch kind {
        case .balanceMismatch:
            "member \(member ?? "?") account \(account ?? "?") stores \(stored ?? 0) but its movements sum to \(expected ?? 0)"
        case .programNotZero:
            "the program's balances sum to \(stored ?? 0), not 0"
        case .lotsNotAvailable:
            "member \(member ?? "?") has lots remaining \(stored ?? 0) but \(expected ?? 0) should remain (available, or 0 when negative)"
        case .lotRemainderMismatch:
            "lot \(entryID ?? 0) of member \(member ?? "?") has \(stored ?? 0) remaining but its allocations and expiry leave \(expected ?? 0)"
        case .pendingNotPurchases:
            "member \(member ?? "?") has pending \(stored ?? 0) but their purchases hold \(expected ?? 0) pending points"
        case .heldNotHolds:
            "member \(member ?? "?") has held \(stored ?? 0) but their open holds reserve \(expected ?? 0) points"
        case .missingEntry:
            "member \(member ?? "?") has a \(account ?? "record") naming entry \(entryID ?? 0), which does not exist"
        case .unknownMember:
            "entry \(entryID ?? 0) names member \(member ?? "?"), who does not exist"
        case .blockAltered:
            "sealed block \(block ?? 0) \(detail ?? "") no longer matches its hash: an entry or movement in it was changed, added or removed"
        case .chainBroken:
            "sealed block \(block ?? 0) does not follow the block before it: \(detail ?? "")"
        case .headNotFound:
            "the chain holds no block with the recorded head hash \(detail ?? "")"
        }
    }
}

/// The result of `audit verify` over one program, read from one consistent snapshot.
public struct AuditReport: Sendable, Hashable, Codable {
    public let program: String
    public let members: Int64
    public let entries: Int64
    public let movements: Int64
    /// The sum of every balance of the program (0 when the ledger is sound).
    public let balanceTotal: Int64
    public let problems: [AuditProblem]
    /// Problems found beyond those listed (the list stops at `problemLimit` per check).
    public let problemsNotListed: Int64
    /// The sealed chain: its blocks, the last entry sealed, its head hash (hex, nil before the
    /// first seal), and the entries written since.
    public let sealedBlocks: Int
    public let sealedThroughEntry: Int64
    public let headHash: String?
    public let unsealedEntries: Int64

    public var isSound: Bool { problems.isEmpty }

    public static let problemLimit = 100
}

extension Ledger {
    /// Checks what can still go wrong in a journal that balances by its shape (a movement takes a
    /// positive amount from one account and gives it to another): every stored balance equals
    /// what the movements gave and took, the program's balances sum to zero, every member's lots sum to their
    /// available points (0 while negative), every lot's remainder matches what was spent from it
    /// and what expired, every pending balance matches the purchases still pending, and every lot
    /// and purchase (and every movement, where that can still be wrong: after the sealed blocks,
    /// which never take a movement without its entry, and inside any block whose hash no longer
    /// matches) names an entry that exists, and every entry a member who does. Reads
    /// only: it runs as the auditor role too.
    ///
    /// It also recomputes the hash of every sealed block from the entries and postings now in
    /// its range and checks that each block follows the one before; `expectedHead`, a head hash
    /// the auditor recorded earlier (from `seal` or a previous verify), must be in the chain.
    public func verify(_ program: Program, expectedHead: String? = nil) async throws -> AuditReport {
        if let expectedHead, expectedHead.count != 64 || !expectedHead.allSatisfy(\.isHexDigit) {
            throw LedgerError.invalidInput(field: "head", reason: "\"\(expectedHead)\" is not a SHA-256 hash: 64 hexadecimal digits")
        }
        let configuration = pool.configuration
        return try await readSnapshot { connection in
            try Self.audit(program, expectedHead: expectedHead?.lowercased(), connection: connection, configuration: configuration)
        }
    }

    private static func audit(
        _ program: Program, expectedHead: String?, connection: PostgresConnection, configuration: ConnectionConfiguration
    ) throws -> AuditReport {
        let limit = AuditReport.problemLimit
        var problems: [AuditProblem] = []
        var notListed: Int64 = 0

        // The sealed blocks are recomputed in two halves on two connections of their own, in this
        // transaction's snapshot, while this connection runs the other checks: each block is one
        // process's work, and the other checks are parallel queries.
        let start = try connection.query("""
            SELECT pg_catalog.pg_export_snapshot() AS snapshot, encode(points.genesis_hash(\(program.id)), 'hex') AS genesis,
                   (SELECT coalesce(max(block_no), 0) FROM points.journal_blocks WHERE program_id = \(program.id)) AS blocks
            """).single()
        let snapshot: String = try start.decode(column: "snapshot")
        let genesis: String = try start.decode(column: "genesis")
        let blockCount: Int32 = try start.decode(column: "blocks")
        let middle = blockCount / 2
        let halves: [ClosedRange<Int32>] = switch blockCount {
        case 0: []
        case 1: [1...1]
        default: [1...middle, middle + 1...blockCount]
        }
        let recomputing = SnapshotReaders(configuration: configuration, snapshot: snapshot, jobs: halves.map { half in
            { @Sendable connection in try recomputeBlocks(program, half, connection: connection) }
        })
        // Should a check below throw, the recomputations still end before this transaction does.
        defer { recomputing.finish() }


        // Fingerprints first: per account, the sum over movements of w(member) × amount against
        // the same over the stored balances, w a 30-bit hash of the member id under a seed drawn
        // for this run (so the weights are not known in advance). Where they agree, the
        // balances agree, but with a chance of about 1 in 2^30; where they differ (or overflow),
        // the exact comparison below names every member and account.
        let seed = Int64.random(in: .min ... .max)
        let balancesAgree = try fingerprintsAgree("""
            SELECT coalesce(bool_and(coalesce(p.f, 0) = coalesce(s.f, 0)), true) AS agree
            FROM (
                SELECT account, sum(\(unsafeSQL: weight("member_id", seed: seed)) * amount) AS f
                FROM \(unsafeSQL: signedMovements(program)) GROUP BY account
            ) AS p
            FULL JOIN (
                SELECT a.account, sum(\(unsafeSQL: weight("m.member_id", seed: seed)) * a.balance) AS f
                FROM points.members AS m
                \(unsafeSQL: storedBalances)
                WHERE m.program_id = \(program.id)
                GROUP BY a.account
            ) AS s USING (account)
            """, connection: connection)
        let mismatched: [ProblemRow] = balancesAgree ? [] : try connection.query("""
            WITH sums AS (
                SELECT member_id, account, sum(amount) AS total
                FROM \(unsafeSQL: signedMovements(program))
                GROUP BY member_id, account
            ), stored AS (
                SELECT m.member_id, a.account, a.balance
                FROM points.members AS m
                \(unsafeSQL: storedBalances)
                WHERE m.program_id = \(program.id)
            )
            SELECT coalesce(st.member_id, s.member_id) AS member, coalesce(st.account, s.account)::text AS account,
                   coalesce(st.balance, 0) AS stored, coalesce(s.total, 0) AS expected, count(*) OVER () AS total
            FROM stored AS st
            FULL JOIN sums AS s ON s.member_id = st.member_id AND s.account = st.account
            WHERE coalesce(st.balance, 0) <> coalesce(s.total, 0)
            ORDER BY 1, 2
            LIMIT \(limit)
            """).decode(ProblemRow.self)
        for row in mismatched {
            problems.append(AuditProblem(
                kind: .balanceMismatch, member: row.member, entryID: nil, account: row.account, stored: row.stored, expected: row.expected))
        }
        notListed += mismatched.first.map { $0.total - Int64(mismatched.count) } ?? 0

        let lotsAgree = try fingerprintsAgree("""
            SELECT (SELECT coalesce(sum(\(unsafeSQL: weight("member_id", seed: seed)) * remaining::bigint), 0)
                    FROM points.lots WHERE program_id = \(program.id))
                 = (SELECT coalesce(sum(\(unsafeSQL: weight("member_id", seed: seed)) * greatest(available, 0)), 0)
                    FROM points.members WHERE program_id = \(program.id)) AS agree
            """, connection: connection)
        let checks: [(AuditProblem.Kind, PostgresQuery)] = (lotsAgree ? [] : [
            (.lotsNotAvailable, """
                SELECT m.member_id AS member, NULL::bigint AS entry_id, coalesce(l.remaining, 0) AS stored,
                       greatest(m.available, 0) AS expected, count(*) OVER () AS total
                FROM points.members AS m
                LEFT JOIN (
                    SELECT member_id, sum(remaining) AS remaining FROM points.lots
                    WHERE program_id = \(program.id) GROUP BY member_id
                ) AS l USING (member_id)
                WHERE m.program_id = \(program.id) AND coalesce(l.remaining, 0) <> greatest(m.available, 0)
                ORDER BY 1 LIMIT \(limit)
                """),
        ]) + [
            (.lotRemainderMismatch, """
                SELECT l.member_id AS member, l.lot_id AS entry_id, l.remaining AS stored,
                       l.amount - coalesce(a.taken, 0) - l.expired_amount AS expected, count(*) OVER () AS total
                FROM points.lots AS l
                LEFT JOIN (
                    SELECT member_id, lot_id, sum(amount) AS taken FROM points.lot_allocations
                    WHERE program_id = \(program.id) GROUP BY member_id, lot_id
                ) AS a USING (member_id, lot_id)
                WHERE l.program_id = \(program.id) AND l.remaining <> l.amount - coalesce(a.taken, 0) - l.expired_amount
                ORDER BY 2 LIMIT \(limit)
                """),
            (.pendingNotPurchases, """
                SELECT m.member_id AS member, NULL::bigint AS entry_id, m.pending AS stored, coalesce(p.pending, 0) AS expected,
                       count(*) OVER () AS total
                FROM points.members AS m
                LEFT JOIN (
                    SELECT member_id, sum(pending_points) AS pending FROM points.purchases
                    WHERE program_id = \(program.id) GROUP BY member_id
                ) AS p USING (member_id)
                WHERE m.program_id = \(program.id) AND m.pending <> coalesce(p.pending, 0)
                ORDER BY 1 LIMIT \(limit)
                """),
            (.heldNotHolds, """
                SELECT m.member_id AS member, NULL::bigint AS entry_id, m.held AS stored, coalesce(h.held, 0) AS expected,
                       count(*) OVER () AS total
                FROM points.members AS m
                LEFT JOIN (
                    SELECT member_id, sum(points) AS held FROM points.holds
                    WHERE program_id = \(program.id) AND state = 'open' GROUP BY member_id
                ) AS h USING (member_id)
                WHERE m.program_id = \(program.id) AND m.held <> coalesce(h.held, 0)
                ORDER BY 1 LIMIT \(limit)
                """),
        ]
        let orphans = try connection.query("""
            SELECT member_id AS member, entry_id, what AS account, count(*) OVER () AS total FROM (
                SELECT l.member_id, l.entry_id, 'lot' AS what FROM points.lots AS l
                WHERE l.program_id = \(program.id) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = l.program_id AND e.member_id = l.member_id AND e.entry_id = l.entry_id)
                UNION ALL
                SELECT p.member_id, p.entry_id, 'purchase' FROM points.purchases AS p
                WHERE p.program_id = \(program.id) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = p.program_id AND e.member_id = p.member_id AND e.entry_id = p.entry_id)
                UNION ALL
                SELECT c.member_id, c.entry_id, 'task completion' FROM points.task_completions AS c
                WHERE c.program_id = \(program.id) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = c.program_id AND e.member_id = c.member_id AND e.entry_id = c.entry_id)
                UNION ALL
                SELECT e.member_id, e.entry_id, 'entry' FROM points.journal_entries AS e
                WHERE e.program_id = \(program.id) AND NOT EXISTS (
                    SELECT 1 FROM points.members AS m WHERE m.program_id = e.program_id AND m.member_id = e.member_id)
            ) AS o ORDER BY 2 LIMIT \(limit)
            """).decode(ProblemRow.self)
        for row in orphans {
            problems.append(AuditProblem(
                kind: row.account == "entry" ? .unknownMember : .missingEntry, member: row.member, entryID: row.entryID,
                account: row.account == "entry" ? nil : row.account, stored: nil, expected: nil))
        }
        notListed += orphans.first.map { $0.total - Int64(orphans.count) } ?? 0

        for (kind, query) in checks {
            let rows = try connection.query(query).decode(ProblemRow.self)
            for row in rows {
                problems.append(AuditProblem(
                    kind: kind, member: row.member, entryID: row.entryID, account: nil, stored: row.stored, expected: row.expected))
            }
            notListed += rows.first.map { $0.total - Int64(rows.count) } ?? 0
        }

        let recomputed: [BlockCheck]
        do {
            recomputed = try recomputing.wait().flatMap { $0 }
        } catch let error as PostgresError where error.isConnectionError || error.code == SQLState("53300") {
            // No connection to spare (a connection limit): recompute here, one block after another.
            recomputed = blockCount == 0 ? [] : try recomputeBlocks(program, 1...blockCount, connection: connection)
        }
        let chain = followChain(recomputed, genesis: genesis, expectedHead: expectedHead)
        problems += chain.problems

        // Movements without their entry, only where they can still be: after the sealed blocks
        // (the seal job refuses them), inside the blocks whose hash no longer matches or whose
        // recomputation finds one (a block rehashed by hand), and everywhere when the chain itself
        // is broken.
        let suspect = chain.broken
            ? [(after: Int64.min, last: Int64.max)]
            : Self.merged([(after: chain.lastEntry, last: Int64.max)] + chain.suspect)
        let unowned = try connection.query("""
            WITH ranges AS (
                SELECT * FROM unnest(\(suspect.map(\.after))::bigint[], \(suspect.map(\.last))::bigint[]) AS r(after, last)
            )
            SELECT m.member_id AS member, m.entry_id, 'movement' AS account, count(*) OVER () AS total
            FROM (SELECT DISTINCT m.member_id, m.entry_id
                  FROM points.movements AS m JOIN ranges AS r ON m.entry_id > r.after AND m.entry_id <= r.last
                  WHERE m.program_id = \(program.id)) AS m
            WHERE NOT EXISTS (
                SELECT 1 FROM points.journal_entries AS e
                WHERE e.program_id = \(program.id) AND e.member_id = m.member_id AND e.entry_id = m.entry_id)
            ORDER BY m.entry_id
            LIMIT \(limit)
            """).decode(ProblemRow.self)
        for row in unowned {
            problems.append(AuditProblem(
                kind: .missingEntry, member: row.member, entryID: row.entryID, account: row.account, stored: nil, expected: nil))
        }
        notListed += unowned.first.map { $0.total - Int64(unowned.count) } ?? 0

        let totals = try connection.query("""
            SELECT
                (SELECT count(*) FROM points.members WHERE program_id = \(program.id)) AS members,
                (SELECT count(*) FROM points.journal_entries WHERE program_id = \(program.id)) AS entries,
                (SELECT count(*) FROM points.movements WHERE program_id = \(program.id)) AS movements,
                (SELECT coalesce(sum(available + pending + issued + redeemed + expired + written_off + adjustments), 0)
                   FROM points.members WHERE program_id = \(program.id)) AS balance_total,
                (SELECT count(*) FROM points.journal_entries WHERE program_id = \(program.id)
                   AND entry_id > coalesce((SELECT max(last_entry_id) FROM points.journal_blocks WHERE program_id = \(program.id)), 0))
                    AS unsealed_entries
            """).single().decode(TotalsRow.self)
        let balanceTotal = totals.balanceTotal
        if balanceTotal != 0 {
            problems.append(AuditProblem(kind: .programNotZero, member: nil, entryID: nil, account: "balances", stored: balanceTotal, expected: 0))
        }
        return AuditReport(
            program: program.name, members: totals.members, entries: totals.entries, movements: totals.movements,
            balanceTotal: balanceTotal, problems: problems, problemsNotListed: notListed, sealedBlocks: chain.blocks,
            sealedThroughEntry: chain.lastEntry, headHash: chain.head, unsealedEntries: totals.unsealedEntries)
    }

    /// Entry id ranges (after, last] sorted and with overlapping or touching ones joined, so
    /// that no posting falls in two of them.
    static func merged(_ ranges: [(after: Int64, last: Int64)]) -> [(after: Int64, last: Int64)] {
        var result: [(after: Int64, last: Int64)] = []
        for range in ranges.sorted(by: { $0.after < $1.after }) where range.last > range.after {
            if let end = result.last?.last, range.after <= end {
                result[result.count - 1].last = max(end, range.last)
            } else {
                result.append(range)
            }
        }
        return result
    }

    /// Each stored balance of a member row `m` as a row (account, balance), for a FROM clause.
    private static let storedBalances = """
        CROSS JOIN LATERAL (VALUES
            ('available'::points.account, m.available), ('pending', m.pending), ('issued', m.issued),
            ('redeemed', m.redeemed), ('expired', m.expired), ('written_off', m.written_off),
            ('adjustments', m.adjustments)
        ) AS a(account, balance)
        """

    /// The program's movements as what each did to an account: (member_id, account, amount), the
    /// amount positive where points arrived and negative where they left; for a FROM clause.
    private static func signedMovements(_ program: Program) -> String {
        """
            (SELECT member_id, to_account AS account, amount FROM points.movements WHERE program_id = \(program.id)
             UNION ALL
             SELECT member_id, from_account, -amount FROM points.movements WHERE program_id = \(program.id)) AS signed
            """
    }

    /// A member's weight in the fingerprints: 30 bits of a hash of `column` (a member id) under `seed`.
    private static func weight(_ column: String, seed: Int64) -> String {
        "(hashtextextended(\(column), \(seed)) & 1073741823)"
    }

    /// Whether a fingerprint query answers true: false when it answers false, or when its
    /// arithmetic overflows (amounts beyond 2^33 points), so that the exact check runs instead.
    private static func fingerprintsAgree(_ query: PostgresQuery, connection: PostgresConnection) throws -> Bool {
        try connection.execute(script: "SAVEPOINT fingerprint")
        do {
            let agree: Bool = try connection.query(query).single().decode(column: "agree")
            try connection.execute(script: "RELEASE SAVEPOINT fingerprint")
            return agree
        } catch let error where error.code == .numericValueOutOfRange {
            try connection.execute(script: "ROLLBACK TO SAVEPOINT fingerprint")
            return false
        }
    }

    /// A sealed block as recorded, and as recomputed from what is in its range now.
    struct BlockCheck: Sendable, Decodable {
        var number: Int
        var after: Int64
        var last: Int64
        var sealedEntries: Int64
        var sealedPostings: Int64
        var previousHash: String
        var hash: String
        var entriesNow: Int64
        var postingsNow: Int64
        var hashNow: String
        /// The first entry in the block's range that is missing while its movements are there.
        var missingEntry: Int64?
    }

    /// Recomputes the hashes of the program's blocks numbered `numbers`, in order.
    static func recomputeBlocks(_ program: Program, _ numbers: ClosedRange<Int32>, connection: PostgresConnection) throws -> [BlockCheck] {
        try connection.query("""
            SELECT b.block_no AS number, b.after_entry_id AS after, b.last_entry_id AS last, b.entries AS sealed_entries,
                   b.postings AS sealed_postings, encode(b.previous_hash, 'hex') AS previous_hash, encode(b.block_hash, 'hex') AS hash,
                   d.entries AS entries_now, d.postings AS postings_now, encode(d.digest, 'hex') AS hash_now, d.missing_entry
            FROM points.journal_blocks AS b
            CROSS JOIN LATERAL points.journal_digest(b.program_id, b.after_entry_id, b.last_entry_id, b.previous_hash) AS d
            WHERE b.program_id = \(program.id) AND b.block_no BETWEEN \(numbers.lowerBound) AND \(numbers.upperBound)
            ORDER BY b.block_no
            """).decode(BlockCheck.self)
    }

    /// Checks every block's recomputed hash and follows the chain from the first block, which
    /// follows `genesis`.
    private static func followChain(
        _ blocks: [BlockCheck], genesis: String, expectedHead: String?
    ) -> (problems: [AuditProblem], blocks: Int, lastEntry: Int64, head: String?, suspect: [(after: Int64, last: Int64)], broken: Bool) {
        var problems: [AuditProblem] = []
        var previous: (number: Int, lastEntry: Int64, hash: String)?
        var headFound = expectedHead == nil
        var suspect: [(after: Int64, last: Int64)] = []
        var broken = false
        for block in blocks {
            let (number, after, last, previousHash, hash) = (block.number, block.after, block.last, block.previousHash, block.hash)
            let range = "(entries \(after + 1) to \(last))"
            func problem(_ kind: AuditProblem.Kind, _ detail: String) {
                guard problems.count < AuditReport.problemLimit else { return }
                problems.append(AuditProblem(
                    kind: kind, member: nil, entryID: nil, account: nil, stored: nil, expected: nil, block: number, detail: detail))
            }
            let expectedPrevious = previous?.hash ?? genesis
            if number != (previous?.number ?? 0) + 1 || after != previous?.lastEntry ?? 0 || previousHash != expectedPrevious {
                broken = true
            }
            if number != (previous?.number ?? 0) + 1 {
                problem(.chainBroken, "it is numbered \(number), after block \(previous?.number ?? 0)")
            } else if after != previous?.lastEntry ?? 0 {
                problem(.chainBroken, "it starts after entry \(after), but block \(previous?.number ?? 0) ends at entry \(previous?.lastEntry ?? 0)")
            } else if previousHash != expectedPrevious {
                problem(.chainBroken, "it names previous hash \(previousHash), but the block before hashes to \(expectedPrevious)")
            }
            if block.hashNow != hash {
                let sealed = "\(block.sealedEntries) entries and \(block.sealedPostings) postings"
                let now = "\(block.entriesNow) entries and \(block.postingsNow) postings"
                problem(.blockAltered, range + (sealed == now ? " (\(now), as sealed)" : " (sealed with \(sealed), now \(now))"))
                suspect.append((after, last))
            } else if block.missingEntry != nil {
                suspect.append((after, last))
            }
            if hash == expectedHead { headFound = true }
            previous = (number, last, hash)
        }
        if !headFound, let expectedHead {
            problems.append(AuditProblem(
                kind: .headNotFound, member: nil, entryID: nil, account: nil, stored: nil, expected: nil, detail: expectedHead))
        }
        return (problems, previous?.number ?? 0, previous?.lastEntry ?? 0, previous?.hash, suspect, broken)
    }
}

/// Reads that run on connections of their own, each in a transaction that imports the snapshot
/// exported by the caller's open transaction, while the caller goes on with its own queries.
/// The caller's transaction must stay open until `wait` returns.
final class SnapshotReaders<T: Sendable>: @unchecked Sendable {
    // Safety: `group` is only entered before the jobs start and waited on; `results` is a Mutex.
    private let group = DispatchGroup()
    private let results = Mutex<[Int: Result<T, any Error>]>([:])
    private let count: Int

    init(configuration: ConnectionConfiguration, snapshot: String, jobs: [@Sendable (PostgresConnection) throws -> T]) {
        count = jobs.count
        for (index, job) in jobs.enumerated() {
            group.enter()
            DispatchQueue.global().async { [self] in
                let result = Result { () throws -> T in
                    let connection = try PostgresConnection(configuration: configuration)
                    return try connection.withTransaction(isolation: .repeatableRead) { connection in
                        try connection.execute(script: """
                            SET TRANSACTION SNAPSHOT '\(snapshot)'; SET TRANSACTION READ ONLY;
                            SET LOCAL work_mem = '256MB'; SET LOCAL jit = off
                            """)
                        return try job(connection)
                    }
                }
                results.withLock { $0[index] = result }
                group.leave()
            }
        }
    }

    /// Waits for every job to end, whatever it did.
    func finish() {
        group.wait()
    }

    /// Every job's result, in the order given; the first error any of them threw.
    func wait() throws -> [T] {
        group.wait()
        return try results.withLock { results in try (0..<count).map { try results[$0]!.get() } }
    }
}

/// A problem as the audit's checks find it: the member, the entry (or lot), what is stored
/// against what is expected, and how many problems the check found in all.
private struct ProblemRow: Decodable {
    let member: String?
    let entryID: Int64?
    let account: String?
    let stored: Int64?
    let expected: Int64?
    let total: Int64
}

/// The program's counts and totals the audit reports.
private struct TotalsRow: Decodable {
    let members: Int64
    let entries: Int64
    let movements: Int64
    let balanceTotal: Int64
    let unsealedEntries: Int64
}
