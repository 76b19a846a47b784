import Foundation
import PointsServer

/// Checks an answer of points-server against /openapi.json: the route and status must be
/// documented with the answer's content type, and a JSON body must match the schema (types,
/// required properties, enums, arrays, references). What it does not know (formats, patterns)
/// it does not check.
struct OpenAPIValidator: @unchecked Sendable {  // Immutable after init.
    let document: [String: Any]

    init() throws {
        document = try JSONSerialization.jsonObject(with: Data(PointsServer.openAPIDocument)) as? [String: Any] ?? [:]
    }

    var paths: [String: Any] { document["paths"] as? [String: Any] ?? [:] }

    /// Problems with the answer (empty: it matches the document).
    func problems(method: String, path: String, status: Int, contentType: String?, body: Data) -> [String] {
        guard let operation = (paths[path] as? [String: Any])?[method.lowercased()] as? [String: Any] else {
            return ["\(method) \(path) is not in the document"]
        }
        guard let response = (operation["responses"] as? [String: Any])?[String(status)] as? [String: Any] else {
            return ["\(method) \(path) does not document status \(status)"]
        }
        guard let content = response["content"] as? [String: Any] else { return body.isEmpty ? [] : ["status \(status) documents no body"] }
        let type = (contentType ?? "").split(separator: ";").first.map(String.init) ?? ""
        guard let media = content[type] as? [String: Any], let schema = media["schema"] as? [String: Any] else {
            return ["\(method) \(path) \(status) does not document content type \(type)"]
        }
        guard type.hasSuffix("json") else { return [] }
        guard let value = try? JSONDecoder().decode(JSON.self, from: body) else { return ["the body is not JSON"] }
        return check(value, against: schema, at: "$")
    }

    private func resolve(_ schema: [String: Any]) -> [String: Any] {
        guard let reference = schema["$ref"] as? String else { return schema }
        let name = String(reference.split(separator: "/").last ?? "")
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        return schemas?[name] as? [String: Any] ?? [:]
    }

    private func check(_ value: JSON, against schema: [String: Any], at path: String) -> [String] {
        let schema = resolve(schema)
        var problems: [String] = []
        let types: [String] = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        if !types.isEmpty && !types.contains(where: value.matches) {
            return ["\(path): \(value) is not of type \(types)"]
        }
        if let options = schema["enum"] as? [String], case .string(let text) = value, !options.contains(text) {
            problems.append("\(path): \(text) is not one of \(options)")
        }
        if case .object(let object) = value {
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                problems.append("\(path): lacks required \(name)")
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (name, property) in object {
                guard let propertySchema = properties[name] as? [String: Any] else {
                    if !properties.isEmpty { problems.append("\(path): \(name) is not documented") }
                    continue
                }
                problems += check(property, against: propertySchema, at: "\(path).\(name)")
            }
        }
        if case .array(let array) = value, let items = schema["items"] as? [String: Any] {
            for (index, item) in array.enumerated() { problems += check(item, against: items, at: "\(path)[\(index)]") }
        }
        return problems
    }
}

/// A JSON value as it was sent: booleans apart from numbers.
enum JSON: Decodable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    func matches(_ type: String) -> Bool {
        switch (type, self) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object): true
        case ("integer", .number(let value)): value.rounded() == value
        default: false
        }
    }

    subscript(key: String) -> JSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int64? { if case .number(let value) = self { Int64(exactly: value) } else { nil } }
    var items: [JSON] { if case .array(let value) = self { value } else if case .object(let o) = self, case .array(let value)? = o["items"] { value } else { [] } }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let value): "\(value)"
        case .object(let value): "\(value)"
        }
    }
}
