import CasebookAnalysis
import CasebookCore
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
            The baseline is the `baseline_days` whole days before the window, scaled to what \
            spike-detection expected in the window (so that the excess is the one detection reported), \
            or to the window's length for a window given by hand. Values are ranked by excess (by shortfall for a drop) and kept while each explains at \
            least `min_share` of the total and until together they explain `coverage` of it, at most \
            `max_contributors`. When that is not enough, the values that each moved clearly (beyond \
            Poisson noise and by a fifth of their own baseline) are taken, however many, until they reach \
            `coverage`: a *set* that moved together (a requirement closure installed as one), provided it \
            holds at most half of the values seen. Otherwise the change is `broad`: no set of values explains it. The counterfactual removes the contributors from every day and checks \
            that the window's residual is within `tolerance` of its baseline.
            """,
        parameters: [
            ParameterSpec(
                "window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec("dimension", .dimension, default: "project", doc: "The dimension whose values may explain the excess."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec(
                "baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline."),
            ParameterSpec(
                "coverage", .number, default: 0.8, range: ValueRange(minimum: 0, maximum: 1, exclusiveMinimum: true),
                doc: "Share of the total excess the contributors should explain."),
            ParameterSpec(
                "max_contributors", .int, default: 8, range: .atLeast(1),
                doc:
                    "Up to this many contributors are named one by one; more form a set that moved together (when the rest stayed put), else the change is broad."
            ),
            ParameterSpec(
                "max_set", .int, default: 500, range: .atLeast(1),
                doc: "The largest set of values that moved together reported as one cause."),
            ParameterSpec(
                "min_share", .number, default: 0.02, range: .share, doc: "A contributor explains at least this share of the excess."),
            ParameterSpec(
                "top", .int, default: 10, range: .atLeast(1),
                doc: "Length of the top-N tables on a baseline day and on the window's peak day."),
            ParameterSpec(
                "tolerance", .number, default: 0.15, range: .atLeast(0),
                doc: "The residual is normal when within this relative distance of its baseline.")
        ],
        outputs: [
            OutputSpec(
                "contributors", .list(.object),
                doc: "`{value, excess, share, baseline, window}`, largest first; `share` is of the window's total excess (0–1)."),
            OutputSpec(
                "values", .list(.any),
                doc:
                    "The contributors' values alone (for filters in later steps); `null` stands for downloads with no value of the dimension."
            ),
            OutputSpec("dimension", .string, doc: "The dimension analysed."),
            OutputSpec("totalExcess", .int, doc: "The window's total excess over its baseline (negative for a drop)."),
            OutputSpec("explainedShare", .number, doc: "Share of the total excess the contributors explain together."),
            OutputSpec(
                "residualNormal", .bool, doc: "Whether the window without the contributors is back within `tolerance` of its baseline."),
            OutputSpec("residualExcess", .int, doc: "The window's excess once the contributors are removed."),
            OutputSpec("broad", .bool, doc: "True when no set of values explains the change (it is spread over most values)."),
            OutputSpec(
                "shape", .choice(["few", "set", "broad", "none"]),
                doc:
                    "`few`: up to `max_contributors` values explain the change; `set`: a larger set of values that each moved clearly, together, while the rest stayed put; `broad`: no set explains it; `none`: no change to explain."
            ),
            OutputSpec("baselineDay", .string, doc: "The baseline day of the top-N comparison (the last day before the window)."),
            OutputSpec("peakDay", .string, doc: "The window's busiest (or, for a drop, quietest) day."),
            OutputSpec("baselineTop", .list(.object), doc: "Top values `{value, downloads}` on the baseline day."),
            OutputSpec("windowTop", .list(.object), doc: "Top values `{value, downloads}` on the peak day.")
        ],
        examples: [
            AnalyzerExample(
                "One project makes the excess",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [
                    .daily("flask", from: "2020-02-19", runs: (100, 17)),
                    .daily("requests", from: "2020-02-19", runs: (50, 17)),
                    .daily("flask-login", from: "2020-02-19", runs: (10, 14), (310, 3))
                ]),
                expect: [
                    "values": ["flask-login"], "shape": "few", "totalExcess": 900, "residualNormal": true,
                    "contributors": .contains([["value": "flask-login", "excess": 900, "share": 1.0]])
                ],
                finding: "flask-login explains the spike"),
            AnalyzerExample(
                "Every project doubled: a broad change",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "max_contributors": 2],
                data: ExampleData(counts: [
                    .daily("alpha", from: "2020-02-19", runs: (100, 14), (200, 3)),
                    .daily("beta", from: "2020-02-19", runs: (100, 14), (200, 3)),
                    .daily("gamma", from: "2020-02-19", runs: (100, 14), (200, 3)),
                    .daily("delta", from: "2020-02-19", runs: (100, 14), (200, 3))
                ]),
                expect: ["shape": "broad", "broad": true, "totalExcess": 1200],
                finding: "A broad change"),
            AnalyzerExample(
                "Nothing changed",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [
                    .daily("flask", from: "2020-02-19", runs: (100, 17)),
                    .daily("requests", from: "2020-02-19", runs: (50, 17))
                ]),
                expect: ["shape": "none", "values": [], "totalExcess": 0],
                finding: "No change to split")
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimension = try context.dimension("dimension")
        let filters = try context.filters("filter")
        let baselineDays = max(1, try context.int("baseline_days"))
        let coverage = try context.number("coverage")
        let maxContributors = Int(try context.int("max_contributors"))
        let maxSet = Int(try context.int("max_set"))
        let minShare = try context.number("min_share")
        let topN = Int(try context.int("top"))
        let tolerance = try context.number("tolerance")

        let (cmp, _) = try await WindowComparison.make(
            context, window: window, dimensions: [dimension], filters: filters, baselineDays: baselineDays)
        let total = cmp.excessTotal
        let up = total >= 0
        let d = dimension.rawValue
        // What the store can tell about this dimension: nothing when every download's value is
        // unknown (a counts file without that column), and nothing to split when there is one value.
        let knownValues = cmp.values.filter { $0.value != nil && ($0.window > 0 || $0.expected > 0) }
        if knownValues.count <= 1 {
            let only = knownValues.first?.value
            let unknownShare = cmp.windowTotal > 0 ? (cmp.values.first { $0.value == nil }?.window ?? 0) / cmp.windowTotal : 0
            let summary: String
            let title: String
            if let only, unknownShare == 0 {
                title = "All downloads are of one \(d): \(only)"
                summary =
                    "Every download in \(window.label) (and in its baseline) has \(d) = \(only), so the \(up ? "excess" : "shortfall") of \(Describe.count(abs(total))) downloads cannot be split by \(d)."
            } else if knownValues.isEmpty {
                title = "No \(d) values in the data"
                summary =
                    "The downloads in \(window.label) carry no \(d) (a counts file without a `\(d)` column, for instance), so which \(d) explains the \(up ? "excess" : "shortfall") of \(Describe.count(abs(total))) downloads cannot be told from this data."
                    + (dimension == .project ? " A counts file of one project can be ingested with `--project NAME`." : "")
            } else {
                title = "Only one known \(d): \(only ?? "unknown")"
                summary =
                    "Apart from downloads with no \(d) (\(Describe.percent(unknownShare)) of the window), every download in \(window.label) has \(d) = \(only ?? "unknown"): the \(up ? "excess" : "shortfall") cannot be split by \(d)."
            }
            return AnalyzerResult(
                outputs: [
                    "contributors": .array([]), "values": .array(unknownShare == 0 ? only.map { [.string($0)] } ?? [] : []),
                    "dimension": .string(d),
                    "totalExcess": .int(Int64(total.rounded())), "explainedShare": .double(0), "residualNormal": .bool(false),
                    "residualExcess": .int(Int64(total.rounded())), "broad": .bool(false), "shape": .string("none")
                ],
                findings: [
                    Finding(
                        title: title, summary: summary, confidence: .high,
                        openQuestions: ["Which other dimension (version, Python, installer, country) tells the downloads apart?"])
                ])
        }
        let ranked = up ? cmp.values : cmp.values.reversed()
        // A few values, named one by one: the largest, each at least `min_share` of the change.
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
        // Else a set that moved together: values that each changed clearly on their own (beyond
        // count noise, and by a fifth of their baseline at least), however many, as long as the
        // rest of the values stayed put. Many packages rising by about the same count is an
        // install of a whole requirement closure, not a broad change.
        let active = cmp.values.filter { $0.window > 0 || $0.expected > 0 }.count
        var isSet = false
        if abs(total) > 0, explained / total < coverage {
            var set: [ValueComparison] = []
            var sum = 0.0
            for v in ranked {
                let moved = up ? v.window >= 1.2 * v.expected : v.window <= 0.8 * v.expected
                let clear = abs(v.excess) >= 3 * (v.expected + 1).squareRoot()
                // Every value that moved clearly belongs to the set, past `coverage` too.
                guard v.excess / total > 0, moved, clear, set.count < maxSet else { break }
                set.append(v)
                sum += v.excess
            }
            if sum / total >= coverage, set.count * 2 <= active {
                chosen = set
                explained = sum
                isSet = chosen.count > maxContributors
            }
        }
        let explainedShare = total != 0 ? explained / total : 0
        // The counterfactual: the same window and baseline without the contributors.
        let values = chosen.map(\.value)
        var withoutFilters = filters
        if !values.isEmpty { withoutFilters.append(DimensionFilter(dimension, .notIn, values)) }
        let residualWindow = cmp.windowTotal - chosen.reduce(0) { $0 + $1.window }
        let residualExpected = cmp.expectedTotal - chosen.reduce(0) { $0 + $1.expected }
        let residualExcess = residualWindow - residualExpected
        let residualRelative = residualExpected > 0 ? residualExcess / residualExpected : 0
        let residualNormal = !values.isEmpty && abs(residualRelative) <= tolerance
        // It decides too: values whose removal brings the window back to normal explain it, even
        // short of `coverage` (the rest being the other values' noise).
        let broad = explainedShare < coverage && !(residualNormal && residualExpected > 0 && explainedShare >= 0.5)
        let shape = total == 0 ? "none" : broad || chosen.isEmpty ? "broad" : isSet ? "set" : "few"

        // Daily totals with and without the contributors, from the baseline's start to the window's end.
        let rangeAll = TimeRange(from: cmp.baselineStart, to: max(window.end, TimeBucket.day.start(of: window.end - 1) + 86400))
        let withAll = try await context.aggregate(AggregateQuery(bucket: .day, filters: filters, range: rangeAll))
        let without = try await context.aggregate(AggregateQuery(bucket: .day, filters: withoutFilters, range: rangeAll))

        // Top-N on the last day before the window and on the window's peak day, same scale.
        let baselineDay = TimeBucket.day.start(of: window.start - 1)
        let daysInWindow = withAll.rows.filter {
            ($0.bucketStart ?? 0) >= TimeBucket.day.start(of: window.start) && ($0.bucketStart ?? 0) < window.end
        }
        let peakDay =
            (up ? daysInWindow.max { $0.downloads < $1.downloads } : daysInWindow.min { $0.downloads < $1.downloads })?.bucketStart
            ?? TimeBucket.day.start(of: window.start)
        let baselineTop = try await context.aggregate(
            AggregateQuery(
                dimensions: [dimension], filters: filters, range: TimeRange(from: baselineDay, to: baselineDay + 86400), top: topN))
        let windowTop = try await context.aggregate(
            AggregateQuery(dimensions: [dimension], filters: filters, range: TimeRange(from: peakDay, to: peakDay + 86400), top: topN))

        // The contributors against the usual top values, day by day.
        let usual = baselineTop.rows.prefix(5).map { $0.values[0] }
        let tracked = Array(Set(values + usual).prefix(12))
        let perDay = try await context.aggregate(
            AggregateQuery(
                bucket: .day, dimensions: [dimension],
                filters: filters + [DimensionFilter(dimension, .in, tracked)], range: rangeAll))

        let contributorValues: [Value] = chosen.map { v in
            .object([
                "value": v.value.map(Value.string) ?? .null, "excess": .int(Int64(v.excess.rounded())),
                "share": .double(total != 0 ? ((v.excess / total) * 1000).rounded() / 1000 : 0),
                "baseline": .int(Int64(v.expected.rounded())), "window": .int(Int64(v.window))
            ])
        }
        func topValue(_ t: AggregateTable) -> Value {
            .array(t.rows.map { .object(["value": $0.values[0].map(Value.string) ?? .null, "downloads": .int($0.downloads)]) })
        }

        // Findings.
        var findings: [Finding] = []
        let table = EvidenceTable(
            title: "Contributors to the \(up ? "excess" : "shortfall") (\(d)), \(window.label)",
            columns: [d, "window", "expected", up ? "excess" : "shortfall", "share of total"],
            rows: chosen.map { v in
                [
                    v.value.map(Value.string) ?? .string("unknown"), .int(Int64(v.window)), .int(Int64(v.expected.rounded())),
                    .int(Int64(v.excess.rounded())), .double(total != 0 ? ((v.excess / total) * 1000).rounded() / 1000 : 0)
                ]
            })
        let topTable = EvidenceTable(
            title: "Top \(topN) \(d) values on \(UTCTime.dateString(baselineDay)) (before) and \(UTCTime.dateString(peakDay)) (window)",
            columns: ["rank", "before: \(d)", "before: downloads", "window: \(d)", "window: downloads"],
            rows: (0..<max(baselineTop.rows.count, windowTop.rows.count)).map { i in
                let b = i < baselineTop.rows.count ? baselineTop.rows[i] : nil
                let w = i < windowTop.rows.count ? windowTop.rows[i] : nil
                return [
                    .int(Int64(i + 1)), b.map { .string(Describe.value($0.values[0])) } ?? .null, b.map { .int($0.downloads) } ?? .null,
                    w.map { .string(Describe.value($0.values[0])) } ?? .null, w.map { .int($0.downloads) } ?? .null
                ]
            })
        let topChart = EvidenceChart(
            kind: .bars,
            title: "Top \(topN) \(d) values on \(UTCTime.dateString(baselineDay)) and on \(UTCTime.dateString(peakDay)), same scale",
            layout: .panels,
            series: [
                .init(
                    name: UTCTime.dateString(baselineDay),
                    points: baselineTop.rows.map { .init(x: Describe.value($0.values[0]), y: Double($0.downloads)) }),
                .init(
                    name: UTCTime.dateString(peakDay),
                    points: windowTop.rows.map { .init(x: Describe.value($0.values[0]), y: Double($0.downloads)) })
            ])
        let withWithout = EvidenceChart(
            kind: .line, title: "Daily downloads with and without the contributors", bucket: .day,
            series: [
                .init(
                    name: "all downloads",
                    points: withAll.rows.map { .init(x: UTCTime.isoString($0.bucketStart!), y: Double($0.downloads)) }),
                .init(
                    name: "without the contributors",
                    points: without.rows.map { .init(x: UTCTime.isoString($0.bucketStart!), y: Double($0.downloads)) })
            ],
            highlights: [.init(start: UTCTime.isoString(window.start), end: UTCTime.isoString(window.end), label: "window")])
        var perValueSeries: [String: [EvidenceChart.Point]] = [:]
        for r in perDay.rows {
            perValueSeries[Describe.value(r.values[0]), default: []].append(
                .init(x: UTCTime.isoString(r.bucketStart!), y: Double(r.downloads)))
        }
        let trackedChart = EvidenceChart(
            kind: .line, title: "The contributors against the usual top \(d) values, per day", bucket: .day,
            series: perValueSeries.keys.sorted { a, b in
                let ca = values.contains { Describe.value($0) == a }
                let cb = values.contains { Describe.value($0) == b }
                return ca != cb ? ca : a < b
            }.map { .init(name: $0, points: perValueSeries[$0]!.sorted { $0.x < $1.x }) },
            highlights: [.init(start: UTCTime.isoString(window.start), end: UTCTime.isoString(window.end), label: "window")])

        if total == 0 || chosen.isEmpty {
            findings.append(
                Finding(
                    title: total == 0 ? "No change to split in \(window.label)" : "A broad change: no set of \(d) values explains it",
                    summary: total == 0
                        ? "The window has as many downloads as its baseline predicts, so no \(d) stands out."
                        : "The window's \(up ? "excess" : "shortfall") is \(Describe.count(abs(total))) downloads; no single \(d) explains \(Describe.percent(minShare)) of it and no set of values moved clearly together: the change is spread over many values.",
                    evidence: [.chart(topChart), .table(topTable), .chart(withWithout), .count("total excess", Int64(total.rounded()))],
                    confidence: .medium,
                    openQuestions: ["Look at other dimensions (installer, client, python) for a common factor."]))
        } else {
            let names = chosen.map { Describe.value($0.value) }
            let list = Describe.list(names)
            let change = up ? "excess" : "shortfall"
            var summary: String
            if broad {
                summary =
                    "The \(change) of \(Describe.count(abs(total))) downloads in \(window.label) is broad: \(chosen.count == 1 ? "the largest \(d) value (\(list)) explains" : "the \(chosen.count) largest \(d) values (\(list)) explain") only \(Describe.percent(explainedShare)), and no set of values that moved together explains the rest."
            } else if isSet {
                let each = chosen.map { abs($0.excess) }.sorted()
                let median = Stats.median(each)
                let q1 = each[each.count / 4]
                let q3 = each[(each.count * 3) / 4]
                summary =
                    "\(chosen.count) \(d) values \(up ? "rose" : "fell") together in \(window.label), each by about \(Describe.count(median)) downloads (the middle half between \(Describe.count(q1)) and \(Describe.count(q3))): together \(Describe.percent(explainedShare)) of the \(change) of \(Describe.count(abs(total))) downloads, from \(chosen.count) of the \(Describe.counted(active, "\(d) value")) seen. A set moving as one points to one cause (an install of a whole requirement closure, for instance), not a broad change. The set: \(list)."
            } else {
                summary =
                    "\(chosen.count == 1 ? "One \(d) explains" : "\(chosen.count) \(d) values explain") \(Describe.percent(explainedShare)) of the \(change) of \(Describe.count(abs(total))) downloads in \(window.label): \(list) (\(Describe.count(chosen.reduce(0) { $0 + $1.window })) downloads against \(Describe.count(chosen.reduce(0) { $0 + $1.expected })) expected)."
            }
            summary +=
                residualNormal
                ? " Without them the window is back to normal (\(Describe.signedPercent(residualRelative)) from its baseline)."
                : " Without them the window is still \(Describe.signedPercent(residualRelative)) from its baseline."
            findings.append(
                Finding(
                    title: broad
                        ? "A broad change: no set of \(d) values explains it"
                        : isSet
                            ? "A set of \(chosen.count) \(d) values \(up ? "rose" : "fell") together"
                            : "\(list) \(names.count == 1 ? "explains" : "explain") the \(up ? "spike" : "drop")",
                    summary: summary,
                    evidence: [
                        .table(table), .chart(topChart), .table(topTable), .chart(withWithout), .chart(trackedChart),
                        .count(up ? "total excess" : "total shortfall", Int64(total.rounded())),
                        .number(label: "share explained", value: (explainedShare * 1000).rounded() / 1000, unit: "share"),
                        .number(label: "residual change without them", value: (residualRelative * 1000).rounded() / 1000, unit: "share")
                    ],
                    confidence: broad ? .low : Confidence(residualNormal ? 0.9 : 0.6),
                    openQuestions: broad
                        ? ["Is a common client, installer or Python version behind the broad change?"]
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
                "shape": .string(shape),
                "baselineDay": .string(UTCTime.dateString(baselineDay)),
                "peakDay": .string(UTCTime.dateString(peakDay)),
                "baselineTop": topValue(baselineTop),
                "windowTop": topValue(windowTop)
            ],
            findings: findings)
    }
}
