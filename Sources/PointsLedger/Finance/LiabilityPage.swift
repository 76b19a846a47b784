import Foundation
import Postgres

extension Ledger {
    /// The liability report as one HTML page, with the points issued, redeemed and expired in
    /// each of the twelve months of the program's calendar up to the report's moment; times on
    /// `clock` (default: the program's).
    public func liabilityPage(_ report: LiabilityReport, of program: Program, clock: LocalClock? = nil) async throws -> String {
        let start = try await withConnection { connection in
            try connection.query("""
                SELECT (date_trunc('month', \(report.asOf)::timestamptz AT TIME ZONE \(program.timeZone)) - interval '11 months')
                       AT TIME ZONE \(program.timeZone) AS start
                """).single().decode(Timestamp.self, column: "start")
        }
        let months = try await breakage(program, from: start, to: Timestamp(microsecondsSinceEpoch: report.asOf.microsecondsSinceEpoch + 1))
        return LiabilityPage.html(report, months: months, calendar: program.clock, clock: clock ?? program.clock)
    }
}

/// The liability report as one self-contained HTML page (inline SVG, no scripts, nothing fetched):
/// points issued, redeemed and expired by month as a chart with a scale, the tier mix, and the
/// liability by expiry month; times on the program's clock, points grouped, money to the
/// currency's decimals, and a print stylesheet for finance's paper copy.
public enum LiabilityPage {
    /// `calendar`: the program's clock, whose months the figures are in; `clock`: the one the
    /// reader reads times by (the program's, or UTC).
    public static func html(_ report: LiabilityReport, months: BreakageReport, calendar: LocalClock, clock: LocalClock) -> String {
        let title = "Points liability of \(escape(report.program)) as of \(clock.text(report.asOf))"
        let currency = escape(report.currency)
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 60em; }
            table { border-collapse: collapse; margin: 1em 0; } td, th { padding: 0.3em 0.8em; text-align: right; border-bottom: 1px solid #ddd; }
            th:first-child, td:first-child { text-align: left; } td { font-variant-numeric: tabular-nums; }
            .issued { fill: #3b7dd8; } .redeemed { fill: #2e9e5b; } .expired { fill: #d8793b; }
            .axis { stroke: #888; } .grid { stroke: #e4e4e4; } .tick { font-size: 10px; fill: #555; }
            svg.chart { max-width: 100%; height: auto; }
            @media print {
              body { margin: 0; max-width: none; font-size: 10pt; color: #000; }
              h1 { font-size: 14pt; } h2 { font-size: 12pt; break-after: avoid; }
              table, svg.chart { break-inside: avoid; } td, th { border-bottom: 1px solid #999; }
              .issued, .redeemed, .expired { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
            }
            </style></head><body>
            <h1>\(title)</h1>
            <p>Outstanding: <strong>\(report.outstanding.grouped)</strong> points (\(report.available.grouped) available, \(report.pending.grouped) pending),
            worth <strong>\(report.value.grouped) \(currency)</strong> at \(report.pointValue) \(currency) a point.
            Members owe \(report.owedByMembers.grouped) points (negative balances, not netted).</p>

            """
        page += "<h2>Issued, redeemed and expired points by month</h2>\n"
            + "<p>From \(clock.text(months.from)) to \(escape(clock.end(months.to))).</p>\n"
            + chart(everyMonth(months.months, from: months.from, calendar: calendar))
        page += "<h2>Tier mix</h2>\n" + table(
            ["tier", "members", "points", "value (\(report.currency))"],
            report.byTier.map { [$0.group, $0.members.map(\.grouped) ?? "", $0.points.grouped, $0.value.grouped] })
        page += "<h2>Liability by expiry month</h2>\n" + table(
            ["expires", "points", "value (\(report.currency))"], report.byExpiryMonth.map { [$0.group, $0.points.grouped, $0.value.grouped] })
        page += "</body></html>\n"
        return page
    }

    /// The twelve months from `start`'s month on, each with its figures or none (zero), so that
    /// a quiet month shows as a gap rather than vanishing from the axis.
    static func everyMonth(_ months: [BreakageMonth], from start: Timestamp, calendar: LocalClock) -> [BreakageMonth] {
        guard !months.isEmpty else { return [] }
        let parts = calendar.date(start).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return months }
        let byLabel = Dictionary(months.map { ($0.month, $0) }, uniquingKeysWith: { first, _ in first })
        return (0..<12).map { offset in
            let index = parts[0] * 12 + parts[1] - 1 + offset
            let label = String(format: "%04d-%02d", index / 12, index % 12 + 1)
            return byLabel[label] ?? BreakageMonth(
                month: label, issued: 0, adjusted: 0, redeemed: 0, expired: 0, writtenOff: 0, issuedGross: 0, clawedBack: 0, granted: 0,
                deducted: 0)
        }
    }

    /// Grouped bars, one group per month (issued, redeemed, expired), over a y-axis of points
    /// with round ticks; each bar names its value on hover.
    static func chart(_ months: [BreakageMonth]) -> String {
        guard !months.isEmpty else { return "<p>No points moved in the twelve months to this date.</p>\n" }
        let height = 200.0
        let left = 70.0
        let group = 48.0
        let bar = 12.0
        let peak = months.map { max($0.issued, $0.redeemed, $0.expired) }.max() ?? 0
        let ticks = axisTicks(upTo: peak)
        let top = Double(ticks.last ?? 1)
        let scale = top > 0 ? height / top : 0
        let width = Int(left + group * Double(months.count) + 10)
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(Int(height + 40))\" "
            + "viewBox=\"0 0 \(width) \(Int(height + 40))\" role=\"img\" aria-label=\"points issued, redeemed and expired by month\">\n"
        for tick in ticks {
            let y = 10 + height - Double(tick) * scale
            svg += String(format: "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", left, y, width - 5, y)
            svg += String(format: "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n", left - 6, y + 3, tick.grouped)
        }
        svg += String(format: "<line class=\"axis\" x1=\"%.1f\" y1=\"10\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, left, 10 + height)
        for (index, month) in months.enumerated() {
            let x = left + 6 + group * Double(index)
            for (offset, (kind, points)) in [("issued", month.issued), ("redeemed", month.redeemed), ("expired", month.expired)].enumerated() {
                let barHeight = Double(max(points, 0)) * scale
                svg += String(
                    format: "<rect class=\"%@\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%@ %@: %@ points</title></rect>\n",
                    kind, x + Double(offset) * bar, 10 + height - barHeight, bar - 1, barHeight, escape(month.month), kind, points.grouped)
            }
            svg += String(format: "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%@</text>\n", x, height + 25, escape(month.month))
        }
        svg += "</svg>\n<p><svg width=\"10\" height=\"10\"><rect class=\"issued\" width=\"10\" height=\"10\"/></svg> issued "
        svg += "<svg width=\"10\" height=\"10\"><rect class=\"redeemed\" width=\"10\" height=\"10\"/></svg> redeemed "
        svg += "<svg width=\"10\" height=\"10\"><rect class=\"expired\" width=\"10\" height=\"10\"/></svg> expired</p>\n"
        return svg
    }

    /// Round ticks from 0 to at least `peak`: steps of 1, 2 or 5 times a power of ten, about
    /// five of them (0, 5,000, 10,000, 15,000 for a peak of 13,200).
    static func axisTicks(upTo peak: Int64) -> [Int64] {
        guard peak > 0 else { return [0, 1] }
        var power: Int64 = 1
        while power * 10 <= peak / 10 { power *= 10 }
        // peak lies in [100, 1000) × power, so a step of at most 200 × power leaves under five.
        let step = [1, 2, 5, 10, 20, 50, 100, 200].lazy.map { $0 * power }.first { peak / $0 < 5 } ?? 200 * power
        let count = peak / step + (peak % step == 0 ? 0 : 1)
        return (0...count).map { $0 * step }
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
