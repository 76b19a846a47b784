import Dispatch
import Foundation
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
    /// The sealed blocks whose SHA-256 hash was recomputed: every one with `deep`, otherwise
    /// those sealed before blocks kept a fingerprint (the others were checked by fingerprint).
    public let blocksHashed: Int

    public var isSound: Bool { problems.isEmpty }

    public static let problemLimit = 100
}

extension Ledger {
    /// Checks what can still go wrong in a journal that balances by its shape (a movement takes a
    /// positive amount from one account and gives it to another): every stored balance equals
    /// what the movements gave and took, the program's balances sum to zero, every member's lots
    /// sum to their available points (0 while negative), every lot's remainder matches what was
    /// spent from it and what expired, every pending and held balance matches the purchases still
    /// pending and the open holds, and, where that can still be wrong (after the sealed blocks,
    /// which never take a movement without its entry, and inside any block that no longer
    /// matches its seal), every entry names a member who exists and every movement, lot, purchase
    /// and task completion an entry that exists. Each check compares fingerprints first (sums of
    /// a hash of each row's member, weighted by what it holds, under a seed drawn for the run) and
    /// names every member, entry or lot only where they disagree. Reads only: it runs as the
    /// auditor role too.
    ///
    /// It follows the chain of sealed blocks (each block names the hash of the one before;
    /// `expectedHead`, a head hash the auditor recorded earlier, must be in it), and checks every
    /// row of every block once against the block's fingerprint, in one pass over the journal.
    /// A fingerprint (the sum of 64-bit row hashes, finance/journal_digest.sql) catches any
    /// entry or movement changed, added or removed by mistake or by hand, but not a forger who
    /// rewrote the block's stored fingerprint too or crafted rows to match it: `deep`
    /// recomputes every block's SHA-256 hash instead, which no one can match without
    /// breaking the chain up to a recorded head. Blocks sealed before blocks kept fingerprints are
    /// always hashed again.
    public func verify(_ program: Program, expectedHead: String? = nil, deep: Bool = false) async throws -> AuditReport {
        if let expectedHead, expectedHead.count != 64 || !expectedHead.allSatisfy(\.isHexDigit) {
            throw LedgerError.invalidInput(field: "head", reason: "\"\(expectedHead)\" is not a SHA-256 hash: 64 hexadecimal digits")
        }
        let configuration = pool.configuration
        return try await readSnapshot { connection in
            try Self.audit(
                program, expectedHead: expectedHead?.lowercased(), deep: deep, connection: connection, configuration: configuration)
        }
    }

    private static func audit(
        _ program: Program, expectedHead: String?, deep: Bool, connection: PostgresConnection, configuration: ConnectionConfiguration
    ) throws -> AuditReport {
        let limit = AuditReport.problemLimit
        var problems: [AuditProblem] = []
        var notListed: Int64 = 0
        let seed = Int64.random(in: .min ... .max)

        // The chain as stored, and its links; then the blocks whose hashes are recomputed, in two
        // halves on connections of their own in this transaction's snapshot, while this connection
        // runs the other checks one after the other: each is a parallel query, and on two cores
        // running them side by side measured slower than in turn.
        let start = try connection.query("""
            SELECT pg_catalog.pg_export_snapshot() AS snapshot, encode(points.genesis_hash(\(program.id)), 'hex') AS genesis
            """).single()
        let snapshot: String = try start.decode(column: "snapshot")
        let genesis: String = try start.decode(column: "genesis")
        let blocks = try connection.query("""
            SELECT block_no AS number, after_entry_id AS after, last_entry_id AS last, entries AS sealed_entries,
                   postings AS sealed_postings, encode(previous_hash, 'hex') AS previous_hash, encode(block_hash, 'hex') AS hash,
                   fingerprint
            FROM points.journal_blocks WHERE program_id = \(program.id) ORDER BY block_no
            """).decode(SealedBlock.self)
        let chain = followChain(blocks, genesis: genesis, expectedHead: expectedHead)
        problems += chain.problems
        let rehash = deep || chain.broken ? blocks.map(\.number) : blocks.filter { $0.fingerprint == nil }.map(\.number)
        let halves = rehash.count < 2 ? [rehash].filter { !$0.isEmpty } : [Array(rehash[..<(rehash.count / 2)]), Array(rehash[(rehash.count / 2)...])]
        let recomputing = SnapshotReaders(configuration: configuration, snapshot: snapshot, jobs: halves.map { numbers in
            { @Sendable connection in try recomputeBlocks(program, numbers, connection: connection) }
        })
        // Should a check below throw, the other connections' work still ends before this transaction does.
        defer { recomputing.finish() }
        // The passes sum the fingerprints of every row in a block that has one, which must add up
        // to the blocks' (with wrap-around); only where they do not are the rows put in their
        // blocks, to name them. A broken chain has no such order, and then every block is hashed
        // again instead.
        let fingerprinted = chain.broken ? [] : blocks

        // The members' side of every fingerprint, then the lots', allocations', purchases' and holds'.
        let totals = try connection.query("""
            SELECT count(*) AS members,
                   coalesce(sum(available + pending + issued + redeemed + expired + written_off + adjustments), 0)::bigint AS balance_total
            FROM points.members WHERE program_id = \(program.id)
            """).single().decode(TotalsRow.self)
        let w = weight("member_id", seed: seed)
        let lotWeight = "(hashtextextended(member_id, lot_id # \(seed)) & 1073741823)"
        // The lots' side on a connection of its own, a parallel query like the members' side here.
        let lotsQuery: PostgresQuery = """
            SELECT coalesce(sum(\(unsafeSQL: w) * remaining::bigint), 0)::text AS lots_remaining,
                   coalesce(sum(\(unsafeSQL: lotWeight) * (amount - remaining - expired_amount)), 0)::text AS lots_taken
            FROM points.lots WHERE program_id = \(program.id)
            """
        let memberSide = try fingerprintRow("""
            SELECT
                \(unsafeSQL: Self.accounts.map { "coalesce(sum(\(w) * \($0)), 0)::text AS \($0)" }.joined(separator: ", ")),
                coalesce(sum(\(unsafeSQL: w) * greatest(available, 0)), 0)::text AS lots_expected,
                coalesce(sum(\(unsafeSQL: w) * held), 0)::text AS held,
                (SELECT coalesce(sum(\(unsafeSQL: lotWeight) * amount), 0)::text FROM points.lot_allocations
                 WHERE program_id = \(program.id)) AS allocated,
                (SELECT coalesce(sum(\(unsafeSQL: w) * pending_points::bigint), 0)::text FROM points.purchases
                 WHERE program_id = \(program.id)) AS purchases_pending,
                (SELECT coalesce(sum(\(unsafeSQL: w) * points), 0)::text FROM points.holds
                 WHERE program_id = \(program.id) AND state = 'open') AS holds_open
            FROM points.members WHERE program_id = \(program.id)
            """, connection: connection)
        let lotsSide = try fingerprintRow(lotsQuery, connection: connection)
        let sides = memberSide.flatMap { members in lotsSide.map { members.merging($0) { first, _ in first } } }
        func agree(_ a: String, _ b: String) -> Bool { sides.map { $0[a] == $0[b] } ?? false }

        let exactChecks: [(AuditProblem.Kind, Bool, PostgresQuery)] = [
            (.lotsNotAvailable, agree("lots_remaining", "lots_expected"), """
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
            (.lotRemainderMismatch, agree("lots_taken", "allocated"), """
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
            (.pendingNotPurchases, agree("purchases_pending", "pending"), """
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
            (.heldNotHolds, agree("holds_open", "held"), """
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
        for (kind, agreed, query) in exactChecks where !agreed {
            let rows = try connection.query(query).decode(ProblemRow.self)
            for row in rows {
                problems.append(AuditProblem(
                    kind: kind, member: row.member, entryID: row.entryID, account: nil, stored: row.stored, expected: row.expected))
            }
            notListed += rows.first.map { $0.total - Int64(rows.count) } ?? 0
        }

        // The passes: every sealed block's fingerprint, the balances' side of the movements, the counts.
        let entryRows = try entriesPass(program, fingerprinted, byBlock: false, sealedThrough: chain.lastEntry, connection: connection)
        let movementRows = try movementsPass(program, fingerprinted, byBlock: false, seed: seed, connection: connection)
        var altered: [(after: Int64, last: Int64)] = []
        let sealedSum = fingerprinted.reduce(Int64(0)) { $0 &+ ($1.fingerprint ?? 0) }
        let foundSum = (entryRows + movementRows).reduce(Int64(0)) { $0 &+ $1.fingerprint }
        var now: [Int: (entries: Int64, fingerprint: Int64)] = [:]
        if foundSum != sealedSum {
            let byBlock = try entriesPass(program, fingerprinted, byBlock: true, sealedThrough: chain.lastEntry, connection: connection)
                + movementsPass(program, fingerprinted, byBlock: true, seed: seed, connection: connection)
            for row in byBlock where row.bucket > 0 {
                let before = now[row.bucket] ?? (0, 0)
                now[row.bucket] = (before.entries + (row.kind == "entry" ? row.rows : 0), before.fingerprint &+ row.fingerprint)
            }
        }
        for (index, block) in fingerprinted.enumerated() where foundSum != sealedSum {
            guard let sealed = block.fingerprint else { continue }
            let found = now[index + 1] ?? (0, 0)
            guard found.fingerprint != sealed else { continue }
            altered.append((block.after, block.last))
            let counts = found.entries == block.sealedEntries ? "" : " (sealed with \(block.sealedEntries) entries, now \(found.entries))"
            appendLimited(&problems, AuditProblem(
                kind: .blockAltered, member: nil, entryID: nil, account: nil, stored: nil, expected: nil, block: Int(block.number),
                detail: "(entries \(block.after + 1) to \(block.last)), by its fingerprint\(counts)"))
        }

        // The balances: per account, what the movements gave and took, weighted, against the stored balances.
        var fromMovements: [String: Decimal] = [:]
        var movementsExact = true
        for row in movementRows {
            guard let weighted = row.weighted.flatMap({ Decimal(string: $0) }), let from = row.fromAccount, let to = row.toAccount else {
                movementsExact = false
                continue
            }
            fromMovements[to, default: 0] += weighted
            fromMovements[from, default: 0] -= weighted
        }
        let balancesAgree = movementsExact && sides.map { sides in
            Self.accounts.allSatisfy { (Decimal(string: sides[$0] ?? "") ?? -1) == (fromMovements[$0] ?? 0) }
        } ?? false
        if !balancesAgree {
            let mismatched = try connection.query("""
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
        }

        // The blocks hashed again.
        let recomputed: [BlockCheck]
        do {
            recomputed = try recomputing.wait().flatMap { $0 }
        } catch let error as PostgresError where error.isConnectionError || error.code == SQLState("53300") {
            recomputed = rehash.isEmpty ? [] : try recomputeBlocks(program, rehash, connection: connection)
        }
        for block in recomputed {
            if block.hashNow != block.hash {
                let sealed = "\(block.sealedEntries) entries and \(block.sealedPostings) postings"
                let now = "\(block.entriesNow) entries and \(block.postingsNow) postings"
                appendLimited(&problems, AuditProblem(
                    kind: .blockAltered, member: nil, entryID: nil, account: nil, stored: nil, expected: nil, block: block.number,
                    detail: "(entries \(block.after + 1) to \(block.last))" + (sealed == now ? " (\(now), as sealed)" : " (sealed with \(sealed), now \(now))")))
                altered.append((block.after, block.last))
            } else if block.missingEntry != nil {
                altered.append((block.after, block.last))
            }
        }

        // What names an entry (a movement, a lot, a purchase, a task completion), only where the
        // entry can be missing: after the sealed blocks (the seal job refuses movements without
        // their entry, and a sealed entry cannot go without its block showing it), inside the
        // blocks that no longer match their seal, and everywhere when the chain itself is broken.
        // Entries that name no member, likewise: a member deleted after their entries were sealed
        // takes their balances along, which the balances' check names.
        let suspect = chain.broken
            ? [(after: Int64.min, last: Int64.max)]
            : Self.merged([(after: chain.lastEntry, last: Int64.max)] + altered)
        func inSuspect(_ column: String) -> String {
            "(" + suspect.map { "(\(column) > \($0.after) AND \(column) <= \($0.last))" }.joined(separator: " OR ") + ")"
        }
        let orphans = try connection.query("""
            SELECT member_id AS member, entry_id, what AS account, count(*) OVER () AS total FROM (
                SELECT DISTINCT m.member_id, m.entry_id, 'movement' AS what
                FROM points.movements AS m
                WHERE m.program_id = \(program.id) AND \(unsafeSQL: inSuspect("m.entry_id")) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = m.program_id AND e.member_id = m.member_id AND e.entry_id = m.entry_id)
                UNION ALL
                SELECT l.member_id, l.entry_id, 'lot' FROM points.lots AS l
                WHERE l.program_id = \(program.id) AND \(unsafeSQL: inSuspect("l.entry_id")) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = l.program_id AND e.member_id = l.member_id AND e.entry_id = l.entry_id)
                UNION ALL
                SELECT p.member_id, p.entry_id, 'purchase' FROM points.purchases AS p
                WHERE p.program_id = \(program.id) AND \(unsafeSQL: inSuspect("p.entry_id")) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = p.program_id AND e.member_id = p.member_id AND e.entry_id = p.entry_id)
                UNION ALL
                SELECT c.member_id, c.entry_id, 'task completion' FROM points.task_completions AS c
                WHERE c.program_id = \(program.id) AND \(unsafeSQL: inSuspect("c.entry_id")) AND NOT EXISTS (
                    SELECT 1 FROM points.journal_entries AS e
                    WHERE e.program_id = c.program_id AND e.member_id = c.member_id AND e.entry_id = c.entry_id)
                UNION ALL
                SELECT e.member_id, e.entry_id, 'entry' FROM points.journal_entries AS e
                WHERE e.program_id = \(program.id) AND \(unsafeSQL: inSuspect("e.entry_id")) AND NOT EXISTS (
                    SELECT 1 FROM points.members AS m WHERE m.program_id = e.program_id AND m.member_id = e.member_id)
            ) AS o ORDER BY 2, 3 LIMIT \(limit)
            """).decode(ProblemRow.self)
        for row in orphans {
            problems.append(AuditProblem(
                kind: row.account == "entry" ? .unknownMember : .missingEntry, member: row.member, entryID: row.entryID,
                account: row.account == "entry" ? nil : row.account, stored: nil, expected: nil))
        }
        notListed += orphans.first.map { $0.total - Int64(orphans.count) } ?? 0

        if totals.balanceTotal != 0 {
            problems.append(AuditProblem(
                kind: .programNotZero, member: nil, entryID: nil, account: "balances", stored: totals.balanceTotal, expected: 0))
        }
        return AuditReport(
            program: program.name, members: totals.members, entries: entryRows.reduce(0) { $0 + $1.rows },
            movements: movementRows.reduce(0) { $0 + $1.rows }, balanceTotal: totals.balanceTotal, problems: problems,
            problemsNotListed: notListed, sealedBlocks: chain.blocks, sealedThroughEntry: chain.lastEntry, headHash: chain.head,
            unsealedEntries: entryRows.reduce(0) { $0 + ($1.unsealed ?? 0) }, blocksHashed: rehash.count)
    }

    /// The stored balances, by account, in the order of the members' columns.
    private static let accounts = ["available", "pending", "issued", "redeemed", "expired", "written_off", "adjustments"]

    /// One pass over the program's entries. By block: per sealed block (its place in `blocks`,
    /// from 1; 0 for entries after them) the entries and their fingerprint. Otherwise one row:
    /// every entry, and the fingerprint of those in a block with a fingerprint. Both count the
    /// entries after `sealedThrough`.
    static func entriesPass(
        _ program: Program, _ blocks: [SealedBlock], byBlock: Bool, sealedThrough: Int64, connection: PostgresConnection
    ) throws -> [PassRow] {
        let (bucket, join, filter) = passShape(blocks, byBlock: byBlock, column: "e.entry_id")
        return try hashingGroups(connection) { connection in try connection.query("""
            SELECT 'entry' AS kind, \(unsafeSQL: bucket) AS bucket, count(*) AS rows,
                   points.fingerprint(sum(points.entry_row_hash(e.member_id, e.entry_id, e.kind, e.key_scope, e.idempotency_key,
                                                                e.occurred_at, e.recorded_at, e.request)) \(unsafeSQL: filter)) AS fingerprint,
                   count(*) FILTER (WHERE e.entry_id > \(sealedThrough)) AS unsealed
            FROM points.journal_entries AS e \(unsafeSQL: join)
            WHERE e.program_id = \(program.id)
            GROUP BY 2
            """).decode(PassRow.self) }
    }

    /// Runs `body` with the planner grouping by hashing: it cannot tell that a pass's groups
    /// (a block each) are few, and would sort millions of rows to find them.
    private static func hashingGroups<T>(_ connection: PostgresConnection, _ body: (PostgresConnection) throws -> T) throws -> T {
        try connection.execute(script: "SET LOCAL enable_sort = off")
        let result = try body(connection)
        try connection.execute(script: "SET LOCAL enable_sort = on")
        return result
    }

    /// One pass over the program's movements, per pair of accounts and, by block, per block (as
    /// `entriesPass`): the movements, their fingerprint, and the sum of their amounts weighted by
    /// their member (as the stored balances' are). Weighted amounts too large for bigint are
    /// summed again as numeric.
    static func movementsPass(
        _ program: Program, _ blocks: [SealedBlock], byBlock: Bool, seed: Int64, connection: PostgresConnection
    ) throws -> [PassRow] {
        let (bucket, join, filter) = passShape(blocks, byBlock: byBlock, column: "m.entry_id")
        func pass(_ weighted: String) throws -> [PassRow] {
            try hashingGroups(connection) { connection in try connection.query("""
                SELECT 'movement' AS kind, \(unsafeSQL: bucket) AS bucket,
                       m.from_account::text AS from_account, m.to_account::text AS to_account, count(*) AS rows,
                       points.fingerprint(sum(points.movement_row_hash(m.member_id, m.entry_id, m.leg, m.from_account, m.to_account,
                                                                       m.amount, m.occurred_at)) \(unsafeSQL: filter)) AS fingerprint,
                       sum(\(unsafeSQL: weighted))::text AS weighted
                FROM points.movements AS m \(unsafeSQL: join)
                WHERE m.program_id = \(program.id)
                GROUP BY 2, 3, 4
                """).decode(PassRow.self) }
        }
        try connection.execute(script: "SAVEPOINT weights")
        let attempt = Result { () throws -> [PassRow] in try pass("\(weight("m.member_id", seed: seed)) * m.amount") }
        if case .failure(let error as PostgresError) = attempt, error.code == .numericValueOutOfRange {
            try connection.execute(script: "ROLLBACK TO SAVEPOINT weights")
            return try pass("\(weight("m.member_id", seed: seed))::numeric * m.amount")
        }
        let rows = try attempt.get()
        try connection.execute(script: "RELEASE SAVEPOINT weights")
        return rows
    }

    /// How a pass groups its rows and which it fingerprints. By block: a join of each row with its
    /// block's place (width_bucket over the blocks' first entries, joined to a series so that the
    /// planner knows the groups are few), every row fingerprinted. Otherwise one group, and only
    /// the rows in a block with a fingerprint fingerprinted.
    private static func passShape(_ blocks: [SealedBlock], byBlock: Bool, column: String) -> (bucket: String, join: String, filter: String) {
        if byBlock {
            guard let first = blocks.first, let last = blocks.last else { return ("0", "", "") }
            let place = "CASE WHEN \(column) > \(first.after) AND \(column) <= \(last.last) "
                + "THEN width_bucket(\(column), '{\(blocks.map { String($0.after + 1) }.joined(separator: ","))}'::bigint[]) ELSE 0 END"
            return ("b.n", "JOIN generate_series(0, \(blocks.count)) AS b(n) ON b.n = \(place)", "")
        }
        let ranges = merged(blocks.filter { $0.fingerprint != nil }.map { (after: $0.after, last: $0.last) })
        let inRanges = ranges.isEmpty ? "false"
            : ranges.map { "(\(column) > \($0.after) AND \(column) <= \($0.last))" }.joined(separator: " OR ")
        return ("0", "", "FILTER (WHERE \(inRanges))")
    }

    private static func appendLimited(_ problems: inout [AuditProblem], _ problem: AuditProblem) {
        if problems.count < AuditReport.problemLimit { problems.append(problem) }
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
            (SELECT m.member_id, s.account, s.amount FROM points.movements AS m \(movementSides)
             WHERE m.program_id = \(program.id)) AS signed
            """
    }

    /// A member's weight in the fingerprints: 30 bits of a hash of `column` (a member id) under `seed`.
    private static func weight(_ column: String, seed: Int64) -> String {
        "(hashtextextended(\(column), \(seed)) & 1073741823)"
    }

    /// A row of weighted sums, each as text (exact, however large), by column name; nil when
    /// its arithmetic overflows (amounts beyond 2^33 points), so that the exact checks run instead.
    private static func fingerprintRow(_ query: PostgresQuery, connection: PostgresConnection) throws -> [String: String]? {
        try connection.execute(script: "SAVEPOINT fingerprint")
        let attempt = Result { () throws(PostgresError) -> QueryResult in try connection.query(query) }
        if case .failure(let error) = attempt, error.code == .numericValueOutOfRange {
            try connection.execute(script: "ROLLBACK TO SAVEPOINT fingerprint")
            return nil
        }
        let result = try attempt.get()
        try connection.execute(script: "RELEASE SAVEPOINT fingerprint")
        let row = try result.single()
        var values: [String: String] = [:]
        for (index, name) in result.columns.enumerated() { values[name] = try row.decode(String?.self, at: index) ?? "" }
        return values
    }

    /// A sealed block as stored.
    struct SealedBlock: Sendable, Decodable {
        var number: Int32
        var after: Int64
        var last: Int64
        var sealedEntries: Int64
        var sealedPostings: Int64
        var previousHash: String
        var hash: String
        var fingerprint: Int64?
    }

    /// A group of a pass over the journal: its kind ("entry" or "movement"), its block's place
    /// (0: after the blocks), its rows and their fingerprint; for movements their accounts and
    /// weighted amounts; for entries those not sealed.
    struct PassRow: Sendable, Decodable {
        var kind: String
        var bucket: Int
        var rows: Int64
        var fingerprint: Int64
        var fromAccount: String?
        var toAccount: String?
        var weighted: String?
        var unsealed: Int64?
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
    static func recomputeBlocks(_ program: Program, _ numbers: [Int32], connection: PostgresConnection) throws -> [BlockCheck] {
        try connection.query("""
            SELECT b.block_no AS number, b.after_entry_id AS after, b.last_entry_id AS last, b.entries AS sealed_entries,
                   b.postings AS sealed_postings, encode(b.previous_hash, 'hex') AS previous_hash, encode(b.block_hash, 'hex') AS hash,
                   d.entries AS entries_now, d.postings AS postings_now, encode(d.digest, 'hex') AS hash_now, d.missing_entry
            FROM points.journal_blocks AS b
            CROSS JOIN LATERAL points.journal_digest(b.program_id, b.after_entry_id, b.last_entry_id, b.previous_hash) AS d
            WHERE b.program_id = \(program.id) AND b.block_no = ANY (\(numbers))
            ORDER BY b.block_no
            """).decode(BlockCheck.self)
    }

    /// Follows the chain as stored from the first block, which follows `genesis`: each block
    /// numbered after the one before, starting where it ended, and naming its hash.
    private static func followChain(
        _ blocks: [SealedBlock], genesis: String, expectedHead: String?
    ) -> (problems: [AuditProblem], blocks: Int, lastEntry: Int64, head: String?, broken: Bool) {
        var problems: [AuditProblem] = []
        var previous: (number: Int32, lastEntry: Int64, hash: String)?
        var headFound = expectedHead == nil
        var broken = false
        for block in blocks {
            func problem(_ detail: String) {
                broken = true
                appendLimited(&problems, AuditProblem(
                    kind: .chainBroken, member: nil, entryID: nil, account: nil, stored: nil, expected: nil, block: Int(block.number),
                    detail: detail))
            }
            let expectedPrevious = previous?.hash ?? genesis
            if block.number != (previous?.number ?? 0) + 1 {
                problem("it is numbered \(block.number), after block \(previous?.number ?? 0)")
            } else if block.after != previous?.lastEntry ?? 0 {
                problem("it starts after entry \(block.after), but block \(previous?.number ?? 0) ends at entry \(previous?.lastEntry ?? 0)")
            } else if block.previousHash != expectedPrevious {
                problem("it names previous hash \(block.previousHash), but the block before hashes to \(expectedPrevious)")
            } else if block.last <= block.after {
                problem("it ends at entry \(block.last), not after entry \(block.after) where it starts")
            }
            if block.hash == expectedHead { headFound = true }
            previous = (block.number, block.last, block.hash)
        }
        if !headFound, let expectedHead {
            problems.append(AuditProblem(
                kind: .headNotFound, member: nil, entryID: nil, account: nil, stored: nil, expected: nil, detail: expectedHead))
        }
        return (problems, Int(previous?.number ?? 0), previous?.lastEntry ?? 0, previous?.hash, broken)
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

/// The program's members and the sum of their balances.
private struct TotalsRow: Decodable {
    let members: Int64
    let balanceTotal: Int64
}
