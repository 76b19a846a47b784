import Foundation
@testable import points_admin
@testable import PointsLedger
import Testing

@Suite("Terminal output: tables, fields and JSON show no raw control or hidden character")
struct TerminalTests {
    /// Every scalar that must not reach a terminal as it is.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
            || scalar.properties.generalCategory == .format
    }

    @Test func aTableEscapesItsCellsAndStaysAligned() {
        let lines = Terminal.tableLines(
            ["member", "reward", "points"],
            [
                ["m1", "red \u{1B}[31mALERT\u{1B}[0m", "5"],
                ["m2\nm3  forged  row", "cr\rover", "7"],
                ["m\u{9B}2J", "evil\u{202E}txt.exe", "9"],
                ["会员", "zero\u{200B}width\u{FEFF}", "11"],
            ])
        #expect(lines == [
            #"member                   reward                        points"#,
            #"-----------------------  ----------------------------  ------"#,
            #"m1                       red \u{1B}[31mALERT\u{1B}[0m  5"#,
            #"m2\u{0A}m3  forged  row  cr\u{0D}over                  7"#,
            #"m\u{9B}2J                evil\u{202E}txt.exe           9"#,
            #"会员                     zero\u{200B}width\u{FEFF}     11"#,
        ])
        for line in lines { #expect(!line.unicodeScalars.contains(where: Self.isHidden), "\(line)") }
        // Every cell starts where its header does.
        let start = lines[0].distance(from: lines[0].startIndex, to: lines[0].range(of: "points")!.lowerBound)
        for line in lines.dropFirst(2) { #expect(Array(line)[start...].allSatisfy { $0.isNumber }, "\(line)") }
    }

    @Test func fieldsEscapeNamesAndValues() {
        #expect(Terminal.fieldLines([("member", "m\u{1B}]0;owned\u{7}"), ("to reach gold\u{2028}", "5 more points")]) == [
            #"member                 m\u{1B}]0;owned\u{07}"#,
            #"to reach gold\u{2028}  5 more points"#,
        ])
    }

    @Test func interpolatedValuesAreEscapedAndTheProgramsOwnLinesStay() {
        let id = "m1\n\u{1B}[2Jforged"
        let text: TerminalText = "\nCreated member \(id) with \(3) points."
        #expect(text.text == #"\#nCreated member m1\u{0A}\u{1B}[2Jforged with 3 points."#)
        #expect(TerminalText(escaping: "a\nb").text == #"a\u{0A}b"#)
        #expect(TerminalText(lines: "Error: x\u{9B}\nUsage: y").text == "Error: x\\u{9B}\nUsage: y")
    }

    @Test func jsonKeepsItsMeaningAndShowsNoHiddenCharacter() throws {
        let value = ["name": "a\u{1B}b\u{85}c\u{9B}d\u{2028}e\u{202E}f\u{E0001}g\u{7F}h 会员 🎉"]
        let encoded = try JSONEncoder().encode(value)
        let shown = Terminal.visibleJSON(String(decoding: encoded, as: UTF8.self))
        #expect(!shown.unicodeScalars.contains(where: Self.isHidden))
        #expect(shown.contains(#"\u009b"#) && shown.contains(#"\u202e"#) && shown.contains(#"\udb40\udc01"#))
        #expect(try JSONDecoder().decode([String: String].self, from: Data(shown.utf8)) == value)
        var line = ""
        ReportSink.appendJSONString(value["name"]!, to: &line)
        #expect(!line.unicodeScalars.contains(where: Self.isHidden))
        #expect(try JSONDecoder().decode(String.self, from: Data(line.utf8)) == value["name"]!)
    }

    @Test func theImportsTextReportEscapesOrdersAndReasons() {
        let result = ImportLineResult(
            line: 3, status: .rejected, order: "o\u{1B}[31m1", entryID: nil, points: nil, reason: "member: \"m\n\u{202E}x\" is not a member id")
        #expect(ReportSink.textLine(result) == #"line 3: rejected order o\u{1B}[31m1: member: "m\u{0A}\u{202E}x" is not a member id"#)
    }

    @Test func numbersAreGroupedAndAlignedRightForAPersonAndPlainForATool() {
        let rows: [[Cell]] = [
            ["tier", .number(3_981_830), .money(Money(minorUnits: 10_425, exponent: 2)), .signed(1_200), .rate(Decimal(string: "0.25")!)],
            ["total", .number(-7), .money(Money(minorUnits: 1_042, exponent: 3)), .signed(-300), .id(12_345)],
        ]
        #expect(Terminal.tableLines(["by", "points", "value", "change", "rate"], rows) == [
            "by        points   value  change    rate",
            "-----  ---------  ------  ------  ------",
            "tier   3,981,830  104.25  +1,200  0.2500",
            "total         -7   1.042    -300   12345",
        ])
        #expect(rows[0].map(\.machine) == ["tier", "3981830", "104.25", "+1200", "0.2500"])
        #expect(rows[1].map(\.machine) == ["total", "-7", "1.042", "-300", "12345"])
    }

    @Test func aTableWiderThanTheTerminalComesAsBlocksAfterANote() {
        let rows: [[Cell]] = [["m1", .number(1_500), "a long reference"], ["会员", .number(2), ""]]
        let wide = Terminal.tableLines(["member", "available", "reference"], rows, width: 80)
        #expect(wide.count == 4)
        #expect(Terminal.tableLines(["member", "available", "reference"], rows, width: 30) == [
            "(35 columns wide, the terminal 30: one block a row; --csv gives the table)",
            "[1 of 2]",
            "member     m1",
            "available  1,500",
            "reference  a long reference",
            "[2 of 2]",
            "member     会员",
            "available  2",
        ])
    }

    @Test func colourOnlyOnATerminalThatAsksForIt() {
        #expect(Style.for(isTerminal: true, environment: ["TERM": "xterm-256color"]).colour)
        #expect(!Style.for(isTerminal: false, environment: ["TERM": "xterm-256color"]).colour)
        #expect(!Style.for(isTerminal: true, environment: ["TERM": "xterm", "NO_COLOR": "1"]).colour)
        #expect(Style.for(isTerminal: true, environment: ["TERM": "xterm", "NO_COLOR": ""]).colour)
        #expect(!Style.for(isTerminal: true, environment: ["TERM": "dumb"]).colour)
        let bold = Terminal.tableLines(["a"], [["1"]], style: Style(colour: true))
        #expect(bold[0] == "\u{1B}[1ma\u{1B}[0m" && bold[2] == "1")
        #expect(Terminal.tableLines(["a"], [["1"]]) == ["a", "-", "1"])
    }
}
