import CasebookAnalysis
import CasebookCore
import Foundation

/// What a report shows of one step, in order, with every number already formatted: the one walk
/// over findings and their evidence that ``MarkdownRenderer`` and ``HTMLRenderer`` share, so
/// that they only format (Markdown or HTML) what it lists and never compute.
public struct StepLayout: Sendable, Hashable {
    /// A labelled number as shown (`excess downloads`, `1,234 downloads`).
    public struct Number: Sendable, Hashable {
        public var label: String
        public var value: String
    }

    /// A table with its cells formatted (``ReportFormat/cell(_:column:)``), at most the
    /// renderer's row limit.
    public struct Table: Sendable, Hashable {
        public var title: String
        public var columns: [String]
        /// Per column: every value in it is a number (or empty), so it is right-aligned.
        public var numeric: [Bool]
        /// The rows shown, one formatted cell per column.
        public var rows: [[String]]
        /// Rows beyond the row limit (every one stays in `report.json`); 0 when all are shown.
        public var moreRows: Int
        /// The first of those rows, formatted, at most ``Table/maxRestRows``: a renderer that can
        /// fold content (HTML's `<details>`) lists them collapsed under the table.
        public var rest: [[String]]

        /// How many rows beyond the limit a table carries for folding; the rest are only in
        /// `report.json` (a report stays readable and small when a table lists a whole index).
        public static let maxRestRows = 2000

        init(_ t: EvidenceTable, maxRows: Int) {
            title = t.title
            columns = t.columns
            numeric = t.columns.indices.map { c in t.rows.allSatisfy { c >= $0.count || $0[c].doubleValue != nil || $0[c] == .null } }
            func format(_ row: [Value]) -> [String] {
                t.columns.indices.map { c in ReportFormat.cell(c < row.count ? row[c] : .null, column: t.columns[c]) }
            }
            rows = t.rows.prefix(maxRows).map(format)
            rest = t.rows.dropFirst(maxRows).prefix(Self.maxRestRows).map(format)
            moreRows = max(0, t.rows.count - maxRows)
        }

        /// The columns with a shown cell longer than `characters`.
        public func columns(longerThan characters: Int) -> Set<Int> {
            Set(columns.indices.filter { c in rows.contains { $0[c].count > characters } })
        }
    }

    /// A chart to draw with ``SVGChart`` (a series becomes a one-line chart).
    public struct Chart: Sendable, Hashable {
        public var chart: EvidenceChart
        /// 1-based, counting the step's charts (for file names).
        public var numberInStep: Int
        /// 1-based, counting the finding's charts (for ids within a page).
        public var numberInFinding: Int
    }

    /// One piece of evidence as shown, in the finding's order.
    public enum Item: Sendable, Hashable {
        /// Consecutive labelled numbers, shown together.
        case numbers([Number])
        case note(String)
        case table(Table)
        /// A table an earlier finding of the step already shows: its title.
        case tableShownAbove(String)
        case chart(Chart)
    }

    public struct FindingLayout: Sendable, Hashable {
        public var finding: Finding
        /// 1-based position in the step.
        public var number: Int
        /// `low`, `medium` or `high`.
        public var confidenceLevel: String
        /// The confidence score, formatted (`0.85`).
        public var confidenceScore: String
        public var items: [Item]
    }

    /// A row of the hypotheses table, formatted.
    public struct HypothesisRow: Sendable, Hashable {
        public var rank: String
        public var label: String
        /// The score to two decimals, or `–`.
        public var score: String
        /// The release time, or `–`.
        public var released: String
        /// `best supported` or `rejected`.
        public var verdict: String
        public var rejected: Bool
        public var evidenceFor: String
        public var whyNot: String
    }

    public var step: RunReport.StepReport
    /// 1-based position in the run.
    public var number: Int
    public var findings: [FindingLayout]
    /// The step's `hypotheses` output as table rows, unless its findings already show a table.
    public var hypotheses: [HypothesisRow]

    public init(_ step: RunReport.StepReport, number: Int, maxTableRows: Int) {
        self.step = step
        self.number = number
        var shownTables: [EvidenceTable] = []
        var chartsInStep = 0
        findings = step.findings.enumerated().map { fi, f in
            var items: [Item] = []
            var numbers: [Number] = []
            func flush() {
                guard !numbers.isEmpty else { return }
                items.append(.numbers(numbers))
                numbers = []
            }
            var chartsInFinding = 0
            func chart(_ c: EvidenceChart) {
                flush()
                chartsInStep += 1
                chartsInFinding += 1
                items.append(.chart(Chart(chart: c, numberInStep: chartsInStep, numberInFinding: chartsInFinding)))
            }
            for ev in f.evidence {
                switch ev {
                case .number(let label, let value, let unit):
                    numbers.append(Number(label: label, value: ReportFormat.measure(value, unit: unit)))
                case .note(let text):
                    flush()
                    items.append(.note(text))
                case .table(let t):
                    flush()
                    if shownTables.contains(t) {
                        items.append(.tableShownAbove(t.title))
                    } else {
                        shownTables.append(t)
                        items.append(.table(Table(t, maxRows: maxTableRows)))
                    }
                case .series(let s): chart(SVGChart.chart(from: s))
                case .chart(let c): chart(c)
                }
            }
            flush()
            return FindingLayout(
                finding: f, number: fi + 1, confidenceLevel: f.confidence.level,
                confidenceScore: ReportFormat.number(f.confidence.score, maxDecimals: 2), items: items)
        }
        let showsTable = step.findings.contains { $0.evidence.contains { if case .table = $0 { true } else { false } } }
        hypotheses = (showsTable ? [] : RankedHypothesis.all(in: step)).map { x in
            HypothesisRow(
                rank: String(x.rank), label: x.label, score: x.score.map { ReportFormat.number($0, maxDecimals: 2) } ?? "–",
                released: x.released.map(ReportFormat.time) ?? "–", verdict: x.rejected ? "rejected" : "best supported",
                rejected: x.rejected, evidenceFor: x.matched.joined(separator: "; "),
                whyNot: x.why ?? (x.rejected ? "scored lower" : ""))
        }
    }

    /// The layout of every step of a run, in playbook order.
    public static func steps(of run: RunReport, maxTableRows: Int) -> [StepLayout] {
        run.steps.enumerated().map { StepLayout($1, number: $0 + 1, maxTableRows: maxTableRows) }
    }
}
