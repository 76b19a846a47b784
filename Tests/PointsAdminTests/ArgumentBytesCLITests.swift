import Foundation
import PointsLedger
import TestSupport
import Testing

/// Arguments as a shell passes them, byte for byte: bytes that are not UTF-8 never become an id
/// (the system would read them as U+FFFD, and two byte strings would name one member), and text
/// a terminal would act on is refused and shown escaped.
@Suite("points-admin: argument bytes")
struct ArgumentBytesCLITests {
    let cli = CLITests()

    /// Runs the CLI through `/bin/sh`, so that `printf` can put any byte into an argument.
    func shell(_ script: String, _ run: CLITests.CLI) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, "sh", PointsAdminBinary.url.path, run.databaseURL]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(outData.isEmpty, "\(String(decoding: outData, as: UTF8.self))")
        return (process.terminationStatus, String(decoding: errData, as: UTF8.self))
    }

    @Test func bytesThatAreNotUTF8NeverBecomeAnIDOrAReason() async throws {
        try await cli.withProgram { run, configuration in
            let latin1 = try shell(#""$1" member create "$(printf 'caf\351')" --database-url "$2""#, run)
            #expect(latin1.status == 2 && latin1.stderr.contains("Argument 3 is not UTF-8"), "\(latin1.stderr)")
            let reason = try shell(
                #""$1" adjust grant --member m1 --points 5 --reason "$(printf 'caf\351')" --actor ops --key k --database-url "$2""#, run)
            #expect(reason.status == 2 && reason.stderr.contains("(the value of --reason) is not UTF-8"), "\(reason.stderr)")
            let entries = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries").single()
            #expect(try entries.decode(Int64.self, at: 0) == 1)  // the seed grant alone
            let other = try shell(#""$1" member create "$(printf 'caf\377')" --database-url "$2""#, run)
            #expect(other.status == 2, "\(other.stderr)")
            let members = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.members").single()
            #expect(try members.decode(Int64.self, at: 0) == 1)  // m1 alone
        }
    }

    @Test func textATerminalWouldActOnIsRefusedAndShownEscaped() async throws {
        try await cli.withProgram { run, configuration in
            let before = try cli.entryCount(configuration)
            let output = try shell(
                #""$1" adjust grant --member m1 --points 5 --reason "$(printf 'ok\033[2J\033[31mforged')" --actor ops --key k9 --database-url "$2""#,
                run)
            #expect(output.status == 2, "\(output.stderr)")
            #expect(output.stderr.contains(#"\u{1B}[2J"#) && !output.stderr.contains("\u{1B}"), "\(output.stderr)")
            #expect(try cli.entryCount(configuration) == before)
        }
    }

    /// From an outside review: the argument parser quotes a misplaced argument back; a connection
    /// string there is not shown.
    @Test func aMisplacedConnectionStringIsNotEchoed() throws {
        let output = try PointsAdminBinary.run(["jobs", "seal", "postgresql://clerk:Zq7Secr3t@db.example/shop"])
        #expect(output.status == 2)
        #expect(!output.stderr.contains("Zq7Secr3t") && !output.stderr.contains("db.example"), "\(output.stderr)")
    }
}
