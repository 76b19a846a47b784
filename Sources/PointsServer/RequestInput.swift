import Foundation
import Hummingbird
import PointsLedger
import Postgres

/// What a request says, read by one strict grammar (DESIGN.md, principle 13): path segments and
/// query values percent-decoded as RFC 3986 has it (an id may be in any script, or hold `/`, `%`,
/// `?`, `#` once encoded), each query parameter known to the route and given once, and a body
/// that is one flat JSON object of the route's fields, each given once, in `application/json`.
/// Whatever is malformed, unknown or duplicated is refused with a problem naming it.
enum RequestInput {
    /// `raw` (a path segment or a query's name or value) with every `%XY` decoded; the bytes must
    /// be UTF-8. In a path `+` is a plus sign (RFC 3986); in a query it is a space, as every HTTP
    /// library encodes one there (`plusIsSpace`), so a time's offset `+08:00` is sent `%2B08:00`.
    static func percentDecoded(_ raw: Substring, field: String, plusIsSpace: Bool = false) throws(Problem) -> String {
        let raw = plusIsSpace ? Substring(raw.replacingOccurrences(of: "+", with: " ")) : raw
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return String(raw) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next()?.hexDigitValue, let low = iterator.next()?.hexDigitValue else {
                throw .malformed(
                    field: field,
                    "The \(field) \"\(VisibleText.escaped(String(raw)))\" has a % that is not followed by two hex digits; encode a % itself as %25.")
            }
            bytes.append(high << 4 | low)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed(field: field, "The \(field) \"\(VisibleText.escaped(String(raw)))\" decodes to bytes that are not UTF-8; percent-encode its UTF-8 bytes.")
        }
        return text
    }

    /// The path's parameters (`{member}`, `{order}`, …), decoded.
    static func pathParameters(_ parameters: Parameters) throws(Problem) -> [String: String] {
        var decoded: [String: String] = [:]
        for (name, value) in parameters {
            decoded[String(name)] = try percentDecoded(value, field: String(name))
        }
        return decoded
    }

    /// The query's parameters, decoded: each one of `allowed`, and each at most once.
    static func query(_ raw: String?, allowed: [String]) throws(Problem) -> [String: String] {
        guard let raw, !raw.isEmpty else { return [:] }
        var parameters: [String: String] = [:]
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try percentDecoded(parts[0], field: "query parameter", plusIsSpace: true)
            guard allowed.contains(name) else {
                let known = allowed.isEmpty ? "this route takes none" : "this route takes \(allowed.joined(separator: ", "))"
                throw .malformed(field: name, "The query parameter \"\(VisibleText.escaped(name))\" is unknown: \(known).")
            }
            let value = parts.count == 2 ? try percentDecoded(parts[1], field: name, plusIsSpace: true) : ""
            guard parameters.updateValue(value, forKey: name) == nil else {
                throw .malformed(field: name, "The query parameter \"\(name)\" is given twice; give it once.")
            }
        }
        return parameters
    }
}

/// A request's JSON body: one flat object whose fields are all the route's, each given once.
/// Strings are strings and whole numbers are written as such (`100`, never `1e2` or `100.0`);
/// `null` is refused like any other value of the wrong type: leave a field out instead.
struct JSONBody {
    private let fields: [String: FlatJSON.Value]

    /// An empty body (a POST that may carry none): no fields.
    static let empty = JSONBody(fields: [:])

    private init(fields: [String: FlatJSON.Value]) {
        self.fields = fields
    }

    /// Reads `bytes` (the body of a request whose content type is `contentType`), allowing the
    /// fields `allowed`. With `optional`, an absent body reads as `{}`.
    init(_ bytes: ByteBuffer?, contentType: String?, allowed: [String], optional: Bool = false) throws(Problem) {
        guard let bytes, bytes.readableBytes > 0 else {
            guard optional else { throw .malformed(field: nil, "The request needs a JSON body; /openapi.json describes it.") }
            self.init(fields: [:])
            return
        }
        let mediaType = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            throw Problem.unsupportedMediaType(contentType)
        }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw .malformed(field: nil, "The body is not valid UTF-8; send JSON in UTF-8.")
        }
        let fields: [String: FlatJSON.Value]
        do {
            fields = try FlatJSON.parseObject(text)
        } catch {
            throw .malformed(field: error.field, "The body is not a flat JSON object of the route's fields: \(error.reason); /openapi.json describes it.")
        }
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .malformed(
                field: unknown,
                "The body's field \"\(VisibleText.escaped(unknown))\" is unknown here: this route takes \(allowed.joined(separator: ", ")).")
        }
        self.init(fields: fields)
    }

    /// The string field `name`, or nil when absent.
    func string(_ name: String) throws(Problem) -> String? {
        switch fields[name] {
        case nil: return nil
        case .string(let text)?: return text
        case let value?: throw .malformed(field: name, "The field \"\(name)\" must be a string, not \(value.kind).")
        }
    }

    /// The string field `name`, which must be present.
    func string(required name: String) throws(Problem) -> String {
        guard let text = try string(name) else { throw Self.missing(name) }
        return text
    }

    /// The whole-number field `name` in `range`, or nil when absent.
    func integer(_ name: String, in range: ClosedRange<Int64>) throws(Problem) -> Int64? {
        switch fields[name] {
        case nil: return nil
        case .number(let text)?:
            guard let value = Int64(text) else {
                let written = "The field \"\(name)\" must be a whole number written without a decimal point or exponent (like 100), not \(text)."
                guard Self.isWhole(text) else { throw .malformed(field: name, written) }
                if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                    // JSON Schema reads 5.0 as the integer 5: well-formed by the document, refused
                    // by the ledger's grammar, which takes whole numbers as whole numbers only.
                    throw .invalidInput(field: name, written)
                }
                throw .malformed(field: name, "The field \"\(name)\" is \(text), outside \(range.lowerBound.grouped) to \(range.upperBound.grouped).")
            }
            guard range.contains(value) else {
                throw .malformed(field: name, "The field \"\(name)\" is \(value.grouped), outside \(range.lowerBound.grouped) to \(range.upperBound.grouped).")
            }
            return value
        case let value?: throw .malformed(field: name, "The field \"\(name)\" must be a whole number, not \(value.kind).")
        }
    }

    /// The whole-number field `name` in `range`, which must be present.
    func integer(required name: String, in range: ClosedRange<Int64>) throws(Problem) -> Int64 {
        guard let value = try integer(name, in: range) else { throw Self.missing(name) }
        return value
    }

    /// Whether a JSON number's text is a whole number, however written (`5`, `5.0`, `1e2`).
    private static func isWhole(_ text: String) -> Bool {
        guard var value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return false }
        var whole = Decimal()
        NSDecimalRound(&whole, &value, 0, .plain)
        return whole == value
    }

    private static func missing(_ name: String) -> Problem {
        .malformed(field: name, "The body lacks the field \"\(name)\"; /openapi.json describes the body.")
    }
}
