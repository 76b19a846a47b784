import Foundation
import Hummingbird
import PointsLedger
import Postgres

/// A route of `/v1`: its method, its path (as /openapi.json spells it), the key roles that may
/// call it, and what it does. Every route acts in the program its path names, which must be the
/// key's.
struct Route: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let roles: [APIRole]
    let handler: @Sendable (Ledger, API.Call) async throws -> API.Reply
}

extension Route {
    private static let program = "/v1/programs/{program}"
    private static let member = program + "/members/{member}"

    /// Every route of the API, for checkout systems, member apps and finance.
    static let all: [Route] = checkout + memberApps + finance

    // MARK: Checkout systems

    static let checkout: [Route] = [
        Route(method: .post, path: program + "/purchases", roles: [.checkout]) { ledger, call in
            let body = try call.decode(PurchaseBody.self)
            let exponent = call.program.currencyExponent
            let request = PurchaseRequest(
                member: body.member, order: body.order, amount: try Money.parse(body.amount, exponent: exponent, field: "amount"),
                pointsPaid: try body.pointsPaid.map { try Money.parse($0, exponent: exponent, field: "pointsPaid") },
                occurredAt: try await body.occurredAt.asyncMap { try await ledger.instant($0, in: call.program, field: "occurredAt") })
            let result = try await ledger.purchase(request, in: call.program)
            return API.Reply(.created, result, replayed: result.outcome == .replayed)
        },
        Route(method: .post, path: program + "/purchases/{order}/refunds", roles: [.checkout]) { ledger, call in
            let body = try call.decode(RefundBody.self)
            let request = RefundRequest(
                order: call.parameter("order"), refund: body.refund,
                amount: try Money.parse(body.amount, exponent: call.program.currencyExponent, field: "amount"),
                occurredAt: try await body.occurredAt.asyncMap { try await ledger.instant($0, in: call.program, field: "occurredAt") })
            let result = try await ledger.refund(request, in: call.program)
            return API.Reply(.created, result, replayed: result.outcome == .replayed)
        },
        Route(method: .post, path: program + "/holds", roles: [.checkout]) { ledger, call in
            let body = try call.decode(HoldBody.self)
            let key = try call.idempotencyKey(body: body.key)
            let hold = try await ledger.createHold(
                points: body.points, member: body.member, expiresIn: .seconds(body.expiresInSeconds), in: call.program, key: key)
            return API.Reply(.created, hold, replayed: hold.outcome == .replayed)
        },
        Route(method: .post, path: program + "/holds/{hold}/capture", roles: [.checkout]) { ledger, call in
            let points = call.body.map { $0.readableBytes > 0 } == true ? try call.decode(CaptureBody.self).points : nil
            let resolution = try await ledger.captureHold(try holdID(call), points: points, in: call.program)
            return API.Reply(.ok, resolution, replayed: resolution.outcome == .replayed)
        },
        Route(method: .post, path: program + "/holds/{hold}/void", roles: [.checkout]) { ledger, call in
            let resolution = try await ledger.voidHold(try holdID(call), in: call.program)
            return API.Reply(.ok, resolution, replayed: resolution.outcome == .replayed)
        },
        Route(method: .post, path: member + "/redemptions", roles: [.checkout, .app]) { ledger, call in
            let body = try call.decode(RedemptionBody.self)
            let key = try call.idempotencyKey(body: body.key)
            let member = call.parameter("member")
            let result: RedemptionResult
            switch (body.reward, body.points) {
            case (let reward?, nil):
                result = try await ledger.redeem(reward, quantity: body.quantity ?? 1, member: member, in: call.program, key: key)
            case (nil, let points?):
                // Points spent for a reason are a payment: a checkout's, never a member app's.
                guard call.key.role == .checkout else {
                    throw Problem.role(call.key.role, allowed: [.checkout], doing: "spend points for a reason (it may redeem rewards)")
                }
                guard let reason = body.reason else {
                    throw Problem.malformed(field: "reason", "A redemption of points needs a reason (\"parking\", \"gift card\").")
                }
                result = try await ledger.spend(points: points, reason: reason, member: member, in: call.program, key: key)
            default:
                throw Problem.malformed(field: "reward", "A redemption names a reward (and a quantity), or points and a reason: one of the two.")
            }
            return API.Reply(.created, result, replayed: result.outcome == .replayed)
        },
        Route(method: .get, path: member, roles: [.checkout, .app]) { ledger, call in
            API.Reply(.ok, try await ledger.member(call.parameter("member"), in: call.program))
        },
        Route(method: .get, path: member + "/tier", roles: [.checkout, .app]) { ledger, call in
            API.Reply(.ok, try await ledger.tierStanding(of: call.parameter("member"), in: call.program))
        },
        Route(method: .get, path: member + "/lots", roles: [.checkout, .app]) { ledger, call in
            API.Reply(.ok, Items(items: try await ledger.lots(of: call.parameter("member"), in: call.program)))
        },
        Route(method: .get, path: member + "/history", roles: [.checkout, .app]) { ledger, call in
            let limit = try call.query["limit"].map { text throws(Problem) in
                guard let limit = Int(text), (1...1_000).contains(limit) else {
                    throw Problem.malformed(field: "limit", "limit must be a whole number from 1 to 1000, not \"\(VisibleText.escaped(text))\".")
                }
                return limit
            } ?? 100
            // The history names a member who exists: an unknown one is 404, not an empty list.
            _ = try await ledger.member(call.parameter("member"), in: call.program)
            return API.Reply(.ok, Items(items: try await ledger.history(of: call.parameter("member"), in: call.program, limit: limit)))
        },
    ]

    private static func holdID(_ call: API.Call) throws(Problem) -> Int64 {
        guard let id = Int64(call.parameter("hold")), id > 0 else {
            throw Problem.malformed(field: "hold", "A hold is named by the number its creation answered with.")
        }
        return id
    }

    // MARK: Member apps

    static let memberApps: [Route] = [
        Route(method: .post, path: program + "/members", roles: [.app]) { ledger, call in
            let body = try call.decode(MemberBody.self)
            let creation = try await ledger.createMember(body.member, referrer: body.referrer, in: call.program)
            switch creation {
            case .created(let member): return API.Reply(.created, member)
            case .existed(let member): return API.Reply(.created, member, replayed: true)
            }
        },
        Route(method: .post, path: member + "/tasks/{task}/completions", roles: [.app]) { ledger, call in
            let body = call.body.map { $0.readableBytes > 0 } == true ? try call.decode(CompletionBody.self) : CompletionBody()
            let request = TaskCompletionRequest(
                task: call.parameter("task"), member: call.parameter("member"), ref: body.ref,
                occurredAt: try await body.occurredAt.asyncMap { try await ledger.instant($0, in: call.program, field: "occurredAt") })
            let result = try await ledger.completeTask(request, in: call.program)
            return API.Reply(.created, result, replayed: result.outcome == .replayed)
        },
        Route(method: .get, path: member + "/tasks", roles: [.app]) { ledger, call in
            _ = try await ledger.member(call.parameter("member"), in: call.program)
            return API.Reply(.ok, Items(items: try await ledger.taskProgress(of: call.parameter("member"), in: call.program)))
        },
        Route(method: .get, path: member + "/streak", roles: [.app]) { ledger, call in
            _ = try await ledger.member(call.parameter("member"), in: call.program)
            return API.Reply(.ok, try await ledger.checkinStreak(of: call.parameter("member"), in: call.program))
        },
        Route(method: .get, path: member + "/rewards", roles: [.app, .checkout]) { ledger, call in
            API.Reply(.ok, Items(items: try await ledger.rewardOffers(to: call.parameter("member"), in: call.program)))
        },
    ]

    // MARK: Finance (read only)

    static let finance: [Route] = [
        Route(method: .get, path: program + "/reports/trial-balance", roles: [.finance]) { ledger, call in
            API.Reply(.ok, try await ledger.trialBalance(call.program, asOf: try await call.time("asOf", ledger: ledger)))
        },
        Route(method: .get, path: program + "/reports/balances", roles: [.finance]) { ledger, call in
            let asOf = try await call.time("asOf", ledger: ledger) ?? .now
            return API.Reply(.ok, Items(items: try await ledger.memberBalances(call.program, asOf: asOf)))
        },
        Route(method: .get, path: program + "/reports/liability", roles: [.finance]) { ledger, call in
            API.Reply(.ok, try await ledger.liability(call.program, asOf: try await call.time("asOf", ledger: ledger) ?? .now))
        },
        Route(method: .get, path: program + "/reports/breakage", roles: [.finance]) { ledger, call in
            guard let from = try await call.time("from", ledger: ledger) else {
                throw Problem.malformed(field: "from", "The breakage report needs from (and optionally to), like ?from=2026-01-01&to=2027-01-01.")
            }
            let to = try await call.time("to", ledger: ledger) ?? .now
            return API.Reply(.ok, try await ledger.breakage(call.program, from: from, to: to))
        },
        Route(method: .get, path: program + "/journal", roles: [.finance]) { ledger, call in
            let format = try call.query["format"].map { text throws(Problem) in
                guard let format = JournalFormat(rawValue: text) else {
                    throw Problem.malformed(field: "format", "format is jsonl, csv or hledger, not \"\(VisibleText.escaped(text))\".")
                }
                return format
            } ?? .jsonl
            guard let from = try await call.time("from", ledger: ledger) else {
                throw Problem.malformed(field: "from", "The journal export needs from (and optionally to), like ?from=2026-11-01&to=2026-12-01.")
            }
            let to = try await call.time("to", ledger: ledger) ?? .now
            try ledger.checkPeriod(from: from, to: to, in: call.program)
            return try await JournalStream.reply(ledger: ledger, program: call.program, from: from, to: to, format: format)
        },
    ]
}

/// A list answered as `{"items": [...]}`, so that a list can gain fields (a cursor) later.
struct Items<Item: Encodable & Sendable>: Encodable, Sendable {
    let items: [Item]
}

// MARK: Request bodies

struct PurchaseBody: Decodable {
    let member: String
    let order: String
    /// The order's amount as a decimal string in the program's currency ("128.50"): never a
    /// binary floating-point number.
    let amount: String
    let pointsPaid: String?
    let occurredAt: String?
}

struct RefundBody: Decodable {
    let refund: String
    let amount: String
    let occurredAt: String?
}

struct HoldBody: Decodable {
    let member: String
    let points: Int64
    let expiresInSeconds: Int64
    let key: String?
}

struct CaptureBody: Decodable {
    let points: Int64?
}

struct RedemptionBody: Decodable {
    let reward: String?
    let quantity: Int?
    let points: Int64?
    let reason: String?
    let key: String?
}

struct MemberBody: Decodable {
    let member: String
    let referrer: String?
}

struct CompletionBody: Decodable {
    var ref: String? = nil
    var occurredAt: String? = nil
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async throws -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
