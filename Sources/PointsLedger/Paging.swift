public import Foundation
import Postgres

/// One page of a list that grows (a member's history, purchases, holds and redemptions; a
/// program's balances), and where the next page starts.
public struct Page<Item: Sendable>: Sendable {
    public let items: [Item]
    /// Asks the same list for the page after this one; nil when this page is the last.
    public let nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension Page: Encodable where Item: Encodable {}
extension Page: Equatable where Item: Equatable {}

/// Which page of a list to read: at most `limit` items (1 to 1,000), after the page that
/// answered with `cursor` (nil: the first page).
public struct PageRequest: Sendable, Hashable {
    public static let limits = 1...1_000

    public var limit: Int
    public var cursor: String?

    public init(limit: Int = 100, after cursor: String? = nil) {
        self.limit = limit
        self.cursor = cursor
    }

    /// The limit, checked.
    func checkedLimit() throws(LedgerError) -> Int {
        guard Self.limits.contains(limit) else {
            throw .invalidInput(field: "limit", reason: "\(limit) is not a number of items from 1 to 1,000")
        }
        return limit
    }
}

extension Ledger {
    /// A page of one of a member's lists (`list`, newest first by an id): checks the member id,
    /// the limit and the cursor, answers 404 for an unknown member, and reads with `read` the
    /// rows below the cursor's id (nil: from the newest), one more than the limit.
    func memberPage<Row: Sendable>(
        of member: String, in program: Program, page: PageRequest, list: String, id: @escaping (Row) -> Int64,
        _ read: @escaping @Sendable (PostgresConnection, _ rows: Int, _ below: Int64?) throws -> [Row]
    ) async throws -> Page<Row> {
        try Validate.memberID(member)
        let limit = try page.checkedLimit()
        let below = try PageCursor.id(page.cursor, list: list)
        let rows = try await withConnection { connection in
            _ = try Self.loadMember(member, program: program, connection: connection)
            return try read(connection, limit + 1, below)
        }
        return PageCursor.page(rows, limit: limit, list: list, id: id)
    }
}

/// A page's cursor, opaque to callers: the list it belongs to and where its page ended, as
/// base64url of a JSON array (`["history", "1234"]`). A cursor of another list, or one not made
/// here, is refused by name.
enum PageCursor {
    static func make(_ list: String, _ values: [String]) -> String {
        let json = (try? JSONEncoder().encode([list] + values)) ?? Data()
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The values of `cursor`, which must be one of `list`'s with `count` values; nil for no cursor.
    static func read(_ cursor: String?, list: String, count: Int) throws(LedgerError) -> [String]? {
        guard let cursor else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard cursor.utf8.count <= 1_024, let data = Data(base64Encoded: base64),
            let values = try? JSONDecoder().decode([String].self, from: data), values.count == count + 1, values.first == list
        else {
            throw .invalidInput(
                field: "cursor",
                reason: "\(TextRules.shown(String(cursor.prefix(64)))) is not a cursor of this list; ask for the first page without one")
        }
        return Array(values.dropFirst())
    }

    /// The single integer value of `cursor` (an entry or hold id), or nil for no cursor.
    static func id(_ cursor: String?, list: String) throws(LedgerError) -> Int64? {
        guard let values = try read(cursor, list: list, count: 1) else { return nil }
        guard let id = Int64(values[0]) else {
            throw .invalidInput(field: "cursor", reason: "the cursor is not one of this list; ask for the first page without one")
        }
        return id
    }

    /// `rows` (read with one row more than `limit`) as a page whose cursor names the last item's id.
    static func page<Item>(_ rows: [Item], limit: Int, list: String, id: (Item) -> Int64) -> Page<Item> {
        guard rows.count > limit else { return Page(items: rows, nextCursor: nil) }
        let items = Array(rows.prefix(limit))
        return Page(items: items, nextCursor: make(list, [String(id(items[limit - 1]))]))
    }
}
