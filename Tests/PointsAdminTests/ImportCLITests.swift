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

    /// The library's reasons speak of permissions; the CLI's report names the flags that give them.
    @Test func rejectedLinesNameTheFlagThatWouldAcceptThem() async throws {
        try await cli.withProgram { run, _ in
            let lines = #"{"order_id": "old1", "member": "m1", "amount": "1.00", "occurred_at": "2020-01-01T00:00:00Z"}"# + "\n"
                + #"{"order_id": "new1", "member": "newcomer", "amount": "1.00", "occurred_at": "\#(Self.now)"}"# + "\n"
            try withFile("day.jsonl", Array(lines.utf8)) { path in
                let output = try run(["import", "purchases", path, "--no-create-members"])
                #expect(output.status == 1, "\(output.stderr)")
                #expect(output.stdout.hasPrefix(
                    "line 1: rejected order old1: occurred_at is older than the back-dating window of 7 days; "
                        + "loading history needs an explicit back-dating permission (--allow-backdated)\n"
                        + "line 2: rejected order new1: member newcomer does not exist (import without --no-create-members to create members)\n"),
                    "\(output.stdout)")
            }
        }
    }

    @Test func aJSONLinesFileWhoseFirstLineIsLongIsStillReadAsJSONLines() async throws {
        try await cli.withProgram { run, _ in
            // Longer than the longest line a purchase may take: refused on its own, and the file read as JSON Lines.
            let long = #"{"order_id": "long1", "member": "m1", "amount": "1.00", "occurred_at": "\#(Self.now)","#
                + String(repeating: " ", count: 70_000) + #""points_paid": "0.00"}"#
            let text = long + "\n" + Self.jsonLine("after1") + "\n"
            let piped = try PointsAdminBinary.run(["import", "purchases", "-", "--database-url", run.databaseURL], stdin: text)
            #expect(piped.status == 1, "\(piped.stderr)")
            #expect(piped.stdout.hasPrefix(
                "line 1: rejected: the line is \(long.utf8.count) bytes long, more than the 65536 a purchase may take\nline 2: accepted order after1 entry "))
            // A file named for its format, and one whose name says nothing; --format overrides the name.
            for (name, arguments) in [("day.ndjson", []), ("day.txt", []), ("day.csv", ["--format", "jsonl"])] {
                let order = "after-\(name)"
                try withFile(name, Array((long + "\n" + Self.jsonLine(order) + "\n").utf8)) { path in
                    let output = try run(["import", "purchases", path] + arguments)
                    #expect(output.status == 1, "\(name): \(output.stderr)")
                    #expect(output.stdout.contains("line 2: accepted order \(order) entry "), "\(name)")
                }
            }
            // A name ending in .csv is read as CSV even if its first line starts with {.
            try withFile("odd.csv", Array((Self.jsonLine("csv1") + "\n").utf8)) { path in
                let output = try run(["import", "purchases", path])
                #expect(output.status == 2)
                #expect(output.stderr.hasPrefix("Invalid header: line 1 is not a CSV header: "))
            }
        }
    }

    @Test func aPathThatIsNotAReadableFileIsNamedPlainly() async throws {
        try await cli.withProgram { run, _ in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let missing = folder.appendingPathComponent("missing.csv").path
            for (arguments, message) in [
                ([folder.path], "Invalid file: \(folder.path) is a folder, not a file; give the path of a JSON Lines or CSV file.\n"),
                ([missing], "Invalid file: \(missing) does not exist; check the path, or give - to read standard input.\n"),
            ] {
                let output = try run(["import", "purchases"] + arguments)
                #expect(output.status == 2)
                #expect(output.stderr == message)
                #expect(!output.stderr.contains("NSCocoaErrorDomain") && !output.stderr.contains("Code="))
            }
            // A report that cannot be written all the way: said plainly at the end, the import done.
            try withFile("day.jsonl", Array((Self.jsonLine("full1") + "\n").utf8)) { path in
                let output = try run(["import", "purchases", path, "--report", "/dev/full"])
                #expect(output.status == 2)
                #expect(output.stderr.hasPrefix("Invalid --report: /dev/full could not be written: No space left on device; "))
                #expect(!output.stderr.contains("NSCocoaErrorDomain") && !output.stderr.contains("Code="))
                #expect(try run(["import", "purchases", path]).stdout.hasPrefix("line 1: duplicate order full1"))
            }
        }
    }

    @Test func bytesThatAreNotUTF8AreRefusedWithTheirLineAndPlace() async throws {
        try await cli.withProgram { run, _ in
            // Two ids that differ only in bytes that are not UTF-8 must not both become "m\u{FFFD}1".
            let line = { (order: String, member: [UInt8]) -> [UInt8] in
                Array(#"{"order_id": "\#(order)", "member": "m"#.utf8) + member
                    + Array(#"1", "amount": "1.00", "occurred_at": "\#(Self.now)"}"#.utf8) + [0x0A]
            }
            let prefix = #"{"order_id": "u1", "member": "m"#.utf8.count
            try withFile("day.jsonl", line("u1", [0xFF]) + line("u2", [0xFE]) + line("u3", [])) { path in
                let output = try run(["import", "purchases", path])
                #expect(output.status == 1, "\(output.stderr)")
                let lines = output.stdout.split(separator: "\n").map(String.init)
                #expect(lines.count == 4)
                #expect(lines.first == "line 1: rejected: the line has byte 0xFF at byte \(prefix + 1), which is not UTF-8 text; save the file as UTF-8")
                #expect(lines.dropFirst().first == "line 2: rejected: the line has byte 0xFE at byte \(prefix + 1), which is not UTF-8 text; save the file as UTF-8")
                #expect(lines.dropFirst(2).first?.hasPrefix("line 3: accepted order u3 entry ") == true)
            }
            // Nor can any id hold U+FFFD, the mark of such bytes: it is refused as malformed.
            #expect(try run(["member", "show", "m\u{FFFD}1"]).status == 2)
            try withFile("day.csv", Array("order_id,member,amount,occurred_at\nc".utf8) + [0xC3] + Array("1,m1,1.00,\(Self.now)\n".utf8)) { path in
                let output = try run(["import", "purchases", path])
                #expect(output.status == 1, "\(output.stderr)")
                #expect(output.stdout.hasPrefix("line 2: rejected: the line has byte 0xC3 at byte 2, which is not UTF-8 text; save the file as UTF-8\n"))
            }
            try withFile("header.csv", Array("order_id,member".utf8) + [0x80] + Array(",amount,occurred_at\n".utf8)) { path in
                let output = try run(["import", "purchases", path])
                #expect(output.status == 2)
                #expect(output.stderr == "Invalid header: line 1 of \(path) has byte 0x80 at byte 16, which is not UTF-8 text; save the file as UTF-8.\n")
            }
        }
    }
}
