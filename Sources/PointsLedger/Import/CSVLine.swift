/// Splits one CSV line into fields (RFC 4180 quoting: `"a, b"`, `"say ""hi"""`). A quoted field
/// cannot span lines in an import: each purchase is one line.
enum CSVLine {
    struct SyntaxError: Error {
        let reason: String
    }

    static func fields(_ line: String) throws(SyntaxError) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var characters = line.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = characters.next() {
                        if next == "\"" { current.append("\""); continue }
                        pending = next
                    }
                    quoted = false
                } else {
                    current.append(character)
                }
            } else if character == "," {
                fields.append(current)
                current = ""
                wasQuoted = false
            } else if character == "\"" {
                guard current.isEmpty, !wasQuoted else { throw SyntaxError(reason: "a quote inside an unquoted field") }
                quoted = true
                wasQuoted = true
            } else {
                guard !wasQuoted else { throw SyntaxError(reason: "text after a closing quote") }
                current.append(character)
            }
        }
        guard !quoted else { throw SyntaxError(reason: "a quoted field is not closed") }
        fields.append(current)
        return fields.map(unguarded)
    }

    /// The characters a spreadsheet reads as the start of a formula.
    private static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// Whether `text` goes out in CSV behind an apostrophe (`JournalFormat.csvText`): it starts
    /// like a formula, or with an apostrophe before such a start or another apostrophe.
    static func startsLikeAFormula(_ text: String) -> Bool {
        guard let first = text.first else { return false }
        if formulaStarts.contains(first) { return true }
        guard first == "'", let second = text.dropFirst().first else { return false }
        return formulaStarts.contains(second) || second == "'"
    }

    /// A field as it was before `JournalFormat.csvText` guarded it: the apostrophe before a
    /// formula's start (or before another apostrophe) taken off; any other field as it is.
    static func unguarded(_ field: String) -> String {
        guard field.first == "'", let second = field.dropFirst().first, formulaStarts.contains(second) || second == "'" else {
            return field
        }
        return String(field.dropFirst())
    }
}
