import CasebookCore
import CasebookPlaybooks
import Foundation

/// `contributors`: which values of a dimension explain a window's excess (or shortfall).
///
/// Each value's downloads in the window are compared with what the days before the window
/// predict. The values with the largest excess are kept until they cover most of the window's
/// total excess; if that takes more than a handful of values, the spike is *broad*. The
/// counterfactual (the series without those values) says whether removing them brings the
/// window back to normal.
public struct ContributorsAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "contributors",
        summary: "Finds the values of a dimension (projects by default) that explain a window's excess, and whether the rest is normal.",
        discussion: """
        The baseline is the `baseline_days` whole days before the window, scaled to the window's \
        length. Values are ranked by excess (by shortfall for a drop) and kept while each explains at \
        least `min_share` of the total and until together they explain `coverage` of it, at most \
        `max_contributors`. When that set does not reach `coverage`, the change is `broad`: no small set \
        of values explains it. The counterfactual removes the contributors from every day and checks \
        that the window's residual is within `tolerance` of its baseline.
        """,
        parameters: [
            ParameterSpec("window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec("dimension", .dimension, default: "project", doc: "The dimension whose values may explain the excess."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec("baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline."),
            ParameterSpec("coverage", .number, default: 0.8, range: ValueRange(minimum: 0, maximum: 1, exclusiveMinimum: true), doc: "Share of the total excess the contributors should explain."),
            ParameterSpec("max_contributors", .int, default: 8, range: .atLeast(1), doc: "At most this many contributors; more means the change is broad."),
            ParameterSpec("min_share", .number, default: 0.02, range: .share, doc: "A contributor explains at least this share of the excess."),
            ParameterSpec("top", .int, default: 10, range: .atLeast(1), doc: "Length of the top-N tables on a baseline day and on the window's peak day."),
            ParameterSpec("tolerance", .number, default: 0.15, range: .atLeast(0), doc: "The residual is normal when within this relative distance of its baseline."),
        ],
        outputs: [
            OutputSpec("contributors", .list(.object), doc: "`{value, excess, share, baseline, window}`, largest first; `share` is of the window's total excess (0–1)."),
            OutputSpec("values", .list(.string), doc: "The contributors' values alone (for filters in later steps)."),
            OutputSpec("dimension", .string, doc: "The dimension analysed."),
            OutputSpec("totalExcess", .int, doc: "The window's total excess over its baseline (negative for a drop)."),
            OutputSpec("explainedShare", .number, doc: "Share of the total excess the contributors explain together."),
            OutputSpec("residualNormal", .bool, doc: "Whether the window without the contributors is back within `tolerance` of its baseline."),
            OutputSpec("residualExcess", .int, doc: "The window's excess once the contributors are removed."),
            OutputSpec("broad", .bool, doc: "True when no small set of values explains the change."),
            OutputSpec("baselineDay", .string, doc: "The baseline day of the top-N comparison (the last day before the window)."),
            OutputSpec("peakDay", .string, doc: "The window's busiest (or, for a drop, quietest) day."),
            OutputSpec("baselineTop", .list(.object), doc: "Top values `{value, downloads}` on the baseline day."),
            OutputSpec("windowTop", .list(.object), doc: "Top values `{value, downloads}` on the peak day."),
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimension = try context.dimension("dimension")
        let filters = try context.filters("filter")
        let baselineDays = max(1, try context.int("baseline_days"))
        let coverage = try context.number("coverage")
        let maxContributors = Int(try context.int("max_contributors"))
        let minShare = try context.number("min_share")
        let topN = Int(try context.int("top"))
        let tolerance = try context.number("tolerance")

        let (cmp, _) = try await WindowComparison.make(context, window: window, dimensions: [dimension], filters: filters, baselineDays: baselineDays)
        let total = cmp.excessTotal
        let up = total >= 0
        let ranked = up ? cmp.values : cmp.values.reversed()
        var chosen: [ValueComparison] = []
        var explained = 0.0
        if abs(total) > 0 {
            for v in ranked {
                let share = v.excess / total
                guard share >= minShare, chosen.count < maxContributors else { break }
                chosen.append(v)
                explained += v.excess
                if explained / total >= coverage { break }
            }
        }
        let explainedShare = total != 0 ? explained / total : 0
        let broad = explainedShare < coverage

        // The counterfactual: the same window and baseline without the contributors.
        let values = chosen.map(\.value)
        var withoutFilters = filters
        if !values.isEmpty { withoutFilters.append(DimensionFilter(dimension, .notIn, values)) }
        let residualWindow = cmp.windowTotal - chosen.reduce(0) { $0 + $1.window }
        let residualExpected = cmp.expectedTotal - chosen.reduce(0) { $0 + $1.expected }
        let residualExcess = residualWindow - residualExpected
        let residualRelative = residualExpected > 0 ? residualExcess / residualExpected : 0
        let residualNormal = !values.isEmpty && abs(residualRelative) <= tolerance

        // Daily totals with and without the contributors, from the baseline's start to the window's end.
        let rangeAll = TimeRange(from: cmp.baselineStart, to: max(window.end, TimeBucket.day.start(of: window.end - 1) + 86400))
        let withAll = try await context.aggregate(AggregateQuery(bucket: .day, filters: filters, range: rangeAll))
        let without = try await context.aggregate(AggregateQuery(bucket: .day, filters: withoutFilters, range: rangeAll))

        // Top-N on the last day before the window and on the window's peak day, same scale.
        let baselineDay = TimeBucket.day.start(of: window.start - 1)
        let daysInWindow = withAll.rows.filter { ($0.bucketStart ?? 0) >= TimeBucket.day.start(of: window.start) && ($0.bucketStart ?? 0) < window.end }
        let peakDay = (up ? daysInWindow.max { $0.downloads < $1.downloads } : daysInWindow.min { $0.downloads < $1.downloads })?.bucketStart ?? TimeBucket.day.start(of: window.start)
        let baselineTop = try await context.aggregate(AggregateQuery(dimensions: [dimension], filters: filters, range: TimeRange(from: baselineDay, to: baselineDay + 86400), top: topN))
        let windowTop = try await context.aggregate(AggregateQuery(dimensions: [dimension], filters: filters, range: TimeRange(from: peakDay, to: peakDay + 86400), top: topN))

        // The contributors against the usual top values, day by day.
        let usual = baselineTop.rows.prefix(5).map { $0.values[0] }
        let tracked = Array(Set(values + usual).prefix(12))
        let perDay = try await context.aggregate(AggregateQuery(bucket: .day, dimensions: [dimension],
                                                                filters: filters + [DimensionFilter(dimension, .in, tracked)], range: rangeAll))

        let contributorValues: [Value] = chosen.map { v in
            .object(["value": v.value.map(Value.string) ?? .null, "excess": .int(Int64(v.excess.rounded())),
                     "share": .double(total != 0 ? ((v.excess / total) * 1000).rounded() / 1000 : 0),
                     "baseline": .int(Int64(v.expected.rounded())), "window": .int(Int64(v.window))])
        }
        func topValue(_ t: AggregateTable) -> Value {
            .array(t.rows.map { .object(["value": $0.values[0].map(Value.string) ?? .null, "downloads": .int($0.downloads)]) })
        }

        // Findings.
        let d = dimension.rawValue
        var findings: [Finding] = []
        let table = EvidenceTable(
            title: "Contributors to the \(up ? "excess" : "shortfall") (\(d)), \(window.label)",
            columns: [d, "window", "expected", up ? "excess" : "shortfall", "share of total"],
            rows: chosen.map { v in
                [v.value.map(Value.string) ?? .string("unknown"), .int(Int64(v.window)), .int(Int64(v.expected.rounded())),
                 .int(Int64(v.excess.rounded())), .double(total != 0 ? ((v.excess / total) * 1000).rounded() / 1000 : 0)]
            })
        let topTable = EvidenceTable(
            title: "Top \(topN) \(d) values on \(UTCTime.dateString(baselineDay)) (before) and \(UTCTime.dateString(peakDay)) (window)",
            columns: ["rank", "before: \(d)", "before: downloads", "window: \(d)", "window: downloads"],
            rows: (0..<max(baselineTop.rows.count, windowTop.rows.count)).map { i in
                let b = i < baselineTop.rows.count ? baselineTop.rows[i] : nil
                let w = i < windowTop.rows.count ? windowTop.rows[i] : nil
                return [.int(Int64(i + 1)), b.map { .string(Describe.value($0.values[0])) } ?? .null, b.map { .int($0.downloads) } ?? .null,
                        w.map { .string(Describe.value($0.values[0])) } ?? .null, w.map { .int($0.downloads) } ?? .null]
            })
        let topChart = EvidenceChart(
            kind: .bars, title: "Top \(topN) \(d) values on \(UTCTime.dateString(baselineDay)) and on \(UTCTime.dateString(peakDay)), same scale",
            layout: "panels",
            series: [
                .init(name: UTCTime.dateString(baselineDay), points: baselineTop.rows.map { .init(x: Describe.value($0.values[0]), y: Double($0.downloads)) }),
                .init(name: UTCTime.dateString(peakDay), points: windowTop.rows.map { .init(x: Describe.value($0.values[0]), y: Double($0.downloads)) }),
            ])
        let withWithout = EvidenceChart(
            kind: .line, title: "Daily downloads with and without the contributors", bucket: .day,
            series: [
                .init(name: "all downloads", points: withAll.rows.map { .init(x: UTCTime.isoString($0.bucketStart!), y: Double($0.downloads)) }),
                .init(name: "without the contributors", points: without.rows.map { .init(x: UTCTime.isoString($0.bucketStart!), y: Double($0.downloads)) }),
            ],
            highlights: [.init(start: UTCTime.isoString(window.start), end: UTCTime.isoString(window.end), label: "window")])
        var perValueSeries: [String: [EvidenceChart.Point]] = [:]
        for r in perDay.rows { perValueSeries[Describe.value(r.values[0]), default: []].append(.init(x: UTCTime.isoString(r.bucketStart!), y: Double(r.downloads))) }
        let trackedChart = EvidenceChart(
            kind: .line, title: "The contributors against the usual top \(d) values, per day", bucket: .day,
            series: perValueSeries.keys.sorted { a, b in
                let ca = values.contains { Describe.value($0) == a }, cb = values.contains { Describe.value($0) == b }
                return ca != cb ? ca : a < b
            }.map { .init(name: $0, points: perValueSeries[$0]!.sorted { $0.x < $1.x }) },
            highlights: [.init(start: UTCTime.isoString(window.start), end: UTCTime.isoString(window.end), label: "window")])

        if total == 0 || chosen.isEmpty {
            findings.append(Finding(
                title: "No \(d) stands out in \(window.label)",
                summary: "The window's total \(up ? "excess" : "shortfall") is \(Describe.count(abs(total))) downloads and no single \(d) explains \(Describe.percent(minShare)) of it: the change is spread over many values.",
                evidence: [.chart(topChart), .table(topTable), .chart(withWithout), .count("total excess", Int64(total.rounded()))],
                confidence: .medium,
                openQuestions: ["Look at other dimensions (installer, client, python) for a common factor."]))
        } else {
            let names = chosen.map { Describe.value($0.value) }
            let list = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " and " + names.last!
            var summary = broad
                ? "The \(up ? "excess" : "shortfall") of \(Describe.count(abs(total))) downloads in \(window.label) is broad: the \(chosen.count) largest \(d) values (\(list)) explain only \(Describe.percent(explainedShare))."
                : "\(chosen.count == 1 ? "One \(d) explains" : "\(chosen.count) \(d) values explain") \(Describe.percent(explainedShare)) of the \(up ? "excess" : "shortfall") of \(Describe.count(abs(total))) downloads in \(window.label): \(list) (\(Describe.count(chosen.reduce(0) { $0 + $1.window })) downloads against \(Describe.count(chosen.reduce(0) { $0 + $1.expected })) expected)."
            summary += residualNormal
                ? " Without them the window is back to normal (\(Describe.signedPercent(residualRelative)) from its baseline)."
                : " Without them the window is still \(Describe.signedPercent(residualRelative)) from its baseline."
            findings.append(Finding(
                title: broad ? "A broad change: no small set of \(d) values explains it" : "\(list) explain the \(up ? "spike" : "drop")",
                summary: summary,
                evidence: [.table(table), .chart(topChart), .table(topTable), .chart(withWithout), .chart(trackedChart),
                           .count(up ? "total excess" : "total shortfall", Int64(total.rounded())),
                           .number(label: "share explained", value: (explainedShare * 1000).rounded() / 1000, unit: "share"),
                           .number(label: "residual change without them", value: (residualRelative * 1000).rounded() / 1000, unit: "share")],
                confidence: broad ? .low : Confidence(residualNormal ? 0.9 : 0.6),
                openQuestions: broad ? ["Is a common client, installer or Python version behind the broad change?"]
                    : residualNormal ? [] : ["What explains the residual change once these values are removed?"]))
        }
        return AnalyzerResult(
            outputs: [
                "contributors": .array(contributorValues),
                "values": .array(values.map { $0.map(Value.string) ?? .null }),
                "dimension": .string(d),
                "totalExcess": .int(Int64(total.rounded())),
                "explainedShare": .double((explainedShare * 1000).rounded() / 1000),
                "residualNormal": .bool(residualNormal),
                "residualExcess": .int(Int64(residualExcess.rounded())),
                "broad": .bool(broad),
                "baselineDay": .string(UTCTime.dateString(baselineDay)),
                "peakDay": .string(UTCTime.dateString(peakDay)),
                "baselineTop": topValue(baselineTop),
                "windowTop": topValue(windowTop),
            ],
            findings: findings)
    }
}
