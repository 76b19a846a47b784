/// What a `LedgerError.notFound` names. (An unknown tier is a malformed value: its message lists
/// the program's tiers.)
public enum LedgerEntity: String, Sendable, Equatable, CaseIterable {
    case program, member, referrer, order, hold, reward, task, apiKey

    /// The word for it in a sentence.
    public var name: String { self == .apiKey ? "API key" : rawValue }
}

/// What an idempotency key already names: a journal entry, a hold (holds post no entry until
/// they are captured), or a tier grant.
public enum KeyedWrite: Sendable, Equatable, CustomStringConvertible {
    case entry(Int64)
    case hold(Int64)
    case tierGrant(Int64)
    /// A member, created with this referrer (nil: none).
    case member(String, referrer: String?)

    public var description: String {
        switch self {
        case .entry(let id): "entry \(id)"
        case .hold(let id): "hold \(id)"
        case .tierGrant(let id): "tier grant \(id)"
        case .member(let id, let referrer): "member \(TextRules.shown(id)) (referrer \(referrer.map(TextRules.shown) ?? "none"))"
        }
    }
}

/// Why the ledger's state refused an operation now: each reason a caller may match, with the
/// figures that explain it. Refusals are never remembered, so a retry may succeed once the
/// state changes (a restock, a new member day, another capture amount).
public enum Refusal: Sendable, Equatable, CustomStringConvertible {
    /// The reward has fewer units left than asked for.
    case outOfStock(reward: String, left: Int64, requested: Int)
    /// The reward is outside its active window (`window` as the program states it).
    case rewardInactive(reward: String, window: String)
    /// The reward is for `minimumTier` and above; the member holds `memberTier`.
    case tierTooLow(reward: String, member: String, memberTier: String, minimumTier: String)
    /// The member has redeemed `redeemed` of the reward's `limit` per member.
    case limitReached(reward: String, member: String, redeemed: Int64, limit: Int64, requested: Int)
    /// The hold was captured, voided or expired before; a hold resolves only once.
    case holdResolved(hold: Int64, state: HoldState, captured: Int64?)
    /// A capture of more points than the hold reserves.
    case exceedsHold(hold: Int64, requested: Int64, reserved: Int64)
    /// A refund of more than what is left of its order.
    case exceedsOrder(order: String, requested: Money, left: Money, amount: Money, refunded: Money)
    /// The journal holds movements whose entry is missing (sealing stops before them).
    case journalIncomplete(detail: String)
    /// Another session holds what this one needs (a migration, a sealing); `detail` says which.
    case busy(detail: String)

    public var description: String {
        let shown = VisibleText.escaped
        return switch self {
        case .outOfStock(let reward, let left, let requested):
            "Reward \(shown(reward)) is out of stock: \(left.grouped) left, \(requested.grouped) asked for"
        case .rewardInactive(let reward, let window):
            "Reward \(shown(reward)) is not active now (active \(shown(window)))"
        case .tierTooLow(let reward, let member, let memberTier, let minimumTier):
            "Reward \(shown(reward)) is for tier \(shown(minimumTier)) and above; member \"\(shown(member))\" is \(shown(memberTier))"
        case .limitReached(let reward, let member, let redeemed, let limit, let requested):
            "Member \"\(shown(member))\" has reached the limit of reward \(shown(reward)): redeemed \(redeemed.grouped) of \(limit.grouped), \(requested.grouped) more asked for"
        case .holdResolved(let hold, let state, let captured):
            switch state {
            case .captured: "Hold \(hold) was captured (\((captured ?? 0).grouped) points); a hold resolves only once"
            case .voided: "Hold \(hold) was voided; a hold resolves only once"
            case .expired, .open: "Hold \(hold) expired; a hold resolves only once"
            }
        case .exceedsHold(let hold, let requested, let reserved):
            "Hold \(hold) reserves \(reserved.grouped) points, fewer than the \(requested.grouped) to capture"
        case .exceedsOrder(let order, let requested, let left, let amount, let refunded):
            "A refund of \(requested.grouped) is more than what is left of order \(shown(order)): \(left.grouped) of \(amount.grouped) (\(refunded.grouped) refunded)"
        case .journalIncomplete(let detail), .busy(let detail):
            shown(detail)
        }
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
