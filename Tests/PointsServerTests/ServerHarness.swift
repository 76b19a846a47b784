import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// points-server on a loopback port over a test database, connected as the writer role as in
/// production, with keys of each role for program `default` and a checkout key of program
/// `other`. `ledger` is the admin's (the owner's), for setting up and checking.
struct ServerHarness: Sendable {
    let client: any TestClientProtocol
    let ledger: Ledger
    let program: Program
    let configuration: ConnectionConfiguration
    let checkout: String
    let app: String
    let finance: String
    let otherProgram: String
    static let validator = try! OpenAPIValidator()

    /// An answer: status, headers, body text and its JSON.
    struct Answer {
        let status: Int
        let headers: HTTPFields
        let text: String
        var json: JSON { (try? JSONDecoder().decode(JSON.self, from: Data(text.utf8))) ?? .null }
        var type: String? { json["type"]?.string.map { String($0.dropFirst("https://pointsledger.dev/problems/".count)) } }
    }

    static func run(
        deadline: Duration = .seconds(10), metrics: ServerMetrics = ServerMetrics(),
        _ body: @Sendable (ServerHarness) async throws -> Void
    ) async throws {
        try await TestDatabase.withLedger { ledger, program, configuration in
            let other = try await ledger.createProgram(name: "other", currency: "CNY", actor: "tests").program
            let checkout = try await ledger.createAPIKey(in: program, role: .checkout, name: "till 1", actor: "tests").secret
            let app = try await ledger.createAPIKey(in: program, role: .app, name: "mini-program", actor: "tests").secret
            let finance = try await ledger.createAPIKey(in: program, role: .finance, name: "finance", actor: "tests").secret
            let otherKey = try await ledger.createAPIKey(in: other, role: .checkout, name: "till of other", actor: "tests").secret
            let writer = Ledger(configuration: try TestDatabase.asWriter(configuration), maximumConnections: 8, logger: TestDatabase.quietLogger)
            let application = PointsServer.application(
                ledger: writer, host: "127.0.0.1", port: 0, logger: TestDatabase.quietLogger,
                options: .init(deadline: deadline, metrics: metrics))
            try await application.test(.ahc(.http)) { client in
                try await body(ServerHarness(
                    client: client, ledger: ledger, program: program, configuration: configuration, checkout: checkout, app: app,
                    finance: finance, otherProgram: otherKey))
            }
            await writer.pool.closeIdleConnections()
        }
    }

    /// Calls `method template` (its `{program}` the harness's program unless given) with `key`;
    /// checks the answer against /openapi.json when the route is documented.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ template: String, _ values: [String: String] = [:], query: String = "", key: String?,
        body: String? = nil, headers: HTTPFields = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Answer {
        var path = template
        for (name, value) in ["program": program.name].merging(values, uniquingKeysWith: { $1 }) {
            path = path.replacingOccurrences(
                of: "{\(name)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/"))) ?? value)
        }
        var headers = headers
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await client.executeRequest(
            uri: path + (query.isEmpty ? "" : "?" + query), method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        if Self.validator.paths[template] != nil {
            let problems = Self.validator.problems(
                method: method.rawValue, path: template, status: Int(response.status.code), contentType: response.headers[.contentType],
                body: Data(text.utf8))
            #expect(problems.isEmpty, "\(method) \(path) \(response.status.code): \(problems) in \(text)", sourceLocation: sourceLocation)
        }
        return Answer(status: Int(response.status.code), headers: response.headers, text: text)
    }
}

/// Routes, as /openapi.json names them.
enum Path {
    static let purchases = "/v1/programs/{program}/purchases"
    static let refunds = "/v1/programs/{program}/purchases/{order}/refunds"
    static let holds = "/v1/programs/{program}/holds"
    static let capture = "/v1/programs/{program}/holds/{hold}/capture"
    static let void = "/v1/programs/{program}/holds/{hold}/void"
    static let members = "/v1/programs/{program}/members"
    static let member = "/v1/programs/{program}/members/{member}"
    static let redemptions = member + "/redemptions"
    static let tier = member + "/tier"
    static let lots = member + "/lots"
    static let history = member + "/history"
    static let completions = member + "/tasks/{task}/completions"
    static let tasks = member + "/tasks"
    static let streak = member + "/streak"
    static let rewards = member + "/rewards"
    static let trialBalance = "/v1/programs/{program}/reports/trial-balance"
    static let balances = "/v1/programs/{program}/reports/balances"
    static let liability = "/v1/programs/{program}/reports/liability"
    static let breakage = "/v1/programs/{program}/reports/breakage"
    static let journal = "/v1/programs/{program}/journal"
}
