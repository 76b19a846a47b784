// Workloads for Scripts/bench.sh: drives the PointsLedger library as a checkout system would,
// over N connections for T seconds, and prints one line per run:
//   workload=grant connections=8 seconds=15.0 operations=41234 tps=2748.9 p50_ms=2.6 p99_ms=9.8
//
//   points-bench --database-url URL --workload grant|purchase|checkin|redeem|contention --connections 8 --seconds 15
//                [--members 10000] [--program bench] [--attempts N]
// With --attempts, the run makes that many operations (spread over the connections) instead of
// running for --seconds, and counts refusals apart.
import Foundation
import Logging
import PointsLedger
import Postgres

@main
struct PointsBench {
    struct Options {
        var databaseURL = ""
        var workload = "grant"
        var connections = 1
        var seconds = 15.0
        var members = 10_000
        var program = "bench"
        var attempts = 0

        init(_ arguments: [String]) throws {
            var iterator = arguments.makeIterator()
            while let flag = iterator.next() {
                guard let value = iterator.next() else { throw UsageError("\(flag) needs a value") }
                switch flag {
                case "--database-url": databaseURL = value
                case "--workload": workload = value
                case "--connections": connections = try Self.number(value, flag)
                case "--seconds": seconds = Double(value) ?? 0
                case "--members": members = try Self.number(value, flag)
                case "--program": program = value
                case "--attempts": attempts = try Self.number(value, flag)
                default: throw UsageError("unknown option \(flag)")
                }
            }
            guard connections > 0, seconds > 0, members > 0 else { throw UsageError("connections, seconds and members must be positive") }
            guard Workload.all[workload] != nil else {
                throw UsageError("unknown workload \(workload); known: \(Workload.all.keys.sorted().joined(separator: ", "))")
            }
        }

        static func number(_ text: String, _ flag: String) throws -> Int {
            guard let value = Int(text) else { throw UsageError("\(flag) takes a whole number, not \(text)") }
            return value
        }
    }

    struct UsageError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func main() async {
        do {
            try await run(try Options(Array(CommandLine.arguments.dropFirst())))
        } catch {
            FileHandle.standardError.write(Data("points-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(_ options: Options) async throws {
        var logger = Logger(label: "points-bench")
        logger.logLevel = .warning
        let ledger = Ledger(
            configuration: try ConnectionConfiguration(options.databaseURL), maximumConnections: options.connections, logger: logger)
        let program = try await ledger.createProgram(name: options.program, currency: "CNY", actor: "bench").program
        try await ledger.pool.withConnection { connection in
            try connection.query("""
                SELECT count(*) FROM generate_series(1, \(options.members)) AS g,
                LATERAL points.create_member(\(program.id), 'member-' || g, NULL)
                """)
        }
        let workload = Workload.all[options.workload]!
        let context = Workload.Context(
            ledger: ledger, program: program, members: options.members, connections: options.connections,
            runID: String(UInt64(Date().timeIntervalSince1970 * 1000)))
        try await workload.setup(context)
        let deadline = ContinuousClock.now + .milliseconds(Int(options.seconds * 1000))
        let perWorker = options.attempts / options.connections
        let start = ContinuousClock.now
        let refusals = Counter()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            // Each worker runs on the pool's executor, as an event-loop server's request handlers would.
            for worker in 0..<options.connections {
                group.addTask(executorPreference: ledger.pool.executor) {
                    var random = SystemRandomNumberGenerator()
                    var latencies: [Double] = []
                    var operation = 0
                    var refused = 0
                    while options.attempts > 0 ? operation < perWorker + (worker < options.attempts % options.connections ? 1 : 0)
                                               : ContinuousClock.now < deadline {
                        let began = ContinuousClock.now
                        do {
                            try await workload.operation(context, worker, operation, &random)
                        } catch LedgerError.insufficientPoints where options.attempts > 0 {
                            refused += 1  // the contention run's refusals; elsewhere they are failures
                        } catch LedgerError.refused where options.attempts > 0 {
                            refused += 1
                        }
                        latencies.append(Double((ContinuousClock.now - began) / .microseconds(1)) / 1000)
                        operation += 1
                    }
                    await refusals.add(refused)
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let elapsed = Double((ContinuousClock.now - start) / .milliseconds(1)) / 1000
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(String(
            format: "workload=%@ connections=%d seconds=%.1f operations=%d tps=%.1f p50_ms=%.2f p99_ms=%.2f refused=%d",
            options.workload, options.connections, elapsed, latencies.count, Double(latencies.count) / elapsed,
            percentile(0.5), percentile(0.99), await refusals.value))
        await ledger.pool.closeIdleConnections()
    }
}

actor Counter {
    var value = 0
    func add(_ amount: Int) { value += amount }
}

/// One kind of operation the benchmark repeats, and what it needs in place first.
struct Workload: Sendable {
    struct Context: Sendable {
        let ledger: Ledger
        let program: Program
        let members: Int
        let connections: Int
        let runID: String

        func randomMember(_ random: inout some RandomNumberGenerator) -> String {
            "member-\(Int.random(in: 1...members, using: &random))"
        }
    }

    var setup: @Sendable (Context) async throws -> Void = { _ in }
    let operation: @Sendable (Context, Int, Int, inout SystemRandomNumberGenerator) async throws -> Void

    /// Gives every member `points` points (once: the grants are keyed).
    static func seed(_ context: Context, points: Int64, members: Int) async throws {
        try await context.ledger.pool.withConnection { connection in
            try connection.query("""
                SELECT count(*) FROM generate_series(1, \(members)) AS g,
                LATERAL points.adjust(\(context.program.id), 'member-' || g, \(points), 'benchmark seed', 'bench', 'seed-' || g)
                """)
        }
    }

    static let all: [String: Workload] = [
        // A single purchase by a random member, as a checkout system posts it: one round trip.
        "purchase": Workload { context, worker, operation, random in
            _ = try await context.ledger.purchase(
                PurchaseRequest(
                    member: context.randomMember(&random), order: "\(context.runID)-\(worker)-\(operation)",
                    amount: Money(minorUnits: Int64.random(in: 100...50_000, using: &random), exponent: 2)),
                in: context.program)
        },
        // A single check-in, as an app reports it: every member once a day. Operation k checks in
        // member k mod N on the day k div N days ago, so that no two operations share a day.
        "checkin": Workload { context, worker, operation, _ in
            let k = operation * context.connections + worker
            let daysAgo = k / context.members
            guard daysAgo < 6 else {
                throw PointsBench.UsageError("more check-ins than 6 days of \(context.members) members; run with more --members")
            }
            let result = try await context.ledger.completeTask(
                TaskCompletionRequest(
                    task: "checkin", member: "member-\(k % context.members + 1)",
                    occurredAt: Timestamp(Date().addingTimeInterval(-Double(daysAgo) * 86_400))),
                in: context.program)
            guard result.outcome == .posted else { throw PointsBench.UsageError("check-in \(k) was not new; use a fresh database") }
        },
        // A single redemption of a catalog reward (unlimited stock) by a random member: one round
        // trip, the member's row locked, lots consumed soonest-expiring first.
        "redeem": Workload(
            setup: { context in
                try await seed(context, points: 1_000_000, members: context.members)
                try await context.ledger.setReward(
                    "voucher", in: context.program, RewardChange(name: "Benchmark voucher", cost: 10), actor: "bench")
            },
            operation: { context, worker, operation, random in
                _ = try await context.ledger.redeem(
                    "voucher", member: context.randomMember(&random), in: context.program, key: "\(context.runID)-\(worker)-\(operation)")
            }),
        // Contention on one member: redemptions of a reward with a small stock and plain spends,
        // all on member-1 (seeded with 30,000 points; 3,000 units of stock), until both run out.
        "contention": Workload(
            setup: { context in
                try await seed(context, points: 30_000, members: 1)
                try await context.ledger.setReward(
                    "last-units", in: context.program, RewardChange(name: "Contended reward", cost: 5, stock: .some(3_000)), actor: "bench")
            },
            operation: { context, worker, operation, random in
                let key = "\(context.runID)-\(worker)-\(operation)"
                if Bool.random(using: &random) {
                    _ = try await context.ledger.redeem("last-units", member: "member-1", in: context.program, key: key)
                } else {
                    _ = try await context.ledger.spend(points: 3, reason: "contention", member: "member-1", in: context.program, key: key)
                }
            }),
        // A single admin grant to a random member: one round trip, one member row locked.
        "grant": Workload { context, worker, operation, random in
            _ = try await context.ledger.grant(
                points: Int64.random(in: 1...500, using: &random), to: context.randomMember(&random), in: context.program,
                reason: "benchmark", actor: "bench", key: "\(context.runID)-\(worker)-\(operation)")
        },
    ]
}
