import Foundation
import HTTPTypes
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// One strict contract at the door (DESIGN.md, principle 13): ids in a path are percent-decoded as
/// RFC 3986 has it, and what is malformed, unknown or duplicated is refused with a problem naming it.
@Suite("points-server: the contract at the door")
struct ContractTests {
    /// Finding 1 of issue 32: `x%20y` in a path names the member `x y`, never a member whose id is
    /// literally `x%20y`; ids in any script, and with `/`, `%`, `?` or `#`, reach their member and order.
    @Test func idsInAPathArePercentDecoded() async throws {
        try await ServerHarness.run { server in
            for member in ["x y", "x%20y", "王小明", "a/b", "100%", "what?", "#1", "café"] {
                _ = try await server.ledger.createMember(member, in: server.program)
                _ = try await server.ledger.grant(points: 100, to: member, in: server.program, reason: "welcome", actor: "ops", key: "w-\(member)")
            }
            let spent = try await server.send(
                .post, "/v1/programs/default/members/x%20y/redemptions", key: server.checkout,
                body: #"{"points":40,"reason":"parking"}"#, idempotencyKey: "park-1")
            #expect(spent.status == 201, "\(spent.text)")
            #expect(try await server.ledger.member("x y", in: server.program).available == 60, "the member the URL names is debited")
            #expect(try await server.ledger.member("x%20y", in: server.program).available == 100, "the literal id is untouched")
            let literal = try await server.send(.get, "/v1/programs/default/members/x%2520y", key: server.checkout)
            #expect(literal.status == 200 && literal.json["member"]?.string == "x%20y", "\(literal.text)")

            let chinese = try await server.send(.get, "/v1/programs/default/members/%E7%8E%8B%E5%B0%8F%E6%98%8E", key: server.checkout)
            #expect(chinese.status == 200 && chinese.json["member"]?.string == "王小明", "\(chinese.text)")
            for (path, member) in [("a%2Fb", "a/b"), ("100%25", "100%"), ("what%3F", "what?"), ("%231", "#1"), ("caf%C3%A9", "café")] {
                let answer = try await server.send(.get, "/v1/programs/default/members/\(path)", key: server.checkout)
                #expect(answer.status == 200 && answer.json["member"]?.string == member, "\(path): \(answer.text)")
            }

            // An order in Chinese is refunded over HTTP.
            let order = try await server.call(
                .post, Path.purchases, key: server.checkout, body: #"{"member":"王小明","order":"订单-1","amount":"100.00"}"#)
            #expect(order.status == 201, "\(order.text)")
            let refund = try await server.send(
                .post, "/v1/programs/default/purchases/%E8%AE%A2%E5%8D%95-1/refunds", key: server.checkout,
                body: #"{"refund":"退款-1","amount":"100.00"}"#)
            #expect(refund.status == 201, "\(refund.text)")

            // A % not followed by two hex digits, or bytes that are not UTF-8, are malformed and name the field.
            // (Sent over a socket as written: an HTTP client would mend them first.)
            for path in ["/v1/programs/default/members/50%", "/v1/programs/default/members/%zz", "/v1/programs/default/members/%FF%FE"] {
                #expect(try server.sendRaw(path, key: server.checkout) == 400, "\(path)")
            }
            #expect(try server.sendRaw("/v1/programs/default/members/%E7%8E%8B%E5%B0%8F%E6%98%8E", key: server.checkout) == 200)
        }
    }

    /// Finding 7 of issue 32: unknown and duplicated fields, other content types, numbers that are
    /// not whole, and null are refused with 400 (415 for the content type) naming the field.
    @Test func sloppyInputIsRefusedNamingTheField() async throws {
        try await ServerHarness.run { server in
            _ = try await server.ledger.createMember("alice", in: server.program)
            _ = try await server.ledger.grant(points: 1_000, to: "alice", in: server.program, reason: "welcome", actor: "ops", key: "w1")
            let purchases: [(String, String)] = [
                (#"{"member":"alice","order":"A-1","amount":"10.00","currency":"USD"}"#, "currency"),
                (#"{"member":"alice","order":"A-1","amount":"10.00","amount":"99.00"}"#, "amount"),
                (#"{"member":"alice","order":"A-1","amount":"10.00","pointsPaid":null}"#, "pointsPaid"),
                (#"{"member":"alice","order":"A-1","amount":{"value":"10.00"}}"#, "amount"),
            ]
            for (body, field) in purchases {
                let answer = try await server.call(.post, Path.purchases, key: server.checkout, body: body)
                #expect(answer.status == 400 && answer.json["field"]?.string == field, "\(body): \(answer.text)")
            }
            // 1e2 and 5.0 are the integers 100 and 5 to JSON Schema, so the document admits them;
            // the ledger's grammar takes whole numbers written as such only: 422.
            let holds: [(String, String, Int)] = [
                (#"{"member":"alice","points":1e2,"expiresInSeconds":900}"#, "points", 422),
                (#"{"member":"alice","points":5.0,"expiresInSeconds":900}"#, "points", 422),
                (#"{"member":"alice","points":5.5,"expiresInSeconds":900}"#, "points", 400),
                (#"{"member":"alice","points":"5","expiresInSeconds":900}"#, "points", 400),
                (#"{"member":"alice","points":0,"expiresInSeconds":900}"#, "points", 400),
                (#"{"member":"alice","points":5,"expiresInSeconds":99999999999}"#, "expiresInSeconds", 400),
                (#"{"member":"alice","points":5,"expiresInSeconds":900,"key":"h1"}"#, "key", 400),
            ]
            for (body, field, status) in holds {
                let answer = try await server.call(.post, Path.holds, key: server.checkout, body: body, idempotencyKey: "h1")
                #expect(answer.status == status && answer.json["field"]?.string == field, "\(body): \(answer.text)")
            }
            let null = try await server.call(.post, Path.purchases, key: server.checkout, body: "null")
            #expect(null.status == 400 && !null.text.contains("Swift") && !null.text.contains("Dictionary"), "\(null.text)")
            #expect(null.json["detail"]?.string?.contains("JSON object") == true, "\(null.text)")

            // Only application/json, with or without its parameters, is read as a body.
            let purchase = #"{"member":"alice","order":"A-1","amount":"10.00"}"#
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "application/jsonp"] {
                let answer = try await server.send(.post, "/v1/programs/default/purchases", key: server.checkout, body: purchase, contentType: contentType)
                #expect(answer.status == 415 && answer.json["field"]?.string == "Content-Type", "\(contentType): \(answer.text)")
            }
            let missingType = try await server.send(.post, "/v1/programs/default/purchases", key: server.checkout, body: purchase, contentType: nil)
            #expect(missingType.status == 415, "\(missingType.text)")
            let charset = try await server.send(
                .post, "/v1/programs/default/purchases", key: server.checkout, body: purchase, contentType: "application/json; charset=utf-8")
            #expect(charset.status == 201, "\(charset.text)")

            // Query parameters: unknown or given twice are refused.
            let unknown = try await server.call(.get, Path.history, ["member": "alice"], query: "limit=5&cursr=x", key: server.checkout)
            #expect(unknown.status == 400 && unknown.json["field"]?.string == "cursr", "\(unknown.text)")
            let twice = try await server.call(.get, Path.history, ["member": "alice"], query: "limit=5&limit=6", key: server.checkout)
            #expect(twice.status == 400 && twice.json["field"]?.string == "limit", "\(twice.text)")

            #expect(try await server.ledger.history(of: "alice", in: server.program).items.count == 2, "the grant and one purchase: nothing else posted")
        }
    }

    /// A wrong method on a route's path is 405 with `Allow`, not 404; a path of no route stays 404.
    @Test func aWrongMethodIs405WithAllow() async throws {
        try await ServerHarness.run { server in
            let get = try await server.send(.get, "/v1/programs/default/purchases", key: server.checkout)
            #expect(get.status == 405 && get.headers[.allow] == "POST" && get.type == "method-not-allowed", "\(get.text)")
            let delete = try await server.send(.delete, "/v1/programs/default/members/alice", key: server.checkout)
            #expect(delete.status == 405 && delete.headers[.allow] == "GET, PATCH", "\(delete.text)")
            let health = try await server.send(.post, "/health", key: nil)
            #expect(health.status == 405 && health.headers[.allow] == "GET", "\(health.text)")
            let nowhere = try await server.send(.get, "/v1/programs/default/nowhere", key: server.checkout)
            #expect(nowhere.status == 404 && nowhere.type == "route-not-found", "\(nowhere.text)")
        }
    }
}
