import CasebookAnalysis
import CasebookCore
import Foundation

/// `spike-detection`: unusual windows in a download series, up and down, against a robust
/// seasonal baseline.
///
/// The baseline is multiplicative: a level (a centred rolling median over whole weeks, which
/// follows slow growth and ignores short incidents) times a seasonal factor (the median ratio
/// to the level for each weekday on daily series; for each hour of the week, or of the day when
/// there are fewer than three weeks, on hourly series). Residuals are scored against a robust
/// noise estimate (the median absolute deviation of relative residuals, never below Poisson
/// noise), and consecutive unusual buckets in the same direction become one window. Windows are
/// ranked by their absolute excess, so a mild holiday dip ranks far below a real incident.
public struct SpikeDetectionAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "spike-detection",
        summary: "Finds unusual windows (spikes and drops) in a download series against a seasonal, growth-aware baseline.",
        discussion: """
            Works on hourly, daily or weekly buckets of any filtered series, including pre-aggregated \
            counts. A bucket is unusual when it is at least `threshold` robust standard deviations and \
            `min_change` (relative) away from its baseline. Unusual buckets in the same direction less \
            than `merge_gap` buckets apart form one window. Each window reports its excess (negative for \
            drops), its peak, its expected downloads and a severity: `mild` (under 25% away from the \
            baseline), `moderate` (under 50%) or `major`; a drop to under 10% of the baseline is an `outage`.
            """,
        parameters: [
            ParameterSpec("bucket", .bucket, default: "day", doc: "Time bucket of the series: hour, day or week."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Dimension name → values to keep (e.g. `{project: [numpy]}`)."),
            ParameterSpec("from", .date, optional: true, doc: "Start of the series (inclusive); default: the store's first event."),
            ParameterSpec("to", .date, optional: true, doc: "End of the series (exclusive); default: after the store's last event."),
            ParameterSpec(
                "threshold", .number, default: 4.0, range: .above(0), doc: "How many robust standard deviations make a bucket unusual."),
            ParameterSpec(
                "min_change", .number, default: 0.1, range: .atLeast(0),
                doc: "Smallest relative change from the baseline that counts (0.1 = 10%)."),
            ParameterSpec(
                "merge_gap", .int, optional: true, range: .atLeast(0),
                doc: "Unusual buckets at most this many buckets apart join one window (default: 1 for days, 6 for hours)."),
            ParameterSpec("max_windows", .int, default: 10, range: .atLeast(1), doc: "Report at most this many windows (largest first).")
        ],
        outputs: [
            OutputSpec(
                "windows", .list(.object),
                doc:
                    "Unusual windows, largest absolute excess first: `{start, end (exclusive), direction (up/down), excess, peak, peakTime, baseline, actual, relative, severity, outage, score}`."
            ),
            OutputSpec("window", .object, doc: "The largest window, or null when there is none."),
            OutputSpec("series", .list(.object), doc: "The series with its baseline: `{start, downloads, baseline}` per bucket."),
            OutputSpec("bucket", .string, doc: "The bucket used."),
            OutputSpec("noise", .number, doc: "The robust relative noise of the series (standard deviation of residual / baseline).")
        ],
        examples: [
            AnalyzerExample(
                "Three days at four times the usual level",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", runs: (100, 21), (400, 3), (100, 7))]),
                expect: [
                    "window": .contains([
                        "direction": "up", "start": "2020-02-22T00:00:00Z", "end": "2020-02-25T00:00:00Z",
                        "severity": "major", "actual": 1200, "excess": 900
                    ]),
                    "windows": .count(1)
                ],
                finding: "A major spike"),
            AnalyzerExample(
                "A flat series has no spike",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", runs: (100, 31))]),
                expect: ["window": nil, "windows": .count(0)],
                finding: "No unusual days"),
            AnalyzerExample(
                "A day without downloads is an outage",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", runs: (100, 21), (nil, 1), (100, 9))]),
                expect: ["window": .contains(["direction": "down", "start": "2020-02-22T00:00:00Z", "outage": true])],
                finding: "An outage")
        ])

    public init() {}

    /// One bucket of the analysed series.
    struct Point {
        var start: Int64
        var value: Double
        var baseline: Double = 0
        var z: Double = 0
    }

    /// A detected window: the buckets it spans and what they held against the baseline. The
    /// findings are written from it, and it becomes a `Value` only for the outputs.
    struct DetectedWindow {
        /// Indices of the window's first and last buckets in the series.
        var first: Int
        var last: Int
        var direction: Direction
        /// Start of the first bucket and end (exclusive) of the last.
        var start: Int64 = 0
        var end: Int64 = 0
        /// Downloads in the window.
        var observed = 0.0
        /// Downloads the baseline expected in the window.
        var expected = 0.0
        /// Observed minus expected: negative for a drop.
        var excess = 0.0
        /// The largest bucket of a spike, the smallest of a drop, and its start.
        var peak = 0.0
        var peakTime: Int64 = 0
        /// Sum of the buckets' absolute robust z.
        var score = 0.0

        /// Excess relative to the expected downloads (0 without a baseline).
        var ratio: Double { expected > 0 ? excess / expected : 0 }
        /// A drop to under 10% of the baseline.
        var isOutage: Bool { direction == .down && expected > 0 && observed / expected < 0.1 }
        var severity: Severity { Severity(relativeChange: ratio, outage: isOutage) }

        /// The window as the `windows` output lists it.
        func value(bucket: TimeBucket) -> Value {
            .object([
                "start": .time(start),
                "end": .time(end),
                "direction": .string(direction.rawValue),
                "excess": .int(Int64(excess.rounded())),
                "peak": .int(Int64(peak)),
                "peakTime": .time(peakTime),
                "baseline": .int(Int64(expected.rounded())),
                "actual": .int(Int64(observed)),
                "relative": .double((ratio * 1000).rounded() / 1000),
                "severity": .string(severity.rawValue),
                "outage": .bool(isOutage),
                "score": .double((score * 10).rounded() / 10),
                "bucket": .string(bucket.rawValue)
            ])
        }
    }

    public func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let bucket = try context.bucket("bucket")
        let filters = try context.filters("filter")
        var range = TimeRange(from: try context.optionalDate("from"), to: try context.optionalDate("to"))
        if range.from == nil || range.to == nil {
            let info = try await context.store.info()
            if range.from == nil { range.from = info.firstEvent.map { bucket.start(of: $0) } }
            if range.to == nil { range.to = info.lastEvent.map { bucket.start(of: $0) + bucket.seconds } }
        }
        let table = try await context.aggregate(AggregateQuery(bucket: bucket, filters: filters, range: range))
        let what = Describe.scope(filters)
        guard let from = range.from, let to = range.to, to > from else {
            return AnalyzerResult(
                outputs: [
                    "windows": .array([]), "window": .null, "series": .array([]), "bucket": .string(bucket.rawValue), "noise": .double(0)
                ],
                findings: [
                    Finding(
                        title: "No downloads to analyse", summary: "The store holds no downloads (\(what)); nothing to detect.",
                        confidence: .high)
                ])
        }
        if table.total == 0 {
            // The store has downloads, but none that these filters keep: say so, not "all quiet".
            let hint =
                filters.contains { $0.dimension == .project }
                ? " Check the spelling, or, for a counts file without a project column, ingest it again with `--project NAME`."
                : ""
            return AnalyzerResult(
                outputs: [
                    "windows": .array([]), "window": .null, "series": .array([]), "bucket": .string(bucket.rawValue), "noise": .double(0)
                ],
                findings: [
                    Finding(
                        title: "No downloads match", summary: "The store holds downloads, but none of \(what).\(hint)", confidence: .high)
                ])
        }
        // A dense series: buckets without downloads are zeros (that is what an outage looks like).
        var byStart: [Int64: Double] = [:]
        for r in table.rows { if let s = r.bucketStart { byStart[s] = Double(r.downloads) } }
        var points: [Point] = []
        var t = bucket.start(of: from)
        while t < to {
            points.append(Point(start: t, value: byStart[t] ?? 0))
            t += bucket.seconds
        }
        let minimum = bucket == .hour ? 72 : bucket == .day ? 14 : 8
        guard points.count >= minimum else {
            return AnalyzerResult(
                outputs: [
                    "windows": .array([]), "window": .null,
                    "series": .array(
                        points.map { .object(["start": .time($0.start), "downloads": .int(Int64($0.value)), "baseline": .null]) }),
                    "bucket": .string(bucket.rawValue), "noise": .double(0)
                ],
                findings: [
                    Finding(
                        title: "Too little data for a baseline",
                        summary:
                            "Only \(points.count) \(bucket.rawValue)s of \(what); at least \(minimum) are needed to learn what normal looks like.",
                        confidence: .low, openQuestions: ["Ingest a longer period to detect unusual windows."])
                ])
        }

        let noise = Self.fitBaseline(&points, bucket: bucket)
        let threshold = try context.number("threshold")
        let minChange = try context.number("min_change")
        let gap = Int(context.value("merge_gap")?.intValue ?? (bucket == .hour ? 6 : 1))
        var windows = Self.findWindows(points, bucket: bucket, threshold: threshold, minChange: minChange, mergeGap: max(0, gap))
        windows.sort { abs($0.excess) > abs($1.excess) }
        let maxWindows = Int(try context.int("max_windows"))
        if windows.count > maxWindows { windows = Array(windows.prefix(maxWindows)) }

        let series: [Value] = points.map {
            .object(["start": .time($0.start), "downloads": .int(Int64($0.value)), "baseline": .double(($0.baseline * 10).rounded() / 10)])
        }

        var findings: [Finding] = []
        let highlights: [EvidenceSeries.Highlight] = windows.map { w in
            .init(start: UTCTime.isoString(w.start), end: UTCTime.isoString(w.end), label: w.direction == .up ? "spike" : "drop")
        }
        let chart = EvidenceChart(
            kind: .line, title: "Downloads per \(bucket.rawValue) (\(what)), with the expected baseline", bucket: bucket,
            series: [
                .init(name: "downloads", points: points.map { .init(x: UTCTime.isoString($0.start), y: $0.value) }),
                .init(name: "expected", points: points.map { .init(x: UTCTime.isoString($0.start), y: ($0.baseline * 10).rounded() / 10) })
            ],
            highlights: highlights)
        var hourly: EvidenceChart?
        if let top = windows.first, bucket != .hour {
            hourly = try await Self.hourlyProfile(context, filters: filters, start: top.start, end: top.end)
        }
        if windows.isEmpty {
            findings.append(
                Finding(
                    title: "No unusual \(bucket.rawValue)s",
                    summary:
                        "Over \(points.count) \(bucket.rawValue)s of \(what), every \(bucket.rawValue) stayed within \(String(format: "%.0f", threshold)) robust standard deviations (or \(Describe.percent(minChange))) of its seasonal baseline; typical noise is \(Describe.percent(noise, digits: 1)).",
                    evidence: [.chart(chart), .number(label: "relative noise", value: noise, unit: "share")],
                    confidence: .high))
        }
        for (i, w) in windows.enumerated() {
            let (start, end, rel, outage, severity) = (w.start, w.end, w.ratio, w.isOutage, w.severity)
            let up = w.direction == .up
            let verb = up ? "rose" : (outage ? "nearly stopped" : "fell")
            let summary =
                "Downloads (\(what)) \(verb) \(Describe.span(start, end)): \(Describe.count(w.observed)) against \(Describe.count(w.expected)) expected, "
                + "\(w.excess >= 0 ? "an excess of " : "a shortfall of ")\(Describe.count(abs(w.excess))) (\(Describe.signedPercent(rel))); "
                + "the \(up ? "peak" : "lowest") \(bucket.rawValue) had \(Describe.count(w.peak)) (\(bucket == .hour ? UTCTime.isoString(w.peakTime) : UTCTime.dateString(w.peakTime)))."
            var evidence: [Evidence] = []
            if i == 0 {
                evidence.append(.chart(chart))
                if let hourly { evidence.append(.chart(hourly)) }
            }
            evidence += [
                .count("downloads in the window", Int64(w.observed)),
                .count("expected (baseline)", Int64(w.expected.rounded())),
                .count(w.excess >= 0 ? "excess" : "shortfall", Int64(w.excess.rounded())),
                .number(label: "change from baseline", value: rel, unit: "share"),
                .number(label: "score (sum of robust z)", value: (w.score * 10).rounded() / 10, unit: nil)
            ]
            let confidence = Confidence(min(0.98, 0.5 + 0.1 * min(w.score, 40) / 4 * (severity == .mild ? 0.3 : 1)))
            let kind =
                switch severity {
                case .mild: "A mild "
                case .moderate: "A moderate "
                case .major: outage ? "An " : "A major "
                }
            findings.append(
                Finding(
                    title: "\(kind)\(outage ? "outage" : up ? "spike" : "drop"), \(Describe.span(start, end))",
                    summary: summary, evidence: evidence, confidence: confidence,
                    openQuestions: i == 0 && up ? ["Which packages, versions and clients make up the excess?"] : []))
        }
        let windowValues = windows.map { $0.value(bucket: bucket) }
        return AnalyzerResult(
            outputs: [
                "windows": .array(windowValues), "window": windowValues.first ?? .null, "series": .array(series),
                "bucket": .string(bucket.rawValue), "noise": .double(noise)
            ],
            findings: findings)
    }

    /// Hour-of-day profile of each day of a window against the mean normal day of the week before.
    static func hourlyProfile(_ context: AnalyzerContext, filters: [DimensionFilter], start: Int64, end: Int64) async throws
        -> EvidenceChart?
    {
        let days = Int((end - start) / 86400)
        guard days >= 1, days <= 7 else { return nil }
        let before = start - 7 * 86400
        let table = try await context.aggregate(AggregateQuery(bucket: .hour, filters: filters, range: TimeRange(from: before, to: end)))
        var normal = [Double](repeating: 0, count: 24)
        var byDay: [Int64: [Double]] = [:]
        for r in table.rows {
            guard let t = r.bucketStart else { continue }
            let hour = Int((t % 86400) / 3600)
            if t < start {
                normal[hour] += Double(r.downloads) / 7
            } else {
                byDay[TimeBucket.day.start(of: t), default: [Double](repeating: 0, count: 24)][hour] += Double(r.downloads)
            }
        }
        let labels = (0..<24).map { String(format: "%02d:00", $0) }
        var series: [EvidenceChart.Series] = [
            .init(
                name: "normal day (mean of the 7 days before)",
                points: (0..<24).map { .init(x: labels[$0], y: (normal[$0] * 10).rounded() / 10) })
        ]
        for day in byDay.keys.sorted() {
            series.append(.init(name: UTCTime.dateString(day), points: (0..<24).map { .init(x: labels[$0], y: byDay[day]![$0]) }))
        }
        return EvidenceChart(kind: .line, title: "Downloads per hour (UTC): the window's days against a normal day", series: series)
    }

    /// Fills every point's baseline and robust z; returns the relative noise.
    static func fitBaseline(_ points: inout [Point], bucket: TimeBucket) -> Double {
        let n = points.count
        let values = points.map(\.value)
        // Level: centred rolling median over whole seasons (4 weeks of days, 1 week of hours).
        let half: Int
        switch bucket {
        case .day: half = min(14, max(3, n / 2))
        case .hour: half = min(84, max(12, n / 2))
        case .week: half = min(4, max(2, n / 2))
        }
        var level = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let lo = max(0, i - half)
            let hi = min(n - 1, i + half)
            level[i] = Stats.median(Array(values[lo...hi]))
        }
        // Seasonal factors by phase.
        let period: Int
        let phaseOf: (Int64) -> Int
        switch bucket {
        case .day:
            period = n >= 21 ? 7 : 1
            phaseOf = { UTCTime.weekday($0) }  // 0 = Monday
        case .hour:
            if n >= 3 * 168 {
                period = 168
                phaseOf = { Int(((($0 / 3600) + 72) % 168 + 168) % 168) }  // hour of the week from Monday 00:00
            } else {
                period = 24
                phaseOf = { Int((($0 / 3600) % 24 + 24) % 24) }
            }
        case .week:
            period = 1
            phaseOf = { _ in 0 }
        }
        var ratios = [[Double]](repeating: [], count: period)
        for i in 0..<n where level[i] > 0 {
            ratios[period == 1 ? 0 : phaseOf(points[i].start)].append(values[i] / level[i])
        }
        var factor = ratios.map { $0.isEmpty ? 1 : Stats.median($0) }
        let meanFactor = factor.reduce(0, +) / Double(max(1, factor.count))
        if meanFactor > 0 { factor = factor.map { $0 / meanFactor } }
        // The level is a median of raw values; rescale so that the baseline matches the level on average.
        let levelScale: Double = {
            var num = 0.0
            var den = 0.0
            for i in 0..<n {
                num += values[i]
                den += level[i] * factor[period == 1 ? 0 : phaseOf(points[i].start)]
            }
            guard den > 0 else { return 1 }
            // Robust version: median of per-point ratios, so incidents do not pull the scale.
            var r: [Double] = []
            for i in 0..<n {
                let b = level[i] * factor[period == 1 ? 0 : phaseOf(points[i].start)]
                if b > 0 { r.append(values[i] / b) }
            }
            return r.isEmpty ? num / den : Stats.median(r)
        }()
        for i in 0..<n {
            points[i].baseline = level[i] * factor[period == 1 ? 0 : phaseOf(points[i].start)] * levelScale
        }
        let rel = points.filter { $0.baseline > 0 }.map { ($0.value - $0.baseline) / $0.baseline }
        let noise = max(Stats.robustSigma(rel), 0.005)
        for i in 0..<n {
            let b = points[i].baseline
            let sigma = max(noise * b, b.squareRoot(), 1)
            points[i].z = (points[i].value - b) / sigma
        }
        return noise
    }

    static func findWindows(_ points: [Point], bucket: TimeBucket, threshold: Double, minChange: Double, mergeGap: Int) -> [DetectedWindow]
    {
        func direction(_ p: Point) -> Direction? {
            guard abs(p.z) >= threshold else { return nil }
            if p.baseline > 0, abs(p.value - p.baseline) / p.baseline < minChange { return nil }
            return p.z > 0 ? .up : .down
        }
        var windows: [DetectedWindow] = []
        var current: DetectedWindow?
        for (i, p) in points.enumerated() {
            guard let d = direction(p) else { continue }
            if var w = current, w.direction == d, i - w.last - 1 <= mergeGap {
                w.last = i
                current = w
            } else {
                if let w = current { windows.append(w) }
                current = DetectedWindow(first: i, last: i, direction: d)
            }
        }
        if let w = current { windows.append(w) }
        return windows.map { w in
            var w = w
            w.start = points[w.first].start
            w.end = points[w.last].start + bucket.seconds
            w.peak = w.direction == .up ? -Double.infinity : Double.infinity
            for i in w.first...w.last {
                let p = points[i]
                w.excess += p.value - p.baseline
                w.expected += p.baseline
                w.observed += p.value
                w.score += abs(p.z)
                if (w.direction == .up && p.value > w.peak) || (w.direction == .down && p.value < w.peak) {
                    w.peak = p.value
                    w.peakTime = p.start
                }
            }
            return w
        }
    }
}
