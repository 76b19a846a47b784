import Foundation

/// Writing to the terminal: results to standard output, problems to standard error.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
    }

    /// Prints a value as JSON with snake_case keys, sorted, one document per command.
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Rewrites the live progress line on standard error; nil clears it.
    static func progress(_ line: String?) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + (line ?? "")).utf8))
    }

    /// Prints rows under a header as an aligned table. Linear in the cells, so a report of every
    /// member prints as fast as its CSV.
    static func table(_ header: [String], _ rows: [[String]]) {
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
        print(line(header))
        print(line(widths.map { String(repeating: "-", count: $0) }))
        for row in rows { print(line(row)) }
    }

    /// Prints name–value pairs, one a line, names aligned.
    static func fields(_ pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (name, value) in pairs {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }
}
