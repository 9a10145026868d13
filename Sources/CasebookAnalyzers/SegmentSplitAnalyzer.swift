import CasebookAnalysis
import CasebookCore
import Foundation

/// `segment-split`: how a window's downloads, and its excess alone, split over the values of
/// client dimensions (Python major version, implementation, installer, cpu, distro, CI...),
/// compared with the baseline, ranked by how surprising the change is.
public struct SegmentSplitAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "segment-split",
        summary:
            "Shares of client segments (Python version, installer, cpu, distro, CI...) in the baseline, the window and the excess alone.",
        discussion: """
            For each dimension, every value's share of the baseline period, of the window and of the \
            window's excess. A dimension is surprising when the excess is distributed very differently \
            from the baseline (measured by the total variation distance between the two shares, 0–1). \
            Give `values` (e.g. the contributors step's `values`) to split only those downloads.
            """,
        parameters: [
            ParameterSpec("window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list."),
            ParameterSpec(
                "dimensions", .list(.dimension),
                default: .array(
                    ["python_major", "python_minor", "implementation", "installer", "cpu", "distro", "system", "ci"].map(Value.string)),
                doc: "Dimensions to split by."),
            ParameterSpec(
                "values", .any, optional: true,
                doc: "Restrict to these values of `values_dimension` (strings, or the contributors step's `contributors`)."),
            ParameterSpec("values_dimension", .dimension, default: "project", doc: "The dimension `values` belong to."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec(
                "baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline.")
        ],
        outputs: [
            OutputSpec(
                "segments", .list(.object),
                doc: "`{dimension, value, baselineShare, windowShare, excessShare, excess}` (shares 0–1), most surprising dimension first."),
            OutputSpec(
                "ranking", .list(.object),
                doc: "Dimensions by surprise: `{dimension, surprise, topValue, topExcessShare, topBaselineShare}`."),
            OutputSpec(
                "top", .object, doc: "The most surprising dimension's dominant value `{dimension, value, excessShare, baselineShare}`.")
        ],
        examples: [
            AnalyzerExample(
                "The excess is all Python 2",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "dimensions": ["python_major"]],
                data: ExampleData(counts: [
                    .daily("flask", from: "2020-02-19", runs: (100, 17), dimensions: [.python: "3.8.2"]),
                    .daily("flask", from: "2020-02-19", runs: (10, 14), (210, 3), dimensions: [.python: "2.7.16"])
                ]),
                expect: [
                    "top": .contains(["dimension": "python_major", "value": "2", "excessShare": 1.0]),
                    "segments": .contains([["dimension": "python_major", "value": "2", "excess": 600]])
                ],
                finding: "python_major = 2: 100% of the excess"),
            AnalyzerExample(
                "Every segment grew alike",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"], "dimensions": ["python_major"]],
                data: ExampleData(counts: [
                    .daily("flask", from: "2020-02-19", runs: (100, 14), (200, 3), dimensions: [.python: "3.8.2"]),
                    .daily("flask", from: "2020-02-19", runs: (50, 14), (100, 3), dimensions: [.python: "2.7.16"])
                ]),
                expect: ["top": nil, "ranking": .contains([["dimension": "python_major", "surprise": 0.0]])],
                finding: "No segment stands out")
        ])

    public init() {}

    /// Installers that mirror a whole index (as PyPI's linehaul names them): their downloads are
    /// copies for another server, not installs. Caching proxies (devpi, Artifactory, Nexus) are
    /// not among them: what they fetch stands for installs behind them.
    static let mirrorInstallers: Set<String> = ["bandersnatch", "z3c.pypimirror", "pep381client"]

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimensions = try context.list("dimensions").compactMap { $0.stringValue.flatMap { CasebookCore.Dimension(name: $0) } }
        var filters = try context.filters("filter")
        let valuesDimension = try context.dimension("values_dimension")
        if let values = context.valueList("values"), !values.isEmpty {
            filters.append(
                DimensionFilter(valuesDimension, .in, values.map { v in valuesDimension == .project ? v.map(ProjectName.normalize) : v }))
        }
        let baselineDays = max(1, try context.int("baseline_days"))

        struct Split {
            var dimension: CasebookCore.Dimension
            var rows: [(value: String?, b: Double, w: Double, e: Double, excess: Double)]
            var surprise: Double
            var windowTotal = 0.0
            var expectedTotal = 0.0
        }
        var splits: [Split] = []
        // One query per period grouped by every dimension (client apart: its joint with the
        // others would be as large as the events), each dimension's split being a marginal.
        let joint = dimensions.filter { $0 != .client }
        let marginals =
            joint.isEmpty
            ? []
            : try await WindowComparison.marginals(context, window: window, dimensions: joint, filters: filters, baselineDays: baselineDays)
        for d in dimensions {
            let cmp =
                d == .client
                ? try await WindowComparison.make(context, window: window, dimensions: [d], filters: filters, baselineDays: baselineDays).0
                : marginals[joint.firstIndex(of: d)!]
            let bTotal = cmp.expectedTotal
            let wTotal = cmp.windowTotal
            let eTotal = cmp.excessTotal
            var rows: [(value: String?, b: Double, w: Double, e: Double, excess: Double)] = cmp.values.map { v in
                (
                    v.value, bTotal > 0 ? v.expected / bTotal : 0, wTotal > 0 ? v.window / wTotal : 0, eTotal != 0 ? v.excess / eTotal : 0,
                    v.excess
                )
            }
            rows.sort { abs($0.e) != abs($1.e) ? abs($0.e) > abs($1.e) : ($0.value ?? "~") < ($1.value ?? "~") }
            let surprise = eTotal == 0 ? 0 : min(1, rows.reduce(0) { $0 + abs($1.e - $1.b) } / 2)
            splits.append(Split(dimension: d, rows: rows, surprise: surprise, windowTotal: wTotal, expectedTotal: bTotal))
        }
        // Most surprising first; at (nearly) equal surprise, a split whose top value is known
        // first: "installer = bandersnatch" says more than "python_major = unknown"; then the
        // coarser split (fewer values): "python_major = 2" says what "python_minor = 2.7" says
        // when both split the change alike.
        splits.sort { a, b in
            let sa = (a.surprise * 100).rounded()
            let sb = (b.surprise * 100).rounded()
            if sa != sb { return sa > sb }
            let ka = a.rows.first?.value != nil
            let kb = b.rows.first?.value != nil
            if ka != kb { return ka }
            if a.rows.count != b.rows.count { return a.rows.count < b.rows.count }
            return a.surprise > b.surprise
        }

        func r3(_ x: Double) -> Value { .double((x * 1000).rounded() / 1000) }
        var segments: [Value] = []
        var ranking: [Value] = []
        var findings: [Finding] = []
        for s in splits {
            for r in s.rows {
                segments.append(
                    .object([
                        "dimension": .string(s.dimension.rawValue), "value": r.value.map(Value.string) ?? .null,
                        "baselineShare": r3(r.b), "windowShare": r3(r.w), "excessShare": r3(r.e), "excess": .int(Int64(r.excess.rounded()))
                    ]))
            }
            let top = s.rows.first
            ranking.append(
                .object([
                    "dimension": .string(s.dimension.rawValue), "surprise": r3(s.surprise),
                    "topValue": top?.value.map(Value.string) ?? .null, "topExcessShare": r3(top?.e ?? 0),
                    "topBaselineShare": r3(top?.b ?? 0)
                ]))
        }
        let scope = Describe.scope(filters)
        let down = splits.first.map { s in s.rows.reduce(0) { $0 + $1.excess } < 0 } ?? false
        let change = down ? "shortfall" : "excess"
        for (i, s) in splits.enumerated() where (i == 0 || s.surprise >= 0.3) && i < 3 && s.surprise > 0 {
            guard let top = s.rows.first else { continue }
            let table = EvidenceTable(
                title: "Shares by \(s.dimension.rawValue), \(window.label) (\(scope))",
                columns: [s.dimension.rawValue, "baseline share", "window share", "\(change) share", change],
                rows: s.rows.prefix(12).map {
                    [.string(Describe.value($0.value)), r3($0.b), r3($0.w), r3($0.e), .int(Int64($0.excess.rounded()))]
                })
            let striking = s.surprise >= 0.3
            let shown = s.rows.prefix(6)
            let chart = EvidenceChart(
                kind: .bars, title: "Shares by \(s.dimension.rawValue): before, during, and the \(change) alone", unit: "share",
                layout: .stacked,
                series: shown.map { r in
                    .init(
                        name: Describe.value(r.value),
                        points: [
                            .init(x: "baseline", y: (r.b * 1000).rounded() / 1000),
                            .init(x: "window", y: (r.w * 1000).rounded() / 1000),
                            .init(x: change, y: (max(0, r.e) * 1000).rounded() / 1000)
                        ])
                })
            let segment = "\(s.dimension.rawValue) = \(Describe.value(top.value))"
            // A value whose change goes against the window's (it rose in a drop) is named as such.
            let against = (top.excess < 0) != down
            // Split within some downloads only (the contributors' values, a filter): said first,
            // so that no share reads as one of the whole window.
            let within = filters.isEmpty ? "" : "Within \(scope), "
            let lead =
                within
                + (against
                    ? "\(segment) moved against the window: \(Describe.count(abs(top.excess))) downloads \(down ? "more" : "fewer") than its baseline"
                    : down
                        ? "\(Describe.percent(top.e)) of the window's shortfall was in \(segment)"
                        : "\(Describe.percent(top.e)) of the window's excess came from \(segment)")
            // Did everything else stay put? Then the change is all in this segment.
            let restWindow = s.windowTotal - top.w * s.windowTotal
            let restExpected = s.expectedTotal - top.b * s.expectedTotal
            let restStill =
                !against && striking && top.e >= 0.8
                && abs(restWindow - restExpected) <= max(3 * (restExpected + 1).squareRoot(), 0.1 * restExpected)
            var still = ""
            if restStill {
                still =
                    " Everything else did not move: \(Describe.count(restWindow)) downloads against about \(Describe.count(restExpected)) expected."
                if s.dimension == .installer, let v = top.value, Self.mirrorInstallers.contains(v.lowercased()) {
                    still +=
                        " \(v) is a mirroring tool: the \(down ? "drop" : "peak") is mirror traffic, not \(down ? "fewer" : "more") people installing."
                }
            }
            findings.append(
                Finding(
                    title: against
                        ? "\(segment) moved against the \(down ? "drop" : "rise")"
                        : striking
                            ? "\(segment): \(Describe.percent(top.e)) of the \(change)"
                            : "No \(s.dimension.rawValue) stands out: the \(change) is spread like normal traffic",
                    summary:
                        "\(lead), which had \(Describe.percent(top.b)) of \(filters.isEmpty ? "the" : "those") downloads before the window (\(Describe.percent(top.w)) during it). "
                        + (striking
                            ? "The \(change) is distributed very differently from normal traffic (distance \(String(format: "%.2f", s.surprise)))."
                            : "This split is close to normal traffic (distance \(String(format: "%.2f", s.surprise))), so it does not single out a segment.")
                        + still,
                    evidence: [
                        .chart(chart), .table(table),
                        .number(label: "surprise (total variation distance)", value: (s.surprise * 1000).rounded() / 1000, unit: "share")
                    ],
                    confidence: striking ? .high : .low))
        }
        if findings.isEmpty {
            let summary =
                splits.isEmpty
                ? "No dimension was given to split by."
                : splits.allSatisfy({ $0.rows.allSatisfy { $0.value == nil } })
                    ? "The downloads (\(scope)) carry no values for \(Describe.list(splits.map(\.dimension.rawValue), limit: 8)), so they cannot be split into client segments."
                    : splits.first(where: { abs($0.windowTotal - $0.expectedTotal) >= 0.5 }).map { s in
                        let change = s.windowTotal > s.expectedTotal ? "rise" : "fall"
                        return "Every segment of \(Describe.list(splits.map(\.dimension.rawValue), limit: 8)) kept its baseline share: "
                            + "the \(change) (\(scope): \(Describe.count(s.windowTotal)) downloads against about "
                            + "\(Describe.count(s.expectedTotal)) expected) is spread across client segments in proportion, so no segment stands out."
                    }
                        ?? "The window's downloads (\(scope)) do not differ from its baseline, so there is no change to split."
            let proportional = summary.hasPrefix("Every segment")
            findings.append(
                Finding(title: proportional ? "No segment stands out" : "No segment split", summary: summary, confidence: .medium))
        }
        let topValue: Value =
            splits.first(where: { $0.surprise > 0 }).flatMap { s in
                s.rows.first.map { r in
                    Value.object([
                        "dimension": .string(s.dimension.rawValue), "value": r.value.map(Value.string) ?? .null, "excessShare": r3(r.e),
                        "baselineShare": r3(r.b)
                    ])
                }
            } ?? .null
        return AnalyzerResult(outputs: ["segments": .array(segments), "ranking": .array(ranking), "top": topValue], findings: findings)
    }
}
