import Foundation
import Hummingbird
import PointsLedger
import Postgres

/// A route of `/v1`: its method, its path (as /openapi.json spells it), the key roles that may
/// call it, the query parameters it takes, and what it does. Every route acts in the program its
/// path names, which must be the key's.
struct Route: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let roles: [APIRole]
    var query: [String] = []
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
            let body = try call.body(["member", "order", "amount", "pointsPaid", "occurredAt"])
            let exponent = call.program.currencyExponent
            let request = PurchaseRequest(
                member: try body.string(required: "member"), order: try body.string(required: "order"),
                amount: try Money.parse(try body.string(required: "amount"), exponent: exponent, field: "amount"),
                pointsPaid: try body.string("pointsPaid").map { try Money.parse($0, exponent: exponent, field: "pointsPaid") },
                occurredAt: try await call.time(body.string("occurredAt"), field: "occurredAt", ledger: ledger))
            let result = try await ledger.purchase(request, in: call.program)
            return API.Reply(.created, result, replayed: result.outcome == .replayed)
        },
        Route(method: .post, path: program + "/purchases/{order}/refunds", roles: [.checkout]) { ledger, call in
            let body = try call.body(["refund", "amount", "occurredAt"])
            let request = RefundRequest(
                order: call.parameter("order"), refund: try body.string(required: "refund"),
                amount: try Money.parse(try body.string(required: "amount"), exponent: call.program.currencyExponent, field: "amount"),
                occurredAt: try await call.time(body.string("occurredAt"), field: "occurredAt", ledger: ledger))
            let result = try await ledger.refund(request, in: call.program)
            return API.Reply(.created, result, replayed: result.outcome == .replayed)
        },
        Route(method: .post, path: program + "/holds", roles: [.checkout]) { ledger, call in
            let body = try call.body(["member", "points", "expiresInSeconds"])
            let key = try call.idempotencyKey()
            let hold = try await ledger.createHold(
                points: try body.integer(required: "points", in: API.points), member: try body.string(required: "member"),
                expiresIn: .seconds(try body.integer(required: "expiresInSeconds", in: 1...API.holdSecondsLimit)), in: call.program, key: key)
            return API.Reply(.created, hold, replayed: hold.outcome == .replayed)
        },
        Route(method: .post, path: program + "/holds/{hold}/capture", roles: [.checkout]) { ledger, call in
            let body = try call.body(["points", "order"], optional: true)
            let resolution = try await ledger.captureHold(
                try holdID(call), points: try body.integer("points", in: API.points), order: try body.string("order"), in: call.program)
            return API.Reply(.ok, resolution, replayed: resolution.outcome == .replayed)
        },
        Route(method: .post, path: program + "/holds/{hold}/void", roles: [.checkout]) { ledger, call in
            _ = try call.body([], optional: true)
            let resolution = try await ledger.voidHold(try holdID(call), in: call.program)
            return API.Reply(.ok, resolution, replayed: resolution.outcome == .replayed)
        },
        Route(method: .post, path: member + "/redemptions", roles: [.checkout, .app]) { ledger, call in
            let body = try call.body(["reward", "quantity", "points", "reason"])
            let key = try call.idempotencyKey()
            let member = call.parameter("member")
            let result: RedemptionResult
            switch (try body.string("reward"), try body.integer("points", in: API.points)) {
            case (let reward?, nil):
                if try body.string("reason") != nil {
                    throw Problem.malformed(field: "reason", "A reward's redemption takes no reason; a reason goes with points spent.")
                }
                let quantity = try body.integer("quantity", in: 1...1_000_000) ?? 1
                result = try await ledger.redeem(reward, quantity: Int(quantity), member: member, in: call.program, key: key)
            case (nil, let points?):
                if try body.integer("quantity", in: 1...1_000_000) != nil {
                    throw Problem.malformed(field: "quantity", "A quantity goes with a reward; points spent for a reason take none.")
                }
                // Points spent for a reason are a payment: a checkout's, never a member app's.
                guard call.key.role == .checkout else {
                    throw Problem.role(call.key.role, allowed: [.checkout], doing: "spend points for a reason (it may redeem rewards)")
                }
                guard let reason = try body.string("reason") else {
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
        Route(method: .get, path: member + "/history", roles: [.checkout, .app], query: API.pageQuery) { ledger, call in
            API.Reply(.ok, try await ledger.history(of: call.parameter("member"), in: call.program, page: try call.page()))
        },
        Route(method: .get, path: member + "/purchases", roles: [.checkout, .app], query: API.pageQuery) { ledger, call in
            API.Reply(.ok, try await ledger.purchases(of: call.parameter("member"), in: call.program, page: try call.page()))
        },
        Route(method: .get, path: member + "/holds", roles: [.checkout, .app], query: API.pageQuery) { ledger, call in
            API.Reply(.ok, try await ledger.holds(of: call.parameter("member"), in: call.program, page: try call.page()))
        },
        Route(method: .get, path: member + "/redemptions", roles: [.checkout, .app], query: API.pageQuery) { ledger, call in
            API.Reply(.ok, try await ledger.redemptions(of: call.parameter("member"), in: call.program, page: try call.page()))
        },
        Route(method: .get, path: program + "/purchases/{order}", roles: [.checkout]) { ledger, call in
            API.Reply(.ok, try await ledger.order(call.parameter("order"), in: call.program))
        },
        Route(method: .get, path: program, roles: [.checkout, .app]) { ledger, call in
            API.Reply(.ok, try await ledger.facts(of: call.program))
        },
        Route(method: .get, path: program + "/rewards", roles: [.checkout, .app]) { ledger, call in
            API.Reply(.ok, Items(items: try await ledger.rewards(of: call.program)))
        },
    ]

    private static func holdID(_ call: API.Call) throws(Problem) -> Int64 {
        let text = call.parameter("hold")
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let id = Int64(text), id > 0 else {
            throw Problem.malformed(field: "hold", "A hold is named by the number its creation answered with.")
        }
        return id
    }

    // MARK: Member apps

    static let memberApps: [Route] = [
        Route(method: .post, path: program + "/members", roles: [.app]) { ledger, call in
            let body = try call.body(["member", "referrer"])
            let creation = try await ledger.createMember(try body.string(required: "member"), referrer: try body.string("referrer"), in: call.program)
            // What creation answers never changes, so that a replay answers the same: the
            // member's balances and tier are GET /members/{member}'s.
            let member = creation.member
            let created = MemberCreated(member: member.member, referrer: member.referrer, createdAt: member.createdAt)
            switch creation {
            case .created: return API.Reply(.created, created)
            case .existed: return API.Reply(.created, created, replayed: true)
            }
        },
        Route(method: .patch, path: member, roles: [.app]) { ledger, call in
            let body = try call.body(["birthday"])
            let birthday = try Birthday.parse(try body.string(required: "birthday"))
            try await ledger.setBirthday(birthday, of: call.parameter("member"), in: call.program)
            return API.Reply(.ok, try await ledger.member(call.parameter("member"), in: call.program))
        },
        Route(method: .post, path: member + "/tasks/{task}/completions", roles: [.app]) { ledger, call in
            let body = try call.body(["ref", "occurredAt"], optional: true)
            let request = TaskCompletionRequest(
                task: call.parameter("task"), member: call.parameter("member"), ref: try body.string("ref"),
                occurredAt: try await call.time(body.string("occurredAt"), field: "occurredAt", ledger: ledger))
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
        Route(method: .get, path: program + "/reports/trial-balance", roles: [.finance], query: ["asOf"]) { ledger, call in
            API.Reply(.ok, try await ledger.trialBalance(call.program, asOf: try await call.time("asOf", ledger: ledger)))
        },
        Route(method: .get, path: program + "/reports/balances", roles: [.finance], query: ["asOf"] + API.pageQuery) { ledger, call in
            API.Reply(.ok, try await ledger.memberBalances(call.program, asOf: try await call.time("asOf", ledger: ledger), page: try call.page()))
        },
        Route(method: .get, path: program + "/reports/liability", roles: [.finance], query: ["asOf"]) { ledger, call in
            API.Reply(.ok, try await ledger.liability(call.program, asOf: try await call.time("asOf", ledger: ledger) ?? .now))
        },
        Route(method: .get, path: program + "/reports/breakage", roles: [.finance], query: ["from", "to"]) { ledger, call in
            guard let from = try await call.time("from", ledger: ledger) else {
                throw Problem.malformed(field: "from", "The breakage report needs from (and optionally to), like ?from=2026-01-01&to=2027-01-01.")
            }
            let to = try await call.time("to", ledger: ledger) ?? .now
            return API.Reply(.ok, try await ledger.breakage(call.program, from: from, to: to))
        },
        Route(method: .get, path: program + "/journal", roles: [.finance], query: ["from", "to", "format"]) { ledger, call in
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

/// What creating a member answers, the same on every replay.
struct MemberCreated: Encodable, Sendable {
    let member: String
    let referrer: String?
    let createdAt: Timestamp
}
