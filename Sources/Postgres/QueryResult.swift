/// The rows of a completed command, copied out of libpq (no `PGresult` outlives the call).
public struct QueryResult: Sendable, RandomAccessCollection {
    /// Column names, in order.
    public let columns: [String]
    /// Values row by row, in text format; `nil` is SQL NULL.
    let values: [String?]
    /// The command tag, such as `INSERT 0 1` or `SELECT 3`.
    public let commandTag: String
    /// Rows inserted, updated, deleted or returned, as the command tag reports.
    public let affectedRows: Int

    init(columns: [String], values: [String?], commandTag: String, affectedRows: Int) {
        self.columns = columns
        self.values = values
        self.commandTag = commandTag
        self.affectedRows = affectedRows
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.isEmpty ? 0 : values.count / columns.count }

    public subscript(position: Int) -> Row {
        Row(result: self, offset: position * columns.count)
    }

    /// The only row; throws when there is none or more than one.
    public func single() throws(PostgresError) -> Row {
        guard count == 1 else {
            throw PostgresError(kind: .decoding, message: "expected one row, got \(count)")
        }
        return self[0]
    }

    func columnIndex(_ name: String) throws(PostgresError) -> Int {
        guard let index = columns.firstIndex(of: name) else {
            throw PostgresError(kind: .decoding, message: "the result has no column \(name)")
        }
        return index
    }
}

/// One row of a `QueryResult`; read values by position or by column name.
public struct Row: Sendable {
    let result: QueryResult
    let offset: Int

    /// The raw text of a column; `nil` for NULL.
    public subscript(index: Int) -> String? { result.values[offset + index] }

    public func isNull(_ index: Int) -> Bool { self[index] == nil }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws(PostgresError) -> T {
        guard let text = self[index] else {
            throw PostgresError(kind: .decoding, message: "column \(result.columns[index]) is NULL, expected \(T.self)")
        }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type = T?.self, at index: Int) throws(PostgresError) -> T? {
        guard let text = self[index] else { return nil }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, column: String) throws(PostgresError) -> T {
        try decode(type, at: result.columnIndex(column))
    }

    public func decode<T: PostgresDecodable>(_ type: T?.Type = T?.self, column: String) throws(PostgresError) -> T? {
        try decode(type, at: result.columnIndex(column))
    }
}
