/// Keeps connection strings and passwords out of messages.
enum ConnectionSecrets {
    /// Masks passwords in a message that may quote a connection string (a server's message on a
    /// live connection).
    static func redact(_ text: String) -> String {
        var result = text
        // key=value form: password=secret or password='se cret'
        result = result.replacing(#/(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)/#) { match in
            "\(match.output.1)***"
        }
        // URI form: scheme://user:secret@host
        result = result.replacing(#/(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)@/#) { match in
            "\(match.output.1)***@"
        }
        return result
    }

    /// What stands in a message for a part of the connection string.
    static let hidden = "…"

    /// The quotes libpq's messages (and their translations) put around the values they echo.
    static let quotePairs: [(open: Unicode.Scalar, close: Unicode.Scalar)] = [
        ("\"", "\""), ("„", "“"), ("“", "”"), ("«", "»"), ("‹", "›"), ("「", "」"),
    ]

    /// A message of libpq about connecting, with no part of the connection string left in it.
    ///
    /// Every value in `values` of three characters or more is replaced, then every quoted segment
    /// unless it is exactly an option name or a single punctuation character, spaces around it
    /// aside: libpq quotes the values it complains about, and its messages may be translated, so
    /// no wording is relied on.
    static func scrub(_ message: String, hiding values: some Sequence<String>) -> String {
        var bytes = Array(message.utf8)
        for value in Set(values).filter({ $0.count >= 3 }).sorted(by: { $0.utf8.count > $1.utf8.count }) {
            bytes = replacing(Array(value.utf8), in: bytes, with: Array(hidden.utf8))
        }
        return withoutQuotedSegments(String(decoding: bytes, as: UTF8.self))
    }

    private static func replacing(_ target: [UInt8], in bytes: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index...].starts(with: target) {
                result += replacement
                index += target.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    /// Quotes are found scalar by scalar, so no combining mark can hide one.
    private static func withoutQuotedSegments(_ message: String) -> String {
        var result = String.UnicodeScalarView()
        var rest = message.unicodeScalars[...]
        while let open = rest.firstIndex(where: { scalar in quotePairs.contains { $0.open == scalar } }) {
            let close = quotePairs.first { $0.open == rest[open] }!.close
            result += rest[...open]
            let inner = rest[rest.index(after: open)...]
            guard let end = inner.firstIndex(of: close) else {
                // An unclosed quote: whatever follows may be the value.
                result += hidden.unicodeScalars
                return String(result)
            }
            let quoted = inner[..<end]
            result += isKept(String(String.UnicodeScalarView(quoted))) ? quoted : hidden.unicodeScalars[...]
            result.append(close)
            rest = inner[inner.index(after: end)...]
        }
        result += rest
        return String(result)
    }

    /// Whether a quoted segment is an option name or a punctuation mark, which tell nothing of the
    /// user's data. Translations may pad it with spaces: « port ».
    private static func isKept(_ quoted: String) -> Bool {
        let words = quoted.split(whereSeparator: \.isWhitespace)
        guard words.count == 1, let word = words.first else { return false }
        if LibPQOptions.keywords[String(word)] != nil { return true }
        return word.count == 1 && (word.first!.isPunctuation || word.first!.isSymbol)
    }
}
