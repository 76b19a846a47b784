import Postgres

/// A tier qualification period by its label: `2026` (a year), `2026-Q3` (a quarter) or
/// `2026-07` (a month), in the program's time zone.
public struct TierPeriodLabel: Sendable, Hashable, Codable, CustomStringConvertible {
    public let kind: TierPeriod
    public let year: Int
    /// 1–12 for a month, 1–4 for a quarter, 1 for a year.
    public let index: Int

    /// Parses `2026`, `2026-Q3` or `2026-07`.
    public static func parse(_ text: String) throws(LedgerError) -> TierPeriodLabel {
        let problem = LedgerError.invalidInput(
            field: "period", reason: "\"\(text)\" is not a period: write a year (2026), a quarter (2026-Q3) or a month (2026-07)")
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, first.count == 4, first.allSatisfy(\.isASCII), let year = Int(first), year >= 1970,
            parts.count <= 2
        else { throw problem }
        guard parts.count == 2 else { return TierPeriodLabel(kind: .year, year: year, index: 1) }
        let second = parts[1]
        if second.first == "Q", second.count == 2, let quarter = Int(second.dropFirst()), (1...4).contains(quarter) {
            return TierPeriodLabel(kind: .quarter, year: year, index: quarter)
        }
        guard second.count == 2, second.allSatisfy({ $0.isASCII && $0.isNumber }), let month = Int(second), (1...12).contains(month)
        else { throw problem }
        return TierPeriodLabel(kind: .month, year: year, index: month)
    }

    /// The label of the period of `kind` that starts on `start` (a local date, `YYYY-MM-DD`).
    init(kind: TierPeriod, start: String) {
        let year = Int(start.prefix(4))!
        let month = Int(start.dropFirst(5).prefix(2))!
        self.init(kind: kind, year: year, index: kind == .month ? month : kind == .quarter ? (month - 1) / 3 + 1 : 1)
    }

    init(kind: TierPeriod, year: Int, index: Int) {
        self.kind = kind
        self.year = year
        self.index = index
    }

    /// Its first local day, `YYYY-MM-DD`.
    public var start: String {
        let month = kind == .month ? index : kind == .quarter ? (index - 1) * 3 + 1 : 1
        return String(format: "%04d-%02d-01", year, month)
    }

    /// Its last local day, `YYYY-MM-DD`: the period ends at the end of it.
    public var lastDay: String {
        let next = kind == .month ? index + 1 : kind == .quarter ? index * 3 + 1 : 13  // the month after it, 13: January next year
        return Timestamp.dayBefore(String(format: "%04d-%02d-01", next > 12 ? year + 1 : year, next > 12 ? 1 : next))
    }

    public var description: String {
        switch kind {
        case .year: String(year)
        case .quarter: "\(year)-Q\(index)"
        case .month: String(format: "%04d-%02d", year, index)
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try TierPeriodLabel.parse(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
