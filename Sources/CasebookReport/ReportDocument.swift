import CasebookAnalysis
import CasebookCore
import Foundation

/// The version of Casebook recorded in every report (bump it with each release).
public enum CasebookVersion {
    public static let current = "0.3.0"
}

/// Everything a report shows: the playbook run and what makes it reproducible (the Casebook
/// version, when it ran, the command that re-runs it, the playbook and its parameters, the
/// store's sources with their fingerprints and time span).
///
/// `report.json` is this document: the run's own keys (`playbook`, `steps`) at the top, so any
/// reader of a ``RunReport`` still reads it, and the rest under `"report"`.
/// Renderers (``MarkdownRenderer``, ``HTMLRenderer``) only read a document; they compute nothing
/// from the store, so a saved `report.json` renders to the same Markdown and HTML.
public struct ReportDocument: Sendable, Hashable {
    public var run: RunReport
    public var metadata: ReportMetadata

    /// A document for a run. Raw client keys anywhere in the run's findings and outputs are
    /// replaced by short pseudonyms (see ``ClientKeyRedaction``).
    public init(run: RunReport, metadata: ReportMetadata) {
        self.run = ClientKeyRedaction.redact(run)
        self.metadata = metadata
    }

    /// Pretty, key-sorted JSON: the run's keys plus `"report"` (the metadata).
    public func jsonData() throws -> Data {
        var top = try Value(encoding: run).objectValue ?? [:]
        top["report"] = try Value(encoding: metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Value.object(top))
    }

    /// Reads a `report.json` written by ``jsonData()`` (or a bare run report, whose metadata is then empty).
    public static func load(json data: Data, file: String = "report.json") throws -> ReportDocument {
        let decoder = JSONDecoder()
        do {
            let run = try decoder.decode(RunReport.self, from: data)
            let wrapper = try decoder.decode(MetadataWrapper.self, from: data)
            return ReportDocument(run: run, metadata: wrapper.report ?? ReportMetadata())
        } catch let error as DecodingError {
            if let syntax = JSONSyntaxCheck.firstProblem(in: data) {
                throw ReportLoadError(file: file, problem: "not valid JSON: \(syntax.message)", line: syntax.line, column: syntax.column)
            }
            throw ReportLoadError(file: file, problem: ReportLoadError.describe(error))
        } catch {
            throw ReportLoadError(file: file, problem: "\(error)")
        }
    }

    private struct MetadataWrapper: Decodable { var report: ReportMetadata? }
}

/// Why a `report.json` could not be read.
public struct ReportLoadError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var problem: String
    /// 1-based line and column of a JSON syntax error, when that is the problem.
    public var line: Int?
    public var column: Int?
    public init(file: String, problem: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.problem = problem
        self.line = line
        self.column = column
    }
    public var description: String {
        if let line, let column {
            return
                "\(file):\(line):\(column): \(problem); expected the report.json that `casebook run --out DIR` writes (is it truncated or edited?)"
        }
        return "\(file): not a Casebook report (\(problem)); expected the report.json that `casebook run --out DIR` writes"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let c): return "missing `\(key.stringValue)` at \(path(c.codingPath))"
        case .typeMismatch(let type, let c): return "expected \(type) at \(path(c.codingPath))"
        case .valueNotFound(let type, let c): return "expected \(type) at \(path(c.codingPath)), found null"
        case .dataCorrupted(let c): return "\(c.debugDescription) at \(path(c.codingPath))"
        @unknown default: return "\(error)"
        }
    }
}

/// What makes a report reproducible and shareable.
public struct ReportMetadata: Sendable, Hashable, Codable {
    /// Casebook's version (``CasebookVersion/current`` when the report was made).
    public var casebookVersion: String
    /// When the run happened, ISO 8601 UTC.
    public var generatedAt: String
    /// The command line that re-runs the investigation.
    public var command: String
    /// The playbook's YAML as run, and its SHA-256 (hex), when known.
    public var playbookText: String?
    public var playbookSHA256: String?
    /// What the store held (sources with fingerprints, time span), when known.
    public var store: StoreInfo?
    /// One-line summaries of the analyzers the steps used, by `uses` name ("what was asked").
    public var analyzers: [String: String]
    /// For a report `casebook watch` wrote about an incident as it happens: its state then.
    public var incident: IncidentStatus?

    public init(
        casebookVersion: String = CasebookVersion.current, generatedAt: String = "", command: String = "",
        playbookText: String? = nil, playbookSHA256: String? = nil, store: StoreInfo? = nil,
        analyzers: [String: String] = [:]
    ) {
        self.casebookVersion = casebookVersion
        self.generatedAt = generatedAt
        self.command = command
        self.playbookText = playbookText
        self.playbookSHA256 = playbookSHA256
        self.store = store
        self.analyzers = analyzers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        casebookVersion = try c.decodeIfPresent(String.self, forKey: .casebookVersion) ?? ""
        generatedAt = try c.decodeIfPresent(String.self, forKey: .generatedAt) ?? ""
        command = try c.decodeIfPresent(String.self, forKey: .command) ?? ""
        playbookText = try c.decodeIfPresent(String.self, forKey: .playbookText)
        playbookSHA256 = try c.decodeIfPresent(String.self, forKey: .playbookSHA256)
        store = try c.decodeIfPresent(StoreInfo.self, forKey: .store)
        analyzers = try c.decodeIfPresent([String: String].self, forKey: .analyzers) ?? [:]
        incident = try c.decodeIfPresent(IncidentStatus.self, forKey: .incident)
    }

    /// Metadata for a run happening now: the version, the time, the command, the playbook file
    /// (read and hashed when `playbookFile` is given) and the store's summary.
    public static func make(
        command: String, playbookFile: URL?, store: StoreInfo?, analyzers: [String: String],
        now: Date = Date()
    ) -> ReportMetadata {
        var text: String?
        var digest: String?
        if let playbookFile, let data = try? Data(contentsOf: playbookFile), data.count <= 1 << 20 {
            text = String(decoding: data, as: UTF8.self)
            digest = SHA256.hash([UInt8](data)).hexString
        }
        return ReportMetadata(
            generatedAt: UTCTime.isoString(Int64(now.timeIntervalSince1970.rounded(.down))),
            command: command, playbookText: text, playbookSHA256: digest, store: store,
            analyzers: analyzers)
    }
}

/// An incident's state when `casebook watch` wrote its report: the report is written again
/// when the window grows and when it closes; while it is open, it says so.
public struct IncidentStatus: Sendable, Hashable, Codable {
    /// `opened`, `grew` or `closed`: the change this report was written for.
    public var state: String
    /// Whether the window was still open (its last hours may grow it).
    public var open: Bool
    /// The window (ISO 8601 UTC; `end` exclusive) and its direction (`up` or `down`).
    public var windowStart: String
    public var windowEnd: String
    public var direction: String
    /// The log's time up to which the data was complete (the end of the last complete hour).
    public var asOf: String
    /// The sentence the reports show ("Still open as of TIME (log time): ...", "Closed: ...").
    public var sentence: String

    public init(
        state: String, open: Bool, windowStart: String, windowEnd: String, direction: String, asOf: String, sentence: String
    ) {
        self.state = state
        self.open = open
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.direction = direction
        self.asOf = asOf
        self.sentence = sentence
    }
}

/// Replaces raw client keys (`c-` and 16 hex digits, what ``ClientKeyer`` makes) anywhere in a
/// run's strings by `client#N` pseudonyms, numbered in order of first appearance. Analyzers
/// already use pseudonyms; this is the safety net for those that forget.
public enum ClientKeyRedaction {
    public static func redact(_ run: RunReport) -> RunReport {
        var state = State()
        var run = run
        for i in run.steps.indices {
            run.steps[i].outputs = run.steps[i].outputs.mapValues { state.value($0) }
            run.steps[i].findings = run.steps[i].findings.map { state.finding($0) }
            run.steps[i].reason = run.steps[i].reason.map { state.text($0) }
        }
        return run
    }

    struct State {
        var names: [String: String] = [:]

        static func ranges(in s: String) -> [Range<String.Index>] {
            var found: [Range<String.Index>] = []
            var i = s.startIndex
            while let r = s[i...].range(of: "c-") {
                var j = r.upperBound
                var n = 0
                while j < s.endIndex, n < 17, let a = s[j].asciiValue,
                    (48...57).contains(a) || (97...102).contains(a)
                {
                    n += 1
                    j = s.index(after: j)
                }
                let before = r.lowerBound == s.startIndex ? nil : s[s.index(before: r.lowerBound)]
                let wordBefore = before.map { $0.isLetter || $0.isNumber } ?? false
                if n == 16, !wordBefore { found.append(r.lowerBound..<j) }
                i = r.upperBound
            }
            return found
        }

        mutating func text(_ s: String) -> String {
            let found = Self.ranges(in: s)
            if found.isEmpty { return s }
            var out = ""
            var last = s.startIndex
            for r in found {
                out += s[last..<r.lowerBound]
                let key = String(s[r])
                if let name = names[key] {
                    out += name
                } else {
                    let name = "client#\(names.count + 1)"
                    names[key] = name
                    out += name
                }
                last = r.upperBound
            }
            out += s[last...]
            return out
        }

        mutating func value(_ v: Value) -> Value {
            switch v {
            case .string(let s): return .string(text(s))
            case .array(let a): return .array(a.map { value($0) })
            case .object(let o):
                var out: [String: Value] = [:]
                for key in o.keys.sorted() { out[text(key)] = value(o[key]!) }
                return .object(out)
            default: return v
            }
        }

        mutating func finding(_ f: Finding) -> Finding {
            var f = f
            f.title = text(f.title)
            f.summary = text(f.summary)
            f.openQuestions = f.openQuestions.map { text($0) }
            f.evidence = f.evidence.map { evidence($0) }
            return f
        }

        mutating func evidence(_ e: Evidence) -> Evidence {
            switch e {
            case .number(let label, let v, let unit): return .number(label: text(label), value: v, unit: unit)
            case .note(let s): return .note(text(s))
            case .table(var t):
                t.title = text(t.title)
                t.columns = t.columns.map { text($0) }
                t.rows = t.rows.map { $0.map { value($0) } }
                return .table(t)
            case .series(var s):
                s.title = text(s.title)
                s.highlights = s.highlights.map { h in
                    var h = h
                    h.label = h.label.map { text($0) }
                    return h
                }
                return .series(s)
            case .chart(var c):
                c.title = text(c.title)
                c.series = c.series.map { s in
                    EvidenceChart.Series(name: text(s.name), points: s.points.map { .init(x: text($0.x), y: $0.y) })
                }
                c.nodes = c.nodes.map { n in
                    EvidenceChart.Node(id: text(n.id), label: text(n.label), group: text(n.group), value: n.value)
                }
                c.edges = c.edges.map { EvidenceChart.Edge(from: text($0.from), to: text($0.to), label: $0.label.map { text($0) }) }
                return .chart(c)
            }
        }
    }
}
