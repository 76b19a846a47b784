public import Foundation
public import Postgres

/// How long points last once credited to available (RULES.md: Lots and expiry), counted in the
/// program's time zone.
public enum ExpiryPolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    case never
    /// Through the Nth local day after the credit.
    case days(Int)
    /// Through the end of the Nth month after the credit.
    case months(Int)
    /// Through the end of the Nth calendar year after the credit.
    case years(Int)

    /// Parses `never`, `days N`, `months N` or `years N`.
    public static func parse(_ text: String) throws(LedgerError) -> ExpiryPolicy {
        let words = text.split(separator: " ")
        if words == ["never"] { return .never }
        guard words.count == 2, let count = Int(words[1]), (1...36500).contains(count) else {
            throw .invalidInput(field: "expiry", reason: "\"\(text)\" is not an expiry policy: use never, days N, months N or years N")
        }
        switch words[0] {
        case "days": return .days(count)
        case "months": return .months(count)
        case "years": return .years(count)
        default:
            throw .invalidInput(field: "expiry", reason: "\"\(text)\" is not an expiry policy: use never, days N, months N or years N")
        }
    }

    public var description: String {
        switch self {
        case .never: "never"
        case .days(let n): "days \(n)"
        case .months(let n): "months \(n)"
        case .years(let n): "years \(n)"
        }
    }

    var kind: String { description.split(separator: " ")[0].description }
    var count: Int? {
        switch self {
        case .never: nil
        case .days(let n), .months(let n), .years(let n): n
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try ExpiryPolicy.parse(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// How a computed number of points is rounded, once per amount.
public enum RoundingMode: String, Sendable, Hashable, Codable, CaseIterable {
    case down, up
    case halfUp = "half_up"
    case halfEven = "half_even"
}

/// What happens when a refund claws back more than the member has available.
public enum RefundPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Available goes below zero; later earnings repay the debt first.
    case negative
    /// Take what is there and post the rest to the program's written-off account.
    case writeOff = "write_off"
}

/// The calendar period over which tier qualification is counted, in the program's time zone.
public enum TierPeriod: String, Sendable, Hashable, Codable, CaseIterable {
    case month, quarter, year
}

/// What period-end evaluation does to a member below their tier's retention threshold.
public enum DowngradePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Down one tier, but never below the highest tier whose retention threshold they met.
    case oneLevel = "one-level"
    /// To the highest tier whose retention threshold they met.
    case requalify

    var databaseValue: String { self == .oneLevel ? "one_level" : "requalify" }
    init?(databaseValue: String) { self.init(rawValue: databaseValue.replacingOccurrences(of: "_", with: "-")) }
}

/// A program's earning settings, as in force from `effectiveAt`.
public struct ProgramSettings: Sendable, Hashable, Codable {
    /// When this version took effect (nil: from the beginning).
    public let effectiveAt: Timestamp?
    /// Points per major currency unit, exact (1.25 points per yuan).
    public let earnRate: Decimal
    public let rounding: RoundingMode
    /// Days that purchase points stay pending before they can be spent (0: available at once).
    public let returnWindowDays: Int
    public let refundPolicy: RefundPolicy
    public let expiry: ExpiryPolicy
    /// Points paid to a referrer on a referred member's first purchase.
    public let referralBonus: Int64
    /// How many days back an event may be dated without an explicit back-dating permission.
    public let backdateDays: Int
    /// The tier qualification period.
    public let tierPeriod: TierPeriod
    public let downgrade: DowngradePolicy
    /// What one point is worth in the program's currency (major units: 0.01 CNY), for the liability report.
    public let pointValue: Decimal
}

/// A change to some of a program's settings; the rest keep their values.
public struct SettingsChange: Sendable, Hashable {
    public var earnRate: Decimal?
    public var rounding: RoundingMode?
    public var returnWindowDays: Int?
    public var refundPolicy: RefundPolicy?
    public var expiry: ExpiryPolicy?
    public var referralBonus: Int64?
    public var backdateDays: Int?
    /// Takes effect only at the start of a year in the program's time zone (a boundary of every
    /// kind of period), or before the program has entries.
    public var tierPeriod: TierPeriod?
    public var downgrade: DowngradePolicy?
    public var pointValue: Decimal?

    public init(
        earnRate: Decimal? = nil, rounding: RoundingMode? = nil, returnWindowDays: Int? = nil, refundPolicy: RefundPolicy? = nil,
        expiry: ExpiryPolicy? = nil, referralBonus: Int64? = nil, backdateDays: Int? = nil, tierPeriod: TierPeriod? = nil,
        downgrade: DowngradePolicy? = nil, pointValue: Decimal? = nil
    ) {
        self.earnRate = earnRate
        self.rounding = rounding
        self.returnWindowDays = returnWindowDays
        self.refundPolicy = refundPolicy
        self.expiry = expiry
        self.referralBonus = referralBonus
        self.backdateDays = backdateDays
        self.tierPeriod = tierPeriod
        self.downgrade = downgrade
        self.pointValue = pointValue
    }

    public var isEmpty: Bool { self == SettingsChange() }

    /// Checks each value, naming the field and its range.
    func validate() throws(LedgerError) {
        if let earnRate {
            guard earnRate >= 0, earnRate <= 1_000_000, max(0, -earnRate.exponent) <= 6 else {
                throw .invalidInput(field: "earn rate", reason: "\(earnRate) must be between 0 and 1000000 with at most 6 decimals")
            }
        }
        if let pointValue {
            guard pointValue > 0, pointValue <= 1_000_000, max(0, -pointValue.exponent) <= 8 else {
                throw .invalidInput(
                    field: "point value", reason: "\(pointValue) must be more than 0 and at most 1000000, with at most 8 decimals (what a point is worth in the currency)")
            }
        }
        if let returnWindowDays, !(0...365).contains(returnWindowDays) {
            throw .invalidInput(field: "return window", reason: "\(returnWindowDays) days must be between 0 and 365")
        }
        if let referralBonus, referralBonus < 0 {
            throw .invalidInput(field: "referral bonus", reason: "\(referralBonus) must be 0 or more points")
        }
        if let backdateDays, !(0...3650).contains(backdateDays) {
            throw .invalidInput(field: "back-dating window", reason: "\(backdateDays) days must be between 0 and 3650")
        }
    }

    /// The change as the database's column names and values.
    var json: PostgresJSON {
        var fields: [String: String] = [:]
        var numbers: [String: String] = [:]
        if let earnRate { numbers["earn_rate"] = "\(earnRate)" }
        if let rounding { fields["rounding"] = rounding.rawValue }
        if let returnWindowDays { numbers["return_window_days"] = "\(returnWindowDays)" }
        if let refundPolicy { fields["refund_policy"] = refundPolicy.rawValue }
        if let expiry {
            fields["expiry_kind"] = expiry.kind
            numbers["expiry_count"] = expiry.count.map(String.init) ?? "null"
        }
        if let referralBonus { numbers["referral_bonus"] = "\(referralBonus)" }
        if let backdateDays { numbers["backdate_days"] = "\(backdateDays)" }
        if let tierPeriod { fields["tier_period"] = tierPeriod.rawValue }
        if let downgrade { fields["downgrade"] = downgrade.databaseValue }
        if let pointValue { numbers["point_value"] = "\(pointValue)" }
        // Keys and enumerated values are plain identifiers, and numbers are already JSON.
        let members = fields.map { "\"\($0.key)\": \"\($0.value)\"" } + numbers.map { "\"\($0.key)\": \($0.value)" }
        return PostgresJSON(text: "{" + members.sorted().joined(separator: ", ") + "}")
    }
}
