public import Foundation
public import Postgres

/// What replaying a directory of history did: each file's summary, and the days the period jobs
/// ran before.
public struct HistoryReplaySummary: Sendable, Hashable, Codable {
    /// By file name (`purchases.csv`).
    public var files: [String: ImportSummary] = [:]
    /// The local days whose records the period jobs ran before, as of the day's start.
    public var jobDays = 0
    public var seconds = 0.0
}

extension Ledger {
    /// The names `importHistory(directory:)` reads, in the order records of the same moment post.
    public static let historyFiles = ["purchases", "refunds", "redemptions", "adjustments", "tasks"]

    /// Replays a program's history from a directory holding any of `purchases`, `refunds`,
    /// `redemptions`, `adjustments` and `tasks` (each `.jsonl`, `.ndjson`, `.json` or `.csv`, in
    /// the fields of its own import, each in time order): every record posts in time order
    /// across the files (records of the same moment in that order of files), each file read as it
    /// goes, and before the first record of each local day the period jobs run as of the day's
    /// start, as a nightly schedule runs them (maturation, expiry, then tier evaluation); after
    /// the last, as of now. Records post on one connection in batches of one kind, by the same
    /// paths as each file's own import: a line's result is the one its import gives. A line out
    /// of time order in its file is rejected. With `options.createMembers`, a member a record
    /// names is created before its first record, as a purchase import creates its members.
    /// Running a directory again posts nothing twice:
    /// an import stopped half-way is finished by running it again.
    /// - Parameter report: each line's result, with its file's name, as it is known.
    /// - Throws: `.invalidInput` for a directory without any of those files or with two of one
    ///   kind, or a file with a bad CSV header; `.unreachable` if the database goes away.
    public func importHistory(
        directory: String, into program: Program, options: ImportOptions = ImportOptions(),
        report: @escaping @Sendable (String, ImportLineResult) -> Void
    ) async throws -> HistoryReplaySummary {
        let started = Date()
        let window = try await backdateWindow(program)
        let kinds: [any ImportLineKind] = [PurchaseLines()] + [HistoryKind.refunds, .redemptions, .adjustments, .tasks].map {
            HistoryLines(kind: $0, window: window, actor: options.actor)
        }
        let found = try HistoryDirectory.files(in: directory)
        guard let timeZone = TimeZone(identifier: program.timeZone) else {
            throw LedgerError.invalidInput(field: "time zone", reason: "\(program.timeZone) is not a time zone this machine knows")
        }
        var sources: [any MergeSource] = []
        for (rank, kind) in kinds.enumerated() {
            guard let path = found[Self.historyFiles[rank]] else { continue }
            sources.append(try Self.source(kind, path: path, rank: rank, program: program, options: options, timeZone: timeZone, report: report))
        }
        var summary = HistoryReplaySummary()
        var day: String?
        var current: Int?
        // Posts the batch gathered from the current file, and reports its lines.
        func flush() async throws {
            guard let index = current else { return }
            current = nil
            let post = sources[index].takeBatch(program: program, options: options)
            sources[index].record(try await withConnection(post))
        }
        while true {
            for index in sources.indices { try sources[index].fill() }
            guard let next = sources.indices.filter({ sources[$0].head != nil }).min(by: { sources[$0].head! < sources[$1].head! }) else { break }
            let head = sources[next].head!
            if head.day != day {
                try await flush()
                try await runJobs(program, asOf: head.dayStart)
                day = head.day
                summary.jobDays += 1
            }
            if current != next || sources[next].batched >= options.batchSize { try await flush() }
            current = next
            sources[next].take()
        }
        try await flush()
        try await runJobs(program, asOf: .now)
        for source in sources {
            var file = source.summary
            file.seconds = Date().timeIntervalSince(started)
            summary.files[source.file] = file
        }
        summary.seconds = Date().timeIntervalSince(started)
        logger.info("replayed history", metadata: ["files": "\(sources.count)", "days": "\(summary.jobDays)"])
        return summary
    }

    private static func source<Kind: ImportLineKind>(
        _ kind: Kind, path: String, rank: Int, program: Program, options: ImportOptions, timeZone: TimeZone,
        report: @escaping @Sendable (String, ImportLineResult) -> Void
    ) throws -> any MergeSource {
        try HistorySource(kind: kind, path: path, rank: rank, program: program, options: options, timeZone: timeZone, report: report)
    }

    /// The period jobs as of `asOf`, as a schedule runs them: maturation, expiry, tier evaluation.
    private func runJobs(_ program: Program, asOf: Timestamp) async throws {
        _ = try await mature(program, asOf: asOf)
        _ = try await expire(program, asOf: asOf)
        _ = try await evaluateTiers(program, asOf: asOf)
    }
}

/// The files of a history directory, by kind.
enum HistoryDirectory {
    static func files(in directory: String) throws(LedgerError) -> [String: String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .invalidInput(field: "directory", reason: "\(directory) cannot be read as a directory; give the directory that holds the history's files")
        }
        var found: [String: String] = [:]
        for name in names.sorted() {
            let url = URL(fileURLWithPath: name)
            guard ImportFormat(fileName: name) != nil, Ledger.historyFiles.contains(url.deletingPathExtension().lastPathComponent.lowercased()) else {
                continue
            }
            let kind = url.deletingPathExtension().lastPathComponent.lowercased()
            if let other = found[kind] {
                throw .invalidInput(
                    field: "directory", reason: "\(directory) holds two files of \(kind) (\(URL(fileURLWithPath: other).lastPathComponent) and \(name)); keep one")
            }
            found[kind] = (directory as NSString).appendingPathComponent(name)
        }
        guard !found.isEmpty else {
            throw .invalidInput(
                field: "directory",
                reason: "\(directory) holds none of \(Ledger.historyFiles.map { $0 + ".csv" }.joined(separator: ", ")) (or .jsonl); put the history's files there")
        }
        return found
    }
}

/// The next record of a file: when, its local day, and its place among records of that moment.
struct MergeHead: Comparable {
    let instant: Int64
    let rank: Int
    let line: Int
    let day: String
    let dayStart: Timestamp

    static func < (left: MergeHead, right: MergeHead) -> Bool {
        (left.instant, left.rank, left.line) < (right.instant, right.rank, right.line)
    }
}

/// A file of the replay, read one record ahead.
protocol MergeSource {
    var file: String { get }
    var head: MergeHead? { get }
    var batched: Int { get }
    var summary: ImportSummary { get }
    /// Reads up to the next record, reporting the lines that are not one.
    mutating func fill() throws
    /// Moves the head into the batch.
    mutating func take()
    /// The batch, as a call that posts it; the source starts a new one.
    mutating func takeBatch(program: Program, options: ImportOptions) -> @Sendable (PostgresConnection) throws -> [ImportLineResult]
    /// Reports the results of a batch.
    mutating func record(_ results: [ImportLineResult])
}

struct HistorySource<Kind: ImportLineKind>: MergeSource {
    let kind: Kind
    let file: String
    let rank: Int
    let program: Program
    let timeZone: TimeZone
    let report: @Sendable (String, ImportLineResult) -> Void
    private var reader: LineReader
    private var format: ImportFormat
    private var columns: Kind.Columns?
    private var done = false
    private var record: Kind.Record?
    private(set) var head: MergeHead?
    private var batch: [Kind.Record] = []
    private var last: (instant: Int64, line: Int)?
    private(set) var summary = ImportSummary()
    /// The members this file has named so far.
    private var members: Set<String> = []

    var batched: Int { batch.count }

    init(
        kind: Kind, path: String, rank: Int, program: Program, options: ImportOptions, timeZone: TimeZone,
        report: @escaping @Sendable (String, ImportLineResult) -> Void
    ) throws {
        self.kind = kind
        file = URL(fileURLWithPath: path).lastPathComponent
        self.rank = rank
        self.program = program
        self.timeZone = timeZone
        self.report = report
        reader = LineReader(handle: try ImportInput.open(path: path))
        let name = file
        func reading<T>(_ read: (inout LineReader) throws -> T, _ reader: inout LineReader) throws -> T {
            do {
                return try read(&reader)
            } catch let error as LineReader.ReadError {
                throw ImportInput.problem(name, code: error.code, afterLine: reader.lineNumber)
            }
        }
        format = try options.format ?? ImportFormat(fileName: path) ?? .csv
        if format == .csv {
            switch try reading({ try $0.next() }, &reader) {
            case .text(let header)?:
                columns = try kind.columns(header)
            case nil:
                done = true
            default:
                throw LedgerError.invalidInput(field: "header", reason: "line 1 of \(file) is not a CSV header of text")
            }
        }
    }

    mutating func fill() throws {
        while head == nil && !done {
            let line: LineReader.Line?
            do {
                line = try reader.next()
            } catch {
                throw ImportInput.problem(file, code: error.code, afterLine: reader.lineNumber)
            }
            guard let line else {
                done = true
                return
            }
            let number = reader.lineNumber
            summary.lines += 1
            let checked = ImportLines.text(of: line, noun: kind.noun).flatMap {
                kind.record($0, lineNumber: number, format: format, columns: columns, program: program)
            }
            switch checked {
            case .failure(let error):
                emit(kind.rejected(line: number, error))
            case .success(let next):
                let (instant, day, dayStart) = HistoryTime.instant(kind.occurredAt(of: next), timeZone: timeZone)
                if let last, instant < last.instant {
                    emit(kind.rejected(
                        next, reason: "occurred_at is earlier than line \(last.line)'s: the replay needs each file in time order; sort the file by occurred_at"))
                    continue
                }
                last = (instant, number)
                record = next
                head = MergeHead(instant: instant, rank: rank, line: number, day: day, dayStart: dayStart)
            }
        }
    }

    mutating func take() {
        guard let record else { return }
        batch.append(record)
        self.record = nil
        head = nil
    }

    mutating func takeBatch(program: Program, options: ImportOptions) -> @Sendable (PostgresConnection) throws -> [ImportLineResult] {
        let records = batch
        let kind = kind
        batch = []
        summary.batches += 1
        // Members this file names for the first time, created before their first record when the
        // replay creates members (a purchase's import creates its own).
        var newMembers: [String] = []
        if options.createMembers {
            for member in records.compactMap(kind.member(of:)) where !members.contains(member) {
                members.insert(member)
                newMembers.append(member)
            }
        }
        return { [newMembers] connection in
            for member in newMembers {
                _ = try connection.preparedQuery("SELECT status FROM points.create_member(\(program.id), \(member), NULL)")
            }
            return records.isEmpty ? [] : try kind.post(records, connection: connection, program: program, options: options)
        }
    }

    mutating func record(_ results: [ImportLineResult]) {
        for result in results { emit(result) }
    }

    private mutating func emit(_ result: ImportLineResult) {
        switch result.status {
        case .accepted:
            summary.accepted += 1
            summary.points += result.points ?? 0
        case .duplicate: summary.duplicates += 1
        case .rejected: summary.rejected += 1
        }
        report(file, result)
    }
}

/// The instant a checked time (`TimeText.normalise`) names, its local day in the program's time
/// zone, and that day's start: the order of a replay. The database reads the same text the same
/// way (both use the system's time zone data).
enum HistoryTime {
    static func instant(_ text: String, timeZone: TimeZone) -> (Int64, String, Timestamp) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - 48) } }
        var components = DateComponents()
        (components.year, components.month, components.day) = (number(0..<4), number(5..<7), number(8..<10))
        (components.hour, components.minute, components.second) = (number(11..<13), number(14..<16), number(17..<19))
        let micros = Int64(number(20..<26))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        if bytes.count > 26 {
            // A zone: Z, ±HH or ±HH:MM.
            var offset = 0
            if bytes[26] != UInt8(ascii: "Z") {
                offset = number(27..<29) * 3600 + (bytes.count >= 32 ? number(30..<32) * 60 : 0)
                if bytes[26] == UInt8(ascii: "-") { offset = -offset }
            }
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(secondsFromGMT: offset)!
            let date = utc.date(from: components)!
            return result(date, micros, calendar)
        }
        return result(calendar.date(from: components)!, micros, calendar)
    }

    private static func result(_ date: Date, _ micros: Int64, _ calendar: Calendar) -> (Int64, String, Timestamp) {
        let instant = Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + micros
        let day = calendar.dateComponents([.year, .month, .day], from: date)
        let start = calendar.startOfDay(for: date)
        return (
            instant, String(format: "%04d-%02d-%02d", day.year!, day.month!, day.day!),
            Timestamp(microsecondsSinceEpoch: Int64(start.timeIntervalSince1970.rounded()) * 1_000_000)
        )
    }
}
