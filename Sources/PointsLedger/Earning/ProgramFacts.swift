public import Foundation

/// What a program tells its members and checkouts: its currency and zone, how points are earned
/// and what they are worth, when they expire, and its tiers with their thresholds, as in force
/// now. Nothing only an admin needs (back-dating, refund and downgrade policies).
public struct ProgramFacts: Sendable, Hashable, Encodable {
    public let program: String
    public let currency: String
    public let timeZone: String
    /// Points per major unit of the currency before a tier's multiplier, exact ("1.5").
    public let earnRate: String
    /// What one point is worth in the currency, exact ("0.01").
    public let pointValue: String
    /// Days a purchase's points stay pending before they can be spent (0: at once).
    public let returnWindowDays: Int
    /// When points expire: `never`, `days N`, `months N` or `years N`.
    public let expiry: ExpiryPolicy
    /// The period over which tiers are qualified.
    public let tierPeriod: TierPeriod
    /// From the entry tier up.
    public let tiers: [Tier]

    /// A tier and what reaches and keeps it in one period.
    public struct Tier: Sendable, Hashable, Encodable {
        public let tier: String
        public let rank: Int
        public let entryPoints: Int64
        public let entrySpend: Money?
        public let retainPoints: Int64
        public let retainSpend: Money?
        /// Multiplies purchase points, exact ("1.25").
        public let multiplier: String
        public let birthdayBonus: Int64
    }
}

extension Ledger {
    /// The program's facts as in force now (`ProgramFacts`).
    public func facts(of program: Program) async throws -> ProgramFacts {
        let settings = try await settings(of: program)
        let tiers = try await tierSettings(of: program)
        return ProgramFacts(
            program: program.name, currency: program.currency, timeZone: program.timeZone, earnRate: "\(settings.earnRate)",
            pointValue: "\(settings.pointValue)", returnWindowDays: settings.returnWindowDays, expiry: settings.expiry,
            tierPeriod: settings.tierPeriod,
            tiers: tiers.sorted { $0.rank < $1.rank }.map {
                ProgramFacts.Tier(
                    tier: $0.tier, rank: $0.rank, entryPoints: $0.entryPoints, entrySpend: $0.entrySpend, retainPoints: $0.retainPoints,
                    retainSpend: $0.retainSpend, multiplier: "\($0.multiplier)", birthdayBonus: $0.birthdayBonus)
            })
    }
}
