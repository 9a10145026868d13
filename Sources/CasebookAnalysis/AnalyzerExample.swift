import CasebookCore
import Foundation

/// A worked example of an analyzer that is also a test: parameters, a tiny data set, and what
/// the analyzer must find in it.
///
/// Examples live in the analyzer's ``AnalyzerDescription/examples``, so the documentation a user
/// reads (`casebook analyzers NAME`) is checked by the test suite: one registry-wide test runs
/// every example of every analyzer (`checkExample(_:of:)` in `CasebookTesting`). Give an example
/// that finds something and one that finds nothing (a flat series has no spike).
///
/// ```swift
/// AnalyzerExample(
///     "A flat series has no spike",
///     with: ["bucket": "day"],
///     data: ExampleData(counts: [.daily("flask", from: "2020-02-01", Array(repeating: 100, count: 21))]),
///     expect: ["window": nil],
///     finding: "No unusual days")
/// ```
public struct AnalyzerExample: Sendable, Hashable {
    /// What the example shows, in a few words (`A three-day spike`).
    public var title: String
    /// The step's `with:` values, before defaults.
    public var parameters: [String: Value]
    /// The data the step runs on.
    public var data: ExampleData
    /// What named outputs must be (outputs not named are not checked).
    public var outputs: [String: ExpectedValue]
    /// Text the title of at least one finding must contain, if any.
    public var finding: String?

    public init(
        _ title: String, with parameters: [String: Value] = [:], data: ExampleData,
        expect outputs: [String: ExpectedValue] = [:], finding: String? = nil
    ) {
        self.title = title
        self.parameters = parameters
        self.data = data
        self.outputs = outputs
        self.finding = finding
    }
}

/// What an example expects of one output.
///
/// A literal means exact equality (`"total": 600`, `"window": nil`); ``contains(_:)`` checks a
/// part of an object or list, so an example names only what it is about.
public enum ExpectedValue: Sendable, Hashable {
    /// The output equals this value (integers and doubles of the same number are equal).
    case equals(Value)
    /// The output contains this: an object has these members (each matched the same way,
    /// recursively), a list has an element containing each given element, a string contains
    /// the given text; other values are equal.
    case contains(Value)
    /// A number within `tolerance` of this one.
    case approximately(Double, tolerance: Double)
    /// A list with this many elements.
    case count(Int)

    /// Whether `actual` meets the expectation.
    public func matches(_ actual: Value) -> Bool {
        switch self {
        case .equals(let v): Self.equal(actual, v)
        case .contains(let v): Self.contains(actual, v)
        case .approximately(let x, let tolerance): actual.doubleValue.map { abs($0 - x) <= tolerance } ?? false
        case .count(let n): actual.arrayValue?.count == n
        }
    }

    /// Equality with integers and doubles compared as numbers, at every depth.
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.int, .double), (.double, .int), (.double, .double): a.doubleValue == b.doubleValue
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)): Set(x.keys) == Set(y.keys) && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        default: a == b
        }
    }

    static func contains(_ actual: Value, _ part: Value) -> Bool {
        switch (actual, part) {
        case (.object(let a), .object(let p)): p.allSatisfy { k, v in a[k].map { contains($0, v) } ?? false }
        case (.array(let a), .array(let p)): p.allSatisfy { e in a.contains { contains($0, e) } }
        case (.array(let a), _): a.contains { contains($0, part) }
        case (.string(let a), .string(let p)): a.contains(p)
        default: equal(actual, part)
        }
    }
}

extension ExpectedValue: CustomStringConvertible {
    /// As `casebook analyzers NAME` shows it: `600`, `contains {"direction":"up"}`, `≈ 0.3 (±0.01)`.
    public var description: String {
        switch self {
        case .equals(let v): v.jsonString
        case .contains(let v): "contains \(v.jsonString)"
        case .approximately(let x, let t): "≈ \(x) (±\(t))"
        case .count(let n): "\(n) element\(n == 1 ? "" : "s")"
        }
    }
}

extension ExpectedValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .equals(.null) }
    public init(arrayLiteral elements: Value...) { self = .equals(.array(elements)) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .equals(.object(Dictionary(elements, uniquingKeysWith: { _, last in last })))
    }
    public init(booleanLiteral value: Bool) { self = .equals(.bool(value)) }
    public init(integerLiteral value: Int64) { self = .equals(.int(value)) }
    public init(floatLiteral value: Double) { self = .equals(.double(value)) }
    public init(stringLiteral value: String) { self = .equals(.string(value)) }
}

/// The tiny data set of an ``AnalyzerExample``, declared in code: no SQLite, no files.
///
/// Counts per day or hour (as a counts CSV holds them), downloads of files by clients (as access
/// logs give them), request lines per hour and status (for `log-health`), earlier steps'
/// outputs, and an optional catalog of a few projects' releases.
public struct ExampleData: Sendable, Hashable {
    public var counts: [Counts]
    public var downloads: [Downloads]
    public var requests: [Requests]
    /// Earlier steps' outputs, by step id, then output name.
    public var steps: [String: [String: Value]]
    /// Package metadata, for analyzers that need a catalog; `nil`: run without one.
    public var catalog: [CatalogProject]?

    public init(
        counts: [Counts] = [], downloads: [Downloads] = [], requests: [Requests] = [],
        steps: [String: [String: Value]] = [:], catalog: [CatalogProject]? = nil
    ) {
        self.counts = counts
        self.downloads = downloads
        self.requests = requests
        self.steps = steps
        self.catalog = catalog
    }

    /// Download counts of one project per day or hour, one count per bucket from `from`.
    public struct Counts: Sendable, Hashable {
        public var project: String?
        public var bucket: TimeBucket
        /// The first day (`YYYY-MM-DD`) or hour (ISO 8601).
        public var from: String
        /// One count per bucket; `nil` leaves the bucket out (a gap, not a zero).
        public var counts: [Int?]
        /// Other values every download carries (`python_major: "2"`).
        public var dimensions: [CasebookCore.Dimension: String]

        public init(project: String?, bucket: TimeBucket, from: String, counts: [Int?], dimensions: [CasebookCore.Dimension: String] = [:])
        {
            self.project = project
            self.bucket = bucket
            self.from = from
            self.counts = counts
            self.dimensions = dimensions
        }

        public static func daily(_ project: String?, from: String, _ counts: [Int?], dimensions: [CasebookCore.Dimension: String] = [:])
            -> Counts
        {
            Counts(project: project, bucket: .day, from: from, counts: counts, dimensions: dimensions)
        }

        public static func hourly(_ project: String?, from: String, _ counts: [Int?], dimensions: [CasebookCore.Dimension: String] = [:])
            -> Counts
        {
            Counts(project: project, bucket: .hour, from: from, counts: counts, dimensions: dimensions)
        }

        /// Daily counts as runs: `.daily("flask", from: "2020-02-19", runs: (100, 14), (400, 3))`
        /// is 100 a day for 14 days, then 400 a day for 3 (`nil` counts leave days out).
        public static func daily(_ project: String?, from: String, runs: (Int?, Int)..., dimensions: [CasebookCore.Dimension: String] = [:])
            -> Counts
        {
            Counts(
                project: project, bucket: .day, from: from, counts: runs.flatMap { Array(repeating: $0.0, count: $0.1) },
                dimensions: dimensions)
        }

        /// Hourly counts as runs, like ``daily(_:from:runs:dimensions:)``.
        public static func hourly(
            _ project: String?, from: String, runs: (Int?, Int)..., dimensions: [CasebookCore.Dimension: String] = [:]
        ) -> Counts {
            Counts(
                project: project, bucket: .hour, from: from, counts: runs.flatMap { Array(repeating: $0.0, count: $0.1) },
                dimensions: dimensions)
        }
    }

    /// `perDay` downloads of one file on each of `days` days from `from`, by `clients` distinct
    /// clients alike but for their keys (`keyPrefix-0`, `keyPrefix-1`, ...), taken in turn.
    public struct Downloads: Sendable, Hashable {
        public var file: String
        public var from: String
        public var days: Int
        public var perDay: Int
        public var clients: Int
        public var client: Client
        public var keyPrefix: String

        public init(
            _ file: String, from: String, days: Int = 1, perDay: Int, clients: Int = 1, client: Client = Client(), keyPrefix: String = "c"
        ) {
            self.file = file
            self.from = from
            self.days = days
            self.perDay = perDay
            self.clients = clients
            self.client = client
            self.keyPrefix = keyPrefix
        }
    }

    /// A client as pip reports itself in its user agent.
    public struct Client: Sendable, Hashable {
        public var python: String
        public var cpu: String?
        public var system: String?
        public var ci: Bool?
        public var installer: String
        public var installerVersion: String?

        public init(
            python: String = "3.8.2", cpu: String? = "x86_64", system: String? = "Linux", ci: Bool? = nil,
            installer: String = "pip", installerVersion: String? = "20.0.2"
        ) {
            self.python = python
            self.cpu = cpu
            self.system = system
            self.ci = ci
            self.installer = installer
            self.installerVersion = installerVersion
        }
    }

    /// `perHour` request lines answered with `status` in each of `hours` hours from `from`.
    public struct Requests: Sendable, Hashable {
        public var from: String
        public var hours: Int
        public var status: Int
        public var perHour: Int64

        public init(from: String, hours: Int = 1, status: Int, perHour: Int64) {
            self.from = from
            self.hours = hours
            self.status = status
            self.perHour = perHour
        }
    }

    /// A project in the example's catalog, with its releases oldest first.
    public struct CatalogProject: Sendable, Hashable {
        public var name: String
        public var releases: [Release]

        public init(_ name: String, _ releases: [Release]) {
            self.name = name
            self.releases = releases
        }
    }

    /// One release: version, upload time (ISO 8601), `Requires-Python`, `Requires-Dist`, files.
    public struct Release: Sendable, Hashable {
        public var version: String
        public var released: String
        public var requiresPython: String?
        public var requires: [String]
        public var files: [String]

        public init(_ version: String, _ released: String, requiresPython: String? = nil, requires: [String] = [], files: [String] = []) {
            self.version = version
            self.released = released
            self.requiresPython = requiresPython
            self.requires = requires
            self.files = files
        }
    }
}

extension ExampleData {
    /// The data in a few short lines, for `casebook analyzers NAME`: counts run-length encoded
    /// (`100 ×14, 400`), downloads as `N/day × D days`.
    public var lines: [String] {
        var out: [String] = []
        for c in counts {
            let dims =
                c.dimensions.isEmpty
                ? ""
                : " ("
                    + c.dimensions.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }.joined(
                        separator: ", ") + ")"
            out.append("\(c.project ?? "(no project)")\(dims) per \(c.bucket.rawValue) from \(c.from): \(Self.runs(c.counts))")
        }
        for d in downloads {
            var who = "\(d.clients) client\(d.clients == 1 ? "" : "s")"
            who +=
                " (Python \(d.client.python)\(d.client.cpu.map { " \($0)" } ?? "")\(d.client.ci == true ? ", CI" : ""), \(d.client.installer)"
            who += "\(d.client.installerVersion.map { " \($0)" } ?? ""))"
            out.append("\(d.file): \(d.perDay)/day × \(d.days) day\(d.days == 1 ? "" : "s") from \(d.from), \(who)")
        }
        for r in requests {
            out.append("requests answered \(r.status): \(r.perHour)/hour × \(r.hours) hour\(r.hours == 1 ? "" : "s") from \(r.from)")
        }
        for (id, outputs) in steps.sorted(by: { $0.key < $1.key }) {
            out.append(
                "step \(id): " + outputs.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value.jsonString)" }.joined(separator: ", "))
        }
        if let catalog {
            out.append(
                "catalog: "
                    + catalog.map { p in
                        "\(p.name) "
                            + p.releases.map { r in
                                var s = "\(r.version) (\(r.released.prefix(10))"
                                if !r.requires.isEmpty { s += "; requires \(r.requires.joined(separator: ", "))" }
                                if let py = r.requiresPython { s += "; python \(py)" }
                                return s + ")"
                            }.joined(separator: ", ")
                    }.joined(separator: "; "))
        }
        return out
    }

    /// `[100, 100, 100, 400]` → `100 ×3, 400`; a left-out bucket is `-`.
    static func runs(_ counts: [Int?]) -> String {
        var parts: [String] = []
        var i = 0
        while i < counts.count {
            var j = i
            while j + 1 < counts.count, counts[j + 1] == counts[i] { j += 1 }
            let v = counts[i].map(String.init) ?? "-"
            parts.append(j > i ? "\(v) ×\(j - i + 1)" : v)
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}

extension AnalyzerExample {
    /// What the example must find, in words (`window contains {...}; a finding titled "…spike…"`).
    public var expectationLines: [String] {
        var out = outputs.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        if let finding { out.append("a finding whose title contains \"\(finding)\"") }
        return out
    }

    /// The parameters as a playbook's `with:` block (values in JSON, which YAML reads).
    public var withBlock: String {
        guard !parameters.isEmpty else { return "with: {}" }
        return (["with:"] + parameters.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value.jsonString)" }).joined(separator: "\n")
    }
}
