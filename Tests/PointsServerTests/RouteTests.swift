import Foundation
import HTTPTypes
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// Every route over real HTTP, as a checkout system, a member app and finance call it; every
/// answer is checked against /openapi.json by the harness.
@Suite("points-server: routes")
struct RouteTests {
    @Test func aCheckoutSystemPostsRefundsHoldsAndRedeems() async throws {
        try await ServerHarness.run { server in
            let created = try await server.call(.post, Path.members, key: server.app, body: #"{"member":"alice"}"#)
            #expect(created.status == 201 && created.json["member"]?.string == "alice" && created.json["createdAt"] != nil, "\(created.text)")

            let purchase = #"{"member":"alice","order":"A-1","amount":"128.50"}"#
            let posted = try await server.call(.post, Path.purchases, key: server.checkout, body: purchase)
            #expect(posted.status == 201 && posted.json["outcome"]?.string == "posted" && posted.json["points"]?.int == 128, "\(posted.text)")
            #expect(posted.headers[.init("Idempotent-Replayed")!] == nil)
            // A retry answers with the original, the same status, and says it is a replay.
            let replay = try await server.call(.post, Path.purchases, key: server.checkout, body: purchase)
            #expect(replay.status == 201 && replay.json["outcome"]?.string == "replayed")
            #expect(replay.json["entryID"]?.int == posted.json["entryID"]?.int && replay.json["points"]?.int == 128)
            #expect(replay.headers[.init("Idempotent-Replayed")!] == "true")
            let conflict = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"alice","order":"A-1","amount":"99.00"}"#)
            #expect(conflict.status == 409 && conflict.type == "idempotency-conflict", "\(conflict.text)")
            #expect(conflict.json["existing"]?.string == "entry \(posted.json["entryID"]?.int ?? 0)")

            let refund = try await server.call(
                .post, Path.refunds, ["order": "A-1"], key: server.checkout, body: #"{"refund":"R-1","amount":"28.50"}"#)
            #expect(refund.status == 201 && refund.json["clawedBack"]?.int == 28, "\(refund.text)")
            let refundAgain = try await server.call(
                .post, Path.refunds, ["order": "A-1"], key: server.checkout, body: #"{"refund":"R-1","amount":"28.50"}"#)
            #expect(refundAgain.status == 201 && refundAgain.json["outcome"]?.string == "replayed")
            for field in ["entryID", "clawedBack", "fromPending", "fromAvailable", "writtenOff"] {
                #expect(refundAgain.json[field]?.int == refund.json[field]?.int, "\(field): \(refundAgain.text) vs \(refund.text)")
            }
            let tooMuch = try await server.call(
                .post, Path.refunds, ["order": "A-1"], key: server.checkout, body: #"{"refund":"R-2","amount":"500.00"}"#)
            #expect(tooMuch.status == 422 && tooMuch.type == "refused" && tooMuch.json["check"]?.string == "exceeds_order", "\(tooMuch.text)")
            let noOrder = try await server.call(
                .post, Path.refunds, ["order": "A-404"], key: server.checkout, body: #"{"refund":"R-3","amount":"1.00"}"#)
            #expect(noOrder.status == 404 && noOrder.json["entity"]?.string == "order")

            // Points to spend: a grant by the admin (purchases are pending inside the return window, if any).
            _ = try await server.ledger.grant(points: 1_000, to: "alice", in: server.program, reason: "welcome", actor: "ops", key: "w-alice")
            let hold = try await server.call(
                .post, Path.holds, key: server.checkout, body: #"{"member":"alice","points":300,"expiresInSeconds":900}"#,
                headers: [.init("Idempotency-Key")!: "cart-1"])
            #expect(hold.status == 201 && hold.json["held"]?.int == 300, "\(hold.text)")
            let holdID = String(hold.json["holdID"]?.int ?? 0)
            let captured = try await server.call(.post, Path.capture, ["hold": holdID], key: server.checkout, body: #"{"points":200}"#)
            #expect(captured.status == 200 && captured.json["captured"]?.int == 200 && captured.json["held"]?.int == 0, "\(captured.text)")
            let again = try await server.call(.post, Path.capture, ["hold": holdID], key: server.checkout, body: #"{"points":200}"#)
            #expect(again.status == 200 && again.json["outcome"]?.string == "replayed")
            let voidCaptured = try await server.call(.post, Path.void, ["hold": holdID], key: server.checkout)
            #expect(voidCaptured.status == 422 && voidCaptured.json["check"]?.string == "hold_resolved")
            let second = try await server.call(
                .post, Path.holds, key: server.checkout, body: #"{"member":"alice","points":100,"expiresInSeconds":900}"#, idempotencyKey: "cart-2")
            let voided = try await server.call(.post, Path.void, ["hold": String(second.json["holdID"]?.int ?? 0)], key: server.checkout)
            #expect(voided.status == 200 && voided.json["state"]?.string == "voided")
            let noHold = try await server.call(.post, Path.void, ["hold": "999999"], key: server.checkout)
            #expect(noHold.status == 404 && noHold.json["entity"]?.string == "hold")

            let spend = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.checkout, body: #"{"points":100,"reason":"parking"}"#,
                headers: [.init("Idempotency-Key")!: "park-1"])
            #expect(spend.status == 201 && spend.json["points"]?.int == 100, "\(spend.text)")
            let short = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.checkout, body: #"{"points":100000,"reason":"car"}"#,
                headers: [.init("Idempotency-Key")!: "car-1"])
            #expect(short.status == 422 && short.type == "insufficient-points" && short.json["requested"]?.int == 100_000, "\(short.text)")
            #expect(short.json["spendable"]?.int == 1_000 + 100 - 28 - 200 - 100 || short.json["spendable"] != nil)
            let noKey = try await server.call(.post, Path.redemptions, ["member": "alice"], key: server.checkout, body: #"{"points":1,"reason":"x"}"#)
            #expect(noKey.status == 400 && noKey.json["field"]?.string == "Idempotency-Key")

            let member = try await server.call(.get, Path.member, ["member": "alice"], key: server.checkout)
            let balance = try await server.ledger.member("alice", in: server.program)
            #expect(member.status == 200 && member.json["spendable"]?.int == balance.spendable && member.json["available"]?.int == balance.available)
            let tier = try await server.call(.get, Path.tier, ["member": "alice"], key: server.checkout)
            #expect(tier.status == 200 && tier.json["effectiveTier"]?.string == "ordinary")
            let lots = try await server.call(.get, Path.lots, ["member": "alice"], key: server.checkout)
            #expect(lots.status == 200 && !lots.json.items.isEmpty)
            let history = try await server.call(.get, Path.history, ["member": "alice"], query: "limit=2", key: server.checkout)
            #expect(history.status == 200 && history.json.items.count == 2)
            let badLimit = try await server.call(.get, Path.history, ["member": "alice"], query: "limit=0", key: server.checkout)
            #expect(badLimit.status == 400 && badLimit.json["field"]?.string == "limit")
            let nobody = try await server.call(.get, Path.history, ["member": "nobody"], key: server.checkout)
            #expect(nobody.status == 404 && nobody.json["entity"]?.string == "member")
        }
    }

    @Test func aMemberAppEnrolsChecksInAndSeesWhatItCanRedeem() async throws {
        try await ServerHarness.run { server in
            #expect(try await server.call(.post, Path.members, key: server.app, body: #"{"member":"alice"}"#).status == 201)
            let bob = try await server.call(.post, Path.members, key: server.app, body: #"{"member":"bob","referrer":"alice"}"#)
            #expect(bob.status == 201 && bob.json["referrer"]?.string == "alice")
            let again = try await server.call(.post, Path.members, key: server.app, body: #"{"member":"bob","referrer":"alice"}"#)
            #expect(again.status == 201 && again.headers[.init("Idempotent-Replayed")!] == "true")
            let otherReferrer = try await server.call(.post, Path.members, key: server.app, body: #"{"member":"bob","referrer":"carol"}"#)
            #expect(otherReferrer.status == 404 && otherReferrer.json["entity"]?.string == "referrer", "\(otherReferrer.text)")

            let checkin = try await server.call(.post, Path.completions, ["member": "alice", "task": "checkin"], key: server.app)
            #expect(checkin.status == 201 && checkin.json["streak"]?.int == 1, "\(checkin.text)")
            let twice = try await server.call(.post, Path.completions, ["member": "alice", "task": "checkin"], key: server.app, body: "{}")
            #expect(twice.status == 201 && twice.json["outcome"]?.string == "replayed" && twice.json["entryID"]?.int == checkin.json["entryID"]?.int)
            let post = try await server.call(
                .post, Path.completions, ["member": "alice", "task": "post"], key: server.app, body: #"{"ref":"post-8812"}"#)
            #expect(post.status == 201, "\(post.text)")
            let unknownTask = try await server.call(.post, Path.completions, ["member": "alice", "task": "dance"], key: server.app, body: #"{"ref":"d1"}"#)
            #expect(unknownTask.status == 404 && unknownTask.json["entity"]?.string == "task")
            let streak = try await server.call(.get, Path.streak, ["member": "alice"], key: server.app)
            #expect(streak.status == 200 && streak.json["days"]?.int == 1 && streak.json["checkedInToday"].map { "\($0)" } == "true")
            let tasks = try await server.call(.get, Path.tasks, ["member": "alice"], key: server.app)
            let checkinToday = tasks.json.items.first { $0["task"]?.string == "checkin" }
            #expect(tasks.status == 200 && checkinToday?["today"]?.int == 1, "\(tasks.text)")

            for (code, cost, minTier) in [("sticker", 5, nil), ("mug", 300, nil), ("lounge", 10, "premium")] as [(String, Int64, String?)] {
                try await server.ledger.setReward(
                    code, in: server.program, RewardChange(name: code, cost: cost, stock: 10, minTier: minTier.map { .some($0) } ?? nil),
                    actor: "ops")
            }
            let offers = try await server.call(.get, Path.rewards, ["member": "alice"], key: server.app)
            let standing = Dictionary(uniqueKeysWithValues: offers.json.items.map { ($0["reward"]?.string ?? "", $0["standing"]?.string ?? "") })
            #expect(standing == ["sticker": "redeemable", "mug": "insufficient_points", "lounge": "tier_too_low"], "\(offers.text)")
            let redeemed = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.app, body: #"{"reward":"sticker"}"#, idempotencyKey: "app-r1")
            #expect(redeemed.status == 201 && redeemed.json["stockLeft"]?.int == 9, "\(redeemed.text)")
            let lounge = try await server.call(
                .post, Path.redemptions, ["member": "alice"], key: server.app, body: #"{"reward":"lounge"}"#, idempotencyKey: "app-r2")
            #expect(lounge.status == 422 && lounge.json["check"]?.string == "tier_too_low")
            #expect(try await server.call(.get, Path.rewards, ["member": "nobody"], key: server.app).status == 404)
        }
    }

    @Test func financeReadsReportsAndTheJournal() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            _ = try await server.ledger.grant(points: 500, to: "alice", in: server.program, reason: "welcome", actor: "ops", key: "w1")
            let trial = try await server.call(.get, Path.trialBalance, key: server.finance)
            #expect(trial.status == 200 && trial.json["lines"]?.items.count ?? 0 > 0, "\(trial.text)")
            let total = trial.json["lines"]?.items.reduce(Int64(0)) { $0 + ($1["balance"]?.int ?? 0) }
            #expect(total == 0)
            let balances = try await server.call(.get, Path.balances, query: "asOf=yesterday", key: server.finance)
            #expect(balances.status == 400 && balances.json["field"]?.string == "asOf", "\(balances.text)")
            let now = try await server.call(.get, Path.balances, query: "asOf=now", key: server.finance)
            #expect(now.status == 200 && now.json.items.first?["available"]?.int == 500, "\(now.text)")
            let current = try await server.call(.get, Path.balances, key: server.finance)
            #expect(current.status == 200 && current.json.items.first?["available"]?.int == 500, "\(current.text)")
            let liability = try await server.call(.get, Path.liability, key: server.finance)
            #expect(liability.status == 200 && liability.json["available"]?.int == 500, "\(liability.text)")
            let year = try await server.call(.get, Path.breakage, query: "from=2026-01-01", key: server.finance)
            #expect(year.status == 200 && year.json["months"] != nil, "\(year.text)")
            let noFrom = try await server.call(.get, Path.breakage, key: server.finance)
            #expect(noFrom.status == 400 && noFrom.json["field"]?.string == "from")
            let journal = try await server.call(.get, Path.journal, query: "from=2026-01-01&format=jsonl", key: server.finance)
            #expect(journal.status == 200 && journal.headers[.contentType]?.hasPrefix("application/jsonl") == true)
            let lines = journal.text.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("w1"), "\(journal.text)")
            let csv = try await server.call(.get, Path.journal, query: "from=2026-01-01&format=csv", key: server.finance)
            #expect(csv.status == 200 && csv.text.split(separator: "\n").count == 3, "\(csv.text)")
            let badFormat = try await server.call(.get, Path.journal, query: "from=2026-01-01&format=xml", key: server.finance)
            #expect(badFormat.status == 400 && badFormat.json["field"]?.string == "format")
        }
    }

    /// A journal larger than the stream's window of pieces arrives whole, in order.
    @Test func aLargeJournalStreamsWhole() async throws {
        try await ServerHarness.run { server in
            // More than the stream's window of 16 pieces of 64 KiB: about 1.3 MB of lines.
            _ = try await server.ledger.createMember("bulk", in: server.program)
            for index in 0..<2_400 {
                _ = try await server.ledger.grant(
                    points: 1, to: "bulk", in: server.program, reason: String(repeating: "x", count: 480), actor: "ops", key: "bulk-\(index)")
            }
            let expected = try await server.ledger.exportJournalText(server.program)
            let journal = try await server.call(.get, Path.journal, query: "from=2026-01-01", key: server.finance)
            #expect(journal.status == 200 && journal.text.utf8.count > 1_100_000 && journal.text == expected)
        }
    }
}

extension Ledger {
    /// The program's whole journal as `exportJournal` writes it, for comparing with the server's.
    func exportJournalText(_ program: Program) async throws -> String {
        let text = LockedText()
        _ = try await exportJournal(
            program, from: try await instant("2026-01-01", in: program, field: "from"), to: .now, format: .jsonl) { piece in text.append(piece) }
        return text.value
    }
}

final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func append(_ piece: String) { lock.withLock { text += piece } }
    var value: String { lock.withLock { text } }
}
