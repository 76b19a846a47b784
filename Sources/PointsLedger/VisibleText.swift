/// Text made safe to show: stored and user-given text (ids, keys, reasons, names) may hold
/// characters that a terminal acts on or does not show, and so could recolour it, forge a line of
/// output, or reorder and hide text. Each such scalar is written out the way Swift writes it,
/// `\u{1B}`: a backslash, `u`, and the code point in upper-case hex (two digits at least) in
/// braces. Every other character, backslashes included, is shown as it is.
public enum VisibleText {
    /// Whether `scalar` is written out: a C0 control (U+0000–U+001F, newline and tab included),
    /// DEL (U+007F), a C1 control (U+0080–U+009F), the line or paragraph separator (U+2028,
    /// U+2029), or a format character (category Cf: the bidi controls U+202A–U+202E and
    /// U+2066–U+2069, the zero-width U+200B–U+200F, the byte-order mark U+FEFF, the soft hyphen…).
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20..<0x7F: false
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029: true
        // Blocks that are letters throughout (CJK ideographs, Hangul syllables): the commonest
        // text past ASCII here, decided without looking up the character's category.
        case 0x4E00...0x9FFF, 0xAC00...0xD7A3: false
        default: scalar.properties.generalCategory == .format
        }
    }

    /// `text` with every scalar that `needsEscape` written out as `\u{1B}`. Linear in the text;
    /// text with nothing to escape (the usual id) is returned as it is, without a copy.
    public static func escaped(_ text: String) -> String {
        guard !isPrintableASCII(text), text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                out += "\\u{"
                let hex = String(scalar.value, radix: 16, uppercase: true)
                if hex.count < 2 { out += "0" }
                out += hex
                out += "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `text` escaped line by line: its newlines stay, anything else that needs it is written out.
    /// Only for text whose every newline is the program's own, such as a usage message; text that
    /// may carry a user's newline is `escaped` whole.
    /// How many characters of a caller's value a message echoes at most.
    public static let echoLimit = 100

    /// `text` escaped as `escaped` does, cut after `echoLimit` characters with a count of the
    /// rest: a message names what a caller sent without echoing 100 KB of it.
    public static func echoed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > echoLimit else { return escaped(text) }
        let head = String(String.UnicodeScalarView(scalars.prefix(echoLimit)))
        return escaped(head) + "… (\(scalars.count - echoLimit) more characters)"
    }

    public static func escapedKeepingLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { escaped(String($0)) }.joined(separator: "\n")
    }

    /// Whether every byte of `text` is printable ASCII (U+0020–U+007E): decided from the bytes alone.
    static func isPrintableASCII(_ text: String) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
            ?? text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}
