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
                .post, Path.holds, key: server.checkout, body: #"{"member":"alice","points":400,"expiresInSeconds":900,"key":"cart-9"}"#)
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
                .post, Path.holds, key: server.checkout, body: #"{"member":"alice","points":300,"expiresInSeconds":1,"key":"cart-1"}"#)
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
            #expect(answer.status == 400 && answer.json["field"]?.string == "occurredAt", "\(answer.text)")
            let detail = answer.json["detail"]?.string ?? ""
            #expect(detail.contains("before the program existed") && detail.contains(other.clock.text(other.createdAt)), "\(detail)")
            #expect(try await server.ledger.history(of: "dora", in: other).isEmpty)
        }
    }
}
