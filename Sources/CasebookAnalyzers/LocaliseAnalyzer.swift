import CasebookAnalysis
import CasebookCore
import Foundation

/// `localise`: which combinations of dimension values (`python_major = 2 × project ∈ {a, b}`)
/// explain a window's change against its baseline, searched across every dimension at once.
public struct LocaliseAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "localise",
        summary: "The smallest set of causes, each a combination of dimension = value(s) pairs, that explains the window's change.",
        discussion: """
            Compares the window with its baseline (the `baseline_days` before it, scaled to what \
            spike-detection expected in the window, or to the window's length for a window given by \
            hand) across every dimension at once, and returns 1 to `max_causes` causes, each of 1 to 4 \
            `dimension = value(s)` pairs (a pair may hold several values of one dimension, when they moved \
            alike), that together explain the rise or the drop: each with its excess or shortfall, its share \
            of the change and its surprise (Jensen–Shannon divergence between its baseline and window \
            shares). A pair is added to a cause only when the cause keeps at least 90% of its change and \
            leaves out a fifth of its baseline traffic or more: a pair that restates the population adds \
            nothing. When no such set explains half of the change, it says so (no causes). Only aggregate \
            queries are asked (their number is in `queries`).
            """,
        parameters: [
            ParameterSpec(
                "window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec(
                "baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline."),
            ParameterSpec(
                "dimensions", .list(.dimension), optional: true,
                doc: "Dimensions to search; default: every dimension with more than one value in the window or baseline."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec("max_causes", .int, default: 3, range: .between(1, 3), doc: "Most causes returned."),
            ParameterSpec("max_pairs", .int, default: 4, range: .between(1, 4), doc: "Most pairs in one cause.")
        ],
        outputs: [
            OutputSpec(
                "causes", .list(.object),
                doc:
                    "`{pairs, excess, share, surprise, window, expected}`, best first: `pairs` maps a dimension to a value or a list of values; `excess` signed (negative: a shortfall); `share` = |excess| / |change|."
            ),
            OutputSpec("change", .int, doc: "The window's downloads minus those expected (signed)."),
            OutputSpec("unexplained", .int, doc: "The change the causes do not carry (signed)."),
            OutputSpec(
                "backToNormal", .bool, doc: "Whether the window without the causes is back within normal (null without causes)."),
            OutputSpec("projects", .list(.string), doc: "The project values within the causes (for later steps)."),
            OutputSpec(
                "segment", .object,
                doc:
                    "The first cause's pairs other than `project`, as a filter (`{python_major: \"2\"}`), when that cause carries at least half of the change; else `{}`. Later steps look within it."
            ),
            OutputSpec("dimensions", .list(.string), doc: "The dimensions searched."),
            OutputSpec("queries", .int, doc: "Aggregate queries asked of the store.")
        ],
        examples: [
            AnalyzerExample(
                "Python 2 clients of one project",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [
                    .daily("flask", from: "2020-02-19", runs: (100, 17), dimensions: [.python: "3.8.2"]),
                    .daily("flask", from: "2020-02-19", runs: (50, 17), dimensions: [.python: "2.7.16"]),
                    .daily("markdown", from: "2020-02-19", runs: (100, 17), dimensions: [.python: "3.8.2"]),
                    .daily("markdown", from: "2020-02-19", runs: (50, 14), (350, 3), dimensions: [.python: "2.7.16"])
                ]),
                expect: [
                    "causes": .contains([["pairs": ["project": "markdown", "python_major": "2"], "excess": 900]]),
                    "projects": ["markdown"], "segment": ["python_major": "2"], "backToNormal": true, "unexplained": 0
                ],
                finding: "1 cause explains"),
            AnalyzerExample(
                "Everything grew alike: no small set",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [
                    .daily("flask", from: "2020-02-19", runs: (100, 14), (200, 3), dimensions: [.python: "3.8.2"]),
                    .daily("markdown", from: "2020-02-19", runs: (50, 14), (100, 3), dimensions: [.python: "2.7.16"])
                ]),
                expect: ["causes": .count(0), "change": 450],
                finding: "No small set")
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let baselineDays = try context.int("baseline_days")
        let filters = try context.filters("filter")
        var dimensions = CasebookCore.Dimension.allCases
        if let given = context.value("dimensions")?.arrayValue {
            dimensions = given.compactMap { $0.stringValue.flatMap { CasebookCore.Dimension(name: $0) } }
        }
        let baseline = TimeRange(from: window.start - baselineDays * 86400, to: window.start)
        let localiser = Localiser(
            dimensions: dimensions, window: TimeRange(from: window.start, to: window.end), baseline: baseline, filters: filters,
            maxCauses: Int(try context.int("max_causes")), maxPairs: Int(try context.int("max_pairs")),
            scale: try await window.baselineScale(baseline: baseline, using: context.aggregate))
        let store = context.store
        let r = try await localiser.localise(using: { try await store.aggregate($0) })
        context.log("localise: \(Describe.counted(r.queries, "query", "queries")) asked")

        var projects: [String] = []
        for c in r.causes {
            for v in c.values(of: .project) { if let v, !projects.contains(v) { projects.append(v) } }
        }
        let outputs: [String: Value] = [
            "causes": .array(r.causes.map { $0.value(detailed: true) }),
            "change": .int(Int64(r.change.rounded())),
            "unexplained": .int(Int64(r.unexplained.rounded())),
            "backToNormal": r.counterfactualIsNormal.map(Value.bool) ?? .null,
            "projects": .array(projects.map(Value.string)),
            "segment": Self.segment(r),
            "dimensions": .array(r.dimensions.map { .string($0.rawValue) }),
            "queries": .int(Int64(r.queries))
        ]
        // A cause on versions alone (`version ∈ {2.11.1, 2.23.0}`) says nothing of whose versions
        // they are: the projects behind them, from one query each.
        var versionsOf: [Int: [(project: String, version: String, share: Double)]] = [:]
        for (i, c) in r.causes.enumerated() where c.pairs.contains(where: { $0.dimension == .version }) && c.values(of: .project).isEmpty {
            let range = c.excess >= 0 ? localiser.window : baseline
            // Every (project, version) of the cause (a few: the values of one pair), the largest six shown.
            let rows = try await context.aggregate(
                AggregateQuery(dimensions: [.project, .version], filters: filters + c.filters, range: range)
            ).rows
            let total = Double(rows.reduce(0) { $0 + $1.downloads })
            versionsOf[i] = rows.prefix(6).compactMap { row in
                guard let p = row.values[0], let v = row.values[1], total > 0 else { return nil }
                return (p, v, Double(row.downloads) / total)
            }
        }
        return AnalyzerResult(outputs: outputs, findings: Self.findings(r, window: window, filters: filters, versionsOf: versionsOf))
    }

    /// `jinja2 2.11.1 (48%), requests 2.23.0 (40%)`: whose versions a cause on versions holds.
    static func versionsText(_ rows: [(project: String, version: String, share: Double)]) -> String {
        rows.map { "\($0.project) \($0.version) (\(Describe.percent($0.share)))" }.joined(separator: ", ")
    }

    /// The first cause's pairs other than `project`, as a filter object, when it carries at least
    /// half of the change (`{}` otherwise: no one segment is the story).
    static func segment(_ r: LocalisationResult) -> Value {
        guard let top = r.causes.first, top.share >= 0.5 else { return .object([:]) }
        var o: [String: Value] = [:]
        for p in top.pairs where p.dimension != .project {
            o[p.dimension.rawValue] =
                p.values.count == 1 ? (p.values[0].map(Value.string) ?? .null) : .array(p.values.map { $0.map(Value.string) ?? .null })
        }
        return .object(o)
    }

    /// `ci = true, distro = Ubuntu` (at most 6): the values every download of the cause has
    /// (99% or more) that under 90% of all downloads have.
    static func shared(_ c: Cause) -> String {
        let shown = c.sharedBy.prefix(6).map(\.text).joined(separator: ", ")
        return c.sharedBy.count > 6 ? shown + " and \(c.sharedBy.count - 6) more" : shown
    }

    /// `1 download`, `2,500 downloads`.
    static func downloads(_ x: Double) -> String { Describe.counted(Int(x.rounded()), "download") }

    static func findings(
        _ r: LocalisationResult, window: AnalysisWindow, filters: [DimensionFilter],
        versionsOf: [Int: [(project: String, version: String, share: Double)]] = [:]
    ) -> [Finding] {
        let up = r.change >= 0
        let change = up ? "excess" : "shortfall"
        let scope = Describe.scope(filters)
        var findings: [Finding] = []
        let cost = Evidence.number(label: "store queries", value: Double(r.queries), unit: nil)
        if r.causes.isEmpty {
            let title: String
            let summary: String
            if !r.changeIsSignificant {
                title = "No change to localise"
                summary =
                    "The window \(window.label) (\(scope)) has \(Self.downloads(r.window)) against about \(Describe.count(r.expected)) expected: no change beyond the baseline's day-to-day noise."
            } else {
                title = "No small set of combinations explains the \(change)"
                summary =
                    "The window \(window.label) (\(scope)) has \(Self.downloads(r.window)) against about \(Describe.count(r.expected)) expected (\(up ? "+" : "")\(Describe.count(r.change))). "
                    + "Across \(Describe.counted(r.dimensions.count, "dimension")), no set of at most 3 combinations of values explains half of the \(change): it is spread over the traffic, like normal traffic \(up ? "growing" : "shrinking") as a whole."
            }
            findings.append(Finding(title: title, summary: summary, evidence: [cost], confidence: .medium))
        } else {
            let explainedShare = r.change != 0 ? (r.change - r.unexplained) / r.change : 0
            let lines = r.causes.enumerated().map { i, c -> String in
                "\(c.text): \(Self.downloads(c.window)) against about \(Describe.count(c.expected)) expected (\(c.excess >= 0 ? "+" : "")\(Describe.count(c.excess)), \(Describe.percent(c.share)) of the \(change))"
                    + (c.sharedBy.isEmpty
                        ? ""
                        : "; \(c.excess >= 0 ? "its downloads in the window all have" : "its downloads in the baseline all had") \(Self.shared(c))")
                    + (versionsOf[i].map {
                        $0.isEmpty
                            ? ""
                            : "; \(c.excess >= 0 ? "its downloads in the window are of" : "its downloads in the baseline were of") \(Self.versionsText($0))"
                    } ?? "")
            }
            // The causes can carry more than the whole change when the rest moved the other way.
            let beyond = explainedShare > 1.005
            let rest = beyond ? " (the rest of the traffic moved the other way, by \(Self.downloads(abs(r.unexplained))))" : ""
            var summary =
                (beyond
                    ? "More than the whole of the window's \(change) (\(up ? "+" : "")\(Self.downloads(r.change)), \(window.label), \(scope)) is in "
                    : "\(Describe.percent(explainedShare)) of the window's \(change) (\(up ? "+" : "")\(Self.downloads(r.change)), \(window.label), \(scope)) is in ")
                + (r.causes.count == 1 ? "one combination of values: " : "\(Describe.counted(r.causes.count, "combination")) of values: ")
                + lines.joined(separator: "; ") + ". "
            if beyond {
                summary +=
                    "Without \(r.causes.count == 1 ? "it" : "them") the window \(r.counterfactualIsNormal == true ? "is back to normal" : "is still not normal")\(rest)."
            } else if r.counterfactualIsNormal == true {
                summary +=
                    "Without \(r.causes.count == 1 ? "it" : "them") the window is back to normal (\(Self.downloads(r.unexplained)) of the change unexplained)."
            } else {
                summary +=
                    "Without \(r.causes.count == 1 ? "it" : "them") the window is still not normal, with \(Self.downloads(r.unexplained)) of the change unexplained."
            }
            let table = EvidenceTable(
                title: "Causes of the \(change), \(window.label)",
                columns: ["cause", "window", "expected", change, "share of the \(change)", "surprise", "its downloads all have"],
                rows: r.causes.map { c in
                    [
                        .string(c.text), .int(Int64(c.window.rounded())), .int(Int64(c.expected.rounded())),
                        .int(Int64(c.excess.rounded())), .double((c.share * 1000).rounded() / 1000),
                        .double((c.surprise * 1000).rounded() / 1000), .string(Self.shared(c))
                    ]
                })
            let chart = EvidenceChart(
                kind: .bars, title: "Each cause: the window against what its baseline expects", unit: "downloads", layout: .grouped,
                series: [
                    .init(
                        name: "expected",
                        points: r.causes.enumerated().map { .init(x: "cause \($0.offset + 1)", y: $0.element.expected.rounded()) }),
                    .init(
                        name: "window",
                        points: r.causes.enumerated().map { .init(x: "cause \($0.offset + 1)", y: $0.element.window.rounded()) })
                ])
            let title =
                (beyond
                    ? "\(r.causes.count == 1 ? "1 cause carries" : "\(r.causes.count) causes carry") all of the \(change) (\(Describe.percent(explainedShare))): "
                    : "\(r.causes.count == 1 ? "1 cause explains" : "\(r.causes.count) causes explain") \(Describe.percent(explainedShare)) of the \(change): ")
                + Describe.list(
                    r.causes.enumerated().map { i, c in
                        // Whose versions: `version ∈ {2.11.1, 2.23.0} (jinja2, requests)`.
                        let projects = (versionsOf[i] ?? []).map(\.project).reduce(into: [String]()) {
                            if !$0.contains($1) { $0.append($1) }
                        }
                        return c.text + (projects.isEmpty ? "" : " (\(Describe.list(projects, limit: 3)))")
                    }, limit: 3)
            findings.append(
                Finding(
                    title: title, summary: summary,
                    evidence: [
                        .chart(chart), .table(table), .number(label: "unexplained", value: r.unexplained.rounded(), unit: "downloads"), cost
                    ],
                    confidence: r.counterfactualIsNormal == true ? .high : .medium,
                    openQuestions: r.counterfactualIsNormal == true ? [] : ["What explains the rest of the change?"]))
        }
        if !r.profiles.isEmpty {
            // BubbleUp-style: per dimension, the window's and the baseline's top values side by side;
            // the dimensions of the causes first.
            let inCauses = r.causes.flatMap { $0.pairs.map(\.dimension) }
            let ordered = r.profiles.sorted { a, b in
                let ia = inCauses.firstIndex(of: a.dimension) ?? Int.max
                let ib = inCauses.firstIndex(of: b.dimension) ?? Int.max
                return ia != ib ? ia < ib : false
            }
            var rows: [[Value]] = []
            for p in ordered {
                let wTotal = max(1, r.window)
                let eTotal = max(1, r.expected)
                for i in 0..<min(3, max(p.windowTop.count, p.baselineTop.count)) {
                    let w = i < p.windowTop.count ? p.windowTop[i] : nil
                    let b = i < p.baselineTop.count ? p.baselineTop[i] : nil
                    rows.append([
                        .string(i == 0 ? p.dimension.rawValue : ""), .int(Int64(i + 1)),
                        w.map { .string(Describe.value($0.value)) } ?? .null,
                        w.map { .double(($0.window / wTotal * 1000).rounded() / 1000) } ?? .null,
                        b.map { .string(Describe.value($0.value)) } ?? .null,
                        b.map { .double(($0.expected / eTotal * 1000).rounded() / 1000) } ?? .null
                    ])
                }
            }
            let table = EvidenceTable(
                title: "What is different in the window: top values per dimension, \(window.label) against its baseline",
                columns: ["dimension", "rank", "window: value", "window: share", "baseline: value", "baseline: share"],
                rows: rows)
            findings.append(
                Finding(
                    title: "What is different in the window",
                    summary:
                        "The top values of \(Describe.counted(r.profiles.count, "dimension")) in the window and in its baseline, side by side (shares of each period's downloads, \(scope)).",
                    evidence: [.table(table)], confidence: .medium))
        }
        return findings
    }
}
