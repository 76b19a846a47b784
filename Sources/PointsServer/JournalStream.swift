import Dispatch
import Foundation
import Hummingbird
import PointsLedger
import Postgres
import Synchronization

/// The journal export as a streamed response body: the library writes pieces on its connection's
/// thread while the response sends them, at most `window` pieces apart, so memory stays flat for
/// any size of journal and a client that stops reading stops the export.
enum JournalStream {
    static let window = 16
    static let pieceBytes = 64 * 1024
    /// Exports at a time: each holds a connection for its length, which requests need too.
    static let concurrentLimit = 2
    private static let running = Atomic<Int>(0)

    /// Starts the export and waits for its first piece, so that an export that fails at once
    /// (a period, a privilege) is answered as a problem; what follows streams.
    static func reply(ledger: Ledger, program: Program, from: Timestamp, to: Timestamp, format: JournalFormat) async throws -> API.Reply {
        let contentType = switch format {
        case .jsonl: "application/jsonl; charset=utf-8"
        case .csv: "text/csv; charset=utf-8"
        case .hledger: "text/plain; charset=utf-8"
        }
        guard running.wrappingAdd(1, ordering: .relaxed).newValue <= concurrentLimit else {
            running.wrappingSubtract(1, ordering: .relaxed)
            throw Problem.exportsBusy
        }
        let (pieces, continuation) = AsyncStream.makeStream(of: String.self)
        let credits = DispatchSemaphore(value: window)
        let stopped = Atomic<Bool>(false)
        continuation.onTermination = { _ in stopped.store(true, ordering: .relaxed) }
        let export = Task {
            defer {
                continuation.finish()
                running.wrappingSubtract(1, ordering: .relaxed)
            }
            let pending = Mutex("")
            let send: @Sendable (String) throws -> Void = { piece in
                // Wait for the response to take an earlier piece; give up if it stopped.
                while credits.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                    if stopped.load(ordering: .relaxed) { throw CancellationError() }
                }
                continuation.yield(piece)
            }
            _ = try await ledger.exportJournal(program, from: from, to: to, format: format) { text in
                let full: String? = pending.withLock { buffer in
                    buffer += text
                    guard buffer.utf8.count >= pieceBytes else { return nil }
                    defer { buffer = "" }
                    return buffer
                }
                if let full { try send(full) }
            }
            let rest = pending.withLock { $0 }
            if !rest.isEmpty { try send(rest) }
        }
        let reader = Reader(iterator: pieces.makeAsyncIterator())
        let first = await reader.next()
        if first == nil { try await export.value }
        let body = ResponseBody { writer in
            // A client gone (or the server stopping) cancels this: the export stops with it.
            try await withTaskCancellationHandler {
                var piece = first
                while let text = piece {
                    try await writer.write(ByteBuffer(string: text))
                    credits.signal()
                    piece = await reader.next()
                }
            } onCancel: {
                stopped.store(true, ordering: .relaxed)
                export.cancel()
            }
            // An export that failed half-way ends the response without its end: the client sees
            // a broken transfer, never a journal that looks complete.
            try await export.value
            try await writer.finish(nil)
        }
        return API.Reply(.ok, body: body, contentType: contentType)
    }

    /// The stream's one reader, handed from the route to the response body.
    private final class Reader: @unchecked Sendable {
        // Safety: used by one task at a time: the route, then the response body it returns.
        var iterator: AsyncStream<String>.Iterator
        init(iterator: AsyncStream<String>.Iterator) { self.iterator = iterator }
        func next() async -> String? { await iterator.next() }
    }
}
