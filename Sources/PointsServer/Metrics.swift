import Foundation
import PointsLedger
public import Postgres
import Synchronization

/// The server's counters and histograms, served at `GET /metrics` in Prometheus' text format
/// (version 0.0.4): requests by route, method and status, their latency, the period jobs' runs
/// and what they did, and the connection pool's waits.
public final class ServerMetrics: Sendable {
    /// Latency buckets, in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct RequestKey: Hashable, Comparable {
        let route: String
        let method: String
        let status: Int

        static func < (a: Self, b: Self) -> Bool { (a.route, a.method, a.status) < (b.route, b.method, b.status) }
    }

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var count = 0
        var sum = 0.0
    }

    private struct JobKey: Hashable, Comparable {
        let program: String
        let job: String
        let outcome: String

        static func < (a: Self, b: Self) -> Bool { (a.program, a.job, a.outcome) < (b.program, b.job, b.outcome) }
    }

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var latency: [String: Histogram] = [:]
        var jobRuns: [JobKey: Int] = [:]
        var jobItems: [JobKey: Int64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts a request to `route` (its template, never its values) and its duration.
    func request(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
            var histogram = state.latency[route, default: Histogram()]
            if let bucket = Self.buckets.firstIndex(where: { seconds <= $0 }) { histogram.counts[bucket] += 1 }
            histogram.count += 1
            histogram.sum += seconds
            state.latency[route] = histogram
        }
    }

    /// Counts a run of a period job: `outcome` is `ran`, `skipped` (another server held its lock)
    /// or `failed`; `items` what it processed (purchases matured, lots expired, members paid).
    func job(_ job: String, program: String, outcome: String, items: Int64) {
        state.withLock { state in
            let key = JobKey(program: program, job: job, outcome: outcome)
            state.jobRuns[key, default: 0] += 1
            state.jobItems[JobKey(program: program, job: job, outcome: ""), default: 0] += items
        }
    }

    /// The text `GET /metrics` answers, with the pool's figures as they are now.
    func exposition(pools: [(name: String, pool: PostgresPool)]) -> String {
        let state = state.withLock { $0 }
        var text = ""
        func label(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        text += "# HELP points_http_requests_total HTTP requests by route, method and status.\n"
        text += "# TYPE points_http_requests_total counter\n"
        for (key, count) in state.requests.sorted(by: { $0.key < $1.key }) {
            text += "points_http_requests_total{route=\"\(label(key.route))\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        text += "# HELP points_http_request_duration_seconds Time from a request's arrival to its response, by route.\n"
        text += "# TYPE points_http_request_duration_seconds histogram\n"
        for (route, histogram) in state.latency.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (bound, count) in zip(Self.buckets, histogram.counts) {
                cumulative += count
                text += "points_http_request_duration_seconds_bucket{route=\"\(label(route))\",le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "points_http_request_duration_seconds_bucket{route=\"\(label(route))\",le=\"+Inf\"} \(histogram.count)\n"
            text += "points_http_request_duration_seconds_sum{route=\"\(label(route))\"} \(histogram.sum)\n"
            text += "points_http_request_duration_seconds_count{route=\"\(label(route))\"} \(histogram.count)\n"
        }
        text += "# HELP points_job_runs_total Runs of the period jobs by program, job and outcome (ran, skipped: another server ran it, failed).\n"
        text += "# TYPE points_job_runs_total counter\n"
        for (key, count) in state.jobRuns.sorted(by: { $0.key < $1.key }) {
            text += "points_job_runs_total{program=\"\(label(key.program))\",job=\"\(key.job)\",outcome=\"\(key.outcome)\"} \(count)\n"
        }
        text += "# HELP points_job_items_total What the period jobs processed: purchases matured, lots expired, holds expired, entries sealed, members evaluated or paid.\n"
        text += "# TYPE points_job_items_total counter\n"
        for (key, items) in state.jobItems.sorted(by: { $0.key < $1.key }) {
            text += "points_job_items_total{program=\"\(label(key.program))\",job=\"\(key.job)\"} \(items)\n"
        }
        text += "# HELP points_pool_waits_total Database calls that waited for a free connection.\n"
        text += "# TYPE points_pool_waits_total counter\n"
        for (name, pool) in pools { text += "points_pool_waits_total{pool=\"\(name)\"} \(pool.statistics.waits)\n" }
        text += "# HELP points_pool_wait_seconds_total Time database calls spent waiting for a free connection.\n"
        text += "# TYPE points_pool_wait_seconds_total counter\n"
        for (name, pool) in pools { text += "points_pool_wait_seconds_total{pool=\"\(name)\"} \(pool.statistics.waitSeconds)\n" }
        text += "# HELP points_pool_connections Connections the pool opened, and its limit.\n"
        text += "# TYPE points_pool_connections gauge\n"
        for (name, pool) in pools {
            text += "points_pool_connections{pool=\"\(name)\",state=\"opened\"} \(pool.statistics.opened)\n"
            text += "points_pool_connections{pool=\"\(name)\",state=\"limit\"} \(pool.maximumConnections)\n"
        }
        return text
    }
}
