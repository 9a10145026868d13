import CasebookAnalysis
import CasebookCore
import Foundation

/// Number and value formatting shared by the renderers: the same in every locale.
public enum ReportFormat {
    /// `169428` → `169,428`; `0.5` → `0.5`; fractions keep up to `maxDecimals` digits
    /// (``Describe/number(_:maxDecimals:)``).
    public static func number(_ value: Double, maxDecimals: Int = 3) -> String {
        Describe.number(value, maxDecimals: maxDecimals)
    }

    /// An integer with `,` between thousands.
    public static func grouped(_ value: Int64) -> String { Describe.grouped(value) }

    /// A fraction as a percentage with up to one decimal, as analyzers phrase shares
    /// (``Describe/percent(_:digits:trimmed:)``): `0.527` → `52.7%`, `1` → `100%`,
    /// `0.0004` → `under 0.1%`.
    public static func percent(_ fraction: Double) -> String {
        Describe.percent(fraction, digits: 1, trimmed: true)
    }

    /// A labelled number as shown: shares as percentages, other units after the value.
    public static func measure(_ value: Double, unit: String?) -> String {
        switch unit?.lowercased() {
        case "share", "fraction": return percent(value)
        case "%", "percent": return number(value) + "%"
        case "ratio", "times", "×": return number(value) + "×"
        case nil, "": return number(value)
        case let u?: return number(value) + " " + u
        }
    }

    /// A table cell: numbers grouped (shares as percentages when the column says so), text as is,
    /// lists and objects as compact JSON.
    public static func cell(_ value: Value, column: String) -> String {
        switch value {
        case .null: return "–"
        case .bool(let b): return b ? "yes" : "no"
        case .int(let i): return isShareColumn(column) && (0...1).contains(i) ? percent(Double(i)) : grouped(i)
        case .double(let d): return isShareColumn(column) && d >= -1 && d <= 1 ? percent(d) : number(d)
        case .string(let s): return s
        case .array(let a): return a.map { $0.stringValue ?? $0.jsonString }.joined(separator: ", ")
        case .object: return value.jsonString
        }
    }

    /// Columns whose numbers are fractions (`share of total`, `baseline share`).
    public static func isShareColumn(_ column: String) -> Bool {
        let c = column.lowercased()
        return c.contains("share") || c.hasSuffix("fraction")
    }

    /// `2031-07-14T00:00:00Z` → `2031-07-14`, `2031-07-14T13:00:00Z` → `2031-07-14 13:00 UTC`; other text unchanged.
    public static func time(_ iso: String) -> String {
        guard let t = UTCTime.parse(iso) else { return iso }
        if t % 86400 == 0 { return UTCTime.dateString(t) }
        let s = UTCTime.isoString(t)
        return String(s.prefix(10)) + " " + String(s.dropFirst(11).prefix(5)) + " UTC"
    }

    /// A `[start, end)` window as days: `2031-07-14 – 2031-07-16` (the end is exclusive).
    public static func window(start: String, end: String) -> String {
        guard let s = UTCTime.parse(start), let e = UTCTime.parse(end) else { return "\(start) – \(end)" }
        if s % 86400 == 0, e % 86400 == 0 {
            let last = e - 86400
            return last <= s ? UTCTime.dateString(s) : "\(UTCTime.dateString(s)) – \(UTCTime.dateString(last))"
        }
        return "\(time(start)) – \(time(end))"
    }

    /// A store time (epoch seconds) as `2031-07-14 14:03 UTC`.
    public static func epoch(_ t: Int64?) -> String {
        guard let t else { return "–" }
        return time(UTCTime.isoString(t))
    }

    /// Bytes as `1.4 GB`.
    public static func bytes(_ n: Int64) -> String {
        let units = ["bytes", "kB", "MB", "GB", "TB"]
        var v = Double(n)
        var i = 0
        while v >= 1000, i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(n) bytes" : number((v * 10).rounded() / 10, maxDecimals: 1) + " " + units[i]
    }
}
