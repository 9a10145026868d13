import CasebookCore
import Foundation

/// A time window `[start, end)` found by `spike-detection` (or given by hand), as analyzers pass
/// it to each other: `{start, end, direction, excess, ...}` with ISO 8601 UTC times.
public struct AnalysisWindow: Sendable {
    public var start: Int64
    public var end: Int64
    public var direction: Direction
    /// The downloads detection expected in the window for its series (spike-detection's
    /// `baseline`: seasonal, with the level of the days around), or nil for a window given by hand.
    public var expected: Double?
    /// The filters of the series detection read (spike-detection's `filter`), which `expected` is for.
    public var scope: [DimensionFilter]

    public init(start: Int64, end: Int64, direction: Direction = .up, expected: Double? = nil, scope: [DimensionFilter] = []) {
        self.start = start
        self.end = end
        self.direction = direction
        self.expected = expected
        self.scope = scope
    }

    /// The factor that turns downloads in `baseline` into the downloads expected in the window.
    ///
    /// For a window from spike-detection it is that step's expectation over the same series'
    /// downloads in `baseline`: every step then distributes detection's one forecast by the
    /// baseline's shares, so that their expected downloads add up to detection's and the window's
    /// excess reads the same in every step of a report. For a window given by hand (or a series
    /// with no downloads in `baseline`), the window's length over the baseline's.
    public func baselineScale(
        baseline: TimeRange, using aggregate: (AggregateQuery) async throws -> AggregateTable
    ) async throws -> Double {
        let length = Double((baseline.to ?? 0) - (baseline.from ?? 0))
        let byLength = length > 0 ? Double(seconds) / length : 0
        guard let expected, expected > 0 else { return byLength }
        let before = try await aggregate(AggregateQuery(filters: scope, range: baseline)).total
        return before > 0 ? expected / Double(before) : byLength
    }

    public var seconds: Int64 { end - start }
    public var label: String { Describe.span(start, end) }

    /// Reads a window from a step parameter: an object, or a list whose first element is used
    /// (spike-detection ranks its windows, largest first).
    public static func from(_ value: Value?, parameter: String) throws -> AnalysisWindow {
        var v = value
        if let list = v?.arrayValue {
            guard let first = list.first else { throw AnalyzerError("`\(parameter)` is an empty list: there is no window to analyse") }
            v = first
        }
        guard let o = v?.objectValue else {
            throw AnalyzerError(
                "`\(parameter)` must be a window object `{start, end}` (e.g. `${{ steps.spike.outputs.windows[0] }}`), found \(value?.jsonString ?? "nothing")"
            )
        }
        guard let s = o["start"]?.stringValue.flatMap({ UTCTime.parse($0) }), let e = o["end"]?.stringValue.flatMap({ UTCTime.parse($0) }),
            e > s
        else {
            throw AnalyzerError("`\(parameter)` needs ISO 8601 `start` and `end` with end after start, found \(v!.jsonString)")
        }
        var direction = Direction.up
        if let text = o["direction"]?.stringValue {
            guard let d = Direction(rawValue: text) else {
                throw AnalyzerError("`\(parameter)`: `direction` must be up or down, found \"\(text)\"")
            }
            direction = d
        }
        let scope = try o["filter"].map { try DimensionFilter.list(from: $0, parameter: "\(parameter).filter") } ?? []
        return AnalysisWindow(start: s, end: e, direction: direction, expected: o["baseline"]?.doubleValue, scope: scope)
    }
}

/// Small robust statistics.
public enum Stats {
    public static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// Median absolute deviation scaled to a normal standard deviation.
    public static func robustSigma(_ xs: [Double]) -> Double {
        let m = median(xs)
        return 1.4826 * median(xs.map { abs($0 - m) })
    }

    public static func sum(_ xs: [Double]) -> Double { xs.reduce(0, +) }
}

/// Turning numbers and times into words, the same way in every analyzer's summary.
public enum Describe {
    public static func count(_ x: Double) -> String {
        let n = Int64(x.rounded())
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.groupingSeparator = ","
        f.usesGroupingSeparator = true
        return f.string(from: NSNumber(value: n)) ?? String(n)
    }

    public static func count(_ x: Int64) -> String { count(Double(x)) }

    /// A share as a percentage: the one phrasing of shares in findings and reports. `digits`
    /// decimals (`0.527` → `53%`, with one digit `52.7%`). A share that is not zero but would
    /// round to zero says so: `under 1%` (`under 0.1%` with one digit; `-under 1%` below zero).
    /// `trimmed` drops trailing zeros and groups thousands (`0.5` → `50%`, `12.346` → `1,235%`),
    /// as reports show shares; without it the digits are fixed (`50.0%` with one digit).
    public static func percent(_ share: Double, digits: Int = 0, trimmed: Bool = false) -> String {
        guard share.isFinite else { return "n/a" }
        let p = share * 100
        let step = pow(10, Double(-digits))
        if p != 0, abs(p) < 0.5 * step {
            return (p < 0 ? "-" : "") + "under " + String(format: "%.\(digits)f%%", step)
        }
        if trimmed {
            let scale = pow(10, Double(digits))
            return number((p * scale).rounded() / scale, maxDecimals: digits) + "%"
        }
        return String(format: "%.\(digits)f%%", p)
    }

    /// `169428` → `169,428`; `0.5` → `0.5`; fractions keep up to `maxDecimals` digits (two from
    /// 1, one from 100, none from 1,000). The same in every locale.
    public static func number(_ value: Double, maxDecimals: Int = 3) -> String {
        guard value.isFinite else { return value.isNaN ? "n/a" : (value > 0 ? "∞" : "-∞") }
        if value.rounded() == value, abs(value) < 1e15 { return grouped(Int64(value)) }
        let magnitude = abs(value)
        let decimals = magnitude >= 1000 ? 0 : magnitude >= 100 ? 1 : magnitude >= 1 ? 2 : maxDecimals
        var text = String(format: "%.\(decimals)f", magnitude)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        let parts = text.split(separator: ".", maxSplits: 1)
        var out = grouped(Int64(parts[0]) ?? 0)
        if parts.count > 1 { out += "." + parts[1] }
        if value < 0, out != "0" { out = "-" + out }
        return out
    }

    /// An integer with `,` between thousands.
    public static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    public static func signedPercent(_ share: Double) -> String {
        (share >= 0 ? "+" : "") + String(format: "%.0f%%", share * 100)
    }

    /// `2020-03-04` for a day, `2020-03-04 – 2020-03-06` for days, ISO times otherwise.
    public static func span(_ start: Int64, _ end: Int64) -> String {
        if start % 86400 == 0, end % 86400 == 0 {
            let last = end - 86400
            return last <= start ? UTCTime.dateString(start) : "\(UTCTime.dateString(start)) – \(UTCTime.dateString(last))"
        }
        return "\(UTCTime.isoString(start)) – \(UTCTime.isoString(end))"
    }

    public static func value(_ v: String?) -> String { v ?? "unknown" }

    /// Hours in words: `2020-02-18 09:00–14:00 UTC`, or `2020-02-18 22:00 – 2020-02-19 03:00 UTC`.
    public static func hours(_ start: Int64, _ end: Int64) -> String {
        func clock(_ t: Int64) -> String {
            let s = ((t % 86400) + 86400) % 86400
            return String(format: "%02d:%02d", s / 3600, (s % 3600) / 60)
        }
        let day = TimeBucket.day.start(of: start)
        if end <= day + 86400 { return "\(UTCTime.dateString(start)) \(clock(start))–\(end == day + 86400 ? "24:00" : clock(end)) UTC" }
        return "\(UTCTime.dateString(start)) \(clock(start)) – \(UTCTime.dateString(end)) \(clock(end)) UTC"
    }

    /// "a", "a and b", "a, b and c"; past `limit` items, the first `limit` and "N more"
    /// ("a, b, c and 2,000 more"), so that a sentence stays readable for any number of values.
    public static func list(_ items: [String], limit: Int = 8) -> String {
        if items.count > limit {
            return items.prefix(limit).joined(separator: ", ") + " and \(count(Int64(items.count - limit))) more"
        }
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }

    /// `1 project` / `3 projects`: a count with its noun in the right number.
    public static func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(count(Int64(n))) \(n == 1 ? singular : plural ?? singular + "s")"
    }

    /// What a set of filters keeps, in words: "all downloads", "project flask-login",
    /// "project a, b and 3 more; python_major 2".
    public static func scope(_ filters: [DimensionFilter]) -> String {
        guard !filters.isEmpty else { return "all downloads" }
        return filters.map { f in
            let values = list(f.values.map(value), limit: 4)
            return f.operation == .notIn ? "\(f.dimension.rawValue) not \(values)" : "\(f.dimension.rawValue) \(values)"
        }.joined(separator: "; ")
    }
}

extension DimensionFilter {
    /// Filters from an object `{dimension: [values]}` (or one value; `null` = unknown), as
    /// playbooks write them; `parameter` names it in errors.
    public static func list(from value: Value, parameter: String) throws -> [DimensionFilter] {
        guard let object = value.objectValue else { return [] }
        var out: [DimensionFilter] = []
        for (key, values) in object.sorted(by: { $0.key < $1.key }) {
            guard let d = CasebookCore.Dimension(name: key) else {
                throw AnalyzerError(
                    "`\(parameter)`: `\(key)` is not a dimension\(Suggest.didYouMean(key, among: CasebookCore.Dimension.allNames))")
            }
            let list = values.arrayValue ?? [values]
            out.append(
                DimensionFilter(
                    d, .in, list.map { $0 == .null ? nil : (d == .project ? ProjectName.normalize($0.interpolated) : $0.interpolated) }))
        }
        return out
    }

    /// Filters keeping values (`in`) as the object `{dimension: [values]}` that ``list(from:parameter:)`` reads.
    public static func object(_ filters: [DimensionFilter]) -> Value {
        var o: [String: Value] = [:]
        for f in filters where f.operation == .in {
            o[f.dimension.rawValue] = .array(f.values.map { $0.map(Value.string) ?? .null })
        }
        return .object(o)
    }
}

extension AnalyzerContext {
    /// Filters from an object parameter `{dimension: [values]}` (`null` = unknown).
    public func filters(_ name: String) throws -> [DimensionFilter] {
        guard let v = value(name) else { return [] }
        return try DimensionFilter.list(from: v, parameter: name)
    }

    /// A list of values from a parameter that holds strings or `{value: ...}` objects (the
    /// `contributors` output of the contributors step).
    public func valueList(_ name: String) -> [String?]? {
        guard let list = value(name)?.arrayValue else { return nil }
        return list.map { item in
            if let o = item.objectValue { return o["value"].flatMap { $0 == .null ? nil : $0.interpolated } }
            return item == .null ? nil : item.interpolated
        }
    }
}

/// Expected and actual counts of one dimension value around a window.
public struct ValueComparison: Sendable {
    public var value: String?
    /// Downloads in the window.
    public var window: Double
    /// Downloads in the baseline period, scaled to the window (``AnalysisWindow/baselineScale(baseline:using:)``).
    public var expected: Double
    public var excess: Double { window - expected }

    public init(value: String?, window: Double, expected: Double) {
        self.value = value
        self.window = window
        self.expected = expected
    }
}

/// Compares a window with the period before it, per value of a dimension.
public struct WindowComparison: Sendable {
    public var window: AnalysisWindow
    public var baselineStart: Int64
    public var baselineEnd: Int64
    public var values: [ValueComparison]
    public var windowTotal: Double
    public var expectedTotal: Double
    public var excessTotal: Double { windowTotal - expectedTotal }

    public init(
        window: AnalysisWindow, baselineStart: Int64, baselineEnd: Int64, values: [ValueComparison],
        windowTotal: Double, expectedTotal: Double
    ) {
        self.window = window
        self.baselineStart = baselineStart
        self.baselineEnd = baselineEnd
        self.values = values
        self.windowTotal = windowTotal
        self.expectedTotal = expectedTotal
    }

    /// The baseline is the `baselineDays` days before the window (whole days, so weekdays balance).
    /// `windowTable`, when given, is the window's answer already known (grouped by `dimensions`,
    /// same filters): only the baseline is then asked.
    public static func make(
        _ context: AnalyzerContext, window: AnalysisWindow, dimensions: [CasebookCore.Dimension],
        filters: [DimensionFilter], baselineDays: Int64,
        windowTable: AggregateTable? = nil
    ) async throws -> (WindowComparison, [[String?]: ValueComparison]) {
        let bEnd = window.start
        let bStart = bEnd - baselineDays * 86400
        let inWindow: AggregateTable
        if let windowTable {
            inWindow = windowTable
        } else {
            inWindow = try await context.aggregate(
                AggregateQuery(dimensions: dimensions, filters: filters, range: TimeRange(from: window.start, to: window.end)))
        }
        let before = try await context.aggregate(
            AggregateQuery(dimensions: dimensions, filters: filters, range: TimeRange(from: bStart, to: bEnd)))
        let scale = try await window.baselineScale(baseline: TimeRange(from: bStart, to: bEnd), using: context.aggregate)
        var byKey: [[String?]: ValueComparison] = [:]
        for r in inWindow.rows {
            byKey[r.values, default: ValueComparison(value: r.values.first ?? nil, window: 0, expected: 0)].window += Double(r.downloads)
        }
        for r in before.rows {
            byKey[r.values, default: ValueComparison(value: r.values.first ?? nil, window: 0, expected: 0)].expected +=
                Double(r.downloads) * scale
        }
        let values = byKey.values.sorted { $0.excess != $1.excess ? $0.excess > $1.excess : ($0.value ?? "~") < ($1.value ?? "~") }
        let c = WindowComparison(
            window: window, baselineStart: bStart, baselineEnd: bEnd, values: values,
            windowTotal: Double(inWindow.total), expectedTotal: Double(before.total) * scale)
        return (c, byKey)
    }

    /// The comparisons of ``make(_:window:dimensions:filters:baselineDays:)`` for each dimension
    /// alone, from two queries grouped by all of them (one per period) instead of two per
    /// dimension: each dimension's counts are the marginal sums. The results are identical.
    public static func marginals(
        _ context: AnalyzerContext, window: AnalysisWindow, dimensions: [CasebookCore.Dimension],
        filters: [DimensionFilter], baselineDays: Int64
    ) async throws -> [WindowComparison] {
        let bEnd = window.start
        let bStart = bEnd - baselineDays * 86400
        var unique: [CasebookCore.Dimension] = []
        for d in dimensions where !unique.contains(d) { unique.append(d) }
        let inWindow = try await context.aggregate(
            AggregateQuery(dimensions: unique, filters: filters, range: TimeRange(from: window.start, to: window.end)))
        let before = try await context.aggregate(
            AggregateQuery(dimensions: unique, filters: filters, range: TimeRange(from: bStart, to: bEnd)))
        let scale = try await window.baselineScale(baseline: TimeRange(from: bStart, to: bEnd), using: context.aggregate)
        return dimensions.map { d in
            let i = unique.firstIndex(of: d)!
            var windowSums: [String?: Int64] = [:]
            var beforeSums: [String?: Int64] = [:]
            for r in inWindow.rows { windowSums[r.values[i], default: 0] += r.downloads }
            for r in before.rows { beforeSums[r.values[i], default: 0] += r.downloads }
            var byKey: [String?: ValueComparison] = [:]
            for (v, n) in windowSums { byKey[v, default: ValueComparison(value: v, window: 0, expected: 0)].window += Double(n) }
            for (v, n) in beforeSums { byKey[v, default: ValueComparison(value: v, window: 0, expected: 0)].expected += Double(n) * scale }
            let values = byKey.values.sorted { $0.excess != $1.excess ? $0.excess > $1.excess : ($0.value ?? "~") < ($1.value ?? "~") }
            return WindowComparison(
                window: window, baselineStart: bStart, baselineEnd: bEnd, values: values,
                windowTotal: Double(inWindow.total), expectedTotal: Double(before.total) * scale)
        }
    }
}
