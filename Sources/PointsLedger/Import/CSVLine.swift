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
        return fields
    }
}
