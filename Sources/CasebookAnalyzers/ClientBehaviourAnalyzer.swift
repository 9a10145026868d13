import CasebookAnalysis
import CasebookCore
import Foundation

/// `client-behaviour`: who made a window's downloads: one mirror or CI farm, or thousands of
/// clients; how often each client fetched each value (repeats); which values clients fetched
/// together.
///
/// Clients appear only as short pseudonyms (`client-1`, ...) ranked by downloads: the store's
/// salted keys are never shown.
public struct ClientBehaviourAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "client-behaviour",
        summary: "How concentrated a window's downloads are over clients, repeated downloads per client, and values fetched together.",
        discussion: """
            Looks at the downloads of `values` (e.g. the contributors) in the window, per client. \
            `topClientShare` is the largest single client's share of the window's excess (1 for a mirror \
            or a single runner); for a drop it is the largest client's share of the shortfall, so that a \
            mirror or CI farm that stopped (one client missing) is told apart from an outage or a holiday \
            (every client fetching a little less). Per value: downloads, distinct clients, downloads per client and the share \
            of clients that fetched it more than once: a value fetched about twice per client while the \
            others are fetched once explains a doubled count. Co-fetching: the share of clients that fetched \
            every value. Needs client keys (combined logs); BigQuery rows and counts have none.
            """,
        parameters: [
            ParameterSpec("window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list."),
            ParameterSpec(
                "values", .any, optional: true,
                doc: "Only these values of `dimension` (strings, or the contributors step's `contributors`); default: all downloads."),
            ParameterSpec("dimension", .dimension, default: "project", doc: "The dimension `values` belong to."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Only downloads with these dimension values."),
            ParameterSpec(
                "baseline_days", .int, default: 14, range: .between(1, 366), doc: "Whole days before the window that make its baseline.")
        ],
        outputs: [
            OutputSpec(
                "topClientShare", .number,
                doc: "The largest single client's share of the window's excess, or of its shortfall for a drop (0–1)."),
            OutputSpec(
                "top10Share", .number, doc: "The ten largest clients' share of the window's excess, or of its shortfall for a drop (0–1)."),
            OutputSpec("clients", .int, doc: "Distinct clients with downloads in the window."),
            OutputSpec(
                "concentration", .string,
                doc:
                    "How concentrated the change is: `single-client`, `few-clients`, `many-clients` or `unknown` (no client keys). For a drop it describes who is missing."
            ),
            OutputSpec("direction", .string, doc: "`up` when the window has an excess, `down` when it has a shortfall."),
            OutputSpec("missingClients", .int, doc: "For a drop: clients active in the baseline that made no download in the window."),
            OutputSpec("ciShare", .number, doc: "Share of the window's downloads from CI runners (clients reporting `ci`)."),
            OutputSpec("perValue", .list(.object), doc: "`{value, downloads, clients, perClient, repeatShare}` per value."),
            OutputSpec(
                "repeated", .list(.object),
                doc: "Values fetched clearly more often per client than the others: `{value, perClient, typical}`."),
            OutputSpec("coFetchShare", .number, doc: "Share of clients that fetched every value (when several)."),
            OutputSpec("topClients", .list(.object), doc: "The largest clients as pseudonyms: `{client, downloads, share}`.")
        ],
        examples: [
            AnalyzerExample(
                "One client makes the excess",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(downloads: [
                    .init("flask-1.1.1-py2.py3-none-any.whl", from: "2020-02-19", days: 17, perDay: 20, clients: 20),
                    .init("flask-1.1.1-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 300, clients: 1, keyPrefix: "mirror")
                ]),
                expect: [
                    "concentration": "single-client", "direction": "up", "topClientShare": .approximately(1.0, tolerance: 0.01),
                    "clients": 21
                ],
                finding: "One client made most of it"),
            AnalyzerExample(
                "Many clients each a little more",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(downloads: [
                    .init("flask-1.1.1-py2.py3-none-any.whl", from: "2020-02-19", days: 14, perDay: 100, clients: 100),
                    .init("flask-1.1.1-py2.py3-none-any.whl", from: "2020-03-04", days: 3, perDay: 200, clients: 200)
                ]),
                expect: ["concentration": "many-clients", "direction": "up", "clients": 200],
                finding: "Many clients, not one"),
            AnalyzerExample(
                "Counts carry no client keys",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-19", runs: (100, 14), (400, 3))]),
                expect: ["concentration": "unknown"],
                finding: "No client information")
        ])

    public init() {}

    /// Downloads per client as a reader says it: `3.54`, `140`.
    static func perClient(_ x: Double) -> String {
        x >= 10 && x == x.rounded() ? String(Int(x)) : String(format: x >= 10 ? "%.1f" : "%.2f", x)
    }

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let dimension = try context.dimension("dimension")
        var filters = try context.filters("filter")
        let given = filters
        let values = context.valueList("values").map { list in list.map { v in dimension == .project ? v.map(ProjectName.normalize) : v } }
        if let values, !values.isEmpty { filters.append(DimensionFilter(dimension, .in, values)) }
        let baselineDays = max(1, try context.int("baseline_days"))
        let range = TimeRange(from: window.start, to: window.end)

        // Per value and client in the window (read from the raw events: clients are in no
        // rollup); the window's per-client totals are its marginal, so only the baseline is asked.
        let perPair = try await context.aggregate(AggregateQuery(dimensions: [dimension, .client], filters: filters, range: range))
        var clientSums: [String?: Int64] = [:]
        for r in perPair.rows { clientSums[r.values[1], default: 0] += r.downloads }
        let windowByClient = AggregateTable(
            bucket: nil, dimensions: [.client],
            rows: clientSums.map { AggregateRow(bucketStart: nil, values: [$0.key], downloads: $0.value) })
        let (byClient, _) = try await WindowComparison.make(
            context, window: window, dimensions: [CasebookCore.Dimension.client], filters: filters,
            baselineDays: baselineDays, windowTable: windowByClient)
        let known = byClient.values.filter { $0.value != nil }
        let windowTotal = byClient.windowTotal
        func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
        guard !known.isEmpty else {
            return AnalyzerResult(
                outputs: [
                    "topClientShare": .double(0), "top10Share": .double(0), "clients": .int(0), "concentration": .string("unknown"),
                    "ciShare": .double(0), "perValue": .array([]), "repeated": .array([]), "coFetchShare": .double(0),
                    "topClients": .array([])
                ],
                findings: [
                    Finding(
                        title: "No client information",
                        summary:
                            "These downloads carry no client keys (BigQuery rows and counts do not), so their clients cannot be told apart.",
                        confidence: .high, openQuestions: ["Are the downloads concentrated on a few clients? Only access logs can tell."])
                ])
        }
        // A rise is shared out by who added downloads; a drop by who is missing. For a drop nobody
        // "made" anything: the shortfall of each client that fetched less than its baseline.
        let down = byClient.excessTotal < 0 || (byClient.excessTotal == 0 && window.direction == .down)
        let changeTotal = max(abs(byClient.excessTotal), 1)
        let movers = known.map { (c: $0, change: down ? -$0.excess : $0.excess) }.filter { $0.change > 0 }.sorted { $0.change > $1.change }
        let topShare = min(1, max(0, (movers.first?.change ?? 0) / changeTotal))
        let top10Share = min(1, max(0, movers.prefix(10).reduce(0) { $0 + $1.change } / changeTotal))
        let clientsInWindow = known.filter { $0.window > 0 }
        let clientsBefore = known.filter { $0.expected > 0 }
        let involved = down ? clientsBefore.count : clientsInWindow.count
        let concentration = topShare >= 0.5 ? "single-client" : (top10Share >= 0.8 || involved <= 10) ? "few-clients" : "many-clients"
        // For a drop: how many of the baseline's clients did not come back at all.
        let vanished = clientsBefore.filter { $0.window == 0 }

        // CI share.
        let ci = try await context.aggregate(AggregateQuery(dimensions: [.ci], filters: filters, range: range))
        let ciDownloads = Double(ci.rows.filter { $0.values[0] == "true" }.reduce(0) { $0 + $1.downloads })
        let ciShare = windowTotal > 0 ? ciDownloads / windowTotal : 0

        // Per value: downloads per client and repeats.
        struct PerValue {
            var downloads = 0.0
            var clients = 0
            var repeaters = 0
        }
        var per: [String?: PerValue] = [:]
        var setsByClient: [String: Set<String?>] = [:]
        for r in perPair.rows {
            guard let client = r.values[1] else { continue }
            per[r.values[0], default: PerValue()].downloads += Double(r.downloads)
            per[r.values[0], default: PerValue()].clients += 1
            if r.downloads > 1 { per[r.values[0], default: PerValue()].repeaters += 1 }
            setsByClient[client, default: []].insert(r.values[0])
        }
        let perValueSorted = per.sorted {
            $0.value.downloads != $1.value.downloads ? $0.value.downloads > $1.value.downloads : ($0.key ?? "~") < ($1.key ?? "~")
        }
        let perClient = perValueSorted.map { ($0.key, $0.value.clients > 0 ? $0.value.downloads / Double($0.value.clients) : 0) }
        let typical = Stats.median(perClient.map(\.1))
        let repeated = perClient.filter { perValueSorted.count > 1 && $0.1 >= 1.5 * typical && $0.1 >= 1.5 }
        let allValues = Set(per.keys)
        let coFetch =
            allValues.count > 1 ? Double(setsByClient.values.filter { $0 == allValues }.count) / Double(max(1, setsByClient.count)) : 0

        // Pseudonyms: client-1 is the largest.
        let ranked = clientsInWindow.sorted { $0.window != $1.window ? $0.window > $1.window : ($0.value ?? "") < ($1.value ?? "") }
        var topClients: [Value] = []
        for (i, c) in ranked.prefix(10).enumerated() {
            let share = r3(windowTotal > 0 ? c.window / windowTotal : 0)
            topClients.append(.object(["client": .string("client-\(i + 1)"), "downloads": .int(Int64(c.window)), "share": .double(share)]))
        }
        var perValue: [Value] = []
        var perRows: [[Value]] = []
        for (k, v) in perValueSorted {
            let pc = r3(v.clients > 0 ? v.downloads / Double(v.clients) : 0)
            let rs = r3(v.clients > 0 ? Double(v.repeaters) / Double(v.clients) : 0)
            let name: Value = k.map(Value.string) ?? .null
            perValue.append(
                .object([
                    "value": name, "downloads": .int(Int64(v.downloads)), "clients": .int(Int64(v.clients)),
                    "perClient": .double(pc), "repeatShare": .double(rs)
                ]))
            perRows.append([.string(Describe.value(k)), .int(Int64(v.downloads)), .int(Int64(v.clients)), .double(pc), .double(rs)])
        }
        var repeatedValues: [Value] = []
        for r in repeated {
            let name: Value = r.0.map(Value.string) ?? .null
            repeatedValues.append(.object(["value": name, "perClient": .double(r3(r.1)), "typical": .double(r3(typical))]))
        }
        var clientRows: [[Value]] = []
        for (i, c) in ranked.prefix(10).enumerated() {
            clientRows.append([.string("client-\(i + 1)"), .int(Int64(c.window)), .double(r3(windowTotal > 0 ? c.window / windowTotal : 0))]
            )
        }

        var findings: [Finding] = []
        // What was looked at: the values, within the filter (a segment an earlier step found).
        let analysed = values.flatMap { $0.isEmpty ? nil : "the \(Describe.counted($0.count, "\(dimension.rawValue) value")) analysed" }
        let within = given.isEmpty ? nil : Describe.scope(given)
        let scope =
            switch (analysed, within) {
            case (let a?, let w?): "\(a), within \(w)"
            case (let a?, nil): a
            case (nil, let w?): w
            case (nil, nil): "all downloads"
            }
        let clientTable = EvidenceTable(
            title: "Largest clients in \(window.label) (pseudonyms)", columns: ["client", "downloads", "share of window"],
            rows: clientRows)
        let title: String
        let summary: String
        if down {
            let shortfall = Describe.count(abs(byClient.excessTotal))
            switch concentration {
            case "single-client":
                title = "One client that was busy before is missing"
                summary =
                    "For \(scope) in \(window.label), one client accounts for \(Describe.percent(topShare)) of the shortfall of \(shortfall) downloads: a client that fetched a lot before the window (a mirror, a CI farm or a script) stopped or slowed down, while the others went on as usual."
            case "few-clients":
                title = "A few clients account for the shortfall"
                summary =
                    "For \(scope) in \(window.label), the ten clients that fell furthest below their baseline account for \(Describe.percent(top10Share)) of the shortfall of \(shortfall) downloads: a handful of clients fetched less, not clients across the board."
            default:
                title = "The shortfall is spread over many clients"
                summary =
                    "For \(scope) in \(window.label), the shortfall of \(shortfall) downloads is spread over \(Describe.count(Double(movers.count))) clients that fetched less than before, the largest accounting for only \(Describe.percent(topShare, digits: 1)) of it: clients across the board fetched less (an outage, a holiday or missing log lines), not one client that stopped."
            }
        } else {
            switch concentration {
            case "single-client":
                title = "One client made most of it"
                summary =
                    "For \(scope) in \(window.label), one client made \(Describe.percent(topShare)) of the excess: a mirror, a CI runner or a single script, not a crowd."
            case "few-clients":
                title = "A few clients made most of it"
                summary =
                    "For \(scope) in \(window.label), the ten largest clients made \(Describe.percent(top10Share)) of the excess: a handful of clients, not a crowd."
            default:
                title = "Many clients, not one"
                summary =
                    "For \(scope) in \(window.label), \(Describe.count(Double(clientsInWindow.count))) clients shared it and the largest made only \(Describe.percent(topShare, digits: 1)) of the excess: a crowd, not one mirror or CI farm."
            }
        }
        var evidence: [Evidence] = [.table(clientTable), .count("clients", Int64(clientsInWindow.count), unit: "clients")]
        if down {
            evidence.append(.count("clients active before and absent in the window", Int64(vanished.count), unit: "clients"))
            evidence.append(.number(label: "largest client's share of the shortfall", value: r3(topShare), unit: "share"))
        } else {
            evidence.append(.number(label: "largest client's share of the excess", value: r3(topShare), unit: "share"))
        }
        evidence.append(.number(label: "CI share", value: r3(ciShare), unit: "share"))
        findings.append(
            Finding(
                title: title,
                summary: summary + (ciShare > 0.05 ? " \(Describe.percent(ciShare)) of the window's downloads came from CI runners." : ""),
                evidence: evidence,
                confidence: .high))
        let perTable = EvidenceTable(
            title: "Downloads per client in \(window.label)",
            columns: [dimension.rawValue, "downloads", "clients", "per client", "clients fetching it more than once"],
            rows: perRows)
        if !repeated.isEmpty {
            let names = Describe.list(repeated.map { "\(Describe.value($0.0)) (\(Self.perClient($0.1)) per client)" })
            findings.append(
                Finding(
                    title: "Repeated downloads: \(Describe.list(repeated.map { Describe.value($0.0) }, limit: 5))",
                    summary:
                        "The same clients fetched \(names) against a typical \(Self.perClient(typical)) per client for the other values: repeated downloads by the same clients, not more clients, account for the larger count.",
                    evidence: [.table(perTable)], confidence: .high,
                    openQuestions: ["Why do these clients fetch it more than once (a retry, a second resolution pass, no cache)?"]))
        } else if perValueSorted.count > 1 {
            findings.append(
                Finding(
                    title: "No repeated downloads stand out",
                    summary:
                        "Every value was fetched about the same number of times per client (typically \(Self.perClient(typical))).",
                    evidence: [.table(perTable)], confidence: .medium))
        }
        if allValues.count > 1 {
            findings.append(
                Finding(
                    title: "Fetched together: \(Describe.percent(coFetch)) of clients fetched all \(allValues.count)",
                    summary:
                        "\(Describe.percent(coFetch)) of the clients fetched every one of the \(allValues.count) values in \(window.label)"
                        + (coFetch >= 0.5 ? ": one upgrade or install session asks for them together." : "."),
                    evidence: [.number(label: "clients fetching all values", value: r3(coFetch), unit: "share")],
                    confidence: coFetch >= 0.5 ? .high : .medium))
        }
        return AnalyzerResult(
            outputs: [
                "topClientShare": .double(r3(topShare)), "top10Share": .double(r3(top10Share)),
                "clients": .int(Int64(clientsInWindow.count)),
                "concentration": .string(concentration), "ciShare": .double(r3(ciShare)), "perValue": .array(perValue),
                "direction": .string((down ? Direction.down : .up).rawValue), "missingClients": .int(Int64(down ? vanished.count : 0)),
                "repeated": .array(repeatedValues), "coFetchShare": .double(r3(coFetch)), "topClients": .array(topClients)
            ],
            findings: findings)
    }
}
