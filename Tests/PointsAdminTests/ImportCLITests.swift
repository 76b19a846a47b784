import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// `import purchases` on files as editors and other systems write them, run as the built binary.
@Suite("points-admin import: byte-order marks, formats, unreadable paths, bytes that are not text")
struct ImportCLITests {
    let cli = CLITests()
    static let now = Timestamp.now.description

    /// A JSON Lines purchase of 1.00 by m1.
    static func jsonLine(_ order: String) -> String {
        #"{"order_id": "\#(order)", "member": "m1", "amount": "1.00", "occurred_at": "\#(now)"}"#
    }

    /// Writes `bytes` to a file called `name` in a new folder, runs `body` with its path, and removes the folder.
    func withFile(_ name: String, _ bytes: [UInt8], _ body: (String) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        try body(file.path)
    }

    @Test func aByteOrderMarkAtTheStartIsAcceptedInCSVAndJSONLines() async throws {
        try await cli.withProgram { run, _ in
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            try withFile("day.csv", bom + Array("order_id,member,amount,occurred_at\nb1,m1,1.00,\(Self.now)\n".utf8)) { path in
                let output = try run(["import", "purchases", path])
                #expect(output.status == 0, "\(output.stderr)")
                #expect(output.stdout.hasPrefix("line 2: accepted order b1 entry "))
            }
            try withFile("day.jsonl", bom + Array((Self.jsonLine("b2") + "\n").utf8)) { path in
                let output = try run(["import", "purchases", path])
                #expect(output.status == 0, "\(output.stderr)")
                #expect(output.stdout.hasPrefix("line 1: accepted order b2 entry "))
            }
        }
    }
}
