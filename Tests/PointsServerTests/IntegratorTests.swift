import Foundation
import HTTPTypes
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// What the developer of a checkout system or a mini-program met when building on points-server
/// (issue 32), one test per finding, over real HTTP.
@Suite("points-server: what an integrator builds on")
struct IntegratorTests {
    /// Finding 2: history comes newest first, a page at a time with an opaque cursor; so do the
    /// finance's balances, every page of the same moment; a cursor of another list is refused.
    @Test func historyAndBalancesComeAPageAtATime() async throws {
        try await ServerHarness.run { server in
            for member in ["amy", "ben", "cal"] { _ = try await server.ledger.createMember(member, in: server.program) }
            for index in 1...5 {
                _ = try await server.ledger.grant(points: Int64(index), to: "amy", in: server.program, reason: "r", actor: "ops", key: "g\(index)")
            }
            var references: [String] = []
            var query = "limit=2"
            var pages = 0
            while true {
                let page = try await server.call(.get, Path.history, ["member": "amy"], query: query, key: server.app)
                #expect(page.status == 200 && page.json.items.count <= 2, "\(page.text)")
                references += page.json.items.compactMap { $0["reference"]?.string }
                pages += 1
                guard let next = page.json["nextCursor"]?.string else { break }
                query = "limit=2&cursor=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next)
            }
            #expect(references == ["g5", "g4", "g3", "g2", "g1"] && pages == 3)
            let first = try await server.call(.get, Path.history, ["member": "amy"], query: "limit=1", key: server.app)
            #expect(first.json.items.first?["availableChange"]?.int == 5 && first.json.items.first?["request"]?["points"]?.int == 5, "\(first.text)")
            let foreign = try await server.call(.get, Path.history, ["member": "amy"], query: "cursor=bm90LWEtY3Vyc29y", key: server.app)
            #expect(foreign.status == 422 && foreign.json["field"]?.string == "cursor", "\(foreign.text)")

            let balances = try await server.call(.get, Path.balances, query: "limit=2", key: server.finance)
            #expect(balances.json.items.compactMap { $0["member"]?.string } == ["amy", "ben"], "\(balances.text)")
            let cursor = try #require(balances.json["nextCursor"]?.string)
            // Written after the first page: the next page is still of the first page's moment.
            _ = try await server.ledger.grant(points: 9, to: "cal", in: server.program, reason: "r", actor: "ops", key: "late")
            let rest = try await server.call(.get, Path.balances, query: "limit=2&cursor=\(cursor)", key: server.finance)
            #expect(rest.json.items.compactMap { $0["member"]?.string } == ["cal"] && rest.json["nextCursor"] == nil, "\(rest.text)")
            #expect(rest.json.items.first?["available"]?.int == 0, "\(rest.text)")
            let otherMoment = try await server.call(.get, Path.balances, query: "asOf=2026-01-01&cursor=\(cursor)", key: server.finance)
            #expect(otherMoment.status == 422 && otherMoment.json["field"]?.string == "asOf", "\(otherMoment.text)")
        }
    }

    /// Finding 6: the routes a checkout and an app look for: an order and what is still
    /// refundable; a member's purchases, holds and redemptions; updating a member's birthday;
    /// the program's facts and its reward catalog.
    @Test func theRoutesACheckoutAndAnAppLookFor() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("王小明", in: server.program)
            _ = try await server.ledger.grant(points: 1_000, to: "王小明", in: server.program, reason: "welcome", actor: "ops", key: "w1")
            try await server.ledger.setReward("mug", in: server.program, RewardChange(name: "Mug", cost: 100, stock: 5), actor: "ops")
            _ = try await server.ledger.changeTier("advanced", in: server.program, TierChange(entryPoints: 800, multiplier: Decimal(string: "1.5")!), actor: "ops")
            let hold = try await server.call(
                .post, Path.holds, key: server.checkout, body: #"{"member":"王小明","points":200,"expiresInSeconds":900}"#, idempotencyKey: "cart-1")
            _ = try await server.call(.post, Path.capture, ["hold": String(hold.json["holdID"]?.int ?? 0)], key: server.checkout, body: #"{"order":"订单-1"}"#)
            _ = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"王小明","order":"订单-1","amount":"120.00","pointsPaid":"2.00"}"#)
            _ = try await server.call(.post, Path.refunds, ["order": "订单-1"], key: server.checkout, body: #"{"refund":"退-1","amount":"20.00"}"#)
            _ = try await server.call(.post, Path.redemptions, ["member": "王小明"], key: server.app, body: #"{"reward":"mug"}"#, idempotencyKey: "r-1")

            let order = try await server.call(.get, Path.order, ["order": "订单-1"], key: server.checkout)
            #expect(order.status == 200 && order.json["refundable"]?.string == "100.00" && order.json["pointsCaptured"]?.int == 200, "\(order.text)")
            #expect(order.json["refunds"]?.items.first?["refund"]?.string == "退-1" && order.json["pointsReturned"]?.int == 33, "\(order.text)")
            #expect(try await server.call(.get, Path.order, ["order": "nope"], key: server.checkout).json["entity"]?.string == "order")
            let purchases = try await server.call(.get, Path.memberPurchases, ["member": "王小明"], key: server.app)
            #expect(purchases.status == 200 && purchases.json.items.first?["order"]?.string == "订单-1", "\(purchases.text)")
            let holds = try await server.call(.get, Path.memberHolds, ["member": "王小明"], key: server.checkout)
            #expect(holds.json.items.first?["state"]?.string == "captured" && holds.json.items.first?["order"]?.string == "订单-1", "\(holds.text)")
            let redemptions = try await server.call(.get, Path.redemptions, ["member": "王小明"], key: server.app)
            #expect(redemptions.json.items.first?["reward"]?.string == "mug" && redemptions.json.items.first?["key"]?.string == "r-1", "\(redemptions.text)")
            let updated = try await server.call(.patch, Path.member, ["member": "王小明"], key: server.app, body: #"{"birthday":"05-17"}"#)
            #expect(updated.status == 200 && updated.json["birthday"]?.string == "05-17", "\(updated.text)")
            let badDay = try await server.call(.patch, Path.member, ["member": "王小明"], key: server.app, body: #"{"birthday":"02-30"}"#)
            #expect(badDay.status == 422 && badDay.json["field"]?.string == "birthday", "\(badDay.text)")
            #expect(try await server.call(.patch, Path.member, ["member": "王小明"], key: server.checkout, body: #"{"birthday":"05-17"}"#).status == 403)
            let facts = try await server.call(.get, Path.program, key: server.app)
            #expect(facts.status == 200 && facts.json["currency"]?.string == "CNY" && facts.json["pointValue"]?.string == "0.01", "\(facts.text)")
            let advanced = facts.json["tiers"]?.items.first { $0["tier"]?.string == "advanced" }
            #expect(advanced?["entryPoints"]?.int == 800 && advanced?["multiplier"]?.string == "1.5", "\(facts.text)")
            let catalog = try await server.call(.get, Path.catalog, key: server.checkout)
            #expect(catalog.json.items.first?["reward"]?.string == "mug" && catalog.json.items.first?["stock"]?.int == 4, "\(catalog.text)")
            #expect(try await server.call(.get, Path.program, key: server.finance).status == 403)
        }
    }

    /// Finding 8: a replay answers exactly what the original answered, after other writes have
    /// moved the member's balances, the reward's stock and the task's cap: every field but
    /// `outcome`. An existing member with another referrer is 409.
    @Test func aReplayAnswersExactlyWhatTheOriginalAnswered() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.changeSettings(of: server.program, SettingsChange(referralBonus: 50), actor: "ops")
            _ = try await server.ledger.changeTier("advanced", in: server.program, TierChange(entryPoints: 100), actor: "ops")
            try await server.ledger.setReward("mug", in: server.program, RewardChange(name: "Mug", cost: 10, stock: 5), actor: "ops")
            let writes: [(String, [String: String], String, String, String?)] = [
                (Path.members, [:], server.app, #"{"member":"ann"}"#, nil),
                (Path.members, [:], server.app, #"{"member":"bo","referrer":"ann"}"#, nil),
                (Path.purchases, [:], server.checkout, #"{"member":"bo","order":"B-1","amount":"150.00"}"#, nil),
                (Path.holds, [:], server.checkout, #"{"member":"bo","points":20,"expiresInSeconds":900}"#, "h-1"),
                (Path.redemptions, ["member": "bo"], server.app, #"{"reward":"mug"}"#, "r-1"),
                (Path.completions, ["member": "bo", "task": "post"], server.app, #"{"ref":"p-1"}"#, nil),
                (Path.refunds, ["order": "B-1"], server.checkout, #"{"refund":"R-1","amount":"10.00"}"#, nil),
            ]
            var originals: [JSON] = []
            for (path, values, key, body, idempotencyKey) in writes {
                let answer = try await server.call(.post, path, values, key: key, body: body, idempotencyKey: idempotencyKey)
                #expect(answer.status == 201, "\(path): \(answer.text)")
                originals.append(answer.json)
            }
            #expect(originals[2]["referralEntryID"]?.int != nil && originals[2]["upgradedTo"]?.string == "advanced", "\(originals[2])")
            let capture = try await server.call(.post, Path.capture, ["hold": String(originals[3]["holdID"]?.int ?? 0)], key: server.checkout)
            // Everything moves on: points, stock, the day's cap of posts.
            _ = try await server.ledger.grant(points: 1_000, to: "bo", in: server.program, reason: "moves", actor: "ops", key: "g-moves")
            _ = try await server.call(.post, Path.redemptions, ["member": "bo"], key: server.app, body: #"{"reward":"mug"}"#, idempotencyKey: "r-2")
            for ref in ["p-2", "p-3"] {
                _ = try await server.call(.post, Path.completions, ["member": "bo", "task": "post"], key: server.app, body: #"{"ref":"\#(ref)"}"#)
            }
            for ((path, values, key, body, idempotencyKey), original) in zip(writes, originals) {
                let replay = try await server.call(.post, path, values, key: key, body: body, idempotencyKey: idempotencyKey)
                #expect(replay.status == 201 && replay.headers[.init("Idempotent-Replayed")!] == "true", "\(path): \(replay.text)")
                #expect(Self.withoutOutcome(replay.json) == Self.withoutOutcome(original), "\(path): \(replay.text) vs \(original)")
            }
            let captureAgain = try await server.call(.post, Path.capture, ["hold": String(originals[3]["holdID"]?.int ?? 0)], key: server.checkout)
            #expect(Self.withoutOutcome(captureAgain.json) == Self.withoutOutcome(capture.json), "\(captureAgain.text) vs \(capture.text)")
            let otherReferrer = try await server.call(.post, Path.members, key: server.app, body: #"{"member":"bo","referrer":"bo2"}"#)
            #expect(otherReferrer.status == 404, "\(otherReferrer.text)")
            _ = try await server.ledger.createMember("cy", in: server.program)
            let conflict = try await server.call(.post, Path.members, key: server.app, body: #"{"member":"bo","referrer":"cy"}"#)
            #expect(conflict.status == 409 && conflict.json["field"]?.string == "referrer", "\(conflict.text)")
        }
    }

    private static func withoutOutcome(_ json: JSON) -> String {
        guard case .object(var object) = json else { return "\(json)" }
        object["outcome"] = nil
        return object.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// Finding 3: a task's ref is unique per member and task, so two members share an article.
    @Test func twoMembersShareTheSameArticle() async throws {
        try await ServerHarness.run { server in
            for member in ["bob", "carol"] { _ = try await server.ledger.createMember(member, in: server.program) }
            let bob = try await server.call(
                .post, Path.completions, ["member": "bob", "task": "share"], key: server.app, body: #"{"ref":"article-777"}"#)
            let carol = try await server.call(
                .post, Path.completions, ["member": "carol", "task": "share"], key: server.app, body: #"{"ref":"article-777"}"#)
            #expect(bob.status == 201 && bob.json["outcome"]?.string == "posted", "\(bob.text)")
            #expect(carol.status == 201 && carol.json["outcome"]?.string == "posted" && carol.json["points"]?.int == 5, "\(carol.text)")
            #expect(carol.json["entryID"]?.int != bob.json["entryID"]?.int)
            let again = try await server.call(
                .post, Path.completions, ["member": "carol", "task": "share"], key: server.app, body: #"{"ref":"article-777"}"#)
            #expect(again.status == 201 && again.json["outcome"]?.string == "replayed" && again.json["entryID"]?.int == carol.json["entryID"]?.int)
        }
    }

    /// Finding 4: points paid on an order (a hold captured for it) come back with its refund.
    @Test func pointsPaidOnAnOrderComeBackWithItsRefund() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            _ = try await server.ledger.grant(points: 1_000, to: "alice", in: server.program, reason: "welcome", actor: "ops", key: "w1")
            let hold = try await server.call(
                .post, Path.holds, key: server.checkout, body: #"{"member":"alice","points":400,"expiresInSeconds":900}"#, idempotencyKey: "cart-9")
            let captured = try await server.call(
                .post, Path.capture, ["hold": String(hold.json["holdID"]?.int ?? 0)], key: server.checkout, body: #"{"order":"A-9"}"#)
            #expect(captured.status == 200 && captured.json["order"]?.string == "A-9", "\(captured.text)")
            let purchase = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"alice","order":"A-9","amount":"100.00","pointsPaid":"4.00"}"#)
            #expect(purchase.status == 201 && purchase.json["points"]?.int == 96, "\(purchase.text)")
            let half = try await server.call(
                .post, Path.refunds, ["order": "A-9"], key: server.checkout, body: #"{"refund":"R-9a","amount":"50.00"}"#)
            #expect(half.status == 201 && half.json["pointsReturned"]?.int == 200 && half.json["clawedBack"]?.int == 48, "\(half.text)")
            #expect(half.json["refunded"]?.string == "50.00" && half.json["orderAmount"]?.string == "100.00", "\(half.text)")
            let rest = try await server.call(
                .post, Path.refunds, ["order": "A-9"], key: server.checkout, body: #"{"refund":"R-9b","amount":"50.00"}"#)
            #expect(rest.status == 201 && rest.json["pointsReturned"]?.int == 200, "\(rest.text)")
            #expect(try await server.ledger.member("alice", in: server.program).available == 1_000)
        }
    }

    /// Finding 5: a hold past its expiry reserves nothing, before any job has run.
    @Test func anExpiredHoldReservesNothing() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            _ = try await server.ledger.grant(points: 500, to: "alice", in: server.program, reason: "welcome", actor: "ops", key: "w1")
            try await server.ledger.setReward("mug", in: server.program, RewardChange(name: "Mug", cost: 400, stock: 5), actor: "ops")
            let hold = try await server.call(
                .post, Path.holds, key: server.checkout, body: #"{"member":"alice","points":300,"expiresInSeconds":1}"#, idempotencyKey: "cart-1")
            #expect(hold.status == 201, "\(hold.text)")
            let held = try await server.call(.get, Path.member, ["member": "alice"], key: server.app)
            #expect(held.json["held"]?.int == 300 && held.json["spendable"]?.int == 200, "\(held.text)")
            try await Task.sleep(for: .milliseconds(1_200))
            let member = try await server.call(.get, Path.member, ["member": "alice"], key: server.app)
            #expect(member.json["held"]?.int == 0 && member.json["spendable"]?.int == 500, "\(member.text)")
            let offers = try await server.call(.get, Path.rewards, ["member": "alice"], key: server.app)
            #expect(offers.json.items.first?["standing"]?.string == "redeemable", "\(offers.text)")
        }
    }

    /// Finding 10: a write dated before the program existed (and before any settings an admin
    /// set) is refused with a sentence naming the first moment allowed, not posted under defaults.
    @Test func aWriteBeforeTheProgramExistedIsRefused() async throws {
        try await ServerHarness.run { server in
            // Program `other` was created just now, with no settings from earlier.
            let other = try #require(try await server.ledger.programs().first { $0.name == "other" })
            _ = try await server.ledger.createMember("dora", in: other)
            let yesterday = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400))
            let answer = try await server.call(
                .post, Path.purchases, ["program": "other"], key: server.otherProgram,
                body: #"{"member":"dora","order":"O-1","amount":"10.00","occurredAt":"\#(yesterday)"}"#)
            #expect(answer.status == 422 && answer.json["field"]?.string == "occurredAt", "\(answer.text)")
            let detail = answer.json["detail"]?.string ?? ""
            #expect(detail.contains("before the program existed") && detail.contains(other.clock.text(other.createdAt)), "\(detail)")
            #expect(try await server.ledger.history(of: "dora", in: other).items.isEmpty)
        }
    }
}
