import CasebookAnalysis
import CasebookCore
import Foundation

/// `explanation`: the ledger of an investigation: which part of the window's change each
/// explanation accounts for, and what remains unexplained.
///
/// Earlier steps each look at one side of a change: which values moved (contributors), which
/// client segment (segment-split), which clients (client-behaviour), what caused it
/// (attribution), whether the server or the log was at fault (log-health). Read one by one they
/// look like rival hypotheses ("CI runners" ahead of "fresh installs of X 1.2"), although they
/// often describe one story: *who* (a dozen CI runners), *what* (fresh installs of a release's
/// requirement closure), *why now* (released that morning). This step joins compatible parts into
/// explanations, each a set of `dimension → value(s)` pairs with the downloads it accounts for
/// (asked of the store: the window's change restricted to those pairs), and states the rest.
public struct ExplanationAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "explanation",
        summary:
            "Joins the earlier steps' findings into a ledger: each explanation's pairs, the downloads it accounts for, and the unexplained rest.",
        discussion: """
            Reads the outputs of earlier steps, named by their ids (a step that did not run is left out). An outage or a gap in the log (`health`) is \
            an explanation of its own. Otherwise, when the localise step found causes (combinations of \
            values across dimensions), each cause is an explanation, and the *why* and *who* below are \
            attached to the cause that holds the contributors' values. Without causes, the contributors' \
            values, the most surprising client \
            segment when it carries most of the change (`segment_share`), and CI runners when they made \
            most of the window's downloads, are joined into one set of pairs; the store is asked for the \
            window's change restricted to them, and that is what the explanation accounts for. The best \
            attribution hypothesis and the clients' concentration are attached to it as the *why* and the \
            *who* when they concern the same values. The ledger is `{change, explanations: [{pairs, \
            hypotheses, downloads, share}], unexplained, overlap}` (downloads signed; share of the change). Each \
            explanation's downloads are what it measures in the change's direction, so when the rest of the \
            traffic moved the other way they add up to more than the change and `unexplained` has the \
            other sign; downloads in two explanations at once (`overlap`) are counted once in the total.
            """,
        parameters: [
            ParameterSpec(
                "window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec("baseline_days", .int, default: 14, doc: "Whole days before the window that make its baseline."),
            ParameterSpec(
                "health", .string, default: "health",
                doc: "Id of the log-health step (its `verdict`, `missingDownloads`); a step that did not run is left out."),
            ParameterSpec(
                "localise", .string, default: "localise",
                doc: "Id of the localise step (its `causes`): when it found causes, each is an explanation of its own."),
            ParameterSpec(
                "contributors", .string, default: "contributors", doc: "Id of the contributors step (its `values`, `dimension`, `shape`)."),
            ParameterSpec("segments", .string, default: "segments", doc: "Id of the segment-split step (its `ranking`)."),
            ParameterSpec("clients", .string, default: "clients", doc: "Id of the client-behaviour step (its `concentration`, `ciShare`)."),
            ParameterSpec("attribution", .string, default: "attribution", doc: "Id of the attribution step (its `top`)."),
            ParameterSpec(
                "segment_share", .number, default: 0.8,
                doc: "A segment joins the explanation when it carries at least this share of the change and stands out (surprise ≥ 0.3).")
        ],
        outputs: [
            OutputSpec(
                "ledger", .object,
                doc:
                    "`{change, explanations: [{pairs, hypotheses, downloads, share}], unexplained, overlap}`: `change` the window's signed change against its baseline; each explanation's `pairs` maps a dimension to a value or a list of values, `hypotheses` names what it is, `downloads` the change it measures (signed, in the change's direction) and `share` that part of the change; `overlap` the downloads in more than one explanation (counted once); `unexplained` the rest, `change − (Σ downloads − overlap)`: of the other sign when the rest of the traffic moved the other way."
            ),
            OutputSpec(
                "explainedShare", .number,
                doc: "Share of the change the explanations account for (0–1; 1 when they carry all of it or more).")
        ],
        examples: [
            AnalyzerExample(
                "The contributors account for the excess",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(
                    counts: [
                        .daily("flask", from: "2020-02-19", runs: (100, 17)),
                        .daily("flask-login", from: "2020-02-19", runs: (10, 14), (310, 3))
                    ],
                    steps: [
                        "contributors": ["values": ["flask-login"], "dimension": "project", "shape": "few"],
                        "clients": ["concentration": "single-client", "ciShare": 0.0]
                    ]),
                expect: [
                    "explainedShare": 1.0,
                    "ledger": .contains([
                        "change": 900, "unexplained": 0,
                        "explanations": [["pairs": ["project": "flask-login"], "downloads": 900]]
                    ])
                ],
                finding: "All of the excess is explained"),
            AnalyzerExample(
                "An outage explains a shortfall",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(
                    counts: [.daily("flask", from: "2020-02-19", runs: (100, 14), (50, 1), (100, 2))],
                    steps: ["health": ["verdict": "outage", "missingDownloads": 50]]),
                expect: ["explainedShare": 1.0, "ledger": .contains(["change": -50, "explanations": [["downloads": -50]]])]),
            AnalyzerExample(
                "No change to explain",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-19", runs: (100, 17))]),
                expect: ["explainedShare": 0.0, "ledger": .contains(["change": 0, "explanations": []])],
                finding: "No change to explain")
        ])

    public init() {}

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let filters = try context.filters("filter")
        let baselineDays = max(1, try context.int("baseline_days"))
        let segmentShare = try context.number("segment_share")
        // Earlier steps are read by id, not through `${{ }}` inputs: a step that did not run (no
        // catalog, a drop) leaves its part of the ledger out instead of skipping this step.
        func outputs(_ parameter: String) -> [String: Value]? { context.value(parameter)?.stringValue.flatMap { context.steps[$0] } }
        let health = outputs("health")
        let localise = outputs("localise")
        let contributors = outputs("contributors")
        let segments = outputs("segments")
        let clients = outputs("clients")
        let attribution = outputs("attribution")

        let total = try await WindowComparison.make(context, window: window, dimensions: [], filters: filters, baselineDays: baselineDays).0
        let change = total.excessTotal
        let up = change >= 0
        let changeWord = up ? "excess" : "shortfall"

        struct Explanation {
            var pairs: [(CasebookCore.Dimension, [String?])]
            var hypotheses: [String]
            var downloads: Double
            /// Estimated rather than counted (the downloads an outage or a log gap cost).
            var estimate = false
        }
        var explanations: [Explanation] = []
        // Downloads in more than one explanation (signed like the change), counted once in the total.
        var overlap = 0.0

        if let verdict = health?["verdict"]?.stringValue, verdict == "outage" || verdict == "log-gap" {
            let missing = Double(health?["missingDownloads"]?.intValue ?? 0)
            explanations.append(
                Explanation(
                    pairs: [],
                    hypotheses: [
                        verdict == "outage" ? "missing because of an outage of the server" : "missing from the log (hours without any line)"
                    ],
                    downloads: up ? 0 : -missing, estimate: true))
        } else if change != 0 {
            var pairs: [(CasebookCore.Dimension, [String?])] = []
            var hypotheses: [String] = []
            // What: the values that moved (a few, or a set that moved together).
            if let c = contributors, let shape = c["shape"]?.stringValue, shape == "few" || shape == "set",
                let d = c["dimension"]?.stringValue.flatMap(CasebookCore.Dimension.init(name:)),
                let values = c["values"]?.arrayValue, !values.isEmpty
            {
                let list = values.map { $0 == .null ? nil : (d == .project ? ProjectName.normalize($0.interpolated) : $0.interpolated) }
                pairs.append((d, list))
                if shape == "set" { hypotheses.append("a set of \(values.count) \(d.rawValue) values that moved together") }
            }
            // Who: the client segment that carries (nearly) all of the change: of the segments that
            // stand out, the one whose top value carries the most (the coarsest on a tie, e.g.
            // python_major = 3 rather than python_minor = 3.7 when 3.7 is only part of it).
            let standing = (segments?["ranking"]?.arrayValue ?? []).compactMap(\.objectValue).filter {
                ($0["surprise"]?.doubleValue ?? 0) >= 0.3 && ($0["topExcessShare"]?.doubleValue ?? 0) >= segmentShare
                    && $0["topValue"] != nil && $0["topValue"] != .null
            }
            if let top = standing.max(by: { ($0["topExcessShare"]?.doubleValue ?? 0) < ($1["topExcessShare"]?.doubleValue ?? 0) }),
                let d = top["dimension"]?.stringValue.flatMap(CasebookCore.Dimension.init(name:)), !pairs.contains(where: { $0.0 == d })
            {
                pairs.append((d, [top["topValue"]!.interpolated]))
            }
            // CI runners, when they made most of the window's downloads.
            if let ci = clients?["ciShare"]?.doubleValue, ci >= 0.5, up, !pairs.contains(where: { $0.0 == .ci }) {
                pairs.append((.ci, ["true"]))
                hypotheses.append("CI runners")
            } else if let concentration = clients?["concentration"]?.stringValue {
                switch (concentration, up) {
                case ("single-client", true): hypotheses.append("one client (a mirror, a CI runner or a script)")
                case ("few-clients", true): hypotheses.append("a handful of clients")
                case ("single-client", false): hypotheses.append("one busy client that stopped")
                case ("few-clients", false): hypotheses.append("a handful of clients that fetched less")
                default: break
                }
            }
            // Why now: the attribution hypotheses it kept (the best, and one telling the same
            // story from the other side), when they score well.
            let kept =
                attribution?["hypotheses"]?.arrayValue?.compactMap { try? Hypothesis(value: $0) }.filter { $0.rejected == false }
                ?? attribution?["top"].flatMap { try? Hypothesis(value: $0) }.map { [$0] } ?? []
            for top in kept where (top.score ?? 0) >= 0.5 {
                let subject = [top.project, top.version].compactMap { $0 }.joined(separator: " ")
                let label: String
                switch top.kind {
                case .release: label = "a release of \(subject)"
                case .freshInstall: label = "fresh installs of \(subject)"
                case .mirror: label = "a mirror"
                case .ci: label = "CI runners"
                case .client, .other: label = subject.isEmpty ? top.kind.rawValue : "\(top.kind.rawValue): \(subject)"
                }
                if !hypotheses.contains(label) { hypotheses.append(label) }
            }
            let causes = Self.causePairs(localise?["causes"])
            if !causes.isEmpty {
                // Each cause is an explanation; the hypotheses above concern the contributors'
                // values, so they go to the cause that holds most of them (else the largest cause).
                var parts: [Explanation] = []
                for cause in causes {
                    let restricted = filters + cause.map { DimensionFilter($0.0, .in, $0.1) }
                    // Split by installer too (unless the cause names installers), to tell
                    // whether a mirroring tool made this part of the change.
                    let byInstaller = !cause.contains { $0.0 == .installer }
                    let part = try await WindowComparison.make(
                        context, window: window, dimensions: byInstaller ? [.installer] : [], filters: restricted,
                        baselineDays: baselineDays
                    ).0
                    // What the cause measures in the change's direction (the causes together may
                    // carry more than the change when the rest of the traffic moved the other way).
                    let size = max(0, up ? part.excessTotal : -part.excessTotal)
                    guard size > 0 else { continue }
                    let mirrors = byInstaller ? Self.mirrorHypotheses(part, up: up) : Self.mirrorHypotheses(cause)
                    parts.append(Explanation(pairs: cause, hypotheses: mirrors, downloads: up ? size : -size))
                }
                if !parts.isEmpty {
                    var holder = parts.indices.max { abs(parts[$0].downloads) < abs(parts[$1].downloads) }!
                    if let (d, values) = pairs.first {
                        let best = parts.indices.max {
                            Self.overlap(parts[$0].pairs, d, values) < Self.overlap(parts[$1].pairs, d, values)
                        }!
                        if Self.overlap(parts[best].pairs, d, values) > 0 { holder = best }
                    }
                    for h in hypotheses where !parts[holder].hypotheses.contains(h) { parts[holder].hypotheses.append(h) }
                    explanations = parts
                    overlap = try await Self.overlap(
                        of: parts.map(\.pairs), context, window: window, filters: filters, baselineDays: baselineDays)
                }
            } else if !pairs.isEmpty {
                let restricted = filters + pairs.map { DimensionFilter($0.0, .in, $0.1) }
                let part = try await WindowComparison.make(
                    context, window: window, dimensions: [], filters: restricted, baselineDays: baselineDays
                ).0
                // What the pairs measure, in the change's direction only.
                let downloads = up ? max(0, part.excessTotal) : min(0, part.excessTotal)
                explanations.append(Explanation(pairs: pairs, hypotheses: hypotheses, downloads: downloads))
            }
        }

        let explained = explanations.reduce(0) { $0 + $1.downloads } - overlap
        let unexplained = change - explained
        func share(_ x: Double) -> Double { change != 0 ? ((abs(x) / abs(change)) * 1000).rounded() / 1000 : 0 }
        // The rest of the traffic moved against the change: the explanations carry more than it.
        let restAgainst = change != 0 && unexplained * change < 0 && abs(unexplained) >= 0.5
        let explainedShare = restAgainst ? 1 : min(1, share(explained))
        let ledger: Value = .object([
            "change": .int(Int64(change.rounded())),
            "explanations": .array(
                explanations.map { e in
                    .object([
                        "pairs": .object(
                            Dictionary(
                                e.pairs.map { (d, values) in
                                    (
                                        d.rawValue,
                                        values.count == 1
                                            ? (values[0].map(Value.string) ?? .null) : .array(values.map { $0.map(Value.string) ?? .null })
                                    )
                                }, uniquingKeysWith: { a, _ in a })),
                        "hypotheses": .array(e.hypotheses.map(Value.string)),
                        "downloads": .int(Int64(e.downloads.rounded())),
                        "share": .double(share(e.downloads))
                    ])
                }),
            "unexplained": .int(Int64(unexplained.rounded())),
            "overlap": .int(Int64(overlap.rounded()))
        ])

        let finding: Finding
        if change == 0 {
            finding = Finding(
                title: "No change to explain", summary: "\(window.label) has as many downloads as its baseline predicts.",
                confidence: .medium)
        } else if explanations.isEmpty, !up, let holiday = Self.holiday(context.value("window")) {
            // Spike detection placed the window on a public holiday, and no set of values,
            // segment or clients stands out: the calendar, not an incident.
            finding = Finding(
                title: "A shortfall on a public holiday (\(holiday)), spread like normal traffic",
                summary:
                    "The shortfall of \(Describe.count(abs(change))) downloads in \(window.label) is not accounted for by any set of values, segment or clients the earlier steps found: it falls on \(holiday), a public holiday, and is spread over the traffic as a calendar effect is.",
                confidence: .medium)
        } else if explanations.isEmpty {
            finding = Finding(
                title: "Nothing explains the \(changeWord) yet",
                summary:
                    "The \(changeWord) of \(Describe.count(abs(change))) downloads in \(window.label) is not accounted for by any set of values, segment or clients the earlier steps found.",
                confidence: .medium, openQuestions: ["Which combination of dimensions sets the window apart from its baseline?"])
        } else {
            let parts = explanations.map { e -> String in
                let pairs = e.pairs.map { d, values in "\(d.rawValue) \(Describe.list(values.map(Describe.value), limit: 4))" }.joined(
                    separator: " × ")
                let amount = "\(e.estimate ? "about " : "")\(Describe.count(abs(e.downloads))) (\(Describe.percent(share(e.downloads))))"
                if pairs.isEmpty { return "\(amount) are \(Describe.list(e.hypotheses))" }
                return "\(amount) are downloads with \(pairs)"
                    + (e.hypotheses.isEmpty ? "" : ", explained by \(Describe.list(e.hypotheses))")
            }
            // An estimate within a tenth of the change is "about the whole" of it: the rest is
            // within the estimate's own error, not a movement of the rest of the traffic.
            let estimated = explanations.allSatisfy(\.estimate) && abs(unexplained) <= 0.1 * abs(change)
            var rest =
                estimated && abs(unexplained) >= 0.5
                ? "about the whole \(changeWord)"
                : restAgainst
                    ? "\(explanations.count == 1 ? "that is" : "together they are") more than the \(changeWord): the rest of the traffic came out \(Describe.count(abs(unexplained))) downloads (\(Describe.percent(share(unexplained))) of the \(changeWord)) \(up ? "below" : "above") its baseline"
                    : abs(unexplained) < 0.5
                        ? "nothing remains unexplained"
                        : Int(abs(unexplained).rounded()) == 1
                            ? "1 download (\(Describe.percent(share(unexplained)))) remains unexplained"
                            : "\(Describe.count(abs(unexplained))) downloads (\(Describe.percent(share(unexplained)))) remain unexplained"
            if abs(overlap) >= 0.5 {
                rest += " (\(Describe.count(abs(overlap))) downloads are in more than one of them, counted once)"
            }
            finding = Finding(
                title: estimated
                    ? "About all of the \(changeWord) is explained"
                    : explainedShare >= 0.9995
                        ? "All of the \(changeWord) is explained" : "\(Describe.percent(explainedShare)) of the \(changeWord) is explained",
                summary:
                    "Of the \(changeWord) of \(Describe.count(abs(change))) downloads in \(window.label), \(Describe.list(parts, limit: 4)); \(rest).",
                evidence: [
                    .table(
                        EvidenceTable(
                            title: "The ledger of \(window.label)", columns: ["explanation", "pairs", "downloads", "share of the change"],
                            rows: explanations.map { e in
                                [
                                    .string(e.hypotheses.isEmpty ? "–" : Describe.list(e.hypotheses)),
                                    .string(
                                        e.pairs.map { d, v in "\(d.rawValue) = \(Describe.list(v.map(Describe.value), limit: 6))" }.joined(
                                            separator: "; ")),
                                    .int(Int64(e.downloads.rounded())), .double(share(e.downloads))
                                ]
                            }
                                + (abs(overlap) >= 0.5
                                    ? [
                                        [
                                            .string("in more than one (counted once)"), .string("–"), .int(-Int64(overlap.rounded())),
                                            .double(-share(overlap))
                                        ]
                                    ]
                                    : [])
                                + [
                                    [
                                        .string(restAgainst ? "the rest of the traffic (the other way)" : "unexplained"), .string("–"),
                                        .int(Int64(unexplained.rounded())), .double(restAgainst ? -share(unexplained) : share(unexplained))
                                    ]
                                ])),
                    .count(up ? "excess" : "shortfall", Int64(abs(change).rounded())),
                    .count("unexplained", Int64(abs(unexplained).rounded()))
                ],
                confidence: explainedShare >= 0.8 ? .high : .medium,
                openQuestions: explainedShare >= 0.8 ? [] : ["What accounts for the unexplained rest?"])
        }
        return AnalyzerResult(outputs: ["ledger": ledger, "explainedShare": .double(explainedShare)], findings: [finding])
    }

    /// The public holiday spike detection placed the window on (`kind: holiday`), if any: the
    /// window object, or the first of a `windows` list.
    static func holiday(_ window: Value?) -> String? {
        guard let w = window?.objectValue ?? window?.arrayValue?.first?.objectValue, w["kind"]?.stringValue == "holiday" else {
            return nil
        }
        return w["holiday"]?.stringValue
    }

    /// The localise step's causes as `dimension → values` pairs (a cause with no readable pair is left out).
    static func causePairs(_ causes: Value?) -> [[(CasebookCore.Dimension, [String?])]] {
        (causes?.arrayValue ?? []).compactMap { cause in
            guard let pairs = cause["pairs"]?.objectValue, !pairs.isEmpty else { return nil }
            var out: [(CasebookCore.Dimension, [String?])] = []
            for (name, value) in pairs.sorted(by: { $0.key < $1.key }) {
                guard let d = CasebookCore.Dimension(name: name) else { return nil }
                let values = value.arrayValue ?? [value]
                out.append((d, values.map { $0 == .null ? nil : $0.interpolated }))
            }
            return out
        }
    }

    /// The change carried by more than one of `explanations` (inclusion–exclusion over their
    /// intersections, each asked of the store; explanations whose values are disjoint meet nowhere
    /// and cost no query), signed like the change.
    static func overlap(
        of explanations: [[(CasebookCore.Dimension, [String?])]], _ context: AnalyzerContext, window: AnalysisWindow,
        filters: [DimensionFilter], baselineDays: Int64
    ) async throws -> Double {
        let n = explanations.count
        guard n > 1 else { return 0 }
        var shared = 0.0
        for mask in 1..<(1 << n) where mask.nonzeroBitCount >= 2 {
            let members = (0..<n).filter { mask & (1 << $0) != 0 }.map { explanations[$0] }
            guard let meet = DimensionFilter.intersection(of: members.map { $0.map { DimensionFilter($0.0, .in, $0.1) } }) else {
                continue
            }
            let part = try await WindowComparison.make(
                context, window: window, dimensions: [], filters: filters + meet, baselineDays: baselineDays
            ).0
            // Counted once: the pairwise meets are subtracted, the triple one added back, ...
            shared += (mask.nonzeroBitCount % 2 == 0 ? 1 : -1) * part.excessTotal
        }
        return shared
    }

    /// How many of `values` (of `dimension`) the pairs hold.
    static func overlap(_ pairs: [(CasebookCore.Dimension, [String?])], _ dimension: CasebookCore.Dimension, _ values: [String?]) -> Int {
        guard let mine = pairs.first(where: { $0.0 == dimension })?.1 else { return 0 }
        func key(_ v: String?) -> String? { dimension == .project ? v.map(ProjectName.normalize) : v }
        let wanted = Set(values.map(key))
        return mine.filter { wanted.contains(key($0)) }.count
    }

    /// "a mirroring tool (bandersnatch)" when mirroring installers made nine tenths of a part's
    /// change (split by installer), in the change's direction.
    static func mirrorHypotheses(_ part: WindowComparison, up: Bool) -> [String] {
        let total = up ? part.excessTotal : -part.excessTotal
        guard total > 0 else { return [] }
        let mirrors = part.values.filter { v in
            v.value.map { SegmentSplitAnalyzer.mirrorInstallers.contains($0.lowercased()) } ?? false
        }
        let moved = mirrors.filter { (up ? $0.excess : -$0.excess) > 0 }
        let share = moved.reduce(0.0) { $0 + (up ? $1.excess : -$1.excess) } / total
        guard share >= 0.9 else { return [] }
        return ["a mirroring tool (\(Describe.list(moved.compactMap(\.value))))"]
    }

    /// "a mirroring tool (bandersnatch)" when a cause is a mirroring installer's downloads.
    static func mirrorHypotheses(_ pairs: [(CasebookCore.Dimension, [String?])]) -> [String] {
        guard let installers = pairs.first(where: { $0.0 == .installer })?.1 else { return [] }
        let mirrors = installers.compactMap { $0 }.filter { SegmentSplitAnalyzer.mirrorInstallers.contains($0.lowercased()) }
        guard !mirrors.isEmpty, mirrors.count == installers.count else { return [] }
        return ["a mirroring tool (\(Describe.list(mirrors)))"]
    }
}
