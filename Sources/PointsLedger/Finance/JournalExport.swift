import Foundation
public import Postgres

/// The forms the journal exports to.
public enum JournalFormat: String, Sendable, CaseIterable, Codable {
    /// One line per posting, with its entry's fields.
    case csv
    /// One line per entry: its canonical form, the very line `jobs seal` hashes.
    case jsonl
    /// An hledger journal: one transaction per entry, each posting with a balance assertion, and
    /// the balances before the period as an opening transaction.
    case hledger
}

/// How many entries and postings an export wrote.
public struct JournalExportSummary: Sendable, Hashable, Codable {
    public let entries: Int64
    public let postings: Int64
}

extension Ledger {
    /// Writes the program's journal entries that occurred in [from, to) in `format`, in pieces,
    /// through `write`, from one consistent snapshot; memory stays flat for any size.
    public func exportJournal(
        _ program: Program, from: Timestamp, to: Timestamp, format: JournalFormat,
        write: @escaping @Sendable (String) throws -> Void
    ) async throws -> JournalExportSummary {
        try checkPeriod(from: from, to: to, in: program)
        return try await readSnapshot { connection in
            try connection.execute(script: "SET LOCAL \"TimeZone\" = 'UTC'; SET LOCAL \"DateStyle\" = 'ISO, YMD'")
            var writer = JournalWriter(format: format, program: program, write: write)
            if format == .hledger {
                let opening = try connection.query("""
                    SELECT CASE WHEN account IN ('available', 'pending') THEN member_id END AS member, account::text,
                           sum(amount)::bigint AS balance
                    FROM points.postings
                    WHERE program_id = \(program.id) AND occurred_at < \(from)
                    GROUP BY 1, 2 HAVING sum(amount) <> 0 ORDER BY 2, 1
                    """).decode(OpeningBalance.self).map { (member: $0.member, account: $0.account, balance: $0.balance) }
                let day = try connection.query("SELECT to_char(\(from)::timestamptz AT TIME ZONE \(program.timeZone), 'YYYY-MM-DD') AS day").single()
                try writer.opening(day: try day.decode(column: "day"), from: from, balances: opening)
            } else {
                try writer.header()
            }
            _ = try connection.query("""
                DECLARE journal NO SCROLL CURSOR FOR
                SELECT e.entry_id, e.member_id, e.kind::text, e.key_scope::text, e.idempotency_key,
                       e.occurred_at, e.recorded_at,
                       points.canonical_line(e.entry_id, e.member_id, e.kind, e.key_scope, e.idempotency_key,
                                             e.occurred_at, e.recorded_at, e.request, p.postings) AS line,
                       p.postings::text AS postings,
                       to_char(e.occurred_at AT TIME ZONE \(program.timeZone), 'YYYY-MM-DD') AS day
                FROM points.journal_entries AS e
                LEFT JOIN LATERAL (
                    SELECT json_agg(json_build_array(p.account, p.amount, p.occurred_at) ORDER BY p.account) AS postings
                    FROM points.postings AS p
                    WHERE p.program_id = e.program_id AND p.member_id = e.member_id AND p.entry_id = e.entry_id
                ) AS p ON true
                WHERE e.program_id = \(program.id) AND e.occurred_at >= \(from) AND e.occurred_at < \(to)
                ORDER BY \(unsafeSQL: format == .hledger ? "e.occurred_at, e.entry_id" : "e.entry_id")
                """)
            while true {
                let rows = try connection.query("FETCH 2000 FROM journal")
                if rows.isEmpty { break }
                for row in try rows.decode(ExportRow.self) {
                    try writer.entry(
                        JournalWriter.Entry(
                            id: row.entryID, member: row.memberID, kind: row.kind, scope: row.keyScope, key: row.idempotencyKey,
                            occurredAt: row.occurredAt, recordedAt: row.recordedAt, line: row.line, day: row.day),
                        postings: try JournalWriter.postings(row.postings))
                }
            }
            try writer.finish()
            return JournalExportSummary(entries: writer.entries, postings: writer.postingCount)
        }
    }
}

/// Turns entries into one export format, piece by piece.
struct JournalWriter {
    struct Entry {
        let id: Int64
        let member: String
        let kind: String
        let scope: String
        let key: String
        let occurredAt: Timestamp
        let recordedAt: Timestamp
        let line: String
        let day: String
    }

    let format: JournalFormat
    let program: Program
    let write: (String) throws -> Void
    private(set) var entries: Int64 = 0
    private(set) var postingCount: Int64 = 0
    /// hledger: every account's running balance, for the balance assertions.
    private var balances: [String: Int64] = [:]
    private var buffer = ""

    init(format: JournalFormat, program: Program, write: @escaping (String) throws -> Void) {
        self.format = format
        self.program = program
        self.write = write
    }

    /// The postings of an entry from their canonical JSON: [[account, amount, time], ...].
    static func postings(_ json: String?) throws -> [(account: String, amount: Int64)] {
        guard let json, let lines = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[Any]] else { return [] }
        return lines.compactMap { line in
            guard line.count >= 2, let account = line[0] as? String, let amount = (line[1] as? NSNumber)?.int64Value else { return nil }
            return (account, amount)
        }
    }

    mutating func header() throws {
        if format == .csv { emit("entry_id,occurred_at,recorded_at,member,kind,key_scope,key,account,amount\n") }
    }

    /// hledger: the balances before the period, as one transaction that sums to zero by itself
    /// (the ledger is double-entry), each line asserting its balance.
    mutating func opening(day: String, from: Timestamp, balances opening: [(member: String?, account: String, balance: Int64)]) throws {
        emit("; PointsLedger journal of program \(program.name), points in the commodity \"pts\".\n")
        emit("; Dates are days in \(program.timeZone); entries from \(from) on.\n\n")
        guard !opening.isEmpty else { return }
        emit("\(day) opening balances\n")
        for line in opening {
            let account = Self.account(line.account, member: line.member)
            balances[account] = line.balance
            emit("    \(account)  \(line.balance) pts = \(line.balance) pts\n")
        }
        emit("\n")
    }

    mutating func entry(_ entry: Entry, postings: [(account: String, amount: Int64)]) throws {
        entries += 1
        postingCount += Int64(postings.count)
        switch format {
        case .jsonl:
            emit(entry.line + "\n")
        case .csv:
            for posting in postings {
                emit([
                    String(entry.id), entry.occurredAt.description, entry.recordedAt.description, JournalFormat.csvText(entry.member), entry.kind,
                    entry.scope, JournalFormat.csvText(entry.key), posting.account, String(posting.amount),
                ].joined(separator: ",") + "\n")
            }
        case .hledger:
            guard !postings.isEmpty else { return }  // an event worth 0 points moves no account
            emit("\(entry.day) \(entry.kind) \(Self.description(entry.key))  ; entry:\(entry.id), at:\(entry.occurredAt)\n")
            for posting in postings {
                let account = Self.account(posting.account, member: entry.member)
                let balance = balances[account, default: 0] + posting.amount
                balances[account] = balance
                emit("    \(account)  \(posting.amount) pts = \(balance) pts\n")
            }
            emit("\n")
        }
        if buffer.utf8.count >= 1 << 16 { try flush() }
    }

    mutating func finish() throws { try flush() }

    private mutating func emit(_ text: String) { buffer += text }

    private mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try write(buffer)
        buffer = ""
    }

    /// hledger account names: a member's accounts under members, the program's under program.
    /// Member ids are percent-encoded where hledger would read a character otherwise.
    static func account(_ account: String, member: String?) -> String {
        guard let member, TrialBalanceLine.Side(account: account) == .member else { return "program:\(account)" }
        var encoded = ""
        for byte in member.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80, character.isLetter || character.isNumber || "._-@+".contains(character) {
                encoded.append(character)
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return "members:\(encoded):\(account)"
    }

    /// A transaction description: one line, no comment marker.
    static func description(_ text: String) -> String {
        String(text.map { $0 == ";" || $0.isNewline || $0 == "\t" ? " " : $0 })
    }

}

extension JournalFormat {
    /// A CSV field, quoted when it must be: for figures and times, which no spreadsheet runs.
    public static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A CSV field of text (an id, a key, a label) that a spreadsheet shows as text: text that
    /// would start a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) goes out
    /// behind an apostrophe, as OWASP advises, and so does text whose apostrophe would otherwise
    /// read as that mark, so that the imports read every field back unchanged
    /// (`CSVLine.unguarded`).
    public static func csvText(_ text: String) -> String {
        csvField(CSVLine.startsLikeAFormula(text) ? "'" + text : text)
    }
}

/// A balance carried into an export's period: a member's, or the program's for its own accounts.
private struct OpeningBalance: Decodable {
    let member: String?
    let account: String
    let balance: Int64
}

/// An entry as the export reads it: its fields, its canonical line, its postings as JSON and
/// its day in the program's time zone.
private struct ExportRow: Decodable {
    let entryID: Int64
    let memberID: String
    let kind: String
    let keyScope: String
    let idempotencyKey: String
    let occurredAt: Timestamp
    let recordedAt: Timestamp
    let line: String
    let postings: String?
    let day: String
}
