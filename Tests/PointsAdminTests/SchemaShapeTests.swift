import Foundation
import PointsLedger
import TestSupport
import Testing

/// Schema/shape.sql shows every table's final shape in one file: it must be what the migrations
/// make (Scripts/schema-dump.sh writes it; run it after adding a migration).
@Suite("Schema/shape.sql is what the migrations make")
struct SchemaShapeTests {
    let cli = CLITests()

    @Test func theCommittedShapeMatchesAFreshlyMigratedDatabase() async throws {
        try await TestDatabase.withMigrated { configuration in
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let process = Process()
            process.executableURL = root.appendingPathComponent("Scripts/schema-dump.sh")
            process.arguments = ["--print", cli.url(try cli.database(configuration))]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let committed = try String(contentsOf: root.appendingPathComponent("Schema/shape.sql"), encoding: .utf8)
            #expect(printed.contains("CREATE TABLE points.members ("))
            #expect(printed == committed, "Schema/shape.sql differs from the migrations' shape: run Scripts/schema-dump.sh")
        }
    }
}
