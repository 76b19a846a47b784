import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// User-given text echoed by the built binary: escaped, never a raw control or hidden character.
@Suite("points-admin: echoed ids, keys and reasons are escaped")
struct EscapedOutputCLITests {
    let cli = CLITests()

    /// Whether `text` holds a scalar a terminal would act on or hide, other than the newlines that end lines.
    static func hasHiddenScalar(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            scalar != "\n" && (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
                || scalar.properties.generalCategory == .format)
        }
    }

    @Test func anErrorMessageEchoesAnIdEscaped() async throws {
        try await cli.withProgram { run, _ in
            let shown = try run(["member", "show", "m\u{1B}[31m\nforged line\u{202E}"])
            #expect(shown.status == 2)
            #expect(shown.stderr.hasPrefix(#"Invalid member: "m\u{1B}[31m\u{0A}forged line\u{202E}" is not a member id"#))
            #expect(shown.stderr.split(separator: "\n").count == 1)
            #expect(!Self.hasHiddenScalar(shown.stderr))
            let format = try run(["import", "purchases", "-", "--format", "csv\u{1B}[2J"])
            #expect(format.status == 2)
            #expect(format.stderr.hasPrefix(#"Error: --format must be jsonl or csv, not csv\u{1B}[2J."#))
            #expect(!Self.hasHiddenScalar(format.stderr))
        }
    }
}
