import Foundation
import PointsLedger

/// Writing to the terminal: results to standard output, problems to standard error.
///
/// Everything the CLI prints goes through here, and stored or user-given text in it (ids, keys,
/// reasons, names, paths) is escaped with `VisibleText`: a scalar a terminal would act on or hide
/// is written out as `\u{1B}`, so no value can recolour the terminal, forge a line or a table row,
/// or reorder and hide text. JSON keeps its own escapes (`\u001b`).
enum Terminal {
    /// Prints text whose literal parts are the program's own and whose values are escaped.
    static func print(_ text: TerminalText) {
        Swift.print(text.text)
    }

    /// Writes a problem to standard error, ending it with a newline.
    static func error(_ message: TerminalText) {
        let text = message.text
        try? FileHandle.standardError.write(contentsOf: Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// Prints a value as JSON with snake_case keys, sorted, one document per command.
    static func json(_ value: some Encodable) throws {
        Swift.print(try encodedJSON(value, [.prettyPrinted]))
    }

    /// Prints a value as one line of JSON (snake_case keys, sorted): the last line of a command
    /// whose `--json` output is JSON Lines, so that the stream holds one shape.
    static func jsonLine(_ value: some Encodable) throws {
        Swift.print(try encodedJSON(value, []))
    }

    private static func encodedJSON(_ value: some Encodable, _ layout: JSONEncoder.OutputFormatting) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = layout.union([.sortedKeys, .withoutEscapingSlashes])
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return visibleJSON(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A JSON document with every scalar from DEL up that `VisibleText.needsEscape` (C1 controls,
    /// U+2028, U+2029, format characters) written as a `\u` escape, which the encoder leaves as
    /// it is. It escapes C0 controls in strings itself, and outside strings a document has only
    /// ASCII: so the document means the same, and the terminal sees no hidden character.
    static func visibleJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { $0.value >= 0x7F && VisibleText.needsEscape($0) }) else { return json }
        var out = ""
        out.reserveCapacity(json.utf8.count + 16)
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x7F && VisibleText.needsEscape(scalar) { appendJSONEscape(scalar, to: &out) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Appends `scalar` as a JSON escape: `\u001b`, or a surrogate pair above U+FFFF.
    static func appendJSONEscape(_ scalar: Unicode.Scalar, to out: inout String) {
        for unit in UTF16.encode(scalar)! {
            let hex = String(unit, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    /// Rewrites the live progress line on standard error; nil clears it.
    static func progress(_ line: TerminalText?) {
        try? FileHandle.standardError.write(contentsOf: Data(("\r\u{1B}[K" + (line?.text ?? "")).utf8))
    }

    /// Prints rows under a header as an aligned table.
    static func table(_ header: [String], _ rows: [[String]]) {
        for line in tableLines(header, rows) { Swift.print(line) }
    }

    /// The lines of a table: the header, a rule, the rows; every cell escaped, and the columns as
    /// wide as their widest escaped cell, two spaces apart. Linear in the cells, so a report of
    /// every member prints as fast as its CSV.
    static func tableLines(_ header: [String], _ rows: [[String]]) -> [String] {
        let header = header.map(VisibleText.escaped)
        let rows = rows.map { $0.map(VisibleText.escaped) }
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in zip(widths.indices, row) { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, cell) in zip(widths.indices, cells) {
                if column > 0 { text += "  " }
                text += cell
                text += String(repeating: " ", count: widths[column] - cell.count)
            }
            while text.last == " " { text.removeLast() }  // trailing only: a row may start with empty cells
            return text
        }
        return [line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)
    }

    /// Prints name–value pairs, one a line, names aligned.
    static func fields(_ pairs: [(String, String)]) {
        for line in fieldLines(pairs) { Swift.print(line) }
    }

    /// The lines of name–value pairs: both escaped, the names padded to the widest.
    static func fieldLines(_ pairs: [(String, String)]) -> [String] {
        let pairs = pairs.map { (VisibleText.escaped($0.0), VisibleText.escaped($0.1)) }
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { name, value in name + String(repeating: " ", count: width - name.count) + "  " + value }
    }
}

/// Text for the terminal: the literal parts of `"Created member \(id)."` are the program's own
/// words and stay as written; every interpolated value is escaped (`VisibleText`), so it cannot
/// add a line or send a control sequence.
struct TerminalText: ExpressibleByStringInterpolation, Sendable {
    /// The text, safe to print.
    let text: String

    init(stringLiteral value: String) {
        text = value
    }

    init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
    }

    /// A value shown whole, escaped: an error's one-line description. (Labelled: `T("…")` with
    /// a literal would be the literal itself, unescaped.)
    init(escaping value: String) {
        text = VisibleText.escaped(value)
    }

    /// Text whose every newline is the program's own (a usage message): the lines stay, anything
    /// else is escaped.
    init(lines: String) {
        text = VisibleText.escapedKeepingLines(lines)
    }

    /// Lines, one after the other.
    init(joining lines: [TerminalText]) {
        text = lines.map(\.text).joined(separator: "\n")
    }

    private init(safe text: String) {
        self.text = text
    }

    static func + (left: TerminalText, right: TerminalText) -> TerminalText {
        TerminalText(safe: left.text + right.text)
    }

    struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        /// A value, escaped.
        mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            text += VisibleText.escaped(value.description)
        }

        /// Text made safe already, as it is.
        mutating func appendInterpolation(_ value: TerminalText) {
            text += value.text
        }
    }
}
