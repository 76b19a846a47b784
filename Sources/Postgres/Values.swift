public import Foundation

/// A Swift value that can be sent as a query parameter, in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    var postgresText: String { get }
}

/// A Swift value that can be read from a result column given in PostgreSQL's text format.
public protocol PostgresDecodable: Sendable {
    init(postgresText text: String) throws(PostgresError)
}

extension PostgresError {
    static func decoding(_ text: String, as type: String) -> PostgresError {
        PostgresError(kind: .decoding, message: "cannot read \(type) from a \(text.count)-character value")
    }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self }
    public init(postgresText text: String) { self = text }
}

extension Substring: PostgresEncodable {
    public var postgresText: String { String(self) }
}

/// Integers travel as their decimal text.
public protocol PostgresInteger: FixedWidthInteger, PostgresEncodable, PostgresDecodable {}

extension PostgresInteger {
    public var postgresText: String { String(self) }

    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Self(text) else { throw .decoding(text, as: "\(Self.self)") }
        self = value
    }
}

extension Int64: PostgresInteger {}
extension Int: PostgresInteger {}
extension Int32: PostgresInteger {}
extension Int16: PostgresInteger {}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self ? "t" : "f" }
    public init(postgresText text: String) throws(PostgresError) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw .decoding(text, as: "Bool")
        }
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { "\(self)" }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Double(text) else { throw .decoding(text, as: "Double") }
        self = value
    }
}

/// `numeric` as an exact decimal (up to 38 significant digits).
extension Decimal: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { "\(self)" }
    public init(postgresText text: String) throws(PostgresError) {
        guard text != "NaN", let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
            throw .decoding(text, as: "Decimal")
        }
        self = value
    }
}

/// `json` / `jsonb`, kept as its text; encode and decode `Codable` values through it.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    public var text: String

    public init(text: String) { self.text = text }
    public init(postgresText text: String) { self.text = text }
    public var postgresText: String { text }

    /// Encodes a value as JSON with sorted keys, so equal values give equal text.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// One-dimensional arrays of encodable elements (`bigint[]`, `text[]`, …), NULL elements allowed.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    public var postgresText: String { PostgresArrayLiteral.encode(map { Optional($0.postgresText) }) }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public init(postgresText text: String) throws(PostgresError) {
        var values: [Element] = []
        for element in try PostgresArrayLiteral.decode(text) {
            guard let element else { throw .decoding(text, as: "array without NULL elements") }
            values.append(try Element(postgresText: element))
        }
        self = values
    }
}

/// The text form of one-dimensional PostgreSQL arrays: `{1,2,NULL,"a b"}`.
public enum PostgresArrayLiteral {
    public static func encode(_ elements: [String?]) -> String {
        var out = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { out += "," }
            guard let element else { out += "NULL"; continue }
            out += "\""
            for character in element {
                if character == "\"" || character == "\\" { out += "\\" }
                out.append(character)
            }
            out += "\""
        }
        return out + "}"
    }

    public static func decode(_ text: String) throws(PostgresError) -> [String?] {
        var characters = Substring(text)
        // A lower-bound decoration such as "[0:2]={…}" is not produced for ordinary arrays.
        guard characters.first == "{", characters.last == "}" else { throw .decoding(text, as: "array") }
        characters = characters.dropFirst().dropLast()
        var elements: [String?] = []
        var iterator = characters.makeIterator()
        var current = ""
        var quoted = false
        var wasQuoted = false
        var atStart = true
        func finish() {
            elements.append(!wasQuoted && current == "NULL" ? nil : current)
            current = ""
            wasQuoted = false
            atStart = true
        }
        if characters.isEmpty { return [] }
        while let character = iterator.next() {
            if quoted {
                if character == "\\" {
                    if let next = iterator.next() { current.append(next) }
                } else if character == "\"" {
                    quoted = false
                } else {
                    current.append(character)
                }
            } else if character == "\"" && atStart {
                quoted = true
                wasQuoted = true
                atStart = false
            } else if character == "," {
                finish()
            } else if character == "{" {
                throw .decoding(text, as: "one-dimensional array")
            } else {
                current.append(character)
                atStart = false
            }
        }
        finish()
        return elements
    }
}
