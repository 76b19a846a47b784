import Foundation
import Glibc
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
        body: String? = nil, headers: HTTPFields = [:], idempotencyKey: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Answer {
        var path = template
        for (name, value) in ["program": program.name].merging(values, uniquingKeysWith: { $1 }) {
            path = path.replacingOccurrences(
                of: "{\(name)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/"))) ?? value)
        }
        var headers = headers
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let idempotencyKey { headers[.init("Idempotency-Key")!] = idempotencyKey }
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

    /// Sends `method path` exactly as written (its segments already percent-encoded), with `key`
    /// and `body` sent as `contentType`.
    func send(
        _ method: HTTPRequest.Method, _ path: String, key: String?, body: String? = nil, contentType: String? = "application/json",
        idempotencyKey: String? = nil
    ) async throws -> Answer {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let idempotencyKey { headers[.init("Idempotency-Key")!] = idempotencyKey }
        if body != nil, let contentType { headers[.contentType] = contentType }
        let response = try await client.executeRequest(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Answer(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// Sends `GET path` over a socket of its own, byte for byte as written (an HTTP client would
    /// mend a malformed percent-encoding before sending it), and answers the status line's code.
    func sendRaw(_ path: String, key: String) throws -> Int {
        let port = try #require(client.port)
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socket >= 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(key)\r\nConnection: close\r\n\r\n".utf8)
        try #require(write(socket, request, request.count) == request.count)
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(socket, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        let statusLine = String(decoding: answer.prefix { $0 != 0x0D }, as: UTF8.self).split(separator: " ")
        return try #require(statusLine.count >= 2 ? Int(statusLine[1]) : nil, "\(String(decoding: answer, as: UTF8.self))")
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
    static let memberPurchases = member + "/purchases"
    static let memberHolds = member + "/holds"
    static let order = "/v1/programs/{program}/purchases/{order}"
    static let program = "/v1/programs/{program}"
    static let catalog = "/v1/programs/{program}/rewards"
    static let trialBalance = "/v1/programs/{program}/reports/trial-balance"
    static let balances = "/v1/programs/{program}/reports/balances"
    static let liability = "/v1/programs/{program}/reports/liability"
    static let breakage = "/v1/programs/{program}/reports/breakage"
    static let journal = "/v1/programs/{program}/journal"
}
