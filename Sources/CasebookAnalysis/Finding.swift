import CasebookCore
import Foundation

/// One conclusion of an analyzer, with the structured evidence a report renders
/// (numbers, tables, series for charts) and how sure the analyzer is.
public struct Finding: Sendable, Hashable, Codable {
    /// A short headline (`Downloads spiked 4–6 March`).
    public var title: String
    /// What was found, in one or a few sentences.
    public var summary: String
    public var evidence: [Evidence]
    public var confidence: Confidence
    /// What this analysis could not settle.
    public var openQuestions: [String]

    public init(
        title: String, summary: String, evidence: [Evidence] = [], confidence: Confidence = .medium,
        openQuestions: [String] = []
    ) {
        self.title = title
        self.summary = summary
        self.evidence = evidence
        self.confidence = confidence
        self.openQuestions = openQuestions
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = try c.decode(String.self, forKey: .title)
        summary = try c.decodeIfPresent(String.self, forKey: .summary) ?? ""
        evidence = try c.decodeIfPresent([Evidence].self, forKey: .evidence) ?? []
        confidence = try c.decodeIfPresent(Confidence.self, forKey: .confidence) ?? .medium
        openQuestions = try c.decodeIfPresent([String].self, forKey: .openQuestions) ?? []
    }
}

/// How sure an analyzer is of a finding: a score from 0 to 1, shown as low, medium or high.
///
/// JSON: `{"score": 0.9, "level": "high"}`; a bare number or `"low"`/`"medium"`/`"high"` is accepted.
public struct Confidence: Sendable, Hashable, Codable, Comparable {
    public var score: Double

    public init(_ score: Double) { self.score = min(1, max(0, score.isNaN ? 0 : score)) }

    public static let low = Confidence(0.3)
    public static let medium = Confidence(0.6)
    public static let high = Confidence(0.9)

    /// `low` below 0.45, `high` from 0.75, `medium` between.
    public var level: String { score < 0.45 ? "low" : score < 0.75 ? "medium" : "high" }

    public static func < (a: Confidence, b: Confidence) -> Bool { a.score < b.score }

    private enum CodingKeys: String, CodingKey { case score, level }

    public init(from decoder: any Decoder) throws {
        if let c = try? decoder.singleValueContainer() {
            if let d = try? c.decode(Double.self) {
                self.init(d)
                return
            }
            if let s = try? c.decode(String.self) {
                switch s.lowercased() {
                case "low": self = .low
                case "medium": self = .medium
                case "high": self = .high
                default:
                    throw DecodingError.dataCorruptedError(
                        in: c, debugDescription: "confidence must be low, medium, high or a number 0-1, found \"\(s)\"")
                }
                return
            }
        }
        let k = try decoder.container(keyedBy: CodingKeys.self)
        if let score = try k.decodeIfPresent(Double.self, forKey: .score) {
            self.init(score)
            return
        }
        switch try k.decode(String.self, forKey: .level) {
        case "low": self = .low
        case "high": self = .high
        default: self = .medium
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(score, forKey: .score)
        try c.encode(level, forKey: .level)
    }
}

/// Evidence behind a finding. JSON: an object with `"type": "number" | "table" | "series" | "chart" | "note"`.
public enum Evidence: Sendable, Hashable, Codable {
    /// One labelled number (`excess downloads: 24256`), with an optional unit (`downloads`, `%`, `share`).
    case number(label: String, value: Double, unit: String?)
    case table(EvidenceTable)
    case series(EvidenceSeries)
    /// Chart data: several series, bars on one scale, or a graph (see ``EvidenceChart``).
    case chart(EvidenceChart)
    /// A short remark (a caveat, a pointer).
    case note(String)

    /// `.number` with an integer.
    public static func count(_ label: String, _ value: Int64, unit: String? = "downloads") -> Evidence {
        .number(label: label, value: Double(value), unit: unit)
    }

    private enum CodingKeys: String, CodingKey { case type, label, value, unit, text }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "number":
            self = .number(
                label: try c.decode(String.self, forKey: .label), value: try c.decode(Double.self, forKey: .value),
                unit: try c.decodeIfPresent(String.self, forKey: .unit))
        case "table": self = .table(try EvidenceTable(from: decoder))
        case "series": self = .series(try EvidenceSeries(from: decoder))
        case "chart": self = .chart(try EvidenceChart(from: decoder))
        case "note": self = .note(try c.decode(String.self, forKey: .text))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription: "evidence type must be number, table, series, chart or note, found \"\(type)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .number(let label, let value, let unit):
            try c.encode("number", forKey: .type)
            try c.encode(label, forKey: .label)
            try c.encode(value, forKey: .value)
            try c.encodeIfPresent(unit, forKey: .unit)
        case .table(let t):
            try c.encode("table", forKey: .type)
            try t.encode(to: encoder)
        case .series(let s):
            try c.encode("series", forKey: .type)
            try s.encode(to: encoder)
        case .chart(let chart):
            try c.encode("chart", forKey: .type)
            try chart.encode(to: encoder)
        case .note(let text):
            try c.encode("note", forKey: .type)
            try c.encode(text, forKey: .text)
        }
    }
}

/// A table: named columns and rows of values (one value per column).
public struct EvidenceTable: Sendable, Hashable, Codable {
    public var title: String
    public var columns: [String]
    public var rows: [[Value]]

    public init(title: String, columns: [String], rows: [[Value]]) {
        self.title = title
        self.columns = columns
        self.rows = rows
    }
}

/// A time series for a chart: points at bucket starts, optionally with highlighted windows.
public struct EvidenceSeries: Sendable, Hashable, Codable {
    public struct Point: Sendable, Hashable, Codable {
        /// Bucket start, ISO 8601 UTC (`2020-03-04T00:00:00Z`).
        public var time: String
        public var value: Double
        public init(time: String, value: Double) {
            self.time = time
            self.value = value
        }
        public init(epoch: Int64, value: Double) { self.init(time: UTCTime.isoString(epoch), value: value) }
    }
    /// A highlighted interval `[start, end)`, ISO 8601 UTC.
    public struct Highlight: Sendable, Hashable, Codable {
        public var start: String
        public var end: String
        public var label: String?
        public init(start: String, end: String, label: String? = nil) {
            self.start = start
            self.end = end
            self.label = label
        }
    }

    public var title: String
    /// `hour`, `day` or `week`, when the points are buckets.
    public var bucket: String?
    /// What the values are (`downloads`).
    public var unit: String?
    public var points: [Point]
    public var highlights: [Highlight]

    public init(
        title: String, bucket: TimeBucket? = nil, unit: String? = "downloads", points: [Point],
        highlights: [Highlight] = []
    ) {
        self.title = title
        self.bucket = bucket?.rawValue
        self.unit = unit
        self.points = points
        self.highlights = highlights
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        bucket = try c.decodeIfPresent(String.self, forKey: .bucket)
        unit = try c.decodeIfPresent(String.self, forKey: .unit)
        points = try c.decode([Point].self, forKey: .points)
        highlights = try c.decodeIfPresent([Highlight].self, forKey: .highlights) ?? []
    }
}

/// Data for a chart that an analyzer wants drawn. Analyzers say *what* to draw (the numbers and
/// their meaning); renderers decide how (SVG, colours, axes). Kinds:
/// - `line`: one or more named series over time (`x` is an ISO 8601 UTC bucket start), with
///   highlighted windows; e.g. totals with and without the contributors, or the hourly profile of
///   the window against normal days (`x` then holds hour labels and `bucket` is nil).
/// - `bars`: categories (`x`) with one value per series. `layout` `grouped` draws the series side
///   by side on one scale, `panels` draws each series as its own ranked panel on one shared
///   scale (top-N before and during a window), `stacked` stacks the series (shares that add up).
/// - `graph`: nodes and directed edges (a dependency graph), nodes grouped by role.
public struct EvidenceChart: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case line, bars, graph }
    /// How bars are laid out: side by side on one scale, as ranked panels on one shared scale, or stacked.
    public enum Layout: String, Sendable, Hashable, Codable { case grouped, panels, stacked }

    /// One point: `x` is a time (ISO 8601 UTC) for line charts over time, else a category label.
    public struct Point: Sendable, Hashable, Codable {
        public var x: String
        public var y: Double
        public init(x: String, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public struct Series: Sendable, Hashable, Codable {
        public var name: String
        public var points: [Point]
        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }
    }

    public struct Node: Sendable, Hashable, Codable {
        public var id: String
        public var label: String
        /// The node's role, for its colour and legend (`contributor`, `dependency`, `downstream`...).
        public var group: String
        /// A number shown with the node (e.g. downloads in the window), optional.
        public var value: Double?
        public init(id: String, label: String, group: String, value: Double? = nil) {
            self.id = id
            self.label = label
            self.group = group
            self.value = value
        }
    }

    public struct Edge: Sendable, Hashable, Codable {
        public var from: String
        public var to: String
        public var label: String?
        public init(from: String, to: String, label: String? = nil) {
            self.from = from
            self.to = to
            self.label = label
        }
    }

    public var kind: Kind
    public var title: String
    /// What the values are (`downloads`, `share`).
    public var unit: String?
    /// `hour`, `day` or `week` when line-chart x values are bucket starts.
    public var bucket: String?
    /// For bars: `grouped`, `panels` or `stacked`.
    public var layout: Layout?
    public var series: [Series]
    public var highlights: [EvidenceSeries.Highlight]
    public var nodes: [Node]
    public var edges: [Edge]

    public init(
        kind: Kind, title: String, unit: String? = "downloads", bucket: TimeBucket? = nil, layout: Layout? = nil,
        series: [Series] = [], highlights: [EvidenceSeries.Highlight] = [], nodes: [Node] = [], edges: [Edge] = []
    ) {
        self.kind = kind
        self.title = title
        self.unit = unit
        self.bucket = bucket?.rawValue
        self.layout = layout
        self.series = series
        self.highlights = highlights
        self.nodes = nodes
        self.edges = edges
    }

    private enum CodingKeys: String, CodingKey { case kind, title, unit, bucket, layout, series, highlights, nodes, edges }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        title = try c.decodeIfPresent(String.self, forKey: .title) ?? ""
        unit = try c.decodeIfPresent(String.self, forKey: .unit)
        bucket = try c.decodeIfPresent(String.self, forKey: .bucket)
        layout = try c.decodeIfPresent(Layout.self, forKey: .layout)
        series = try c.decodeIfPresent([Series].self, forKey: .series) ?? []
        highlights = try c.decodeIfPresent([EvidenceSeries.Highlight].self, forKey: .highlights) ?? []
        nodes = try c.decodeIfPresent([Node].self, forKey: .nodes) ?? []
        edges = try c.decodeIfPresent([Edge].self, forKey: .edges) ?? []
    }
}
