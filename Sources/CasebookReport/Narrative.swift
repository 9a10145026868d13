import CasebookCore
import CasebookAnalysis
import Foundation

/// The story a report tells, built only from the run's findings (never from knowledge of a case):
/// a title, the key finding of each step in playbook order, the steps that found nothing, and
/// the steps that did not run with why. Both renderers use it, so Markdown and HTML say the same.
public struct ReportNarrative: Sendable, Hashable {
    /// The key finding of a step that succeeded.
    public struct Point: Sendable, Hashable {
        public var stepID: String
        public var stepName: String
        /// The key finding (the most confident; the first one on a tie).
        public var finding: Finding
        /// Titles of the step's other findings.
        public var others: [String]
    }

    /// Steps that did not run, grouped by status and reason.
    public struct NotRun: Sendable, Hashable {
        public var stepNames: [String]
        public var status: StepStatus
        public var reason: String
    }

    public var title: String
    public var points: [Point]
    /// Steps that succeeded without a finding.
    public var silent: [String]
    public var notRun: [NotRun]
    /// Hypotheses that steps checked and rejected (see ``Hypothesis``), by step name.
    public var rejected: [(step: String, hypotheses: [Hypothesis])]

    public static func == (a: ReportNarrative, b: ReportNarrative) -> Bool {
        a.title == b.title && a.points == b.points && a.silent == b.silent && a.notRun == b.notRun
            && a.rejected.map(\.step) == b.rejected.map(\.step) && a.rejected.map(\.hypotheses) == b.rejected.map(\.hypotheses)
    }
    public func hash(into h: inout Hasher) { h.combine(title); h.combine(points) }

    /// The display name of a step: its `name:`, else its id.
    public static func name(of step: RunReport.StepReport) -> String {
        if let n = step.name, !n.trimmingCharacters(in: .whitespaces).isEmpty { return n }
        return step.id
    }

    /// The finding a step is summarised by: the most confident, the first one on a tie.
    public static func keyFinding(of step: RunReport.StepReport) -> Finding? {
        var best: Finding?
        for f in step.findings where best == nil || f.confidence.score > best!.confidence.score { best = f }
        return best
    }

    public init(_ document: ReportDocument) {
        let run = document.run
        var points: [Point] = []
        var silent: [String] = []
        var notRun: [NotRun] = []
        var rejected: [(String, [Hypothesis])] = []
        for step in run.steps {
            let name = Self.name(of: step)
            switch step.status {
            case .succeeded:
                if let key = Self.keyFinding(of: step) {
                    points.append(Point(stepID: step.id, stepName: name, finding: key,
                                        others: step.findings.filter { $0 != key }.map(\.title)))
                } else {
                    silent.append(name)
                }
                let rej = Hypothesis.all(in: step).filter(\.rejected)
                if !rej.isEmpty { rejected.append((name, rej)) }
            case .skipped, .failed:
                let reason = step.reason ?? "no reason given"
                if let i = notRun.firstIndex(where: { $0.status == step.status && $0.reason == reason }) {
                    notRun[i].stepNames.append(name)
                } else {
                    notRun.append(NotRun(stepNames: [name], status: step.status, reason: reason))
                }
            }
        }
        self.points = points
        self.silent = silent
        self.notRun = notRun
        self.rejected = rejected
        let playbook = run.playbook.name.isEmpty ? "Investigation" : run.playbook.name
        if let first = points.first {
            title = "\(playbook): \(first.finding.title)"
        } else if run.steps.allSatisfy({ $0.status != .succeeded }) {
            title = "\(playbook): no step ran"
        } else {
            title = "\(playbook): nothing unusual found"
        }
    }

    /// The "In short" line: each step's key finding title as a sentence, in playbook order, each
    /// said once (two steps with nothing to examine need not say so twice).
    public var inShort: [String] {
        var seen = Set<String>()
        return points.map { Self.sentence($0.finding.title) }.filter { seen.insert($0).inserted }
    }

    /// A sentence ending: adds a full stop unless the text already ends a sentence.
    public static func sentence(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let last = t.last else { return t }
        return ".!?".contains(last) ? t : t + "."
    }

    /// Like ``list(_:)``, at most `limit` items, then "and others".
    public static func listing(_ items: [String], limit: Int) -> String {
        items.count <= limit ? list(items) : items.prefix(limit).joined(separator: ", ") + " and others"
    }

    /// "a", "a and b", "a, b and c".
    public static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }
}

/// A cause a step considered (an attribution step's `hypotheses` output): what it is, its score,
/// the evidence for and against, and whether it was rejected.
public struct Hypothesis: Sendable, Hashable {
    public var rank: Int
    /// `release`, `fresh-install`, `client`, `mirror`, `ci`... as the analyzer named it.
    public var kind: String
    /// A readable name: the kind with the project and version, or the analyzer's own label.
    public var label: String
    public var score: Double?
    public var released: String?
    public var matched: [String]
    public var missing: [String]
    /// Why it was rejected, when the analyzer says so; else the missing evidence.
    public var why: String?
    public var rejected: Bool

    /// The hypotheses in a step's `hypotheses` output, ranked as given. The first is the
    /// accepted one unless the analyzer marks it otherwise; the others are rejected.
    public static func all(in step: RunReport.StepReport) -> [Hypothesis] {
        guard let list = step.outputs["hypotheses"]?.arrayValue else { return [] }
        var out: [Hypothesis] = []
        for (i, v) in list.enumerated() {
            guard let o = v.objectValue else { continue }
            func text(_ v: Value?) -> String? {
                switch v {
                case .string(let s)?: return s.isEmpty ? nil : s
                case .int(let n)?: return String(n)
                case .double(let d)?: return ReportFormat.number(d)
                default: return nil
                }
            }
            func texts(_ keys: [String]) -> [String] {
                for k in keys {
                    if let a = o[k]?.arrayValue {
                        return a.map { item in
                            if let s = item.stringValue { return s }
                            if let obj = item.objectValue {
                                return [obj["project"], obj["value"], obj["name"], obj["text"], obj["reason"]]
                                    .compactMap { $0?.stringValue }.first ?? item.jsonString
                            }
                            return item.jsonString
                        }
                    }
                    if let s = o[k]?.stringValue, !s.isEmpty { return [s] }
                }
                return []
            }
            let kind = text(o["kind"]) ?? "hypothesis"
            let subject = [text(o["project"]), text(o["version"])].compactMap { $0 }.joined(separator: " ")
            let label = text(o["label"]) ?? text(o["title"]) ?? text(o["description"])
                ?? (subject.isEmpty ? kind : "\(kind): \(subject)")
            let score = o["score"]?.doubleValue
            let flagged = o["rejected"]?.boolValue ?? (o["accepted"]?.boolValue).map { !$0 }
                ?? o["verdict"]?.stringValue.map { $0.lowercased().hasPrefix("reject") }
            let missing = texts(["missing", "against", "missingEvidence"])
            let why = text(o["why"]) ?? text(o["reason"]) ?? texts(["problems", "whyNot"]).first
                ?? (missing.isEmpty ? nil : missing.joined(separator: "; "))
            out.append(Hypothesis(rank: i + 1, kind: kind, label: label, score: score, released: text(o["released"]),
                                  matched: texts(["matched", "for", "evidence", "matchedEvidence"]), missing: missing,
                                  why: why, rejected: flagged ?? (i > 0)))
        }
        return out
    }
}
