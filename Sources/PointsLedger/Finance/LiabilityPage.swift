import Foundation
import Postgres

extension Ledger {
    /// The liability report as one HTML page, with the points issued, redeemed and expired in
    /// each of the twelve months of the program's calendar up to the report's moment.
    public func liabilityPage(_ report: LiabilityReport, of program: Program) async throws -> String {
        let start = try await withConnection { connection in
            try connection.query("""
                SELECT (date_trunc('month', \(report.asOf)::timestamptz AT TIME ZONE \(program.timeZone)) - interval '11 months')
                       AT TIME ZONE \(program.timeZone) AS start
                """).single().decode(Timestamp.self, column: "start")
        }
        let months = try await breakage(program, from: start, to: Timestamp(microsecondsSinceEpoch: report.asOf.microsecondsSinceEpoch + 1))
        return LiabilityPage.html(report, months: months)
    }
}

/// The liability report as one self-contained HTML page (inline SVG, no scripts, nothing fetched):
/// points issued, redeemed and expired by month as a chart, the tier mix, and the liability by
/// expiry month.
public enum LiabilityPage {
    public static func html(_ report: LiabilityReport, months: BreakageReport) -> String {
        let title = "Points liability of \(escape(report.program)) as of \(report.asOf)"
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; } td, th { padding: 0.3em 0.8em; text-align: right; border-bottom: 1px solid #ddd; }
            th:first-child, td:first-child { text-align: left; } .issued { fill: #3b7dd8; } .redeemed { fill: #2e9e5b; } .expired { fill: #d8793b; }
            </style></head><body>
            <h1>\(title)</h1>
            <p>Outstanding: <strong>\(report.outstanding)</strong> points (\(report.available) available, \(report.pending) pending),
            worth <strong>\(report.value) \(escape(report.currency))</strong> at \(report.pointValue) \(escape(report.currency)) a point.
            Members owe \(report.owedByMembers) points (negative balances, not netted).</p>

            """
        page += "<h2>Issued, redeemed and expired points by month</h2>\n" + chart(months.months)
        page += "<h2>Tier mix</h2>\n" + table(
            ["tier", "members", "points", "value"],
            report.byTier.map { [$0.group, $0.members.map(String.init) ?? "", String($0.points), "\($0.value)"] })
        page += "<h2>Liability by expiry month</h2>\n" + table(
            ["expires", "points", "value"], report.byExpiryMonth.map { [$0.group, String($0.points), "\($0.value)"] })
        page += "</body></html>\n"
        return page
    }

    /// Grouped bars, one group per month: issued, redeemed, expired.
    static func chart(_ months: [BreakageMonth]) -> String {
        guard !months.isEmpty else { return "<p>No points moved in the twelve months to this date.</p>\n" }
        let height = 200.0
        let group = 48.0
        let bar = 12.0
        let top = Double(months.map { max($0.issued, $0.redeemed, $0.expired) }.max() ?? 0)
        let scale = top > 0 ? height / top : 0
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(group * Double(months.count) + 20))\" height=\"\(Int(height + 40))\" role=\"img\" aria-label=\"points by month\">\n"
        for (index, month) in months.enumerated() {
            let x = 10 + group * Double(index)
            for (offset, (kind, points)) in [("issued", month.issued), ("redeemed", month.redeemed), ("expired", month.expired)].enumerated() {
                let barHeight = Double(max(points, 0)) * scale
                svg += String(
                    format: "<rect class=\"%@\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%@ %@: %lld</title></rect>\n",
                    kind, x + Double(offset) * bar, 10 + height - barHeight, bar - 1, barHeight, month.month, kind, points)
            }
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%@</text>\n", x, height + 25, month.month)
        }
        svg += "</svg>\n<p><svg width=\"10\" height=\"10\"><rect class=\"issued\" width=\"10\" height=\"10\"/></svg> issued "
        svg += "<svg width=\"10\" height=\"10\"><rect class=\"redeemed\" width=\"10\" height=\"10\"/></svg> redeemed "
        svg += "<svg width=\"10\" height=\"10\"><rect class=\"expired\" width=\"10\" height=\"10\"/></svg> expired</p>\n"
        return svg
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        guard !rows.isEmpty else { return "<p>None.</p>\n" }
        var html = "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows { html += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }
        return html + "</table>\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
