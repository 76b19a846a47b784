import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PointsLedger
import PointsServer
import Postgres
import TestSupport
import Testing

/// points-server over real HTTP on a loopback port.
@Suite("points-server: health")
struct HealthTests {
    @Test func healthSaysTheDatabaseIsReachable() async throws {
        try await TestDatabase.withLedger { ledger, _, _ in
            let app = PointsServer.application(ledger: ledger, host: "127.0.0.1", port: 0, logger: TestDatabase.quietLogger)
            try await app.test(.live) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/json")
                    #expect(String(buffer: response.body) == #"{"database":"reachable","status":"ok"}"#)
                }
            }
        }
    }

    @Test func anUnreachableDatabaseIsAProblemWithoutItsAddress() async throws {
        let configuration = try ConnectionConfiguration("host=/nonexistent-socket-dir dbname=secretdb user=someone")
        let ledger = Ledger(configuration: configuration, maximumConnections: 1, logger: TestDatabase.quietLogger)
        let app = PointsServer.application(ledger: ledger, host: "127.0.0.1", port: 0, logger: TestDatabase.quietLogger)
        try await app.test(.live) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.contentType] == "application/problem+json")
                let body = String(buffer: response.body)
                #expect(body.contains(#""type":"https://pointsledger.dev/problems/database-unreachable""#), "\(body)")
                #expect(!body.contains("nonexistent") && !body.contains("secretdb"))
            }
        }
    }
}
