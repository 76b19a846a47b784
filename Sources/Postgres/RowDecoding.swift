import Synchronization

/// Reading a row into a `Decodable` type by column name: each stored property is the column of
/// the same name in snake case (`entryID` reads `entry_id`, `maturesAt` reads `matures_at`), so
/// the order of a query's columns never matters and a missing column is an error that names it.
///
/// A property of a `PostgresDecodable` type reads the column's text as that type; an optional
/// one reads NULL as `nil`; any other `Decodable` (an enum of statuses) decodes from the
/// column's text through a single-value container, so its own `init(from:)` decides what an
/// unknown value means.
extension Row {
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try T(from: RowDecoder(row: self))
    }
}

extension QueryResult {
    /// Every row read as `T` (see `Row.decode(_:)`).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> [T] {
        try map { try $0.decode(type) }
    }
}

/// The column name of a Swift property name: words split at each capital that starts a word,
/// joined by underscores, in lower case; a run of capitals is one word (`entryID` → `entry_id`,
/// `referralEntryID` → `referral_entry_id`, `heldPoints2` → `held_points2`). Worked out once per
/// name: every call of the hot paths reads the same few.
public func snakeCaseColumnName(_ name: String) -> String {
    if let known = columnNames.withLock({ $0[name] }) { return known }
    let column = spelledSnakeCase(name)
    columnNames.withLock { $0[name] = column }
    return column
}

private let columnNames = Mutex<[String: String]>([:])

private func spelledSnakeCase(_ name: String) -> String {
    let characters = Array(name)
    var out = ""
    for (index, character) in characters.enumerated() {
        if character.isUppercase, index > 0 {
            let previous = characters[index - 1]
            let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
            if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { out += "_" }
        }
        out += character.lowercased()
    }
    return out
}

private struct RowDecoder: Decoder {
    let row: Row
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(ColumnContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw PostgresError(kind: .decoding, message: "a row decodes into a type with named properties, not a list")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw PostgresError(kind: .decoding, message: "a row decodes into a type with named properties, not a single value")
    }
}

private struct ColumnContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: Row
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.result.columns.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { (try? index(of: key)) != nil }

    private func index(of key: Key) throws(PostgresError) -> Int {
        try row.result.columnIndex(snakeCaseColumnName(key.stringValue))
    }

    func decodeNil(forKey key: Key) throws -> Bool { row[try index(of: key)] == nil }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let index = try index(of: key)
        guard let text = row[index] else {
            throw PostgresError(kind: .decoding, message: "column \(row.result.columns[index]) is NULL, expected \(T.self)")
        }
        return try Self.value(type, from: text)
    }

    /// An optional property: its column found once (the default asks `contains`, `decodeNil`
    /// and `decode` in turn, each finding it again); a missing column or NULL is nil.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let index = try? index(of: key), let text = row[index] else { return nil }
        return try Self.value(type, from: text)
    }

    private static func value<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        if let decodable = type as? any PostgresDecodable.Type { return try decodable.init(postgresText: text) as! T }
        return try T(from: TextDecoder(text: text))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw PostgresError(kind: .decoding, message: "column \(key.stringValue) holds one value, not a row")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw PostgresError(kind: .decoding, message: "column \(key.stringValue) holds one value, not a list")
    }

    func superDecoder() throws -> any Decoder { RowDecoder(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: row) }
}

/// One column's text, for a `Decodable` that is not `PostgresDecodable` (a `String`-backed enum).
private struct TextDecoder: Decoder, SingleValueDecodingContainer {
    let text: String
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw PostgresError(kind: .decoding, message: "a column holds one value, not a row")
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw PostgresError(kind: .decoding, message: "a column holds one value, not a list")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let decodable = type as? any PostgresDecodable.Type { return try decodable.init(postgresText: text) as! T }
        return try T(from: self)
    }
}
