import Foundation
import Postgres

/// What a seal run did, and the chain's head after it.
public struct SealSummary: Sendable, Hashable, Codable {
    /// Blocks, entries and postings this run sealed.
    public internal(set) var blocks: Int
    public internal(set) var entries: Int64
    public internal(set) var postings: Int64
    /// The chain's last block, the last entry it seals and its hash (hex), after the run.
    public internal(set) var headBlock: Int
    public internal(set) var headEntryID: Int64
    public internal(set) var headHash: String
    public internal(set) var seconds: Double
}

extension Ledger {
    /// Seals the program's journal entries not yet sealed into hash-chained blocks of at most
    /// `blockEntries` entries: SHA-256 over the previous block's hash and the entries' canonical
    /// form (`points.journal_digest`). Writers never wait: the database reads the highest entry id
    /// drawn so far, waits (up to `wait`) for the transactions open at that moment to finish, and
    /// seals up to that id, so no entry can later appear inside a sealed range; nothing of that
    /// comes from the caller, and each block records the login role that sealed it. Commits every
    /// few blocks; a stopped run loses nothing and a rerun continues. Finance (the auditor role)
    /// and the owner may seal, the writer may not.
    /// - Throws: `.refused` when a transaction stays open longer than `wait`, when another seal is
    ///   running, or when an entry to be sealed does not balance (rewritten by hand): it is named,
    ///   and the blocks committed by earlier rounds of this run stay sealed.
    public func seal(
        _ program: Program, blockEntries: Int = 10_000, wait: Duration = .seconds(60),
        progress: @Sendable (SealSummary) -> Void = { _ in }
    ) async throws -> SealSummary {
        guard (1...1_000_000).contains(blockEntries) else {
            throw LedgerError.invalidInput(field: "block size", reason: "\(blockEntries) entries must be between 1 and 1000000")
        }
        guard wait >= .zero, wait <= .seconds(3600) else {
            throw LedgerError.invalidInput(field: "wait", reason: "\(wait) must be between 0 seconds and 1 hour")
        }
        let started = Date()
        let waitSeconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        var summary = SealSummary(blocks: 0, entries: 0, postings: 0, headBlock: 0, headEntryID: 0, headHash: "", seconds: 0)
        let blocksPerCall = max(1, 100_000 / blockEntries)
        var horizon: Int64?
        while true {
            let round: SealRound
            do {
                round = try await call(SealRound.self, """
                    SELECT blocks, entries, postings, head_block, head_entry_id, encode(head_hash, 'hex') AS head_hash, horizon
                    FROM points.seal_journal(\(program.id), \(Int32(blockEntries)), \(Int32(blocksPerCall)), \(horizon),
                                             make_interval(secs => \(waitSeconds)))
                    """)
            } catch LedgerError.database(let error) where error.constraint == "movement_has_entry" {
                // Blocks committed by earlier rounds stay sealed; no movement without its entry enters a block.
                throw LedgerError.refused(.journalIncomplete(detail: "\(error.message); \(error.hint ?? "repair it before sealing")"))
            }
            summary.blocks += round.blocks
            summary.entries += round.entries
            summary.postings += round.postings
            summary.headBlock = round.headBlock
            summary.headEntryID = round.headEntryID
            summary.headHash = round.headHash
            horizon = round.horizon
            summary.seconds = Date().timeIntervalSince(started)
            if round.blocks == 0 { break }
            progress(summary)
        }
        logger.info("journal sealed", metadata: ["blocks": "\(summary.blocks)", "head": "\(summary.headHash)"])
        return summary
    }
}

/// What one call of `points.seal_journal` sealed, the chain's head after it, and the horizon
/// the later calls of the run keep to.
private struct SealRound: Decodable {
    let blocks: Int
    let entries: Int64
    let postings: Int64
    let headBlock: Int
    let headEntryID: Int64
    let headHash: String
    let horizon: Int64
}
