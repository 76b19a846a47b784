import Foundation

/// The text rules of the database's domains (`points.label_text` and `points.id_text` in
/// `Schema/0002_ledger.sql`), checked before anything is sent so that a refusal names the field.
///
/// No stored text holds what a terminal or a table would act on: C0 and C1 controls, DEL, the
/// line and paragraph separators, or the bidirectional controls that reorder what is shown. Ids
/// and keys are stricter, so that two ids that look alike are the same bytes: no invisible format
/// character (Unicode category Cf) or other default-ignorable code point (Hangul fillers,
/// variation selectors…), no blank braille pattern, no U+FFFC or U+FFFD (the mark of bytes that
/// were not valid UTF-8), no space at either end, and Unicode normalization form NFC.
public enum TextRules {
    /// Whether no stored text may hold `scalar`.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // bidirectional controls
        default: false
        }
    }

    /// Whether no id or key may hold `scalar`.
    public static func isUnsafeInID(_ scalar: Unicode.Scalar) -> Bool {
        isUnsafe(scalar) || scalar.properties.generalCategory == .format || scalar.properties.isDefaultIgnorableCodePoint
            || (0xFFF9...0xFFFD).contains(scalar.value) || (0x13430...0x1343F).contains(scalar.value) || scalar.value == 0x2800
    }

    /// Why `value` is not an id of at most `maximumLength` characters, or nil when it is one.
    public static func idProblem(_ value: String, maximumLength: Int) -> String? {
        var text = value
        let printableASCII = text.withUTF8 { bytes in
            bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && bytes.first != 0x20 && bytes.last != 0x20
        }
        if printableASCII, !text.isEmpty, text.utf8.count <= maximumLength { return nil }
        if value.isEmpty { return "use 1 to \(maximumLength) characters" }
        let length = value.unicodeScalars.count
        if length > maximumLength { return "it has \(length) characters, more than the \(maximumLength) allowed" }
        if let unsafe = value.unicodeScalars.first(where: isUnsafeInID) {
            return unsafe.value == 0xFFFD
                ? "it holds U+FFFD, the mark of bytes that were not valid UTF-8; send the id as valid UTF-8"
                : "it holds \(describe(unsafe)), which ids may not hold; use visible characters only"
        }
        if let first = value.unicodeScalars.first, let last = value.unicodeScalars.last,
            first.properties.isWhitespace || last.properties.isWhitespace
        {
            return "it starts or ends with a space; remove it"
        }
        if !value.unicodeScalars.elementsEqual(value.precomposedStringWithCanonicalMapping.unicodeScalars) {
            return "it is not in Unicode normalization form NFC; normalize it to NFC before sending it"
        }
        return nil
    }

    /// `text` in quotes, with every scalar a terminal would act on or hide written as `\u{…}`
    /// (`VisibleText`), so that a message can show what a caller sent without acting on it; cut
    /// after `VisibleText.echoLimit` characters, with a count of the rest.
    public static func shown(_ text: String) -> String {
        "\"" + VisibleText.echoed(text) + "\""
    }

    /// `U+001B (a control character)` and the like, for messages.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let code = String(format: "U+%04X", scalar.value)
        let kind =
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F: "a control character"
            case 0x2028, 0x2029: "a line or paragraph separator"
            case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: "a bidirectional control"
            default: "an invisible character"
            }
        return "\(code) (\(kind))"
    }
}
