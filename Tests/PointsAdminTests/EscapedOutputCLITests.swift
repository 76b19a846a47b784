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

    /// A warning the database raises reaches standard error as one escaped line, never raw.
    @Test func aWarningOfTheDatabaseIsOneEscapedLine() async throws {
        try await cli.withProgram { run, configuration in
            try TestDatabase.sql(configuration, #"""
                CREATE FUNCTION public.warn_on_member() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE WARNING E'new member\n\x1b[31mred'; RETURN NEW; END $$
                """#)
            try TestDatabase.sql(
                configuration, "CREATE TRIGGER warn_on_member BEFORE INSERT ON points.members FOR EACH ROW EXECUTE FUNCTION public.warn_on_member()")
            let created = try run(["member", "create", "m2"])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stderr == #"The database warns: new member. \u{1B}[31mred"# + "\n", "\(created.stderr)")
            #expect(!created.stderr.contains("\u{1B}") && !created.stderr.contains("WARNING"))
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

    @Test func theImportReportEscapesOrdersReasonsAndFieldNames() async throws {
        try await cli.withProgram { run, _ in
            let now = Timestamp.now
            let text = """
                {"order_id": "e1\\u001b[31m", "member": "m1", "amount": "1.00", "occurred_at": "\(now)"}
                {"order_id": "e2\\u009b2J", "member": "m1", "amount": "1.0x", "occurred_at": "\(now)"}
                {"order_id": "e3", "member": "m1", "amount": "1.00", "occurred_at": "\(now)", "\\u202enote\\u2028": "x"}
                {"order_id": "e4\\u200b", "member": "m1\\u0085", "amount": "1.00", "occurred_at": "\(now)"}

                """
            let report = try PointsAdminBinary.run(["import", "purchases", "-", "--database-url", run.databaseURL], stdin: text)
            #expect(report.status == 1, "\(report.stderr)")
            let lines = report.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 5)
            #expect(lines.first?.hasPrefix(#"line 1: rejected order e1\u{1B}[31m: order_id: "e1\u{1B}[31m" is not an id"#) == true)
            #expect(lines.dropFirst().first?.hasPrefix(#"line 2: rejected order e2\u{9B}2J: "#) == true)
            #expect(lines.dropFirst(2).first?.hasPrefix(#"line 3: rejected: unknown field "\u{202E}note\u{2028}"; "#) == true)
            #expect(lines.dropFirst(3).first?.hasPrefix(#"line 4: rejected order e4\u{200B}: "#) == true)
            #expect(!Self.hasHiddenScalar(report.stdout), "\(report.stdout)")

            let json = try PointsAdminBinary.run(["import", "purchases", "-", "--json", "--database-url", run.databaseURL], stdin: text)
            #expect(json.status == 1)
            #expect(!Self.hasHiddenScalar(json.stdout), "\(json.stdout)")
            // One object a line, then the summary as the last line: every one valid JSON that gives back the ids exactly.
            let all = try json.stdout.split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
            #expect(all.count == 5, "\(json.stdout)")
            #expect((all.last?["summary"] as? [String: Any])?["rejected"] as? Int == 4, "\(json.stdout)")
            let objects = all.prefix(4)
            #expect(objects.map { $0["order"] as? String } == ["e1\u{1B}[31m", "e2\u{9B}2J", nil, "e4\u{200B}"])
            #expect((objects[2]["reason"] as? String)?.contains("\u{202E}note\u{2028}") == true)
        }
    }
}
