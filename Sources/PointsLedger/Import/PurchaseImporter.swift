public import Foundation
import Postgres

extension Ledger {
    /// Imports purchases from a file or standard input, streaming it in constant memory and
    /// posting through the set-based batch path on `options.connections` connections at once.
    /// Every line gets a result, passed to `report` in line order: accepted, duplicate (posted
    /// before; re-running a file posts nothing new), or rejected with its line number and reason,
    /// which posts nothing and does not stop the import. Each batch commits on its own: an import
    /// stopped half-way is completed by running it again.
    /// - Parameter name: how messages name the input (its path, or "standard input").
    /// - Throws: `.invalidInput` for an empty input, an input that cannot be read (a folder, a disk
    ///   error), or a CSV header with unknown or missing columns;
    ///   `.unreachable` if the database goes away (run the import again to finish it).
    public func importPurchases(
        from input: FileHandle, name: String, into program: Program, options: ImportOptions = ImportOptions(),
        report: @escaping @Sendable (ImportLineResult) -> Void
    ) async throws -> ImportSummary {
        let summary = try await importRecords(PurchaseLines(), from: input, name: name, into: program, options: options, report: report)
        logger.info("imported purchases", metadata: ["accepted": "\(summary.accepted)", "rejected": "\(summary.rejected)"])
        return summary
    }

    /// Streams `input` through `kind`'s checks into batches, posted on `options.connections`
    /// connections at once (each for the records of its share of `kind.partition`), and reports
    /// every line's result in line order.
    func importRecords<Kind: ImportLineKind>(
        _ kind: Kind, from input: FileHandle, name: String, into program: Program, options: ImportOptions,
        report: @escaping @Sendable (ImportLineResult) -> Void
    ) async throws -> ImportSummary {
        guard options.batchSize > 0 else { throw LedgerError.invalidInput(field: "batch size", reason: "\(options.batchSize) must be positive") }
        let workers = max(1, min(options.connections, pool.maximumConnections))
        let started = Date()
        let queues = (0..<workers).map { _ in BatchQueue<Kind.Record>(capacity: 1) }
        let collector = ResultCollector(report: report)

        var summary = try await withThrowingTaskGroup(of: Void.self) { group in
            for queue in queues {
                group.addTask {
                    // Any failure, opening the connection included, stops every queue, so the
                    // reader never waits for a worker that is gone.
                    do {
                        try await self.withConnection { connection in
                            while let batch = queue.take() {
                                collector.add(try kind.post(batch, connection: connection, program: program, options: options))
                            }
                        }
                    } catch {
                        for queue in queues { queue.fail() }
                        throw error
                    }
                }
            }
            let reading: ImportSummary
            do {
                reading = try await Self.onOwnThread {
                    var reader = ImportReader(
                        kind: kind, reader: LineReader(handle: input), program: program, options: options, name: name, queues: queues,
                        collector: collector)
                    defer { for queue in queues { queue.close() } }
                    return try reader.run()
                }
            } catch {
                for queue in queues { queue.fail() }
                // A worker's own failure (the database went away) says more than the reader's
                // "a worker stopped": report that one.
                do {
                    try await group.waitForAll()
                } catch let workerError {
                    collector.finish()
                    throw workerError
                }
                collector.finish()
                throw error
            }
            try await group.waitForAll()
            return reading
        }
        collector.finish()
        summary.accepted = collector.counts.accepted
        summary.duplicates = collector.counts.duplicates
        summary.rejected = collector.counts.rejected
        summary.points = collector.counts.points
        summary.batches = queues.reduce(0) { $0 + $1.taken }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Runs blocking work (file reads, waiting for workers) on a thread of its own, off Swift's
    /// cooperative pool.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result(catching: body)) }
        }
    }
}

/// What the streaming import needs of one kind of record (purchases, or a kind of history).
protocol ImportLineKind: Sendable {
    /// A CSV header, read.
    associatedtype Columns
    /// One checked line, ready for staging.
    associatedtype Record: Sendable
    /// How messages name one record: "purchase".
    var noun: String { get }
    /// The header's columns: every required one, nothing unknown, nothing twice.
    func columns(_ header: String) throws(LedgerError) -> Columns
    /// One line's text as a record, or the reason it cannot be one.
    func record(_ text: String, lineNumber: Int, format: ImportFormat, columns: Columns?, program: Program)
        -> Result<Record, ImportLines.LineError>
    /// The record's time as `TimeText.normalise` wrote it.
    func occurredAt(of record: Record) -> String
    /// The member a record names, which a replay creates when it may (nil: none, or one the
    /// kind's own import creates).
    func member(of record: Record) -> String?
    /// Records with the same partition are posted by the same worker, in line order.
    func partition(of record: Record) -> String
    /// The result of a line refused before it was staged.
    func rejected(line: Int, _ error: ImportLines.LineError) -> ImportLineResult
    /// The result of a checked record refused for `reason`.
    func rejected(_ record: Record, reason: String) -> ImportLineResult
    /// Posts one batch in one transaction; every record gets its result.
    func post(_ records: [Record], connection: PostgresConnection, program: Program, options: ImportOptions) throws -> [ImportLineResult]
}

/// Purchases: the set-based path of `points.import_purchase_batch`.
struct PurchaseLines: ImportLineKind {
    var noun: String { "purchase" }

    func columns(_ header: String) throws(LedgerError) -> [ImportField] { try ImportLines.columns(header) }

    func record(_ text: String, lineNumber: Int, format: ImportFormat, columns: [ImportField]?, program: Program)
        -> Result<ImportRecord, ImportLines.LineError>
    {
        do {
            let values = try format == .csv ? ImportLines.csvValues(text, columns: columns!) : ImportLines.jsonValues(text)
            return .success(try ImportLines.record(values, line: lineNumber, program: program))
        } catch let error as ImportLines.LineError {
            return .failure(error)
        } catch {
            return .failure(ImportLines.LineError(reason: "\(error)"))
        }
    }

    func occurredAt(of record: ImportRecord) -> String { record.occurredAt }

    func member(of record: ImportRecord) -> String? { nil }

    func partition(of record: ImportRecord) -> String { record.member }

    func rejected(line: Int, _ error: ImportLines.LineError) -> ImportLineResult {
        ImportLineResult(line: line, status: .rejected, order: error.order, entryID: nil, points: nil, reason: error.reason)
    }

    func rejected(_ record: ImportRecord, reason: String) -> ImportLineResult {
        ImportLineResult(line: record.line, status: .rejected, order: record.order, entryID: nil, points: nil, reason: reason)
    }

    func post(_ records: [ImportRecord], connection: PostgresConnection, program: Program, options: ImportOptions) throws -> [ImportLineResult] {
        try ImportBatch.post(records, together: { try ImportBatch.postTogether($0, connection: connection, program: program, options: options) }) {
            rejected($0, reason: $1)
        }
    }
}

/// Batches waiting for one worker: bounded, so a fast reader never runs ahead of the database.
final class BatchQueue<Record>: @unchecked Sendable {
    // Safety: every field is read and written with `condition` locked.
    private let condition = NSCondition()
    private var batches: [[Record]] = []
    private var closed = false
    private var failed = false
    private let capacity: Int
    private(set) var taken = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room, then queues the batch; false when a worker failed and the import stops.
    func put(_ batch: [Record]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !failed { condition.wait() }
        guard !failed else { return false }
        batches.append(batch)
        condition.broadcast()
        return true
    }

    /// The next batch, or nil once the queue is closed and empty (or failed).
    func take() -> [Record]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !closed && !failed { condition.wait() }
        guard !failed, !batches.isEmpty else { return nil }
        taken += 1
        condition.broadcast()
        return batches.removeFirst()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    func fail() {
        condition.lock()
        failed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Gathers line results from the reader and the workers, and reports them in line order.
final class ResultCollector: @unchecked Sendable {
    // Safety: every field is read and written with `lock` held.
    private let lock = NSLock()
    private let report: @Sendable (ImportLineResult) -> Void
    private var waiting: [Int: ImportLineResult] = [:]
    private var next: Int?
    private(set) var counts = (accepted: 0, duplicates: 0, rejected: 0, points: Int64(0))

    init(report: @escaping @Sendable (ImportLineResult) -> Void) { self.report = report }

    /// The first line that will have a result (2 after a CSV header).
    func start(at line: Int) { lock.withLock { next = line } }

    func add(_ results: [ImportLineResult]) {
        lock.withLock {
            for result in results { waiting[result.line] = result }
            while let line = next, let result = waiting.removeValue(forKey: line) {
                emit(result)
                next = line + 1
            }
        }
    }

    /// Reports whatever is left (nothing, when every line got its result).
    func finish() {
        lock.withLock {
            for line in waiting.keys.sorted() { emit(waiting.removeValue(forKey: line)!) }
        }
    }

    private func emit(_ result: ImportLineResult) {
        switch result.status {
        case .accepted:
            counts.accepted += 1
            counts.points += result.points ?? 0
        case .duplicate: counts.duplicates += 1
        case .rejected: counts.rejected += 1
        }
        report(result)
    }
}

/// Reads and checks the input, and hands full batches to the workers, each worker the members
/// that hash to it.
struct ImportReader<Kind: ImportLineKind> {
    let kind: Kind
    var reader: LineReader
    let program: Program
    let options: ImportOptions
    let name: String
    let queues: [BatchQueue<Kind.Record>]
    let collector: ResultCollector

    private var summary = ImportSummary()
    private var batches: [[Kind.Record]]

    init(
        kind: Kind, reader: LineReader, program: Program, options: ImportOptions, name: String, queues: [BatchQueue<Kind.Record>],
        collector: ResultCollector
    ) {
        self.kind = kind
        self.reader = reader
        self.program = program
        self.options = options
        self.name = name
        self.queues = queues
        self.collector = collector
        batches = Array(repeating: [], count: queues.count)
    }

    mutating func run() throws -> ImportSummary {
        let format = try options.format ?? (reading { try $0.firstSignificantByte() } == UInt8(ascii: "{") ? .jsonLines : .csv)
        guard let first = try reading({ try $0.next() }) else {
            throw LedgerError.invalidInput(field: "file", reason: "\(name) is empty: there is no \(kind.noun) to import")
        }
        var columns: Kind.Columns?
        if format == .csv {
            switch first {
            case .text(let header):
                columns = try kind.columns(header)
            case .notUTF8(let offset, let value):
                throw LedgerError.invalidInput(field: "header", reason: "line 1 of \(name) " + ImportLines.notUTF8(offset: offset, value: value))
            case .tooLong(let bytes):
                throw LedgerError.invalidInput(field: "header", reason: "line 1 of \(name) is \(bytes) bytes long, too long for a CSV header")
            }
            collector.start(at: 2)
        } else {
            collector.start(at: 1)
            try handle(first, lineNumber: 1, format: format, columns: nil)
        }
        while let line = try reading({ try $0.next() }) {
            try handle(line, lineNumber: reader.lineNumber, format: format, columns: columns)
        }
        for worker in batches.indices where !batches[worker].isEmpty { try send(worker) }
        return summary
    }

    /// Runs a read of the input; a failed one becomes an error that names the input and what to do.
    private mutating func reading<T>(_ read: (inout LineReader) throws -> T) throws -> T {
        do {
            return try read(&reader)
        } catch let error as LineReader.ReadError {
            throw ImportInput.problem(name, code: error.code, afterLine: reader.lineNumber)
        }
    }

    private mutating func handle(_ line: LineReader.Line, lineNumber: Int, format: ImportFormat, columns: Kind.Columns?) throws {
        summary.lines += 1
        let checked = ImportLines.text(of: line, noun: kind.noun).flatMap {
            kind.record($0, lineNumber: lineNumber, format: format, columns: columns, program: program)
        }
        switch checked {
        case .success(let record):
            let worker = Int(UInt(bitPattern: hash(kind.partition(of: record))) % UInt(queues.count))
            batches[worker].append(record)
            if batches[worker].count >= options.batchSize { try send(worker) }
        case .failure(let error):
            collector.add([kind.rejected(line: lineNumber, error)])
        }
    }

    private mutating func send(_ worker: Int) throws {
        guard queues[worker].put(batches[worker]) else {
            throw LedgerError.unreachable(reason: "a worker stopped while posting; run the import again to finish it")
        }
        batches[worker] = []
    }

    /// A stable hash (FNV-1a) of a member id: the same member always goes to the same worker.
    private func hash(_ member: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in member.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: hash >> 1)
    }
}
