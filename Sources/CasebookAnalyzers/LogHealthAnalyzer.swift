import CasebookAnalysis
import CasebookCore
import Foundation

/// `log-health`: was a window's change in the traffic, in the server's answers, or in the log?
///
/// Downloads alone cannot tell these apart: a server answering 503 to every request, a log with
/// missing hours and clients that stopped asking all show as fewer downloads. An access log
/// records every request with the server's answer, so the store keeps request lines per hour and
/// status (see ``CasebookCore/RequestLogStore``). This analyzer compares the window's hours with
/// the same hours of the baseline days: hours where the server answered errors (5xx) far more
/// than usual are an outage; hours with no line at all where lines are usual are a gap in the
/// log; both are set against the window's missing downloads.
public struct LogHealthAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "log-health",
        summary: "Tells a change in traffic from a server outage (5xx answers) or a gap in the log (hours without lines).",
        discussion: """
            Needs access logs (the `combined` format): counts files and BigQuery rows carry no server \
            answers, and then the step says it cannot tell. An hour is an *error hour* when the server \
            answered at least `min_errors` requests with a 5xx status and at least `error_share` of the \
            hour's lines were 5xx, far above the same hour's usual rate; it is *silent* when the log has \
            no line at all in it while the same hour of the baseline days has at least `min_lines` lines \
            (median): the log is incomplete there, or the server was not running, and the data cannot \
            say which; it is *quiet* when it has lines but under `quiet_share` of its usual number: \
            requests stopped reaching the server (a whole index does not lose 90% of its demand from \
            one hour to the next), an outage in front of the server. The downloads such hours are missing (the hour-of-day median of the baseline days \
            minus what the hour had) are set against the window's shortfall: when they explain at least \
            `explains` of it, the verdict is `outage` or `log-gap`; otherwise `traffic`.
            """,
        parameters: [
            ParameterSpec(
                "window", .any, doc: "The window: an object `{start, end}` or spike-detection's `windows` list (the first is used)."),
            ParameterSpec(
                "filter", .object, default: .object([:]),
                doc: "Only downloads with these dimension values count towards the window's change (request lines are the whole server's)."),
            ParameterSpec("baseline_days", .int, default: 14, doc: "Whole days before the window that make its baseline."),
            ParameterSpec("min_errors", .int, default: 10, doc: "Fewest 5xx answers that make an error hour."),
            ParameterSpec(
                "error_share", .number, default: 0.2, doc: "Smallest share of an hour's lines answered 5xx that makes an error hour."),
            ParameterSpec(
                "min_lines", .int, default: 5,
                doc: "An hour with no line is silent only when that hour usually has at least this many lines."),
            ParameterSpec(
                "quiet_share", .number, default: 0.1,
                doc:
                    "An hour with lines, but fewer than this share of its usual lines (at least 10 × `min_lines`), is one in which requests did not reach the server."
            ),
            ParameterSpec(
                "explains", .number, default: 0.5,
                doc: "Share of the window's shortfall that server or log problems must explain for the verdict.")
        ],
        outputs: [
            OutputSpec(
                "verdict", .choice(["traffic", "outage", "log-gap", "unknown"]),
                doc:
                    "`outage` (the server answered errors), `log-gap` (the log has no lines), `traffic` (the server and the log were normal: the change is in what clients asked for), or `unknown` (no access log covers the window)."
            ),
            OutputSpec("serverErrors", .int, doc: "Requests answered with a 5xx status in the window's error hours."),
            OutputSpec(
                "errorSpans", .list(.object),
                doc:
                    "Runs of error hours: `{start, end, errors, status, usual}` (`status` the most frequent 5xx code, `usual` the 5xx answers those hours usually have)."
            ),
            OutputSpec("silentSpans", .list(.object), doc: "Runs of silent hours: `{start, end, usualLines}`."),
            OutputSpec(
                "quietSpans", .list(.object),
                doc:
                    "Runs of hours in which almost no request reached the server (under `quiet_share` of the usual lines): `{start, end, lines, usualLines}`."
            ),
            OutputSpec("missingDownloads", .int, doc: "Downloads the error and silent hours are missing against their usual level."),
            OutputSpec(
                "explainedShare", .number, doc: "Share of the window's shortfall those missing downloads explain (0–1; 0 for a rise).")
        ],
        examples: [
            AnalyzerExample(
                "The server answered 503 for four hours",
                with: ["window": ["start": "2020-03-03T00:00:00Z", "end": "2020-03-04T00:00:00Z"], "baseline_days": 2],
                data: ExampleData(
                    counts: [.hourly("flask", from: "2020-03-01T00:00:00Z", runs: (20, 58), (nil, 4), (20, 10))],
                    requests: [
                        .init(from: "2020-03-01T00:00:00Z", hours: 58, status: 200, perHour: 25),
                        .init(from: "2020-03-03T10:00:00Z", hours: 4, status: 503, perHour: 30),
                        .init(from: "2020-03-03T14:00:00Z", hours: 10, status: 200, perHour: 25)
                    ]),
                expect: [
                    "verdict": "outage", "serverErrors": 120, "missingDownloads": 80, "explainedShare": 1.0,
                    "errorSpans": [
                        ["start": "2020-03-03T10:00:00Z", "end": "2020-03-03T14:00:00Z", "errors": 120, "status": 503, "usual": 0]
                    ]
                ],
                finding: "An outage"),
            AnalyzerExample(
                "Fewer downloads while the server answered as usual",
                with: ["window": ["start": "2020-03-03T00:00:00Z", "end": "2020-03-04T00:00:00Z"], "baseline_days": 2],
                data: ExampleData(
                    counts: [.hourly("flask", from: "2020-03-01T00:00:00Z", runs: (20, 48), (10, 24))],
                    requests: [.init(from: "2020-03-01T00:00:00Z", hours: 72, status: 200, perHour: 25)]),
                expect: ["verdict": "traffic", "serverErrors": 0, "errorSpans": [], "silentSpans": []],
                finding: "The server and the log were normal"),
            AnalyzerExample(
                "Daily counts carry no server answers",
                with: ["window": ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z"]],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-19", runs: (100, 14), (20, 3))]),
                expect: ["verdict": "unknown"],
                finding: "not in the data")
        ])

    public init() {}

    struct Span {
        var first: Int64
        var last: Int64
        var errors: Int64 = 0
        var usualErrors: Double = 0
        var usualLines: Double = 0
        var missing: Double = 0
        var statuses: [Int: Int64] = [:]
        var end: Int64 { last + 3600 }
    }

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let window = try AnalysisWindow.from(context.value("window"), parameter: "window")
        let filters = try context.filters("filter")
        let baselineDays = max(1, try context.int("baseline_days"))
        let minErrors = try context.int("min_errors")
        let errorShare = try context.number("error_share")
        let minLines = Double(try context.int("min_lines"))
        let explains = try context.number("explains")
        let quietShare = try context.number("quiet_share")
        let windowStart = TimeBucket.hour.start(of: window.start)
        let windowEnd = TimeBucket.hour.start(of: window.end - 1) + 3600
        let baselineStart = TimeBucket.day.start(of: window.start) - baselineDays * 86400

        guard let log = context.store as? any RequestLogStore, let span = try await log.requestLogSpan(),
            let spanFrom = span.from, let spanTo = span.to, spanFrom < windowEnd, spanTo > baselineStart
        else {
            return AnalyzerResult(
                outputs: [
                    "verdict": .string("unknown"), "serverErrors": .int(0), "errorSpans": .array([]), "silentSpans": .array([]),
                    "quietSpans": .array([]), "missingDownloads": .int(0), "explainedShare": .double(0)
                ],
                findings: [
                    Finding(
                        title: "The server's answers are not in the data",
                        summary:
                            "No access log covers \(window.label) (counts files and BigQuery rows carry no server answers), so whether the server failed or the log has gaps cannot be told here; the change is read as a change in traffic.",
                        confidence: .medium,
                        openQuestions: ["Did the server answer errors, or is data missing? The server's access logs would tell."])
                ])
        }

        // Lines per hour by status, and downloads per hour, over the baseline days and the window.
        let counts = try await log.requestCounts(in: TimeRange(from: baselineStart, to: windowEnd))
        var lines: [Int64: Int64] = [:]
        var errors: [Int64: Int64] = [:]
        var statuses: [Int64: [Int: Int64]] = [:]
        for c in counts {
            lines[c.hour, default: 0] += c.count
            if StatusClass(status: c.status) == .serverError {
                errors[c.hour, default: 0] += c.count
                statuses[c.hour, default: [:]][c.status, default: 0] += c.count
            }
        }
        let hourly = try await context.aggregate(
            AggregateQuery(bucket: .hour, filters: filters, range: TimeRange(from: baselineStart, to: windowEnd)))
        var downloads: [Int64: Double] = [:]
        for r in hourly.rows { if let h = r.bucketStart { downloads[h] = Double(r.downloads) } }

        // The usual level of each hour of the day: the median over the baseline days the log covers.
        func usual(_ hourOfDay: Int64, _ value: (Int64) -> Double) -> Double {
            var xs: [Double] = []
            var h = baselineStart + hourOfDay * 3600
            while h < window.start {
                if h >= spanFrom && h < spanTo { xs.append(value(h)) }
                h += 86400
            }
            return Stats.median(xs)
        }

        var errorSpans: [Span] = []
        var silentSpans: [Span] = []
        var quietSpans: [Span] = []
        var expectedTotal = 0.0
        var actualTotal = 0.0
        var h = windowStart
        while h < windowEnd {
            let hod = (h - TimeBucket.day.start(of: h)) / 3600
            let usualDl = usual(hod) { downloads[$0] ?? 0 }
            expectedTotal += usualDl
            actualTotal += downloads[h] ?? 0
            let covered = h >= spanFrom && h < spanTo
            let n = lines[h] ?? 0
            let e = errors[h] ?? 0
            let usualLines = usual(hod) { Double(lines[$0] ?? 0) }
            let usualErrors = usual(hod) { Double(errors[$0] ?? 0) }
            let missing = max(0, usualDl - (downloads[h] ?? 0))
            if covered, e >= minErrors, Double(e) >= errorShare * Double(max(n, 1)), Double(e) > 5 * max(usualErrors, 1) {
                if var last = errorSpans.last, last.last == h - 3600 {
                    last.last = h
                    last.errors += e
                    last.usualErrors += usualErrors
                    last.missing += missing
                    for (s, k) in statuses[h] ?? [:] { last.statuses[s, default: 0] += k }
                    errorSpans[errorSpans.count - 1] = last
                } else {
                    errorSpans.append(
                        Span(first: h, last: h, errors: e, usualErrors: usualErrors, missing: missing, statuses: statuses[h] ?? [:]))
                }
            } else if covered, n > 0, usualLines >= 10 * minLines, Double(n) < quietShare * usualLines {
                if var last = quietSpans.last, last.last == h - 3600 {
                    last.last = h
                    last.usualLines += usualLines
                    last.errors += n
                    last.missing += missing
                    quietSpans[quietSpans.count - 1] = last
                } else {
                    quietSpans.append(Span(first: h, last: h, errors: n, usualLines: usualLines, missing: missing))
                }
            } else if n == 0, usualLines >= minLines {
                // No line at all where lines are usual: inside the log's span a gap, outside it
                // the log has not started or has already ended.
                if var last = silentSpans.last, last.last == h - 3600 {
                    last.last = h
                    last.usualLines += usualLines
                    last.missing += missing
                    silentSpans[silentSpans.count - 1] = last
                } else {
                    silentSpans.append(Span(first: h, last: h, usualLines: usualLines, missing: missing))
                }
            }
            h += 3600
        }

        let shortfall = max(0, expectedTotal - actualTotal)
        let missingErrors = errorSpans.reduce(0) { $0 + $1.missing } + quietSpans.reduce(0) { $0 + $1.missing }
        let missingSilent = silentSpans.reduce(0) { $0 + $1.missing }
        let serverErrors = errorSpans.reduce(Int64(0)) { $0 + $1.errors }
        func share(_ x: Double) -> Double { shortfall > 0 ? min(1, x / shortfall) : 0 }
        let verdict: String
        if shortfall > 0, share(missingErrors + missingSilent) >= explains,
            !(errorSpans.isEmpty && silentSpans.isEmpty && quietSpans.isEmpty)
        {
            verdict = missingErrors >= missingSilent ? "outage" : "log-gap"
        } else {
            verdict = "traffic"
        }

        func spanText(_ s: Span) -> String { Describe.hours(s.first, s.end) }
        /// "1,204 downloads, 80% of the window's shortfall (...)", or "as much as" when more.
        func missingText(_ missing: Double) -> String {
            let amount = "about \(Describe.count(missing)) downloads"
            guard shortfall > 0 else { return amount }
            return missing >= shortfall
                ? "\(amount), as much as the window's whole shortfall (\(shortText))"
                : "\(amount), \(Describe.percent(share(missing))) of the window's shortfall (\(shortText))"
        }
        func hours(_ s: Span) -> String { Describe.counted(Int((s.end - s.first) / 3600), "hour") }
        var findings: [Finding] = []
        var errorValues: [Value] = []
        var silentValues: [Value] = []
        for s in errorSpans {
            let status = s.statuses.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? 500
            errorValues.append(
                .object([
                    "start": .time(s.first), "end": .time(s.end), "errors": .int(s.errors), "status": .int(Int64(status)),
                    "usual": .int(Int64(s.usualErrors.rounded()))
                ]))
        }
        for s in silentSpans {
            silentValues.append(.object(["start": .time(s.first), "end": .time(s.end), "usualLines": .int(Int64(s.usualLines.rounded()))]))
        }
        let shortText = "\(Describe.count(shortfall)) downloads short of the usual \(Describe.count(expectedTotal))"
        if !errorSpans.isEmpty {
            let parts = errorSpans.map { s -> String in
                let status = s.statuses.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? 500
                return
                    "\(status) to \(Describe.count(s.errors)) requests in \(spanText(s)) (\(hours(s)); usually \(Describe.count(s.usualErrors)))"
            }
            let summary =
                "The server answered \(Describe.list(parts, limit: 4)), while clients kept asking: "
                + (verdict == "outage"
                    ? "an outage, not a fall in demand. Those hours are missing \(missingText(missingErrors))."
                    : shortfall > 0
                        ? "the server failed for a while, but those hours are missing only \(missingText(missingErrors)); the rest is a change in traffic."
                        : "the server failed for a while, although the window's downloads did not fall below their usual level.")
            findings.append(
                Finding(
                    title: verdict == "outage"
                        ? "An outage: the server answered \(Describe.count(serverErrors)) requests with errors"
                        : "The server answered errors for \(Describe.counted(errorSpans.reduce(0) { $0 + Int(($1.end - $1.first) / 3600) }, "hour"))",
                    summary: summary,
                    evidence: [
                        .table(
                            EvidenceTable(
                                title: "Hours answered with server errors (5xx)",
                                columns: ["from", "to", "5xx answers", "usual", "most frequent status"],
                                rows: errorSpans.map { s in
                                    [
                                        .time(s.first), .time(s.end), .int(s.errors), .int(Int64(s.usualErrors.rounded())),
                                        .int(Int64(s.statuses.max { $0.value < $1.value }?.key ?? 500))
                                    ]
                                })),
                        .count("server errors (5xx)", serverErrors, unit: "requests"),
                        .count("downloads missing in those hours", Int64(missingErrors.rounded()))
                    ],
                    confidence: verdict == "outage" ? .high : .medium,
                    openQuestions: ["What failed on the server in those hours (its error log would tell)?"]))
        }
        var quietValues: [Value] = []
        for s in quietSpans {
            quietValues.append(
                .object([
                    "start": .time(s.first), "end": .time(s.end), "lines": .int(s.errors), "usualLines": .int(Int64(s.usualLines.rounded()))
                ]))
        }
        if !quietSpans.isEmpty {
            let parts = quietSpans.map { s in
                "\(spanText(s)) (\(hours(s)): \(Describe.count(s.errors)) lines against about \(Describe.count(s.usualLines)) usual)"
            }
            // Said only when the log has lines on both sides of every quiet run.
            let around = quietSpans.allSatisfy { (lines[$0.first - 3600] ?? 0) > 0 && (lines[$0.end] ?? 0) > 0 }
            let missing = quietSpans.reduce(0) { $0 + $1.missing }
            findings.append(
                Finding(
                    title: verdict == "outage" && errorSpans.isEmpty
                        ? "An outage: requests stopped reaching the server for \(Describe.counted(quietSpans.reduce(0) { $0 + Int(($1.end - $1.first) / 3600) }, "hour"))"
                        : "Requests nearly stopped reaching the server",
                    summary:
                        "The server received almost no requests in \(Describe.list(parts, limit: 4))\(around ? ", and the log goes on around those hours" : ""): requests did not reach it (the server, its network or a proxy in front of it was down), not a fall in demand. Those hours are missing \(missingText(missing)).",
                    evidence: [
                        .table(
                            EvidenceTable(
                                title: "Hours in which almost no request reached the server",
                                columns: ["from", "to", "lines", "usual lines"],
                                rows: quietSpans.map {
                                    [.time($0.first), .time($0.end), .int($0.errors), .int(Int64($0.usualLines.rounded()))]
                                })),
                        .count("downloads missing in those hours", Int64(missing.rounded()))
                    ],
                    confidence: verdict == "outage" ? .high : .medium,
                    openQuestions: ["What stopped requests from reaching the server (its host, network or proxy logs would tell)?"]))
        }
        if !silentSpans.isEmpty {
            let parts = silentSpans.map { s -> String in
                let edge = s.end <= spanFrom ? " (before the log starts)" : s.first >= spanTo ? " (after the log ends)" : ""
                return
                    "\(spanText(s)) (\(hours(s)), usually about \(Describe.count(s.usualLines / Double(max(1, (s.end - s.first) / 3600)))) lines an hour)\(edge)"
            }
            let summary =
                "The log has no lines at all in \(Describe.list(parts, limit: 4)): the log is incomplete there (or the server was not running), so the data cannot say what clients asked for in those hours. "
                + (verdict == "log-gap"
                    ? "Those hours are missing \(missingText(missingSilent)): missing data, not lost interest."
                    : "Those hours are missing \(missingText(missingSilent)).")
            findings.append(
                Finding(
                    title: verdict == "log-gap"
                        ? "Missing data: \(Describe.counted(silentSpans.reduce(0) { $0 + Int(($1.end - $1.first) / 3600) }, "hour")) without any log line"
                        : "The log has hours without any line",
                    summary: summary,
                    evidence: [
                        .table(
                            EvidenceTable(
                                title: "Hours without any log line", columns: ["from", "to", "usual lines in those hours"],
                                rows: silentSpans.map { [.time($0.first), .time($0.end), .int(Int64($0.usualLines.rounded()))] })),
                        .count("downloads missing in those hours", Int64(missingSilent.rounded()))
                    ],
                    confidence: verdict == "log-gap" ? .high : .medium,
                    openQuestions: [
                        "Was the log rotated, truncated or not shipped for those hours? Ingesting the missing file would fill them."
                    ]))
        }
        if errorSpans.isEmpty && silentSpans.isEmpty && quietSpans.isEmpty {
            var windowLines: Int64 = 0
            var windowErrors: Int64 = 0
            for (hour, n) in lines where hour >= windowStart && hour < windowEnd { windowLines += n }
            for (hour, n) in errors where hour >= windowStart && hour < windowEnd { windowErrors += n }
            findings.append(
                Finding(
                    title: "The server and the log were normal",
                    summary:
                        "Every hour of \(window.label) has log lines, and the server answered errors (5xx) to \(Describe.count(windowErrors)) of \(Describe.count(windowLines)) requests (\(Describe.percent(windowLines > 0 ? Double(windowErrors) / Double(windowLines) : 0, digits: 1))), no more than usual: the change is in what clients asked for.",
                    evidence: [
                        .count("request lines in the window", windowLines, unit: "lines"),
                        .count("server errors (5xx)", windowErrors, unit: "requests")
                    ],
                    confidence: .high))
        }
        return AnalyzerResult(
            outputs: [
                "verdict": .string(verdict), "serverErrors": .int(serverErrors), "errorSpans": .array(errorValues),
                "silentSpans": .array(silentValues), "quietSpans": .array(quietValues),
                "missingDownloads": .int(Int64((missingErrors + missingSilent).rounded())),
                "explainedShare": .double((share(missingErrors + missingSilent) * 1000).rounded() / 1000)
            ],
            findings: findings)
    }
}
