import Foundation
import PointsLedger
import Postgres

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

    /// Writes a problem to standard error, ending it with a newline (red on a terminal that shows colour).
    static func error(_ message: TerminalText) {
        let text = Style.for(isTerminal: isatty(STDERR_FILENO) == 1, environment: ProcessInfo.processInfo.environment).problem(message.text)
        try? FileHandle.standardError.write(contentsOf: Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// The clock a person reads times by: the program's once a command has opened it (`--utc`:
    /// UTC). Tables, sentences and errors show its wall clock, JSON and CSV its RFC 3339 form.
    static var clock: LocalClock { clockHolder.value }

    /// Sets the clock: a command opens one program, before it prints anything.
    static func read(by clock: LocalClock) { clockHolder.value = clock }

    private static let clockHolder = Holder(LocalClock.utc)

    /// The terminal's width in columns: the terminal's own, or `COLUMNS`; nil (no limit) for a
    /// file or a pipe without `COLUMNS`, so a tool reading the table gets it whole.
    static var width: Int? {
        var size = winsize()
        if isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Bold headers on a terminal that shows colour; plain text on anything else.
    static var style: Style { Style.for(isTerminal: isatty(STDOUT_FILENO) == 1, environment: ProcessInfo.processInfo.environment) }

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
        encoder.userInfo[.timestampOffsets] = clock
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

    /// Prints rows under a header as a table a person scans: numbers grouped and aligned right,
    /// times on the program's clock; a terminal narrower than the table gets one block a row.
    static func table(_ header: [String], _ rows: [[Cell]]) {
        for line in tableLines(header, rows, width: width, style: style) { Swift.print(line) }
    }

    /// The lines of a table: the header, a rule, the rows; every cell escaped, and the columns as
    /// wide as their widest escaped cell on screen (an East Asian character takes two columns),
    /// two spaces apart; a column of numbers aligned right. Wider than `width`, the rows come as
    /// blocks of name–value lines instead, after a note that says so. Linear in the cells, so a
    /// report of every member prints as fast as its CSV.
    static func tableLines(_ header: [String], _ rows: [[Cell]], width: Int? = nil, style: Style = .plain) -> [String] {
        let header = header.map(VisibleText.escaped)
        let texts = rows.map { $0.map { VisibleText.escaped($0.human) } }
        var widths = header.map(Self.columns)
        var numeric = Array(repeating: true, count: header.count)
        var anyValue = Array(repeating: false, count: header.count)
        for (row, cells) in zip(texts, rows) {
            for (column, (text, cell)) in zip(widths.indices, zip(row, cells)) {
                widths[column] = max(widths[column], columns(text))
                if !text.isEmpty {
                    anyValue[column] = true
                    numeric[column] = numeric[column] && cell.isNumeric
                }
            }
        }
        let right = zip(numeric, anyValue).map { $0 && $1 }
        let total = widths.reduce(0, +) + 2 * max(widths.count - 1, 0)
        if let width, total > width, !rows.isEmpty {
            return blocks(header, texts, numbered: rows.count, tableWidth: total, width: width, style: style)
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, cell) in zip(widths.indices, cells) {
                if column > 0 { text += "  " }
                let padding = String(repeating: " ", count: widths[column] - columns(cell))
                text += right[column] ? padding + cell : cell + padding
            }
            while text.last == " " { text.removeLast() }  // trailing only: a row may start with empty cells
            return text
        }
        return [style.header(line(header)), line(widths.map { String(repeating: "-", count: $0) })] + texts.map(line)
    }

    /// A table too wide for the terminal: one block of name–value lines a row.
    private static func blocks(_ header: [String], _ rows: [[String]], numbered count: Int, tableWidth: Int, width: Int, style: Style) -> [String] {
        let nameWidth = header.map(columns).max() ?? 0
        var lines = ["(\(tableWidth) columns wide, the terminal \(width): one block a row; --csv gives the table)"]
        for (index, row) in rows.enumerated() {
            lines.append(style.header("[\(index + 1) of \(count)]"))
            for (name, value) in zip(header, row) where !value.isEmpty {
                lines.append(name + String(repeating: " ", count: nameWidth - columns(name)) + "  " + value)
            }
        }
        return lines
    }

    /// Columns a text takes on a terminal: two for an East Asian wide or full-width character or
    /// an emoji.
    static func columns(_ text: String) -> Int {
        var count = 0
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xAC00...0xD7A3,
                0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F900...0x1F9FF,
                0x1FA70...0x1FAFF, 0x20000...0x3FFFD:
                count += 2
            default:
                if scalar.properties.generalCategory != .nonspacingMark { count += 1 }
            }
        }
        return count
    }

    /// Prints name–value pairs, one a line, names aligned.
    static func fields(_ pairs: [(String, String)]) {
        for line in fieldLines(pairs) { Swift.print(line) }
    }

    /// The lines of name–value pairs: both escaped, the names padded to the widest.
    static func fieldLines(_ pairs: [(String, String)]) -> [String] {
        let pairs = pairs.map { (VisibleText.escaped($0.0), VisibleText.escaped($0.1)) }
        let width = pairs.map { columns($0.0) }.max() ?? 0
        return pairs.map { name, value in name + String(repeating: " ", count: width - columns(name)) + "  " + value }
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

        /// A time, on the clock the person reads by: `2027-01-01 00:00:00 +08:00`.
        mutating func appendInterpolation(_ value: Timestamp) {
            text += VisibleText.escaped(Terminal.clock.text(value))
        }

        /// When something ends: `the end of 2026-12-31` at a local midnight, else its time.
        mutating func appendInterpolation(end value: Timestamp) {
            text += VisibleText.escaped(Terminal.clock.end(value))
        }

        /// Money with its currency's decimals, grouped: `1,234.50`.
        mutating func appendInterpolation(_ value: Money) {
            text += value.grouped
        }

        /// Text made safe already, as it is.
        mutating func appendInterpolation(_ value: TerminalText) {
            text += value.text
        }
    }
}

/// Colour and weight on a terminal that shows them: only when the output is a terminal, `TERM`
/// is not `dumb`, and `NO_COLOR` is unset or empty (https://no-color.org).
struct Style: Equatable {
    let colour: Bool

    static let plain = Style(colour: false)

    static func `for`(isTerminal: Bool, environment: [String: String]) -> Style {
        Style(colour: isTerminal && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb")
    }

    /// A table's header line, bold.
    func header(_ text: String) -> String { colour ? "\u{1B}[1m" + text + "\u{1B}[0m" : text }

    /// A problem, red.
    func problem(_ text: String) -> String { colour ? "\u{1B}[31m" + text + "\u{1B}[0m" : text }
}

/// One cell of a table, typed, so that a person's table and a tool's CSV each write it their
/// way: a person reads `3,981,830`, `1,234.50` and `2027-01-01 00:00:00 +08:00`; CSV carries
/// `3981830`, `1234.50` and `2027-01-01T00:00:00.000000+08:00`.
enum Cell: ExpressibleByStringLiteral, Equatable {
    case text(String)
    /// A count of points or members: grouped.
    case number(Int64)
    /// A count that shows its sign: `+1,200`, `-300`.
    case signed(Int64)
    /// An id (an entry, a lot): aligned like a number, never grouped.
    case id(Int64)
    case money(Money)
    /// A ratio, to four decimals.
    case rate(Decimal)
    case time(Timestamp)
    /// When something ends: `end of 2026-12-31` at a local midnight, else its time.
    case end(Timestamp)

    init(stringLiteral value: String) { self = .text(value) }

    /// For a person: grouped digits, the program's wall clock.
    var human: String {
        switch self {
        case .text(let text): text
        case .number(let value): value.grouped
        case .signed(let value): value > 0 ? "+" + value.grouped : value.grouped
        case .id(let value): String(value)
        case .money(let value): value.grouped
        case .rate(let value): Self.fourDecimals(value)
        case .time(let value): Terminal.clock.text(value)
        case .end(let value): Terminal.clock.end(value, article: "")
        }
    }

    /// For a tool: digits as they are, RFC 3339 at the clock's offset.
    var machine: String {
        switch self {
        case .text(let text): text
        case .number(let value), .id(let value): String(value)
        case .signed(let value): value > 0 ? "+\(value)" : String(value)
        case .money(let value): value.description
        case .rate(let value): Self.fourDecimals(value)
        case .time(let value), .end(let value): Terminal.clock.machine(value)
        }
    }

    /// Text of the ledger's users (an id, a key, a label), which CSV guards against spreadsheets.
    var isText: Bool {
        if case .text = self { return true }
        return false
    }

    var isNumeric: Bool {
        switch self {
        case .number, .signed, .id, .money, .rate: true
        case .text, .time, .end: false
        }
    }

    /// A ratio rounded to four decimals, all four shown: `0.2500`.
    static func fourDecimals(_ value: Decimal) -> String {
        var exact = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 4, .plain)
        let minor = NSDecimalNumber(decimal: rounded * 10_000).int64Value
        return Money(minorUnits: minor, exponent: 4).description
    }
}

/// A value set once and read from anywhere, under a lock.
private final class Holder<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
