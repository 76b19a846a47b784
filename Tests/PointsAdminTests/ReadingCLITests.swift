import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// What admins and finance read: times on the program's clock (across a daylight-saving change),
/// money to the currency's decimals in every report, and the HTML page as a browser renders it.
@Suite("points-admin: what people read")
struct ReadingCLITests {
    let cli = CLITests()

    /// A program's zone and the offsets it has on the days of the history below: the last
    /// Saturday of March 2026 (28th), and the days after Europe's change to summer time (the
    /// 29th at 02:00 local).
    struct Place: Sendable, CustomStringConvertible {
        let zone: String
        let currency: String
        let winter: String
        let summer: String
        /// 2026-03-28 12:00 local, in UTC, as `--utc` shows it.
        let firstInUTC: String
        /// The end of 2026-10-31 local (a lot's expiry), in UTC.
        let octoberEndInUTC: String
        var description: String { zone }
    }

    static let places = [
        Place(
            zone: "Asia/Shanghai", currency: "CNY", winter: "+08:00", summer: "+08:00", firstInUTC: "2026-03-28 04:00:00 UTC",
            octoberEndInUTC: "2026-10-31 16:00:00 UTC"),
        Place(
            zone: "Europe/Berlin", currency: "EUR", winter: "+01:00", summer: "+02:00", firstInUTC: "2026-03-28 11:00:00 UTC",
            octoberEndInUTC: "2026-10-31 23:00:00 UTC"),
    ]

    func json(_ output: CommandOutput) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    }

    /// Runs `body` on a migrated database holding program `p`, with the CLI and a runner of
    /// commands on `p` that expects each to succeed and answers what it printed.
    func withProgram(currency: String, zone: String, _ body: (CLITests.CLI, (_ arguments: [String]) throws -> String) async throws -> Void)
        async throws
    {
        try await cli.withCLI { run, _ in
            func ok(_ arguments: [String]) throws -> String {
                let output = try run(arguments + ["--program", "p"])
                #expect(output.status == 0, "\(arguments): \(output.stderr)")
                return output.stdout
            }
            #expect(try run(["db", "migrate"]).status == 0)
            #expect(try run(["program", "create", "p", "--currency", currency, "--time-zone", zone]).status == 0)
            try await body(run, ok)
        }
    }

    @Test(arguments: places)
    func timesReadOnTheProgramsClockAcrossADaylightSavingChange(place: Place) async throws {
        try await withProgram(currency: place.currency, zone: place.zone) { run, ok in
            // Before any entry, configuration may take effect in the past.
            _ = try ok(["tier", "set", "advanced", "--entry-points", "800", "--effective-at", "2026-03-30 09:00"])
            _ = try ok(["program", "set", "--effective-at", "2026-03-28", "--expiry", "years 1", "--backdate-days", "3650"])
            _ = try ok(["member", "create", "m1"])
            _ = try ok(["purchase", "post", "--member", "m1", "--order", "o1", "--amount", "120.50", "--at", "2026-03-28 12:00", "--allow-backdated"])
            _ = try ok([
                "adjust", "grant", "--member", "m1", "--points", "5000", "--reason", "opening", "--actor", "t", "--key", "g1",
                "--at", "2026-03-29 01:30", "--expires-at", "2026-11-01", "--allow-backdated",
            ])
            _ = try ok(["purchase", "post", "--member", "m1", "--order", "o2", "--amount", "1234.56", "--at", "2026-03-30 12:00", "--allow-backdated"])

            // member show: lots earned on either side of the change, expiring at local midnights.
            let shown = try ok(["member", "show", "m1"])
            #expect(shown.contains("2026-03-28 12:00:00 \(place.winter)  end of 2027-12-31\n"), "\(shown)")
            #expect(shown.contains("2026-03-29 01:30:00 \(place.winter)  end of 2026-10-31\n"), "\(shown)")
            #expect(shown.contains("2026-03-30 12:00:00 \(place.summer)  end of 2027-12-31\n"), "\(shown)")
            let lots = try #require((try json(run(["member", "show", "m1", "--json", "--program", "p"])) as? [String: Any])?["lots"] as? [[String: Any]])
            #expect(Set(lots.compactMap { $0["earned_at"] as? String }) == [
                "2026-03-28T12:00:00.000000\(place.winter)", "2026-03-29T01:30:00.000000\(place.winter)", "2026-03-30T12:00:00.000000\(place.summer)",
            ])
            #expect(Set(lots.compactMap { $0["expires_at"] as? String }) == [
                "2026-11-01T00:00:00.000000\(place.winter)", "2028-01-01T00:00:00.000000\(place.winter)",
            ])
            let inUTC = try ok(["member", "show", "m1", "--utc"])
            #expect(inUTC.contains(place.firstInUTC) && inUTC.contains(place.octoberEndInUTC), "\(inUTC)")
            let lotsInUTC = try #require(
                (try json(run(["member", "show", "m1", "--json", "--utc", "--program", "p"])) as? [String: Any])?["lots"] as? [[String: Any]])
            #expect(lotsInUTC.allSatisfy { ($0["earned_at"] as? String)?.hasSuffix("Z") == true })

            // member history: each entry at its own offset.
            let history = try ok(["member", "history", "m1"])
            for time in ["2026-03-28 12:00:00 \(place.winter)", "2026-03-29 01:30:00 \(place.winter)", "2026-03-30 12:00:00 \(place.summer)"] {
                #expect(history.contains("  \(time)  "), "\(history)")
            }
            let historyPage = try #require(try json(run(["member", "history", "m1", "--json", "--program", "p"])) as? [String: Any])
            let entries = try #require(historyPage["items"] as? [[String: Any]])
            #expect(entries.compactMap { $0["occurred_at"] as? String } == [
                "2026-03-30T12:00:00.000000\(place.summer)", "2026-03-29T01:30:00.000000\(place.winter)", "2026-03-28T12:00:00.000000\(place.winter)",
            ])

            // program show and tier list: when settings took effect.
            let program = try ok(["program", "show"])
            #expect(program.contains("\nin force since  2026-03-28 00:00:00 \(place.winter)\n"), "\(program)")
            let nowOffset = Timestamp.offsetText(TimeZone(identifier: place.zone)!.secondsFromGMT())
            #expect(program.contains(" \(nowOffset)\n") && program.contains("\ncreated    "), "\(program)")
            let programJSON = try #require(try json(run(["program", "show", "--json", "--program", "p"])) as? [String: Any])
            #expect((programJSON["settings"] as? [String: Any])?["effective_at"] as? String == "2026-03-28T00:00:00.000000\(place.winter)")
            #expect((try ok(["program", "show", "--utc"])).contains("\nin force since  2026-03-27 \(place.zone == "Asia/Shanghai" ? "16" : "23"):00:00 UTC\n"))
            let tiers = try ok(["tier", "list"])
            #expect(tiers.contains("  2026-03-30 09:00:00 \(place.summer)\n"), "\(tiers)")
            let tierJSON = try #require(try json(run(["tier", "list", "--json", "--program", "p"])) as? [[String: Any]])
            #expect(tierJSON.compactMap { $0["effective_at"] as? String } == ["2026-03-30T09:00:00.000000\(place.summer)"])

            // report breakage: a period from a winter midnight to a summer one.
            let breakage = try ok(["report", "breakage", "--from", "2026-03-01", "--to", "2026-05-01"])
            #expect(breakage.hasPrefix("Breakage of p from 2026-03-01 00:00:00 \(place.winter) to the end of 2026-04-30\n"), "\(breakage)")
            #expect(breakage.contains("\n2026-03   1,354     5,000 "), "\(breakage)")
            let breakageJSON = try #require(
                try json(run(["report", "breakage", "--from", "2026-03-01", "--to", "2026-05-01", "--json", "--program", "p"])) as? [String: Any])
            #expect(breakageJSON["from"] as? String == "2026-03-01T00:00:00.000000\(place.winter)")
            #expect(breakageJSON["to"] as? String == "2026-05-01T00:00:00.000000\(place.summer)")
            let breakageUTC = try ok(["report", "breakage", "--from", "2026-03-01", "--to", "2026-05-01", "--utc"])
            let utcRange = place.zone == "Asia/Shanghai"
                ? "from 2026-02-28 16:00:00 UTC to 2026-04-30 16:00:00 UTC" : "from 2026-02-28 23:00:00 UTC to 2026-04-30 22:00:00 UTC"
            #expect(breakageUTC.hasPrefix("Breakage of p \(utcRange)\n"), "\(breakageUTC)")

            // report liability: a moment just after the change, lots by the month they end in.
            let liability = try ok(["report", "liability", "--as-of", "2026-03-29 12:00"])
            #expect(liability.hasPrefix("Liability of p as of 2026-03-29 12:00:00 \(place.summer): 5,120 points worth 51.20 "), "\(liability)")
            #expect(liability.contains("\nexpiry  2026-10                    5,000  50.00\n"), "\(liability)")
            #expect(liability.contains("\nexpiry  2027-12                      120   1.20\n"), "\(liability)")
            let liabilityJSON = try #require(
                try json(run(["report", "liability", "--as-of", "2026-03-29 12:00", "--json", "--program", "p"])) as? [String: Any])
            #expect(liabilityJSON["as_of"] as? String == "2026-03-29T12:00:00.000000\(place.summer)")
            let liabilityUTC = try #require(
                try json(run(["report", "liability", "--as-of", "2026-03-29 12:00", "--json", "--utc", "--program", "p"])) as? [String: Any])
            #expect(liabilityUTC["as_of"] as? String == (place.zone == "Asia/Shanghai" ? "2026-03-29T04:00:00.000000Z" : "2026-03-29T10:00:00.000000Z"))
            let page = FileManager.default.temporaryDirectory.appendingPathComponent("liability-\(UUID().uuidString).html").path
            defer { try? FileManager.default.removeItem(atPath: page) }
            _ = try ok(["report", "liability", "--as-of", "2026-03-29 12:00", "--html", page])
            let html = try String(contentsOfFile: page, encoding: .utf8)
            #expect(html.contains("as of 2026-03-29 12:00:00 \(place.summer)</h1>"))
            #expect(html.contains("From 2025-04-01 00:00:00 \(place.summer) to 2026-03-29 12:00:00 \(place.summer)."))

            // An error names the time as the admin gave it.
            let future = try run(["report", "balances", "--as-of", "2099-07-01", "--program", "p"])
            #expect(future.stderr.hasPrefix("Invalid --as-of: 2099-07-01 00:00:00 \(place.summer) is in the future"), "\(future.stderr)")
        }
    }

    /// A currency, its decimals, and amounts written to them.
    struct Currency: Sendable, CustomStringConvertible {
        let code: String
        let decimals: Int
        let purchase: String
        let entrySpend: String
        let pointValue: String
        var description: String { code }
    }

    static let currencies = [
        Currency(code: "CNY", decimals: 2, purchase: "1234.50", entrySpend: "1000", pointValue: "0.01"),
        Currency(code: "JPY", decimals: 0, purchase: "123450", entrySpend: "100000", pointValue: "1"),
        Currency(code: "KWD", decimals: 3, purchase: "1234.500", entrySpend: "1000", pointValue: "0.01"),
    ]

    /// Money as written: digits, grouped by thousands for a person (not for a tool), and a point
    /// with exactly the currency's decimals (none for JPY).
    static func isMoney(_ text: String, decimals: Int, grouped: Bool) -> Bool {
        let whole = grouped ? #"-?[0-9]{1,3}(,[0-9]{3})*"# : #"-?[0-9]+"#
        let pattern = "^" + whole + (decimals > 0 ? #"\.[0-9]{\#(decimals)}"# : "") + "$"
        return text.range(of: pattern, options: .regularExpression) != nil
    }

    /// The cells of the named columns of every table in a command's output, read from the rule
    /// under each header (`-----  ---`): the header's names and each row's text in those spans.
    static func cells(_ output: String, columns wanted: Set<String>) -> [String] {
        let lines = output.components(separatedBy: "\n")
        var found: [String] = []
        for (index, rule) in lines.enumerated() where index > 0 && !rule.isEmpty && rule.allSatisfy({ $0 == "-" || $0 == " " }) {
            var spans: [Range<Int>] = []
            var start: Int?
            for (offset, character) in Array(rule + " ").enumerated() {
                if character == "-", start == nil { start = offset }
                if character == " ", let begun = start { spans.append(begun..<offset); start = nil }
            }
            func cell(_ line: String, _ span: Range<Int>) -> String {
                let characters = Array(line)
                guard span.lowerBound < characters.count else { return "" }
                return String(characters[span.lowerBound..<min(span.upperBound, characters.count)]).trimmingCharacters(in: .whitespaces)
            }
            let names = spans.map { cell(lines[index - 1], $0) }
            for row in lines[(index + 1)...].prefix(while: { !$0.isEmpty }) {
                for (name, span) in zip(names, spans) where wanted.contains(name) {
                    let text = cell(row, span)
                    if !text.isEmpty && text != "-" { found.append(text) }
                }
            }
        }
        return found
    }

    /// Every money figure under the JSON keys that carry money, which must be strings.
    static func jsonMoney(_ value: Any, key: String? = nil, into found: inout [String], notStrings: inout [String]) {
        let keys: Set<String> = ["value", "qualifying_spend", "entry_spend", "retain_spend", "spend_to_next_tier", "spend_to_keep"]
        switch value {
        case let object as [String: Any]:
            for (name, child) in object { jsonMoney(child, key: keys.contains(key ?? "") ? key : name, into: &found, notStrings: &notStrings) }
        case let array as [Any]:
            for child in array { jsonMoney(child, key: key, into: &found, notStrings: &notStrings) }
        case let text as String where keys.contains(key ?? ""):
            found.append(text)
        case is NSNull:
            break
        default:
            if keys.contains(key ?? "") { notStrings.append("\(key ?? ""): \(value)") }
        }
    }

    @Test(arguments: currencies)
    func everyMoneyFigureHasExactlyTheCurrencysDecimals(currency: Currency) async throws {
        try await withProgram(currency: currency.code, zone: "Asia/Kuwait") { run, ok in
            _ = try ok(["program", "set", "--point-value", currency.pointValue])
            let premiumSpend = currency.entrySpend + "0"
            _ = try ok(["tier", "set", "premium", "--entry-spend", premiumSpend, "--retain-spend", premiumSpend])
            _ = try ok(["tier", "set", "advanced", "--entry-spend", currency.entrySpend, "--retain-spend", currency.entrySpend])
            for member in ["m1", "m2", "m3"] { _ = try ok(["member", "create", member]) }
            _ = try ok(["purchase", "post", "--member", "m1", "--order", "o1", "--amount", currency.purchase])
            _ = try ok(["purchase", "post", "--member", "m2", "--order", "o2", "--amount", currency.entrySpend])
            _ = try ok(["adjust", "grant", "--member", "m3", "--points", "12340", "--reason", "opening", "--actor", "t", "--key", "g1"])
            _ = try ok(["redeem", "--member", "m3", "--points", "40", "--reason", "parking", "--key", "r1"])

            var checked = 0
            func expectMoney(_ figures: [String], grouped: Bool, in what: String, atLeast: Int) {
                #expect(figures.count >= atLeast, "\(what): \(figures)")
                for figure in figures {
                    #expect(Self.isMoney(figure, decimals: currency.decimals, grouped: grouped), "\(what): \(figure)")
                }
                checked += figures.count
            }
            func expectJSON(_ arguments: [String], atLeast: Int) throws {
                let output = try run(arguments + ["--json", "--program", "p"])
                var found: [String] = []
                var notStrings: [String] = []
                Self.jsonMoney(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)), into: &found, notStrings: &notStrings)
                #expect(notStrings.isEmpty, "\(arguments): money not as a string: \(notStrings)")
                expectMoney(found, grouped: false, in: arguments.joined(separator: " ") + " --json", atLeast: atLeast)
            }
            func expectCSV(_ arguments: [String], columns: Set<String>, atLeast: Int) throws {
                let rows = try ok(arguments + ["--csv"]).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
                let header = try #require(rows.first)
                let figures = rows.dropFirst().flatMap { row in zip(header, row).filter { columns.contains($0.0) && !$0.1.isEmpty }.map(\.1) }
                expectMoney(figures, grouped: false, in: arguments.joined(separator: " ") + " --csv", atLeast: atLeast)
            }

            // The reports, in each of their forms.
            let spreads: Set<String> = ["spend_min", "spend_p25", "spend_median", "spend_p75", "spend_max"]
            let liability = try ok(["report", "liability"])
            expectMoney(Self.cells(liability, columns: ["value"]), grouped: true, in: "report liability", atLeast: 4)
            let headline = try #require(liability.firstMatch(of: /worth ([0-9.,-]+) [A-Z]{3}, one point/)?.1)
            expectMoney([String(headline)], grouped: true, in: "report liability's headline", atLeast: 1)
            try expectCSV(["report", "liability"], columns: ["value"], atLeast: 4)
            try expectJSON(["report", "liability"], atLeast: 4)
            let tierReport = try ok(["report", "tiers"])
            expectMoney(Self.cells(tierReport, columns: spreads), grouped: true, in: "report tiers", atLeast: 10)
            try expectCSV(["report", "tiers"], columns: spreads, atLeast: 10)
            try expectJSON(["report", "tiers"], atLeast: 10)
            for report in [["report", "trial-balance"], ["report", "balances"], ["report", "breakage", "--from", "2026-01-01"]] {
                // Points only: no money column, and every figure a whole number.
                let table = try ok(report)
                #expect(!table.contains(" value") && !table.contains("spend"), "\(report): \(table)")
            }
            let page = FileManager.default.temporaryDirectory.appendingPathComponent("money-\(UUID().uuidString).html").path
            defer { try? FileManager.default.removeItem(atPath: page) }
            _ = try ok(["report", "liability", "--html", page])
            let html = try String(contentsOfFile: page, encoding: .utf8)
            let valueCells = html.matches(of: /<td>([^<]*)<\/td><\/tr>/).map { String($0.1) }
            expectMoney(valueCells, grouped: true, in: "the liability page's tables", atLeast: 3)
            let strong = try #require(html.firstMatch(of: /worth <strong>([^<]*) [A-Z]{3}<\/strong>/)?.1)
            expectMoney([String(strong)], grouped: true, in: "the liability page's headline", atLeast: 1)

            // What admins read beside them: tiers, members' standing and tier changes.
            let tierList = try ok(["tier", "list"])
            expectMoney(Self.cells(tierList, columns: ["entry spend", "retain spend"]), grouped: true, in: "tier list", atLeast: 2)
            try expectJSON(["tier", "list"], atLeast: 2)
            for member in ["m1", "m3"] {  // one past advanced, one with no spend yet
                let standing = try ok(["member", "show", member])
                let spendFigures = standing.matches(of: /([0-9.,]+) (?:more )?spend/).map { String($0.1) }
                expectMoney(spendFigures, grouped: true, in: "member show \(member)", atLeast: member == "m3" ? 2 : 1)
                try expectJSON(["member", "show", member], atLeast: member == "m3" ? 2 : 1)
            }
            expectMoney(Self.cells(try ok(["member", "tiers", "m2"]), columns: ["qualifying spend"]), grouped: true, in: "member tiers", atLeast: 1)
            try expectJSON(["member", "tiers", "m2"], atLeast: 1)
            #expect(checked >= 50)
        }
    }

    /// Runs headless Chromium (Debian's `chromium-headless-shell`, which `Scripts/test.sh`
    /// installs) with `arguments`, under a time limit.
    static func chromium(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let browser = try #require(
            ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "headless Chromium is missing: install Debian's chromium-headless-shell (Scripts/test.sh does)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["120", browser, "--no-sandbox", "--disable-gpu", "--hide-scrollbars"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A PNG's width and height, from its header.
    static func pngSize(_ data: Data) -> (width: Int, height: Int)? {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
        func number(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (number(16), number(20))
    }

    @Test func theLiabilityPageRendersInABrowserAsOneSelfContainedFile() async throws {
        try await cli.withProgram { run, _ in
            for (index, amount) in ["120.00", "3400.00", "98000.00"].enumerated() {
                #expect(try run(["purchase", "post", "--member", "m1", "--order", "o\(index)", "--amount", amount]).status == 0)
            }
            #expect(try run(["redeem", "--member", "m1", "--points", "2000", "--reason", "gift", "--key", "r1"]).status == 0)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("page-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let page = directory.appendingPathComponent("liability.html")
            let written = try run(["report", "liability", "--html", page.path])
            #expect(written.status == 0, "\(written.stderr)")
            let html = try String(contentsOf: page, encoding: .utf8)
            // One file: nothing fetched, nothing run.
            #expect(!html.contains("<script") && !html.contains(" src=") && !html.contains(" href=") && !html.contains("url("))
            #expect(html.contains("@media print"))

            // The DOM as the browser built it: the chart with its scale and a title on every bar.
            let dom = try Self.chromium(["--dump-dom", page.absoluteString])
            #expect(dom.status == 0)
            #expect(dom.stdout.contains("<svg class=\"chart\""), "\(dom.stdout)")
            let ticks = dom.stdout.matches(of: /<text class="tick" x="[0-9.]+" y="[0-9.]+" text-anchor="end">([0-9,]+)<\/text>/).map { String($0.1) }
            #expect(ticks.first == "0" && ticks.count >= 3 && ticks.contains { $0.contains(",") }, "\(ticks)")
            #expect(dom.stdout.matches(of: /<rect class="(issued|redeemed|expired)"[^>]*><title>[0-9]{4}-[0-9]{2} [a-z]+: [0-9,]+ points<\/title><\/rect>/).count == 36)
            #expect(dom.stdout.contains("issued: 101,520 points</title>"), "\(dom.stdout)")

            // A screenshot at the window's size, with far more on it than a blank page.
            let shot = directory.appendingPathComponent("page.png")
            let blankShot = directory.appendingPathComponent("blank.png")
            let blank = directory.appendingPathComponent("blank.html")
            try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: blank)
            #expect(try Self.chromium(["--screenshot=\(shot.path)", "--window-size=1024,1400", page.absoluteString]).status == 0)
            #expect(try Self.chromium(["--screenshot=\(blankShot.path)", "--window-size=1024,1400", blank.absoluteString]).status == 0)
            let image = try Data(contentsOf: shot)
            let size = try #require(Self.pngSize(image))
            #expect(size.width == 1024 && size.height == 1400)
            #expect(image.count > 5 * (try Data(contentsOf: blankShot)).count, "\(image.count) bytes")

            // Printed, through the print stylesheet: a PDF.
            let pdf = directory.appendingPathComponent("page.pdf")
            #expect(try Self.chromium(["--print-to-pdf=\(pdf.path)", "--no-pdf-header-footer", page.absoluteString]).status == 0)
            let printed = try Data(contentsOf: pdf)
            #expect(printed.starts(with: Data("%PDF-".utf8)) && printed.count > 5_000, "\(printed.count) bytes")
        }
    }
}
