import CasebookAnalysis
import CasebookCore
import Foundation

/// `spike-detection`: unusual windows in a download series, up and down, against a robust
/// seasonal baseline, with what kind of change each is.
///
/// The baseline is multiplicative: a level (a centred rolling median over whole weeks, which
/// follows slow growth and ignores short incidents; the mean where counts are under 10) times a
/// seasonal factor (the median ratio to the level for each weekday on daily series; for each hour
/// of the week, or of the day when there are fewer than three weeks, on hourly series). A bucket
/// is scored twice: a robust z (residual over the median absolute deviation of relative
/// residuals) and the Poisson tail probability of its count as a normal-equivalent z; the
/// smaller decides, so low counts are judged by significance, not size. Buckets without any data
/// (no downloads and no log lines) are gaps: left out, and reported as such. Holidays of the
/// calendar and windows found in a first pass are left out of the baseline of the second. On
/// daily and weekly series, a step that stays (a level shift) or a slow ramp is found by a robust
/// local linear fit with a step or a ramp, and the baseline follows it from then on.
public struct SpikeDetectionAnalyzer: Analyzer {
    public static let description = AnalyzerDescription(
        name: "spike-detection",
        summary:
            "Finds unusual windows (spikes, drops, level shifts, ramps, holidays) in a download series against a seasonal, growth-aware baseline.",
        discussion: """
            Works on hourly, daily or weekly buckets of any filtered series, including pre-aggregated \
            counts. A bucket is unusual when it is at least `threshold` standard deviations from its \
            baseline both by the robust noise of the series and by the Poisson probability of its count \
            (so 3 downloads where 1 is usual is not a spike), and at least `min_change` (relative) away. \
            Unusual buckets in the same direction less than `merge_gap` buckets apart form one window. \
            Each window has a `kind`: `spike` (rises and returns), `drop` (falls and returns), \
            `level-shift` (a step that stays: reported once, at its start, with the level before and \
            after; the window is its first week, or fewer buckets at the end of the data), `ramp` (a \
            change built up over several buckets that stays), or `holiday` (a drop on a day of the \
            holiday calendar, not beyond 60% below the baseline: expected, not an incident). Level shifts \
            and ramps are looked for on daily and weekly series, with at least a week (4 weeks) on each \
            side, at 1.5 × `threshold` standard errors of a robust local linear fit. A bucket with no \
            data at all (no download of any kind and, for access logs, no log line) is a gap in the \
            data, never a zero: it is left out of the baseline and listed in `gaps`. Each window \
            reports its excess (negative for drops), its peak, its expected downloads and a severity: \
            `mild` (under 25% away from the baseline), `moderate` (under 50%) or `major`; a drop to \
            under 10% of the baseline is an `outage` (never where the log is missing hours). With \
            `segments: DIMENSION`, the same detection runs on the series of each of the dimension's \
            largest values (up to 20), ranked by surprise, so that a change in one country or one \
            installer hidden in the total is found (`segmentWindows`).
            """,
        parameters: [
            ParameterSpec("bucket", .bucket, default: "day", doc: "Time bucket of the series: hour, day or week."),
            ParameterSpec("filter", .object, default: .object([:]), doc: "Dimension name → values to keep (e.g. `{project: [numpy]}`)."),
            ParameterSpec("from", .date, optional: true, doc: "Start of the series (inclusive); default: the store's first event."),
            ParameterSpec("to", .date, optional: true, doc: "End of the series (exclusive); default: after the store's last event."),
            ParameterSpec(
                "threshold", .number, default: 4.0, range: .above(0),
                doc: "How many standard deviations (robust and Poisson) make a bucket unusual."),
            ParameterSpec(
                "min_change", .number, default: 0.1, range: .atLeast(0),
                doc: "Smallest relative change from the baseline that counts (0.1 = 10%)."),
            ParameterSpec(
                "merge_gap", .int, optional: true, range: .atLeast(0),
                doc: "Unusual buckets at most this many buckets apart join one window (default: 1 for days, 6 for hours)."),
            ParameterSpec(
                "max_windows", .int, default: 6, range: .atLeast(1),
                doc:
                    "Report at most this many windows (the largest incidents first, then holidays); the rest are counted in `unlisted`. The default was chosen on labelled series by cross-validation (see the detection benchmark)."
            ),
            ParameterSpec(
                "calendar", .string, default: "builtin",
                doc:
                    "Holidays: `builtin` (New Year's Day, Good Friday, Easter Monday, 1 May, US Thanksgiving, 24–26 and 31 December), `none`, or the path of a CSV `date,name` that replaces them (relative to the playbook's folder)."
            ),
            ParameterSpec(
                "segments", .dimension, optional: true,
                doc: "Also detect on the series of each value of this dimension (its 20 largest), ranked by surprise.")
        ],
        outputs: [
            OutputSpec(
                "windows", .list(.object),
                doc:
                    "Unusual windows, incidents by largest absolute excess first, then holidays: `{start, end (exclusive), direction (up/down), kind (spike/drop/level-shift/ramp/holiday), excess, peak, peakTime, baseline (the downloads expected), actual, relative, severity, outage, score, surprise, filter (the series' filters, `{dimension: [values]}`)}`, with `levelBefore`/`levelAfter` (per bucket) for level shifts and ramps, `holiday` (its name) on holidays, and `missingHours` where the log has hours without any line."
            ),
            OutputSpec("window", .object, doc: "The first window, or null when there is none."),
            OutputSpec(
                "series", .list(.object),
                doc:
                    "The series with its baseline: `{start, downloads, baseline}` per bucket (`downloads` null and `gap` true where there is no data)."
            ),
            OutputSpec("bucket", .string, doc: "The bucket used."),
            OutputSpec("noise", .number, doc: "The robust relative noise of the series (standard deviation of residual / baseline)."),
            OutputSpec("gaps", .list(.object), doc: "Runs of buckets with no data at all: `{start, end (exclusive), buckets}`."),
            OutputSpec("unlisted", .int, doc: "Unusual windows found beyond `max_windows`, and so not in `windows`."),
            OutputSpec(
                "segmentWindows", .list(.object),
                doc:
                    "With `segments`: the windows found in each value's series, most surprising first, each with `dimension` and `value` (empty without `segments`)."
            )
        ],
        examples: [
            AnalyzerExample(
                "Three days at four times the usual level",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", runs: (100, 21), (400, 3), (100, 7))]),
                expect: [
                    "window": .contains([
                        "direction": "up", "kind": "spike", "start": "2020-02-22T00:00:00Z", "end": "2020-02-25T00:00:00Z",
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
                "A day with almost no downloads is an outage",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", runs: (100, 21), (2, 1), (100, 9))]),
                expect: ["window": .contains(["direction": "down", "kind": "drop", "start": "2020-02-22T00:00:00Z", "outage": true])],
                finding: "An outage"),
            AnalyzerExample(
                "A day missing from a counts file is a gap in the data, not a drop",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-01", runs: (100, 21), (nil, 1), (100, 9))]),
                expect: [
                    "windows": .count(0),
                    "gaps": [["start": "2020-02-22T00:00:00Z", "end": "2020-02-23T00:00:00Z", "buckets": 1]]
                ],
                finding: "No data for 1 day"),
            AnalyzerExample(
                "A step that stays is one level shift, at its start",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2020-02-03", runs: (1000, 21), (800, 14))]),
                expect: [
                    "windows": .count(1),
                    "window": .contains([
                        "kind": "level-shift", "direction": "down", "start": "2020-02-24T00:00:00Z", "levelBefore": 1000, "levelAfter": 800
                    ])
                ],
                finding: "A level shift down"),
            AnalyzerExample(
                "A holiday-sized dip on New Year's Day is expected",
                with: ["bucket": "day"],
                data: ExampleData(counts: [.daily("flask", from: "2019-12-02", runs: (1000, 22), (1000, 8), (800, 1), (1000, 14))]),
                expect: ["window": .contains(["kind": "holiday", "holiday": "New Year's Day", "start": "2020-01-01T00:00:00Z"])],
                finding: "New Year's Day")
        ])

    public init() {}

    /// What kind of change a window is.
    enum Kind: String {
        case spike, drop, holiday, ramp
        case levelShift = "level-shift"
    }

    /// One bucket of the analysed series.
    struct Point {
        var start: Int64
        var value: Double
        /// No data at all in the bucket: not a zero, left out of the baseline.
        var gap = false
        /// The access log covers the bucket, so a gap is certain; without one (counts files),
        /// a bucket with no row where the baseline is under ``Detector/plausibleZero`` is read
        /// as a zero (a package with a few downloads a day has days without any).
        var logCovered = false
        var baseline: Double = 0
        /// The bucket's seasonal factor (times the level scale): `value / season` is the
        /// deseasonalised value.
        var season: Double = 1
        var z: Double = 0
    }

    /// A lasting change found by the local step/ramp fit: `first...last` are the buckets of the
    /// transition (one bucket for a step).
    struct Change {
        var first: Int
        var last: Int
        /// Deseasonalised levels per bucket, fitted just before `first` and just after `last`.
        var before: Double
        var after: Double
        /// Standard errors of the fitted step.
        var t: Double
        var isRamp: Bool { last > first }
    }

    /// A detected window: the buckets it spans and what they held against the baseline. The
    /// findings are written from it, and it becomes a `Value` only for the outputs.
    struct DetectedWindow {
        /// Indices of the window's first and last buckets in the series.
        var first: Int
        var last: Int
        var direction: Direction
        var kind: Kind = .spike
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
        /// Sum of the buckets' absolute z.
        var score = 0.0
        /// How surprising the window is as a whole, as a normal-equivalent z (Stouffer's sum of
        /// the buckets' z over the root of their number; the fit's standard errors for a level
        /// shift or a ramp): comparable across series.
        var surprise = 0.0
        /// Level shifts and ramps: the deseasonalised level per bucket just before and after.
        var levelBefore: Double?
        var levelAfter: Double?
        /// The holidays the window falls on.
        var holiday: String?
        /// Earlier holidays in the series and their change, for a holiday window.
        var earlierHolidays: [(name: String, day: Int64, relative: Double)] = []
        /// Hours of the window in which the access log has no line at all (and no download).
        var missingHours = 0

        /// Excess relative to the expected downloads (0 without a baseline); for a level shift
        /// or a ramp, the change of level.
        var ratio: Double {
            if let b = levelBefore, let a = levelAfter, b > 0 { return a / b - 1 }
            return expected > 0 ? excess / expected : 0
        }
        /// A drop to under 10% of the baseline (never where the log is missing hours).
        var isOutage: Bool { direction == .down && expected > 0 && observed / expected < 0.1 && missingHours == 0 }
        var severity: Severity { Severity(relativeChange: ratio, outage: isOutage) }

        /// The window as the `windows` output lists it.
        func value(bucket: TimeBucket) -> Value {
            var o: [String: Value] = [
                "start": .time(start),
                "end": .time(end),
                "direction": .string(direction.rawValue),
                "kind": .string(kind.rawValue),
                "excess": .int(Int64(excess.rounded())),
                "peak": .int(Int64(peak)),
                "peakTime": .time(peakTime),
                "baseline": .int(Int64(expected.rounded())),
                "actual": .int(Int64(observed)),
                "relative": .double((ratio * 1000).rounded() / 1000),
                "severity": .string(severity.rawValue),
                "outage": .bool(isOutage),
                "score": .double((score * 10).rounded() / 10),
                "surprise": .double((surprise * 10).rounded() / 10),
                "bucket": .string(bucket.rawValue)
            ]
            if let levelBefore { o["levelBefore"] = .int(Int64(levelBefore.rounded())) }
            if let levelAfter { o["levelAfter"] = .int(Int64(levelAfter.rounded())) }
            if let holiday { o["holiday"] = .string(holiday) }
            if missingHours > 0 { o["missingHours"] = .int(Int64(missingHours)) }
            return .object(o)
        }
    }

    /// What one run of detection on one series found.
    struct Detection {
        var points: [Point]
        var windows: [DetectedWindow]
        var noise: Double
    }

    /// The settings detection runs with, the same for the total and every segment.
    struct Detector {
        var bucket: TimeBucket
        var threshold: Double
        var minChange: Double
        var mergeGap: Int
        var calendar: HolidayCalendar
        /// The least |z| of each bucket of a sustained change (see `findWindows`).
        static let runBar = 1.5
        /// A holiday window is at most this far below its baseline.
        static let holidaySize = 0.6
        /// Below this expected count, a day without any row in a counts file is a zero, not a
        /// gap (a Poisson count of mean 3 is 0 one time in 20).
        static let plausibleZero = 3.0

        func detect(_ input: [Point]) -> Detection {
            var points = input
            let n = points.count
            var base = Set(points.indices.filter { points[$0].gap })
            if bucket != .week {
                for i in 0..<n where calendar.name(of: points[i].start) != nil { base.insert(i) }
            }
            _ = SpikeDetectionAnalyzer.fitBaseline(&points, bucket: bucket, excluded: base, changes: [])
            let zeros = points.indices.filter { points[$0].gap && !points[$0].logCovered && points[$0].baseline < Self.plausibleZero }
            if !zeros.isEmpty {
                for i in zeros {
                    points[i].gap = false
                    base.remove(i)
                }
                _ = SpikeDetectionAnalyzer.fitBaseline(&points, bucket: bucket, excluded: base, changes: [])
            }
            var changes: [Change] = []
            if bucket != .hour {
                // Twice: the seasonal factors are better once the level follows the changes.
                for _ in 0..<2 {
                    changes = SpikeDetectionAnalyzer.findChanges(
                        points, excluded: base, bucket: bucket, threshold: threshold, minChange: minChange)
                    if changes.isEmpty { break }
                    _ = SpikeDetectionAnalyzer.fitBaseline(&points, bucket: bucket, excluded: base, changes: changes)
                }
            }
            // Second pass: the windows of the first are left out of the baseline.
            let first = findWindows(points)
            var excluded = base
            for w in first { for i in w.first...w.last { excluded.insert(i) } }
            let noise = SpikeDetectionAnalyzer.fitBaseline(&points, bucket: bucket, excluded: excluded, changes: changes)
            var windows = findWindows(points).filter { w in !changes.contains { $0.first <= w.last && $0.last >= w.first } }
            windows += changes.map { changeWindow($0, points) }
            for i in windows.indices where windows[i].kind == .drop { classifyHoliday(&windows[i], points) }
            return Detection(points: points, windows: windows, noise: noise)
        }

        func findWindows(_ points: [Point]) -> [DetectedWindow] {
            func direction(_ p: Point) -> Direction? {
                guard !p.gap, abs(p.z) >= threshold else { return nil }
                if p.baseline > 0, abs(p.value - p.baseline) / p.baseline < minChange { return nil }
                return p.z > 0 ? .up : .down
            }
            var windows: [DetectedWindow] = []
            var current: DetectedWindow?
            var lastGap = -1
            for (i, p) in points.enumerated() {
                if p.gap { lastGap = i }
                guard let d = direction(p) else { continue }
                if var w = current, w.direction == d, i - w.last - 1 <= mergeGap, lastGap < w.last {
                    w.last = i
                    current = w
                } else {
                    if let w = current { windows.append(w) }
                    current = DetectedWindow(first: i, last: i, direction: d, kind: d == .up ? .spike : .drop)
                }
            }
            if let w = current { windows.append(w) }
            // A sustained change: consecutive buckets that each moved the same way by a modest
            // amount (|z| ≥ `runBar`), together as surprising as one unusual bucket (Stouffer's
            // |Σz| / √k ≥ threshold, √k widened by autocorrelation) and as large (`minChange` of the run's expected downloads).
            // Four days each 12% down is an incident even when no single day is. Only on daily and
            // weekly series: hourly residuals are too autocorrelated for Stouffer's sum.
            if bucket != .hour {
                // Residuals that drift together (a baseline lagging a slow swing) make runs
                // common: the sum's variance is inflated by the residuals' lag-1 autocorrelation ρ
                // (AR(1): k(1 + ρ)/(1 − ρ)), measured on the ordinary buckets.
                let ordinary = points.indices.dropFirst().filter { i in
                    !points[i].gap && !points[i - 1].gap && abs(points[i].z) < threshold && abs(points[i - 1].z) < threshold
                }
                let num = ordinary.reduce(0.0) { $0 + points[$1].z * points[$1 - 1].z }
                let den = ordinary.reduce(0.0) { $0 + points[$1].z * points[$1].z }
                let rho = ordinary.count >= 10 && den > 0 ? min(0.9, max(0, num / den)) : 0
                let inflation = (1 + rho) / (1 - rho)
                var i = 0
                while i < points.count {
                    let p = points[i]
                    guard !p.gap, abs(p.z) >= Self.runBar else {
                        i += 1
                        continue
                    }
                    var j = i
                    while j + 1 < points.count, !points[j + 1].gap, abs(points[j + 1].z) >= Self.runBar,
                        (points[j + 1].z > 0) == (p.z > 0)
                    {
                        j += 1
                    }
                    defer { i = j + 1 }
                    guard j > i, !windows.contains(where: { $0.first <= j && $0.last >= i }) else { continue }
                    let run = points[i...j]
                    let z = run.reduce(0.0) { $0 + $1.z } / (Double(run.count) * inflation).squareRoot()
                    let expected = run.reduce(0.0) { $0 + $1.baseline }
                    let observed = run.reduce(0.0) { $0 + $1.value }
                    guard abs(z) >= threshold, expected > 0, abs(observed - expected) / expected >= minChange else { continue }
                    let d: Direction = z > 0 ? .up : .down
                    windows.append(DetectedWindow(first: i, last: j, direction: d, kind: d == .up ? .spike : .drop))
                }
                windows.sort { $0.first < $1.first }
            }
            return windows.map { w in
                var w = w
                w.start = points[w.first].start
                w.end = points[w.last].start + bucket.seconds
                w.peak = w.direction == .up ? -Double.infinity : Double.infinity
                var zs: [Double] = []
                for i in w.first...w.last where !points[i].gap {
                    let p = points[i]
                    w.excess += p.value - p.baseline
                    w.expected += p.baseline
                    w.observed += p.value
                    w.score += abs(p.z)
                    zs.append(p.z)
                    if (w.direction == .up && p.value > w.peak) || (w.direction == .down && p.value < w.peak) {
                        w.peak = p.value
                        w.peakTime = p.start
                    }
                }
                w.surprise = abs(zs.reduce(0, +)) / Double(max(1, zs.count)).squareRoot()
                return w
            }
        }

        /// A level shift's window is its first week (or what the data has of it); a ramp's is the
        /// ramp. Expected is the old level carried on with the season.
        func changeWindow(_ c: Change, _ points: [Point]) -> DetectedWindow {
            let week = bucket == .day ? 7 : bucket == .hour ? 168 : 1
            let last = c.isRamp ? c.last : min(points.count - 1, c.first + week - 1)
            var w = DetectedWindow(
                first: c.first, last: last, direction: c.after >= c.before ? .up : .down, kind: c.isRamp ? .ramp : .levelShift)
            w.start = points[w.first].start
            w.end = points[w.last].start + bucket.seconds
            w.levelBefore = c.before
            w.levelAfter = c.after
            w.score = abs(c.t)
            w.surprise = abs(c.t)
            w.peak = w.direction == .up ? -Double.infinity : Double.infinity
            for i in w.first...w.last where !points[i].gap {
                let p = points[i]
                w.observed += p.value
                w.expected += c.before * p.season
                if (w.direction == .up && p.value > w.peak) || (w.direction == .down && p.value < w.peak) {
                    w.peak = p.value
                    w.peakTime = p.start
                }
            }
            if !w.peak.isFinite { w.peak = 0 }
            w.excess = w.observed - w.expected
            return w
        }

        /// A drop on days that are all holidays, of holiday size, is a holiday.
        func classifyHoliday(_ w: inout DetectedWindow, _ points: [Point]) {
            var names: [String] = []
            for i in w.first...w.last {
                guard let name = calendar.name(of: points[i].start) else { return }
                if !names.contains(name) { names.append(name) }
            }
            w.holiday = names.joined(separator: ", ")
            guard w.ratio >= -Self.holidaySize, !w.isOutage else { return }
            w.kind = .holiday
            // Earlier holidays the series holds, with how they compared with their baseline.
            var byDay: [Int64: (observed: Double, expected: Double)] = [:]
            for p in points where p.start < w.start && !p.gap && calendar.name(of: p.start) != nil {
                let day = TimeBucket.day.start(of: p.start)
                byDay[day, default: (0, 0)].observed += p.value
                byDay[day, default: (0, 0)].expected += p.baseline
            }
            w.earlierHolidays = byDay.keys.sorted().compactMap { day in
                guard let e = byDay[day], e.expected > 0, let name = calendar.name(of: day) else { return nil }
                return (name, day, e.observed / e.expected - 1)
            }
        }
    }

    /// Which buckets hold any data at all, and, for daily or weekly buckets, how many hours of
    /// each the access log leaves without a line.
    struct Presence {
        var buckets: Set<Int64> = []
        /// The span the access log covers, if any.
        var logSpan: Range<Int64>?
        var silentHours: [Int64: Int] = [:]
    }

    static func presence(_ context: AnalyzerContext, bucket: TimeBucket, range: TimeRange, unfiltered: AggregateTable?) async throws
        -> Presence
    {
        var presence = Presence()
        let all: AggregateTable
        if let unfiltered { all = unfiltered } else { all = try await context.aggregate(AggregateQuery(bucket: bucket, range: range)) }
        for r in all.rows where r.downloads > 0 { if let s = r.bucketStart { presence.buckets.insert(s) } }
        guard let log = context.store as? any RequestLogStore, let span = try await log.requestLogSpan(), let spanFrom = span.from,
            let spanTo = span.to
        else { return presence }
        presence.logSpan = spanFrom..<max(spanFrom, spanTo)
        var lines: Set<Int64> = []
        for c in try await log.requestCounts(in: range) where c.count > 0 { lines.insert(c.hour) }
        for h in lines { presence.buckets.insert(bucket.start(of: h)) }
        guard bucket != .hour, let from = range.from, let to = range.to else { return presence }
        let hourly = try await context.aggregate(AggregateQuery(bucket: .hour, range: range))
        let downloads = Set(hourly.rows.compactMap { $0.downloads > 0 ? $0.bucketStart : nil })
        var h = TimeBucket.hour.start(of: max(from, spanFrom))
        while h < min(to, spanTo) {
            if !lines.contains(h) && !downloads.contains(h) { presence.silentHours[bucket.start(of: h), default: 0] += 1 }
            h += 3600
        }
        return presence
    }

    /// The dense series from `from` to `to`: a bucket with no row is a zero when the store has
    /// data in it, a gap when it has none.
    static func series(_ table: AggregateTable, bucket: TimeBucket, from: Int64, to: Int64, present: Presence) -> [Point] {
        var byStart: [Int64: Double] = [:]
        for r in table.rows { if let s = r.bucketStart { byStart[s, default: 0] += Double(r.downloads) } }
        var points: [Point] = []
        var t = bucket.start(of: from)
        while t < to {
            let covered = present.logSpan.map { $0.contains(t) && $0.contains(t + bucket.seconds - 1) } ?? false
            points.append(
                Point(start: t, value: byStart[t] ?? 0, gap: byStart[t] == nil && !present.buckets.contains(t), logCovered: covered))
            t += bucket.seconds
        }
        return points
    }

    /// The holiday calendar the `calendar` parameter names, for the years of `from`–`to`.
    static func calendar(_ context: AnalyzerContext, from: Int64, to: Int64) throws -> HolidayCalendar {
        let spec = try context.string("calendar")
        switch spec.lowercased() {
        case "builtin", "":
            let first = Int(UTCTime.dateString(from).prefix(4)) ?? 1970
            let last = Int(UTCTime.dateString(max(from, to - 1)).prefix(4)) ?? first
            return .builtIn(years: first...max(first, last))
        case "none": return HolidayCalendar(names: [:])
        default: return try HolidayCalendar.read(try context.path("calendar"))
        }
    }

    /// Runs of gap buckets: `(first index, last index)`.
    static func gapRuns(_ points: [Point]) -> [(first: Int, last: Int)] {
        var runs: [(first: Int, last: Int)] = []
        for (i, p) in points.enumerated() where p.gap {
            if let last = runs.last, last.last == i - 1 { runs[runs.count - 1].last = i } else { runs.append((i, i)) }
        }
        return runs
    }

    static func unit(_ bucket: TimeBucket) -> (singular: String, perBucket: String) {
        switch bucket {
        case .hour: ("hour", "an hour")
        case .day: ("day", "a day")
        case .week: ("week", "a week")
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
        func empty(_ series: [Value] = []) -> [String: Value] {
            [
                "windows": .array([]), "window": .null, "series": .array(series), "bucket": .string(bucket.rawValue), "noise": .double(0),
                "gaps": .array([]), "segmentWindows": .array([])
            ]
        }
        guard let from = range.from, let to = range.to, to > from else {
            return AnalyzerResult(
                outputs: empty(),
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
                outputs: empty(),
                findings: [
                    Finding(
                        title: "No downloads match", summary: "The store holds downloads, but none of \(what).\(hint)", confidence: .high)
                ])
        }
        let presence = try await Self.presence(context, bucket: bucket, range: range, unfiltered: filters.isEmpty ? table : nil)
        let input = Self.series(table, bucket: bucket, from: from, to: to, present: presence)
        let available = input.filter { !$0.gap }.count
        let minimum = bucket == .hour ? 72 : bucket == .day ? 14 : 8
        let unit = Self.unit(bucket)
        guard available >= minimum else {
            return AnalyzerResult(
                outputs: empty(
                    input.map {
                        .object(["start": .time($0.start), "downloads": $0.gap ? .null : .int(Int64($0.value)), "baseline": .null])
                    }),
                findings: [
                    Finding(
                        title: "Too little data for a baseline",
                        summary:
                            "Only \(Describe.counted(available, unit.singular)) with data (\(what)); at least \(minimum) are needed to learn what normal looks like.",
                        confidence: .low, openQuestions: ["Ingest a longer period to detect unusual windows."])
                ])
        }

        let threshold = try context.number("threshold")
        let minChange = try context.number("min_change")
        let gap = Int(context.value("merge_gap")?.intValue ?? (bucket == .hour ? 6 : 1))
        let detector = Detector(
            bucket: bucket, threshold: threshold, minChange: minChange, mergeGap: max(0, gap),
            calendar: try Self.calendar(context, from: from, to: to))
        let detection = detector.detect(input)
        let points = detection.points
        let noise = detection.noise
        var windows = detection.windows
        if bucket != .hour {
            for i in windows.indices {
                windows[i].missingHours = (windows[i].first...windows[i].last).reduce(0) {
                    $0 + (presence.silentHours[points[$1].start] ?? 0)
                }
            }
        }
        windows.sort { a, b in
            (a.kind == .holiday) != (b.kind == .holiday) ? b.kind == .holiday : abs(a.excess) > abs(b.excess)
        }
        let maxWindows = Int(try context.int("max_windows"))
        let unlisted = Array(windows.dropFirst(maxWindows))
        if windows.count > maxWindows { windows = Array(windows.prefix(maxWindows)) }
        let gapRuns = Self.gapRuns(points)

        let series: [Value] = points.map {
            var o: [String: Value] = [
                "start": .time($0.start), "downloads": $0.gap ? .null : .int(Int64($0.value)),
                "baseline": .double(($0.baseline * 10).rounded() / 10)
            ]
            if $0.gap { o["gap"] = .bool(true) }
            return .object(o)
        }

        // Per-segment series.
        var segmentWindows: [(dimension: CasebookCore.Dimension, value: String?, window: DetectedWindow)] = []
        if let v = context.value("segments"), v != .null {
            let dimension = try context.dimension("segments")
            let top = try await context.aggregate(AggregateQuery(dimensions: [dimension], filters: filters, range: range))
            let values = top.rows.sorted { $0.downloads > $1.downloads }.prefix(20).map { $0.values[0] }
            for value in values {
                let t = try await context.aggregate(
                    AggregateQuery(bucket: bucket, filters: filters + [DimensionFilter(dimension, .in, [value])], range: range))
                let segment = Self.series(t, bucket: bucket, from: from, to: to, present: presence)
                guard segment.filter({ !$0.gap }).count >= minimum else { continue }
                for w in detector.detect(segment).windows where w.kind != .holiday {
                    segmentWindows.append((dimension, value, w))
                }
            }
            segmentWindows.sort { $0.window.surprise > $1.window.surprise }
            if segmentWindows.count > maxWindows { segmentWindows = Array(segmentWindows.prefix(maxWindows)) }
        }

        var findings: [Finding] = []
        var highlights: [EvidenceSeries.Highlight] = windows.map { w in
            .init(start: UTCTime.isoString(w.start), end: UTCTime.isoString(w.end), label: w.kind.rawValue)
        }
        highlights += gapRuns.map {
            .init(
                start: UTCTime.isoString(points[$0.first].start), end: UTCTime.isoString(points[$0.last].start + bucket.seconds),
                label: "no data")
        }
        let chart = EvidenceChart(
            kind: .line, title: "Downloads per \(bucket.rawValue) (\(what)), with the expected baseline", bucket: bucket,
            series: [
                .init(name: "downloads", points: points.filter { !$0.gap }.map { .init(x: UTCTime.isoString($0.start), y: $0.value) }),
                .init(name: "expected", points: points.map { .init(x: UTCTime.isoString($0.start), y: ($0.baseline * 10).rounded() / 10) })
            ],
            highlights: highlights)
        var hourly: EvidenceChart?
        if let top = windows.first, bucket != .hour, top.kind != .levelShift {
            hourly = try await Self.hourlyProfile(context, filters: filters, start: top.start, end: top.end)
        }
        if windows.isEmpty {
            findings.append(
                Finding(
                    title: "No unusual \(bucket.rawValue)s",
                    summary:
                        "Over \(Describe.counted(available, unit.singular)) with data (\(what)), every \(bucket.rawValue) stayed within \(String(format: "%.0f", threshold)) standard deviations (or \(Describe.percent(minChange))) of its seasonal baseline; typical noise is \(Describe.percent(noise, digits: 1)).",
                    evidence: [.chart(chart), .number(label: "relative noise", value: noise, unit: "share")],
                    confidence: .high))
        }
        for (i, w) in windows.enumerated() {
            var evidence: [Evidence] = []
            if i == 0 {
                evidence.append(.chart(chart))
                if let hourly { evidence.append(.chart(hourly)) }
            }
            findings.append(Self.finding(w, bucket: bucket, what: what, evidence: evidence, first: i == 0, minChange: minChange))
        }
        if !unlisted.isEmpty {
            let holidays = unlisted.filter { $0.kind == .holiday }.count
            let largest = unlisted.filter { $0.kind != .holiday }.max { abs($0.excess) < abs($1.excess) }
            var summary =
                "\(Describe.counted(unlisted.count, "more unusual window"))\(holidays > 0 ? " (\(holidays == unlisted.count ? (holidays == 1 ? "a holiday" : "all holidays") : "\(holidays) of them holidays"))" : "") \(unlisted.count == 1 ? "is" : "are") not listed: the step lists at most \(maxWindows), the largest incidents first, then holidays (`max_windows`)."
            if let w = largest {
                summary +=
                    " The largest of them: \(bucket == .hour ? Describe.hours(w.start, w.end) : Describe.span(w.start, w.end)), \(Describe.signedPercent(w.expected > 0 ? w.excess / w.expected : 0)) from its baseline."
            }
            findings.append(
                Finding(
                    title: "\(Describe.counted(unlisted.count, "more unusual window")) not listed", summary: summary,
                    confidence: .high))
        }
        if !gapRuns.isEmpty {
            let buckets = gapRuns.reduce(0) { $0 + $1.last - $1.first + 1 }
            let spans = gapRuns.map { r -> String in
                let s = points[r.first].start
                let e = points[r.last].start + bucket.seconds
                return bucket == .hour ? Describe.hours(s, e) : Describe.span(s, e)
            }
            let log = (context.store as? any RequestLogStore) != nil && !presence.silentHours.isEmpty || bucket == .hour
            findings.append(
                Finding(
                    title: "No data for \(Describe.counted(buckets, unit.singular))",
                    summary:
                        "The data holds nothing at all for \(Describe.list(spans, limit: 6)): no download of any kind\(log ? " and no log line" : ""). That is missing data, not a fall to zero: \(buckets == 1 ? "it is" : "they are") left out of the baseline and not read as a change in downloads.",
                    confidence: .high,
                    openQuestions: ["Is a log file or an export missing for those \(buckets == 1 ? unit.singular : unit.singular + "s")?"]))
        }
        for (k, s) in segmentWindows.prefix(3).enumerated() {
            let label = "\(s.dimension.rawValue) \(Describe.value(s.value))"
            var f = Self.finding(
                s.window, bucket: bucket, what: what == "all downloads" ? label : "\(what); \(label)", evidence: [], first: false,
                minChange: minChange)
            f.title = "In \(label): " + f.title.prefix(1).lowercased() + f.title.dropFirst()
            if k == 0 {
                f.summary +=
                    " It is the most surprising of \(Describe.counted(segmentWindows.count, "window")) found in the series of each \(s.dimension.rawValue) (\(String(format: "%.1f", s.window.surprise)) standard deviations)."
            }
            findings.append(f)
        }

        // Each window names the series it was found in (`filter`), so that later steps can scale
        // their baselines to its expected downloads (`AnalysisWindow.baselineScale`).
        func value(_ w: DetectedWindow, _ scope: [DimensionFilter]) -> [String: Value] {
            guard case .object(var o) = w.value(bucket: bucket) else { return [:] }
            o["filter"] = DimensionFilter.object(scope)
            return o
        }
        let windowValues: [Value] = windows.map { .object(value($0, filters)) }
        let segmentValues: [Value] = segmentWindows.map { s in
            var o = value(s.window, filters.filter { $0.dimension != s.dimension } + [DimensionFilter(s.dimension, .in, [s.value])])
            o["dimension"] = .string(s.dimension.rawValue)
            o["value"] = s.value.map(Value.string) ?? .null
            return .object(o)
        }
        return AnalyzerResult(
            outputs: [
                "windows": .array(windowValues), "window": windowValues.first ?? .null, "series": .array(series),
                "bucket": .string(bucket.rawValue), "noise": .double(noise), "unlisted": .int(Int64(unlisted.count)),
                "gaps": .array(
                    gapRuns.map {
                        .object([
                            "start": .time(points[$0.first].start), "end": .time(points[$0.last].start + bucket.seconds),
                            "buckets": .int(Int64($0.last - $0.first + 1))
                        ])
                    }),
                "segmentWindows": .array(segmentValues)
            ],
            findings: findings)
    }

    /// The finding of one window, in words that fit its kind and direction.
    static func finding(_ w: DetectedWindow, bucket: TimeBucket, what: String, evidence extra: [Evidence], first: Bool, minChange: Double)
        -> Finding
    {
        let unit = unit(bucket)
        let up = w.direction == .up
        let rel = w.ratio
        let span = Describe.span(w.start, w.end)
        let buckets = w.last - w.first + 1
        var evidence = extra
        evidence += [
            .count("downloads in the window", Int64(w.observed)),
            .count(w.levelBefore == nil ? "expected (baseline)" : "expected at the earlier level", Int64(w.expected.rounded())),
            .count(w.excess >= 0 ? "excess" : "shortfall", Int64(w.excess.rounded())),
            .number(label: w.levelBefore == nil ? "change from baseline" : "change of level", value: rel, unit: "share"),
            .number(label: "surprise (standard deviations)", value: (w.surprise * 10).rounded() / 10, unit: nil)
        ]
        let amounts =
            "\(Describe.count(w.observed)) against \(Describe.count(w.expected)) expected, "
            + "\(w.excess >= 0 ? "an excess of " : "a shortfall of ")\(Describe.count(abs(w.excess))) (\(Describe.signedPercent(w.expected > 0 ? w.excess / w.expected : 0)))"
        let missing =
            w.missingHours > 0
            ? " The access log has no line at all for \(Describe.counted(w.missingHours, "hour")) of it: data is missing there, which is not the same as fewer downloads (the server's log tells how much of the change that explains)."
            : ""
        switch w.kind {
        case .spike, .drop:
            let outage = w.isOutage
            let verb = up ? "rose" : (outage ? "nearly stopped" : "fell")
            var summary =
                "Downloads (\(what)) \(verb) \(span): \(amounts); the \(up ? "peak" : "lowest") \(bucket.rawValue) had \(Describe.count(w.peak)) (\(bucket == .hour ? UTCTime.isoString(w.peakTime) : UTCTime.dateString(w.peakTime)))."
            if let holiday = w.holiday, !up {
                summary +=
                    " \(holiday) is a holiday in the calendar, but a fall of \(Describe.percent(-rel)) is far beyond a holiday's usual size (at most \(Describe.percent(Detector.holidaySize)))."
            }
            summary += missing
            let severity = w.severity
            let confidence = Confidence(min(0.98, 0.5 + 0.1 * min(w.score, 40) / 4 * (severity == .mild ? 0.3 : 1)))
            let kind =
                switch severity {
                case .mild: "A mild "
                case .moderate: "A moderate "
                case .major: outage ? "An " : "A major "
                }
            return Finding(
                title: "\(kind)\(outage ? "outage" : up ? "spike" : "drop"), \(span)", summary: summary, evidence: evidence,
                confidence: confidence, openQuestions: first && up ? ["Which packages, versions and clients make up the excess?"] : [])
        case .holiday:
            let name = w.holiday ?? "A holiday"
            var summary =
                "Downloads (\(what)) \(up ? "rose" : "fell") \(span) (\(name), a public holiday in the calendar): \(amounts). A change of holiday size on a holiday is expected, not an incident."
            let dips = w.earlierHolidays.filter { $0.relative <= -minChange / 2 }
            let earlier = w.earlierHolidays.map { "\($0.name) (\(UTCTime.dateString($0.day))) \(Describe.signedPercent($0.relative))" }
            if !dips.isEmpty {
                summary += " As on earlier holidays in the data: \(Describe.list(earlier, limit: 5))."
            } else if !earlier.isEmpty {
                summary += " The earlier holidays in the data did not dip like this: \(Describe.list(earlier, limit: 5))."
            }
            summary += missing
            return Finding(
                title: "\(name), \(span): \(Describe.signedPercent(rel)), a public holiday", summary: summary, evidence: evidence,
                confidence: .medium)
        case .levelShift, .ramp:
            let before = Describe.count(w.levelBefore ?? 0)
            let after = Describe.count(w.levelAfter ?? 0)
            let confidence = Confidence(min(0.95, 0.6 + 0.02 * min(abs(w.surprise), 15)))
            let levels = "about \(after) \(unit.perBucket), from about \(before) (\(Describe.signedPercent(rel)))"
            let title: String
            var summary: String
            if w.kind == .levelShift {
                let day = bucket == .hour ? UTCTime.isoString(w.start) : UTCTime.dateString(w.start)
                title = "A level shift \(up ? "up" : "down") from \(day) on: \(levels)"
                summary =
                    "Downloads (\(what)) stepped \(up ? "up" : "down") on \(day) and stayed there: about \(after) \(unit.perBucket) since, against about \(before) before (seasonally adjusted levels fitted on each side of the step, \(Describe.signedPercent(rel))). A step that stays, not a window that returns. The first \(Describe.counted(buckets, unit.singular)) at the new level had \(amounts) at the earlier level."
            } else {
                title = "A ramp \(up ? "up" : "down") over \(Describe.counted(buckets, unit.singular)), \(span): \(levels)"
                summary =
                    "Downloads (\(what)) \(up ? "rose" : "fell") gradually over \(Describe.counted(buckets, unit.singular)) (\(span)) and stayed at the new level: about \(after) \(unit.perBucket) after, against about \(before) before (seasonally adjusted levels fitted on each side of the ramp, \(Describe.signedPercent(rel))). A change built up slowly and lasting, not a spike that returns; over the ramp: \(amounts) at the earlier level."
            }
            summary += missing
            return Finding(
                title: title, summary: summary, evidence: evidence, confidence: confidence,
                openQuestions: first ? ["What changed at the start: which packages, clients or counting?"] : [])
        }
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

    /// The level of a stretch: its median, or its mean where counts are low (the median of
    /// 0, 1, 0, 2, 1 is a poor Poisson rate).
    static func centre(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return .nan }
        let m = Stats.median(xs)
        return m < 10 ? xs.reduce(0, +) / Double(xs.count) : m
    }

    /// Fills every point's baseline, season and z, leaving `excluded` buckets (gaps, holidays,
    /// windows already found) out of the estimates; `changes` split the level. Returns the
    /// relative noise.
    static func fitBaseline(_ points: inout [Point], bucket: TimeBucket, excluded: Set<Int>, changes: [Change]) -> Double {
        let n = points.count
        let values = points.map(\.value)
        // Level: centred rolling median over whole seasons (4 weeks of days, 1 week of hours),
        // within the stretch between two changes.
        let half: Int
        switch bucket {
        case .day: half = min(14, max(3, n / 2))
        case .hour: half = min(84, max(12, n / 2))
        case .week: half = min(4, max(2, n / 2))
        }
        var stretches: [(lo: Int, hi: Int)] = []
        var ramps: [Change] = []
        var lo = 0
        for c in changes.sorted(by: { $0.first < $1.first }) {
            stretches.append((lo, c.first))
            if c.isRamp { ramps.append(c) }
            lo = c.isRamp ? c.last + 1 : c.first
        }
        stretches.append((lo, n))
        var level = [Double](repeating: .nan, count: n)
        for s in stretches where s.hi > s.lo {
            let usable = (s.lo..<s.hi).filter { !excluded.contains($0) }
            for i in s.lo..<s.hi {
                var xs: [Double] = []
                for j in max(s.lo, i - half)...min(s.hi - 1, i + half) where !excluded.contains(j) { xs.append(values[j]) }
                if xs.isEmpty { xs = usable.map { values[$0] } }
                level[i] = centre(xs)
            }
        }
        func nearest(_ i: Int) -> Double {
            for d in 0..<n {
                if i - d >= 0, level[i - d].isFinite { return level[i - d] }
                if i + d < n, level[i + d].isFinite { return level[i + d] }
            }
            return 0
        }
        for r in ramps {
            let a = r.first > 0 ? nearest(r.first - 1) : nearest(r.last + 1)
            let b = r.last + 1 < n ? nearest(r.last + 1) : a
            for i in r.first...r.last { level[i] = a + (b - a) * Double(i - r.first + 1) / Double(r.last - r.first + 2) }
        }
        for i in 0..<n where !level[i].isFinite { level[i] = nearest(i) }
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
        func phase(_ i: Int) -> Int { period == 1 ? 0 : phaseOf(points[i].start) }
        var ratios = [[Double]](repeating: [], count: period)
        for i in 0..<n where level[i] > 0 && !excluded.contains(i) { ratios[phase(i)].append(values[i] / level[i]) }
        var factor = ratios.map { $0.isEmpty ? 1 : Stats.median($0) }
        let meanFactor = factor.reduce(0, +) / Double(max(1, factor.count))
        if meanFactor > 0 { factor = factor.map { $0 / meanFactor } }
        // The level is a median of raw values; rescale so that the baseline matches the level
        // (the median of per-point ratios, so that incidents do not pull the scale).
        var r: [Double] = []
        for i in 0..<n where !excluded.contains(i) {
            let b = level[i] * factor[phase(i)]
            if b > 0 { r.append(values[i] / b) }
        }
        let levelScale = r.isEmpty || Stats.median(r) <= 0 ? 1 : Stats.median(r)
        for i in 0..<n {
            points[i].season = factor[phase(i)] * levelScale
            points[i].baseline = level[i] * points[i].season
        }
        let rel = (0..<n).filter { !excluded.contains($0) && points[$0].baseline > 0 }.map {
            (points[$0].value - points[$0].baseline) / points[$0].baseline
        }
        let noise = max(Stats.robustSigma(rel), 0.005)
        for i in 0..<n {
            guard !points[i].gap else {
                points[i].z = 0
                continue
            }
            let b = points[i].baseline
            let robust = (points[i].value - b) / (noise * max(b, CountSignificance.minimumRate))
            let poisson = CountSignificance.poissonZ(observed: points[i].value, expected: b)
            points[i].z = abs(robust) < abs(poisson) ? robust : poisson
        }
        return noise
    }

    /// Lasting changes (level shifts and ramps) on a daily or weekly series: for each bucket, a
    /// robust local linear fit with a step there (up to four weeks, twelve weeks, on each side,
    /// not across an earlier change); the most significant step that stays is kept, refined into
    /// a ramp when a gradual change fits clearly better, and the search repeats on each side.
    static func findChanges(_ points: [Point], excluded: Set<Int>, bucket: TimeBucket, threshold: Double, minChange: Double) -> [Change] {
        let n = points.count
        let minSide = bucket == .week ? 4 : 7
        let reach = bucket == .week ? 12 : 28
        let maxRamp = bucket == .week ? 8 : 21
        let minRamp = bucket == .week ? 3 : 4
        guard n >= 2 * minSide else { return [] }
        let y: [Double?] = points.indices.map {
            excluded.contains($0) || points[$0].season <= 0 ? nil : points[$0].value / points[$0].season
        }
        let bar = 1.5 * threshold
        func floor(_ level: Double) -> Double { max(level.squareRoot(), 0.005 * level) }
        // Columns: level, local trend, the step or ramp, and on daily series one column per
        // weekday but Monday, which absorbs what the seasonal factors missed near the change.
        let weekdays = bucket == .day && n >= 21
        func row(_ j: Int, _ centre: Int, _ ramp: Double) -> [Double] {
            var r = [1, Double(j - centre) / Double(reach), ramp]
            if weekdays {
                let w = UTCTime.weekday(points[j].start)
                for k in 1..<7 { r.append(w == k ? 1 : 0) }
            }
            return r
        }

        func ramp(_ j: Int, _ start: Int, _ width: Int) -> Double {
            width == 1 ? (j >= start ? 1 : 0) : min(1, max(0, Double(j - start + 1) / Double(width)))
        }

        /// A step (`width` 1) or a ramp of `width` buckets starting at `s`, fitted on up to `reach`
        /// buckets on each side: its size, its standard errors and the level before.
        func changeFit(_ s: Int, _ width: Int, _ lo: Int, _ hi: Int) -> (d: Double, t: Double, before: Double)? {
            let last = s + width - 1
            let a = max(lo, s - reach)
            let b = min(hi, last + reach)
            let before = (a..<s).compactMap { y[$0] }
            let afterIndices = (last..<b).filter { y[$0] != nil }
            guard before.count >= minSide - 2, afterIndices.count >= minSide - 2 else { return nil }
            var x: [[Double]] = []
            var ys: [Double] = []
            for j in a..<b {
                if let v = y[j] {
                    x.append(row(j, s, ramp(j, s, width)))
                    ys.append(v)
                }
            }
            let level = Stats.median(before)
            guard let f = RobustFit.fit(x, ys, sigmaFloor: floor(level)), f.standardErrors[2] > 0 else { return nil }
            let d = f.coefficients[2]
            // It stays: the last third of the after side is still shifted by at least half the change.
            let tail = afterIndices.suffix(max(2, afterIndices.count / 3))
            let kept = Stats.median(tail.map { y[$0]! - (f.coefficients[0] + f.coefficients[1] * Double($0 - s) / Double(reach)) })
            guard d != 0, kept / d >= 0.5 else { return nil }
            return (d, d / f.standardErrors[2], level)
        }

        /// The best step or ramp near `s0`; its levels are the fitted ones just before and just
        /// after the change (so that growth around it does not count as part of it).
        func refine(_ s0: Int, _ w0: Int, _ lo: Int, _ hi: Int, _ t: Double) -> Change? {
            let a = max(lo, s0 - reach - maxRamp)
            let b = min(hi, s0 + reach + maxRamp)
            let idx = (a..<b).filter { y[$0] != nil }
            let ys = idx.map { y[$0]! }
            let level = Stats.median(ys)
            guard let robust = RobustFit.fit(idx.map { row($0, s0, ramp($0, s0, w0)) }, ys, sigmaFloor: floor(level)) else { return nil }
            let keep = idx.indices.filter { abs(robust.residuals[$0]) < 4.685 * robust.sigma }
            func fit(_ start: Int, _ width: Int) -> RobustFit.Result? {
                RobustFit.fit(keep.map { row(idx[$0], s0, ramp(idx[$0], start, width)) }, keep.map { ys[$0] }, iterations: 0)
            }
            var bestStep: (start: Int, fit: RobustFit.Result)?
            var bestRamp: (start: Int, width: Int, fit: RobustFit.Result)?
            for start in max(lo + minSide / 2, s0 - maxRamp / 2)...max(lo + minSide / 2, min(s0 + maxRamp / 2, hi - 1 - minSide / 2)) {
                for width in 1...maxRamp where start + width - 1 <= min(hi - 1 - minSide / 2, s0 + w0 + maxRamp) {
                    guard width == 1 || width >= minRamp, let f = fit(start, width) else { continue }
                    if width == 1 {
                        if bestStep == nil || f.rss < bestStep!.fit.rss { bestStep = (start, f) }
                    } else if bestRamp == nil || f.rss < bestRamp!.fit.rss {
                        bestRamp = (start, width, f)
                    }
                }
            }
            func levels(_ f: RobustFit.Result, _ first: Int, _ last: Int) -> (Double, Double) {
                let c = f.coefficients
                return (c[0] + c[1] * Double(first - 1 - s0) / Double(reach), c[0] + c[1] * Double(last + 1 - s0) / Double(reach) + c[2])
            }
            // A change worth the name goes from one positive level to another, by at least `min_change`.
            func plausible(_ c: Change) -> Change? {
                c.before > 0 && c.after > 0 && abs(c.after / c.before - 1) >= minChange ? c : nil
            }
            if let r = bestRamp, let s = bestStep, r.fit.rss <= 0.85 * s.fit.rss {
                let last = r.start + r.width - 1
                let (before, after) = levels(r.fit, r.start, last)
                return plausible(Change(first: r.start, last: last, before: before, after: after, t: t))
            }
            guard let s = bestStep else { return nil }
            let (before, after) = levels(s.fit, s.start, s.start)
            // The level after a step is the one at the step itself, not a bucket later.
            return plausible(
                Change(first: s.start, last: s.start, before: before, after: after - s.fit.coefficients[1] / Double(reach), t: t))
        }

        var cuts: [Int] = []
        var changes: [Change] = []
        for _ in 0..<4 {
            var best: (s: Int, w: Int, lo: Int, hi: Int, t: Double)?
            let edges = [0] + cuts.sorted() + [n]
            for k in 0..<(edges.count - 1) {
                let lo = edges[k]
                let hi = edges[k + 1]
                guard hi - lo >= 2 * minSide else { continue }
                for s in (lo + minSide)...(hi - minSide) where y[s] != nil {
                    for w in [1, 4, 7, 10, 14, 21] where w <= maxRamp && (w == 1 || w >= minRamp) && s + w - 1 <= hi - minSide {
                        guard let f = changeFit(s, w, lo, hi), abs(f.t) >= bar, abs(f.d) >= minChange * max(f.before, 1e-9) else {
                            continue
                        }
                        if best == nil || abs(f.t) > abs(best!.t) { best = (s, w, lo, hi, f.t) }
                    }
                }
            }
            guard let best, let change = refine(best.s, best.w, best.lo, best.hi, best.t) else { break }
            changes.append(change)
            cuts.append(change.first)
            if change.isRamp { cuts.append(change.last + 1) }
        }
        return changes
    }
}
