public import Postgres

/// What a caller sent for a journal entry, as the journal recorded it, in the form every answer
/// takes: fields named in camelCase (`order`, `amount`, `pointsPaid`, `occurredAt`, `reason`),
/// money in the program's currency (`amount_minor` is recorded, `amount` is read), times as
/// instants. Encodes as one JSON object.
public struct RecordedRequest: Sendable, Hashable, Encodable {
    public enum Value: Sendable, Hashable, Encodable {
        case text(String)
        case number(Int64)
        case flag(Bool)
        case money(Money)
        case time(Timestamp)

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .number(let number): try container.encode(number)
            case .flag(let flag): try container.encode(flag)
            case .money(let money): try container.encode(money)
            case .time(let time): try container.encode(time)
            }
        }
    }

    public let fields: [String: Value]

    /// Reads the journal's recorded request (`journal_entries.request`), whose money is in minor
    /// units of a currency with `exponent` decimals and whose times are UTC.
    init(json: String, exponent: Int) throws(LedgerError) {
        let object: [String: FlatJSON.Value]
        do {
            object = try FlatJSON.parseObject(json)
        } catch {
            throw .unexpectedAnswer(function: "history", status: "a recorded request that is not a flat JSON object")
        }
        var fields: [String: Value] = [:]
        for (key, value) in object {
            var name = key
            let isMoney = name.hasSuffix("_minor")
            if isMoney { name.removeLast("_minor".count) }
            let camel = Self.camelCase(name)
            switch value {
            case .bool(let flag):
                fields[camel] = .flag(flag)
            case .number(let text):
                guard let integer = Int64(text) else {
                    fields[camel] = .text(text)
                    continue
                }
                fields[camel] = isMoney ? .money(Money(minorUnits: integer, exponent: exponent)) : .number(integer)
            case .string(let text) where name.hasSuffix("_at"):
                let time = try? Timestamp(postgresText: text.replacingOccurrences(of: "T", with: " ") + "+00")
                fields[camel] = time.map(Value.time) ?? .text(text)
            case .string(let text):
                fields[camel] = .text(text)
            case .null:
                continue
            }
        }
        self.fields = fields
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Name.self)
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            try container.encode(value, forKey: Name(stringValue: name))
        }
    }

    /// `points_paid` → `pointsPaid`.
    static func camelCase(_ name: String) -> String {
        let parts = name.split(separator: "_")
        guard let first = parts.first else { return name }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    private struct Name: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
