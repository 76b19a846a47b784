/// Why libpq refused to parse a connection string, said without quoting any of it.
///
/// libpq's own message quotes the token it stopped at, which may be the password, and may be
/// translated, so it is never shown. This walks the string as libpq's parser does (the URI form or
/// the `keyword=value` form) and names the part that is wrong; whether an option name exists is
/// asked of libpq itself.
enum ConnectionStringDiagnosis {
    /// The reason libpq refused `text`, as a clause that follows "the connection string is malformed: ".
    static func reason(_ text: String) -> String {
        let bytes = Array(text.utf8)
        for prefix in ["postgresql://", "postgres://"] where bytes.starts(with: prefix.utf8) {
            return uriProblem(bytes, start: prefix.utf8.count) ?? unexplained
        }
        return keywordValueProblem(bytes) ?? unexplained
    }

    static let unexplained = """
        libpq cannot parse it (its own message is not shown, as it may quote the password); check it \
        against postgresql://user@host:port/dbname?option=value or option=value option=value
        """

    static let optionList = "the list is under \"Parameter Key Words\" in libpq's documentation"

    // MARK: keyword=value

    private static func keywordValueProblem(_ text: [UInt8]) -> String? {
        var index = 0
        func skipSpaces() { while index < text.count, LibPQOptions.isSpace(text[index]) { index += 1 } }
        while true {
            skipSpaces()
            guard index < text.count else { return nil }
            let nameStart = index
            while index < text.count, text[index] != UInt8(ascii: "="), !LibPQOptions.isSpace(text[index]) { index += 1 }
            let name = String(decoding: text[nameStart..<index], as: UTF8.self)
            skipSpaces()
            guard index < text.count, text[index] == UInt8(ascii: "=") else {
                if LibPQOptions.accepts(keyword: name) { return "\"\(name)\" has no \"=\" after it; write each option as keyword=value" }
                return "a word in it is not an option of the form keyword=value; put a value that holds spaces in single quotes"
            }
            index += 1
            skipSpaces()
            if index < text.count, text[index] == UInt8(ascii: "'") {
                index += 1
                var closed = false
                while index < text.count {
                    if text[index] == UInt8(ascii: "\\") {
                        index += 2
                    } else if text[index] == UInt8(ascii: "'") {
                        closed = true
                        index += 1
                        break
                    } else {
                        index += 1
                    }
                }
                guard closed else {
                    let whose = LibPQOptions.accepts(keyword: name) ? "the value of \"\(name)\"" : "a value"
                    return "a quoted value is not closed: \(whose) opens a quote (') without its closing one; write \\' for a quote inside a value"
                }
            } else {
                while index < text.count, !LibPQOptions.isSpace(text[index]) {
                    index += text[index] == UInt8(ascii: "\\") ? 2 : 1
                }
            }
            guard !name.isEmpty else { return "an \"=\" has no option name before it" }
            guard LibPQOptions.accepts(keyword: name) else { return "it has an option name libpq does not know (\(optionList))" }
        }
    }

    // MARK: URI

    private static func uriProblem(_ uri: [UInt8], start: Int) -> String? {
        var index = start
        func at(_ position: Int) -> UInt8? { position < uri.count ? uri[position] : nil }
        func isOneOf(_ byte: UInt8?, _ set: String) -> Bool { byte.map { set.utf8.contains($0) } ?? false }

        // user[:password]@ stands before the first "/" when an "@" does.
        if let end = uri[index...].firstIndex(where: { isOneOf($0, "@/") }), uri[end] == UInt8(ascii: "@") {
            let credentials = uri[index..<end]
            let colon = credentials.firstIndex(of: UInt8(ascii: ":")) ?? end
            if !isPercentEncoded(uri[index..<colon]) { return percentProblem(in: "the user name") }
            if colon < end, !isPercentEncoded(uri[(colon + 1)..<end]) { return percentProblem(in: "the password") }
            index = end + 1
        }

        var hosts: [ArraySlice<UInt8>] = []
        var ports: [ArraySlice<UInt8>] = []
        while true {
            if at(index) == UInt8(ascii: "[") {
                let addressStart = index + 1
                guard let close = uri[addressStart...].firstIndex(of: UInt8(ascii: "]")) else {
                    return "an IPv6 address in the URI has no closing \"]\""
                }
                guard close > addressStart else { return "an IPv6 address in the URI is empty (\"[]\")" }
                hosts.append(uri[addressStart..<close])
                index = close + 1
                if let next = at(index), !isOneOf(next, ":/?,") {
                    return "an IPv6 address in the URI (in \"[]\") is followed by something other than \":\", \"/\", \"?\" or \",\""
                }
            } else {
                let hostStart = index
                while let next = at(index), !isOneOf(next, ":/?,") { index += 1 }
                hosts.append(uri[hostStart..<index])
            }
            if at(index) == UInt8(ascii: ":") {
                index += 1
                let portStart = index
                while let next = at(index), !isOneOf(next, "/?,") { index += 1 }
                ports.append(uri[portStart..<index])
            }
            guard at(index) == UInt8(ascii: ",") else { break }
            index += 1
        }
        if !hosts.allSatisfy(isPercentEncoded) { return percentProblem(in: "the host") }
        if !ports.allSatisfy(isPercentEncoded) { return percentProblem(in: "the port") }

        if at(index) == UInt8(ascii: "/") {
            index += 1
            let nameStart = index
            while let next = at(index), next != UInt8(ascii: "?") { index += 1 }
            if !isPercentEncoded(uri[nameStart..<index]) { return percentProblem(in: "the database name") }
        }
        guard at(index) == UInt8(ascii: "?") else { return nil }
        return queryProblem(uri[(index + 1)...])
    }

    /// The URI's query: `keyword=value` pairs joined by "&", each percent-encoded.
    private static func queryProblem(_ query: ArraySlice<UInt8>) -> String? {
        for parameter in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) where !(parameter.isEmpty && parameter.endIndex == query.endIndex) {
            let parts = parameter.split(separator: UInt8(ascii: "="), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count > 1 else { return "a query parameter of the URI has no \"=\"; write each as option=value, joined by \"&\"" }
            guard parts.count == 2 else { return "a query parameter of the URI has a second \"=\"; write an \"=\" inside a value as %3D" }
            guard isPercentEncoded(parts[0]) else { return percentProblem(in: "a query parameter's name") }
            guard isPercentEncoded(parts[1]) else {
                let name = String(decoding: decoded(parts[0]), as: UTF8.self)
                return percentProblem(in: LibPQOptions.accepts(keyword: name) ? "the value of \"\(name)\"" : "a query parameter's value")
            }
            // The "/" ends libpq's look for a user name before any "@" in the parameter.
            guard LibPQOptions.parses("postgresql:///?" + String(decoding: parameter, as: UTF8.self)) else {
                return "its query has an option name libpq does not know (\(optionList))"
            }
        }
        return nil
    }

    private static func percentProblem(in part: String) -> String {
        "the URI's percent-encoding is invalid in \(part): a \"%\" must be followed by two hexadecimal digits, and %00 is not allowed"
    }

    /// Whether every "%" is followed by two hexadecimal digits that are not "00", as libpq requires.
    private static func isPercentEncoded(_ text: ArraySlice<UInt8>) -> Bool {
        var index = text.startIndex
        while index < text.endIndex {
            guard text[index] == UInt8(ascii: "%") else {
                index += 1
                continue
            }
            guard index + 2 < text.endIndex, let high = text[index + 1].hexDigitValue, let low = text[index + 2].hexDigitValue, high != 0 || low != 0
            else { return false }
            index += 3
        }
        return true
    }

    private static func decoded(_ text: ArraySlice<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == UInt8(ascii: "%"), index + 2 < text.endIndex, let high = text[index + 1].hexDigitValue, let low = text[index + 2].hexDigitValue {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(text[index])
                index += 1
            }
        }
        return bytes
    }
}

extension UInt8 {
    /// The value of this byte as a hexadecimal digit (`0`–`9`, `a`–`f`, `A`–`F`), or nil: for
    /// percent-decoding, in a connection string here and in a URL's path by points-server.
    public var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
