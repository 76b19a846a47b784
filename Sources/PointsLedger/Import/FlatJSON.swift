/// A strict reader of one-level JSON objects (`{"order_id": "A1", "amount": 12.34}`), the form of
/// a JSON Lines import and of a points-server request's body. Numbers are kept as their text, so
/// `12.34` stays exactly 12.34.
public enum FlatJSON {
    public enum Value: Equatable, Sendable {
        case string(String)
        /// A number, as written.
        case number(String)
        case bool(Bool)
        case null

        /// What the value is, for a message that refuses it: `a string`, `the number 1.5`, `true`, `null`.
        public var kind: String {
            switch self {
            case .string: "a string"
            case .number(let text): "the number \(text)"
            case .bool(let value): "\(value)"
            case .null: "null"
            }
        }
    }

    public struct SyntaxError: Error {
        public let reason: String
        /// The field at fault, when the fault is in one (a duplicate, a nested value).
        public var field: String? = nil
    }

    /// Parses one object; duplicate keys and nested values are errors.
    public static func parseObject(_ text: String) throws(SyntaxError) -> [String: Value] {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.object()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func object() throws(SyntaxError) -> [String: Value] {
            skipSpace()
            try expect(UInt8(ascii: "{"), "a JSON object must start with {")
            var fields: [String: Value] = [:]
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                index += 1
            } else {
                while true {
                    skipSpace()
                    guard peek() == UInt8(ascii: "\"") else { throw SyntaxError(reason: "expected a field name in quotes at byte \(index + 1)") }
                    let key = try string()
                    skipSpace()
                    try expect(UInt8(ascii: ":"), "expected : after \"\(key)\"")
                    skipSpace()
                    let value = try value(for: key)
                    guard fields.updateValue(value, forKey: key) == nil else {
                        throw SyntaxError(reason: "field \(key) appears twice", field: key)
                    }
                    skipSpace()
                    if peek() == UInt8(ascii: ",") { index += 1; continue }
                    try expect(UInt8(ascii: "}"), "expected , or } at byte \(index + 1)")
                    break
                }
            }
            skipSpace()
            guard index == bytes.count else { throw SyntaxError(reason: "unexpected text after the object at byte \(index + 1)") }
            return fields
        }

        mutating func value(for key: String) throws(SyntaxError) -> Value {
            switch peek() {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                throw SyntaxError(reason: "field \(key) must be a string or a number, not an object or array", field: key)
            default: return .number(try number(for: key))
            }
        }

        mutating func number(for key: String) throws(SyntaxError) -> String {
            let begin = index
            while let byte = peek(), byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || (byte >= 48 && byte <= 57)
            {
                index += 1
            }
            let text = String(decoding: bytes[begin..<index], as: UTF8.self)
            guard Self.isNumber(bytes[begin..<index]) else {
                throw SyntaxError(reason: "field \(key) has a malformed value at byte \(begin + 1)", field: key)
            }
            return text
        }

        /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
        static func isNumber(_ bytes: ArraySlice<UInt8>) -> Bool {
            var index = bytes.startIndex
            func isDigit() -> Bool { index < bytes.endIndex && bytes[index] >= 48 && bytes[index] <= 57 }
            func digits() -> Int {
                let start = index
                while isDigit() { index += 1 }
                return index - start
            }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") { index += 1 }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if digits() == 0 {
                return false
            }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return false }
            }
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return false }
            }
            return index == bytes.endIndex
        }

        mutating func string() throws(SyntaxError) -> String {
            index += 1
            let begin = index
            // The usual string has no escapes: one decode of its bytes.
            while let byte = peek(), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { index += 1 }
            if peek() == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: bytes[begin..<index - 1], as: UTF8.self)
            }
            var decoded = Array(bytes[begin..<index])
            while true {
                guard let byte = peek() else { throw SyntaxError(reason: "a string is not closed") }
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: decoded, as: UTF8.self)
                }
                if byte < 0x20 { throw SyntaxError(reason: "a control character inside a string at byte \(index + 1)") }
                index += 1
                guard byte == UInt8(ascii: "\\") else {
                    decoded.append(byte)
                    continue
                }
                guard let escape = peek() else { throw SyntaxError(reason: "a string is not closed") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw SyntaxError(reason: "an unpaired surrogate in a string")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw SyntaxError(reason: "an unpaired surrogate in a string") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw SyntaxError(reason: "an invalid \\u escape") }
                    decoded.append(contentsOf: UTF8.encode(scalar)!)
                default: throw SyntaxError(reason: "an invalid escape \\\(Character(Unicode.Scalar(escape)))")
                }
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                throw SyntaxError(reason: "an invalid \\u escape")
            }
            index += 4
            return value
        }

        mutating func literal(_ word: String) throws(SyntaxError) {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw SyntaxError(reason: "a malformed value at byte \(index + 1)")
            }
            index += expected.count
        }

        mutating func expect(_ byte: UInt8, _ reason: String) throws(SyntaxError) {
            guard peek() == byte else { throw SyntaxError(reason: reason) }
            index += 1
        }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }
    }
}

import Foundation
