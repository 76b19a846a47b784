import PointsLedger
import Testing

@Suite("Visible text: what a terminal would act on or hide is written out")
struct VisibleTextTests {
    /// One scalar of each kind that must not reach a terminal as it is.
    static let hidden: [(Unicode.Scalar, String)] = [
        ("\u{00}", #"\u{00}"#), ("\u{07}", #"\u{07}"#), ("\u{08}", #"\u{08}"#), ("\t", #"\u{09}"#), ("\n", #"\u{0A}"#),
        ("\r", #"\u{0D}"#), ("\u{1B}", #"\u{1B}"#), ("\u{1F}", #"\u{1F}"#), ("\u{7F}", #"\u{7F}"#), ("\u{80}", #"\u{80}"#),
        ("\u{85}", #"\u{85}"#), ("\u{9B}", #"\u{9B}"#), ("\u{9F}", #"\u{9F}"#), ("\u{AD}", #"\u{AD}"#), ("\u{061C}", #"\u{61C}"#),
        ("\u{200B}", #"\u{200B}"#), ("\u{200D}", #"\u{200D}"#), ("\u{200E}", #"\u{200E}"#), ("\u{200F}", #"\u{200F}"#),
        ("\u{2028}", #"\u{2028}"#), ("\u{2029}", #"\u{2029}"#), ("\u{202A}", #"\u{202A}"#), ("\u{202E}", #"\u{202E}"#),
        ("\u{2060}", #"\u{2060}"#), ("\u{2066}", #"\u{2066}"#), ("\u{2069}", #"\u{2069}"#), ("\u{FEFF}", #"\u{FEFF}"#),
        ("\u{FFF9}", #"\u{FFF9}"#), ("\u{E0001}", #"\u{E0001}"#), ("\u{E007F}", #"\u{E007F}"#),
    ]

    @Test func everyKindOfHiddenScalarIsWrittenOut() {
        for (scalar, written) in Self.hidden {
            #expect(VisibleText.needsEscape(scalar), "U+\(String(scalar.value, radix: 16))")
            #expect(VisibleText.escaped("a\(scalar)b") == "a\(written)b")
        }
        #expect(VisibleText.escaped("\u{1B}[31mred\u{1B}[0m\r\n") == #"\u{1B}[31mred\u{1B}[0m\u{0D}\u{0A}"#)
    }

    @Test func visibleTextIsLeftAsItIs() {
        for text in ["m-001", "a b ~ \\ \" '", "会员 ünïcödé", "é (e and a combining accent)", "🎉👍🏽", "\u{A0}no-break space", "‹›«»"] {
            #expect(VisibleText.escaped(text) == text)
        }
        for scalar: Unicode.Scalar in [" ", "~", "\u{A0}", "\u{A1}", "\u{300}", "\u{2027}", "\u{202F}", "\u{FE0F}", "\u{1F600}"] {
            #expect(!VisibleText.needsEscape(scalar), "U+\(String(scalar.value, radix: 16))")
        }
    }

    @Test func linesOfTheProgramsOwnStayLines() {
        #expect(VisibleText.escapedKeepingLines("Error: bad \u{1B}[2J\nUsage: x\u{9B}\n") == "Error: bad \\u{1B}[2J\nUsage: x\\u{9B}\n")
    }
}
