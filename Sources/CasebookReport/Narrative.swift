import CasebookAnalysis
import CasebookCore
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
    /// Hypotheses that steps checked and rejected (see ``RankedHypothesis``), by step name.
    public var rejected: [(step: String, hypotheses: [RankedHypothesis])]

    public static func == (a: ReportNarrative, b: ReportNarrative) -> Bool {
        a.title == b.title && a.points == b.points && a.silent == b.silent && a.notRun == b.notRun
            && a.rejected.map(\.step) == b.rejected.map(\.step) && a.rejected.map(\.hypotheses) == b.rejected.map(\.hypotheses)
    }
    public func hash(into h: inout Hasher) {
        h.combine(title)
        h.combine(points)
    }

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
        var rejected: [(String, [RankedHypothesis])] = []
        for step in run.steps {
            let name = Self.name(of: step)
            switch step.status {
            case .succeeded:
                if let key = Self.keyFinding(of: step) {
                    points.append(
                        Point(
                            stepID: step.id, stepName: name, finding: key,
                            others: step.findings.filter { $0 != key }.map(\.title)))
                } else {
                    silent.append(name)
                }
                let rej = RankedHypothesis.all(in: step).filter(\.rejected)
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

/// A hypothesis as a report lists it: a step's `hypotheses` output (see ``Hypothesis``) with its
/// rank, a readable name, and whether and why it was rejected.
public struct RankedHypothesis: Sendable, Hashable {
    public var rank: Int
    public var hypothesis: Hypothesis
    /// A readable name: the kind with the project and version.
    public var label: String
    /// Why it was rejected: the missing evidence, when the analyzer gives any.
    public var why: String?
    public var rejected: Bool

    public var kind: HypothesisKind { hypothesis.kind }
    public var score: Double? { hypothesis.score }
    /// When the release was published, ISO 8601 UTC.
    public var released: String? { hypothesis.released.map(UTCTime.isoString) }
    /// The evidence for it.
    public var matched: [String] { hypothesis.matched }

    public init(rank: Int, hypothesis: Hypothesis, rejectedByDefault: Bool) {
        self.rank = rank
        self.hypothesis = hypothesis
        let kind = hypothesis.kind.rawValue.isEmpty ? "hypothesis" : hypothesis.kind.rawValue
        let subject = [hypothesis.project, hypothesis.version].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        label = subject.isEmpty ? kind : "\(kind): \(subject)"
        why = hypothesis.missing.isEmpty ? nil : hypothesis.missing.joined(separator: "; ")
        rejected = hypothesis.rejected ?? rejectedByDefault
    }

    /// The hypotheses in a step's `hypotheses` output, ranked as given (an item that is not a
    /// hypothesis keeps its rank and is left out). The first is the accepted one unless the
    /// analyzer marks it otherwise; the others are rejected unless it says so.
    public static func all(in step: RunReport.StepReport) -> [RankedHypothesis] {
        guard let list = step.outputs["hypotheses"]?.arrayValue else { return [] }
        return list.enumerated().compactMap { i, v in
            (try? Hypothesis(value: v)).map { RankedHypothesis(rank: i + 1, hypothesis: $0, rejectedByDefault: i > 0) }
        }
    }
}
