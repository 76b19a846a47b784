import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// Every flag reads numbers by one grammar (`Numbers`), and a message echoes at most a bounded
/// part of what it was given.
@Suite("points-admin: one grammar of numbers, bounded echoes")
struct InputGrammarCLITests {
    let cli = CLITests()

    @Test func everyFlagReadsWholeNumbersAndDecimalsOneWay() async throws {
        try await cli.withProgram { run, configuration in
            for points in ["+5", "00012", "5.0", "-5", " 5", "1e2", "٣"] {
                let out = try run(["adjust", "grant", "--member", "m1", "--points", points, "--reason", "r", "--actor", "a", "--key", "k"])
                #expect(out.status == 2 && out.stderr.contains("is not a whole number written with digits only"), "\(points): \(out.stderr)")
            }
            for amount in ["+5", "00012", ".5", "5.", "012.50"] {
                let out = try run(["purchase", "post", "--member", "m1", "--order", "o-\(amount)", "--amount", amount])
                #expect(out.status == 2 && out.stderr.contains("is not an amount"), "\(amount): \(out.stderr)")
            }
            for rate in [".5", "5.", "+1", "01", "1e1"] {
                let out = try run(["program", "set", "--earn-rate", rate, "--actor", "tests"])
                #expect(out.status == 2 && out.stderr.contains("is not a decimal number such as 1.25"), "\(rate): \(out.stderr)")
            }
            let worthless = try run(["program", "set", "--point-value", "0", "--actor", "tests"])
            #expect(worthless.status == 2 && worthless.stderr.contains("must be more than 0"), "\(worthless.stderr)")
            // The same grammar's numbers are read: 12 points, 0.5 per unit, 12.50.
            #expect(try run(["adjust", "grant", "--member", "m1", "--points", "12", "--reason", "r", "--actor", "a", "--key", "k"]).status == 0)
            #expect(try run(["program", "set", "--earn-rate", "0.5", "--actor", "tests"]).status == 0)
            #expect(try run(["purchase", "post", "--member", "m1", "--order", "o-1", "--amount", "12.50"]).status == 0)
            let entries = try TestDatabase.sql(configuration, "SELECT count(*) FROM points.journal_entries").single()
            #expect(try entries.decode(Int64.self, at: 0) == 3)  // the seed, the grant, the purchase
        }
    }

    @Test func aLongValueIsEchoedCutWithACountOfTheRest() async throws {
        try await cli.withProgram { run, _ in
            let long = String(repeating: "x", count: 100_000)
            let member = try run(["member", "create", long])
            #expect(member.status == 2, "\(member.stderr.prefix(300))")
            #expect(member.stderr.utf8.count < 1_000, "\(member.stderr.prefix(600))")
            let amount = try run(["purchase", "post", "--member", "m1", "--order", "o", "--amount", long + ".5x"])
            #expect(amount.stderr.utf8.count < 1_000 && amount.stderr.contains("(99903 more characters)"), "\(amount.stderr.prefix(600))")
        }
    }

    @Test func aMemberOfAProgramThatDoesNotExistIsRefusedInWords() async throws {
        try await TestDatabase.withLedger { _, _, configuration in
            let writer = try PostgresConnection(configuration: try TestDatabase.asWriter(configuration))
            #expect {
                try writer.query("SELECT * FROM points.create_member(424242, 'm1', NULL)")
            } throws: { error in
                let error = error as? PostgresError
                return error?.code == .invalidParameterValue && error?.message == "program 424242 does not exist"
            }
        }
    }
}
