import CasebookCore
import Foundation

/// The type of a parameter or output. Drives validation before a run, `casebook analyzers NAME`
/// and the documentation.
///
/// Values of the "semantic" kinds are written as strings or numbers in playbooks and JSON:
/// a ``dimension`` is a dimension name (`python_major`), a ``bucket`` is `hour`, `day` or `week`,
/// a ``duration`` is `90s`, `15m`, `36h`, `7d`, `2w` or a number of seconds, and a ``date`` is an
/// ISO 8601 date or time (`2020-03-04`, `2020-03-04T12:00:00Z`).
public indirect enum ValueKind: Sendable, Hashable {
    case string
    case int
    case number
    case bool
    case dimension
    case bucket
    case duration
    case date
    /// A list whose elements all have the given kind.
    case list(ValueKind)
    case object
    /// One of a fixed set of strings.
    case choice([String])
    /// Anything (no check).
    case any

    /// The name used in playbooks (`type: int`), in the protocol and in documentation.
    public var name: String {
        switch self {
        case .string: "string"
        case .int: "int"
        case .number: "number"
        case .bool: "bool"
        case .dimension: "dimension"
        case .bucket: "bucket"
        case .duration: "duration"
        case .date: "date"
        case .list(let e): e == .any ? "list" : "list<\(e.name)>"
        case .object: "object"
        case .choice(let options): options.joined(separator: "|")
        case .any: "any"
        }
    }

    /// Every kind name accepted in `type:` fields, for suggestions.
    public static let names = [
        "string", "int", "number", "bool", "dimension", "bucket", "duration", "date",
        "list", "object", "any"
    ]

    /// Parses a kind name: `int`, `list`, `list<dimension>`, `a|b|c` (a choice).
    public init?(name raw: String) {
        let name = raw.trimmingCharacters(in: .whitespaces)
        switch name {
        case "string", "str": self = .string
        case "int", "integer": self = .int
        case "number", "float", "double": self = .number
        case "bool", "boolean": self = .bool
        case "dimension": self = .dimension
        case "bucket": self = .bucket
        case "duration": self = .duration
        case "date", "time": self = .date
        case "list", "array": self = .list(.any)
        case "object", "map": self = .object
        case "any": self = .any
        default:
            if name.hasPrefix("list<"), name.hasSuffix(">"),
                let inner = ValueKind(name: String(name.dropFirst(5).dropLast()))
            {
                self = .list(inner)
            } else if name.contains("|") {
                self = .choice(name.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) })
            } else {
                return nil
            }
        }
    }

    /// Checks a value against this kind; returns the problem in words, or `nil` when it fits.
    /// `null` never fits here: optional parameters are handled by ``ParameterSpec``.
    public func problem(with value: Value) -> String? {
        switch (self, value) {
        case (.any, _): return nil
        case (.string, .string): return nil
        case (.int, .int): return nil
        case (.int, .double(let d)) where d.rounded() == d: return nil
        case (.number, .int), (.number, .double): return nil
        case (.bool, .bool): return nil
        case (.dimension, .string(let s)):
            return CasebookCore.Dimension(name: s) == nil
                ? "`\(s)` is not a dimension\(Suggest.didYouMean(s, among: CasebookCore.Dimension.allNames)) (dimensions: \(CasebookCore.Dimension.allNames.joined(separator: ", ")))"
                : nil
        case (.bucket, .string(let s)):
            return TimeBucket(rawValue: s) == nil
                ? "`\(s)` is not a time bucket\(Suggest.didYouMean(s, among: TimeBucket.allCases.map(\.rawValue))) (expected hour, day or week)"
                : nil
        case (.duration, .int(let i)): return i >= 0 ? nil : "a duration cannot be negative"
        case (.duration, .string(let s)):
            return Durations.parse(s) == nil ? "`\(s)` is not a duration (expected e.g. 90s, 15m, 36h, 7d, 2w)" : nil
        case (.date, .string(let s)):
            if let why = UTCTime.impossibleDate(s) { return "`\(s)` is not a date: \(why)" }
            return UTCTime.parse(s) == nil
                ? "`\(s)` is not an ISO 8601 date or time (expected e.g. 2020-03-04 or 2020-03-04T12:00:00Z)" : nil
        case (.list(let element), .array(let items)):
            for (i, item) in items.enumerated() {
                if let p = element.problem(with: item) { return "item \(i + 1): \(p)" }
            }
            return nil
        case (.object, .object): return nil
        case (.choice(let options), .string(let s)):
            return options.contains(s)
                ? nil : "`\(s)` is not one of \(options.joined(separator: ", "))\(Suggest.didYouMean(s, among: options))"
        default:
            return "expected \(article) \(name), found \(value.typeName) \(Suggest.preview(value))"
        }
    }

    private var article: String {
        switch self {
        case .int, .object, .any: "an"
        default: "a"
        }
    }

    /// Converts a command-line text (`--set NAME=VALUE`) to a value of this kind.
    /// Lists and objects are written as JSON (`["a","b"]`) or, for lists, comma-separated.
    public func parse(commandLine text: String) -> Value {
        switch self {
        case .int: if let i = Int64(text) { return .int(i) }
        case .number: if let d = Double(text) { return Int64(text).map(Value.int) ?? .double(d) }
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: break
            }
        case .duration: if let i = Int64(text) { return .int(i) }
        case .list(let element):
            if text.hasPrefix("["), let v = try? Value(json: Data(text.utf8)) { return v }
            if text.isEmpty { return .array([]) }
            return .array(text.split(separator: ",").map { element.parse(commandLine: $0.trimmingCharacters(in: .whitespaces)) })
        case .object, .any:
            if let v = try? Value(json: Data(text.utf8)) { return v }
        default: break
        }
        if self == .any || self == .string || self == .dimension || self == .date { return .string(text) }
        return .string(text)
    }
}

/// Durations as playbooks write them.
public enum Durations {
    /// Seconds in `90s`, `15m`, `36h`, `7d`, `2w` or a plain number of seconds.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int64(t) { return n >= 0 ? n : nil }
        guard let unit = t.last, let n = Int64(t.dropLast()), n >= 0 else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86400
        case "w": return n * 7 * 86400
        default: return nil
        }
    }
}

/// "Did you mean ...?" suggestions by edit distance.
public enum Suggest {
    /// The candidate closest to `word` when it is close enough to be a plausible typo
    /// (``EditDistance/closest(to:among:)``, the one rule for every suggestion).
    public static func closest(to word: String, among candidates: some Sequence<String>) -> String? {
        EditDistance.closest(to: word, among: candidates)
    }

    /// `"; did you mean `x`?"` or an empty string.
    public static func didYouMean(_ word: String, among candidates: some Sequence<String>) -> String {
        closest(to: word, among: candidates).map { "; did you mean `\($0)`?" } ?? ""
    }

    /// A short rendering of a value for messages.
    public static func preview(_ value: Value) -> String {
        let s = value.jsonString
        return "`" + (s.count > 40 ? String(s.prefix(37)) + "..." : s) + "`"
    }
}
