import CasebookAnalysis
import CasebookCore
import Foundation

/// Renders a report as GitHub-flavoured Markdown, for a repository or a gist: tables, and charts
/// as SVG files written beside it and referenced relatively (GitHub strips inline SVG).
///
/// Every string from the run goes through ``Escape/markdown(_:)`` (or into a code span with
/// ``Escape/markdownCode(_:)``), so data cannot add links, images, HTML or table cells.
public struct MarkdownRenderer: Sendable {
    /// The rendered report: the Markdown text and the chart files it references.
    public struct Output: Sendable, Hashable {
        public var markdown: String
        /// Relative path (`report-charts/1-spike-1.svg`) → SVG document.
        public var files: [(path: String, contents: String)]

        public static func == (a: Output, b: Output) -> Bool {
            a.markdown == b.markdown && a.files.map(\.path) == b.files.map(\.path) && a.files.map(\.contents) == b.files.map(\.contents)
        }
        public func hash(into h: inout Hasher) { h.combine(markdown) }
    }

    /// The folder (relative to the Markdown file) the chart files go in.
    public var chartFolder: String
    /// Rows shown per table (the rest stays in `report.json`).
    public var maxTableRows: Int

    public init(chartFolder: String = "report-charts", maxTableRows: Int = 30) {
        self.chartFolder = chartFolder
        self.maxTableRows = maxTableRows
    }

    public func render(_ document: ReportDocument) -> Output {
        let run = document.run
        let meta = document.metadata
        let narrative = ReportNarrative(document)
        var files: [(String, String)] = []
        var md = ""
        func m(_ s: String) -> String { Escape.markdown(s) }

        md += "# \(m(narrative.title))\n\n"
        var facts = ["Casebook report of the playbook \(m(run.playbook.name)) (\(Escape.markdownCode(run.playbook.file)))"]
        if let store = meta.store, let first = store.firstEvent, let last = store.lastEvent {
            facts.append(
                "data \(m(ReportFormat.epoch(first))) to \(m(ReportFormat.epoch(last))), \(ReportFormat.grouped(store.downloads)) downloads"
            )
        }
        if !meta.generatedAt.isEmpty { facts.append("generated \(m(ReportFormat.time(meta.generatedAt)))") }
        if !meta.casebookVersion.isEmpty { facts.append("Casebook \(m(meta.casebookVersion))") }
        md += "_" + facts.joined(separator: " · ") + "_\n\n"
        if let incident = meta.incident { md += "> **\(incident.open ? "Still open" : "Closed")** · \(m(incident.sentence))\n\n" }

        md += "## Summary\n\n"
        if narrative.points.isEmpty {
            md += "**In short.** No step reached a finding.\n\n"
        } else {
            md += "**In short.** " + narrative.inShort.map { m($0) }.joined(separator: " ") + "\n\n"
        }
        for p in narrative.points {
            var line =
                "- **\(m(p.stepName))**: \(m(ReportNarrative.sentence(p.finding.summary.isEmpty ? p.finding.title : p.finding.summary))) _(\(p.finding.confidence.level) confidence)_"
            if !p.others.isEmpty { line += " Also: \(m(p.others.map { ReportNarrative.sentence($0) }.joined(separator: " ")))" }
            md += line + "\n"
        }
        for name in narrative.silent { md += "- **\(m(name))**: ran and found nothing to report.\n" }
        for g in narrative.notRun {
            md += "- **\(m(ReportNarrative.list(g.stepNames)))**: \(g.status == .failed ? "failed" : "not run"): \(m(g.reason))\n"
        }
        for (step, hyps) in narrative.rejected {
            md += "- **\(m(step))**: checked and rejected: \(m(ReportNarrative.listing(hyps.map(\.label), limit: 5))).\n"
        }
        md += "\n"

        for layout in StepLayout.steps(of: run, maxTableRows: maxTableRows) {
            let s = layout.step
            md += "## \(layout.number). \(m(ReportNarrative.name(of: s))) (\(s.status.rawValue))\n\n"
            md +=
                "**Asked:** \(m(meta.analyzers[s.uses].map(ReportNarrative.sentence) ?? "(no summary recorded)")) Step \(Escape.markdownCode(s.id)) uses \(Escape.markdownCode(s.uses)).\n\n"
            if s.status != .succeeded {
                md += "> **\(s.status == .failed ? "Failed" : "Skipped"):** \(m(s.reason ?? "no reason given"))\n\n"
            } else if s.findings.isEmpty {
                md += "No finding.\n\n"
            }
            let stem = "\(layout.number)-" + Escape.fileStem(s.id, fallback: "step")
            for fl in layout.findings {
                let f = fl.finding
                md += "### \(m(f.title))\n\n"
                if !f.summary.isEmpty { md += m(f.summary) + "\n\n" }
                md += "_Confidence: \(fl.confidenceLevel) (\(fl.confidenceScore))._\n\n"
                for item in fl.items {
                    switch item {
                    case .numbers(let numbers):
                        md += numbers.map { "- \(m($0.label)): **\(m($0.value))**" }.joined(separator: "\n") + "\n\n"
                    case .note(let text):
                        md += "_Note: \(m(text))_\n\n"
                    case .tableShownAbove(let title):
                        md += "_The table “\(m(title))” is shown above._\n\n"
                    case .table(let t):
                        md += table(t)
                    case .chart(let c):
                        let name = "\(stem)-\(c.numberInStep)"
                        let path = "\(chartFolder)/\(name).svg"
                        files.append((path, SVGChart(idPrefix: name).render(c.chart, standalone: true)))
                        md += "![\(m(c.chart.title))](\(path))\n\n"
                    }
                }
                if !f.openQuestions.isEmpty {
                    md += "**Still open:**\n\n" + f.openQuestions.map { "- \(m($0))" }.joined(separator: "\n") + "\n\n"
                }
            }
            // The hypotheses output as a table, unless the step's findings already show one.
            if !layout.hypotheses.isEmpty {
                md += "**Hypotheses checked, best first:**\n\n"
                md +=
                    "| rank | hypothesis | score | released | verdict | evidence for | why not / missing |\n|---:|---|---:|---|---|---|---|\n"
                for x in layout.hypotheses {
                    let cells = [x.rank, m(x.label), x.score, m(x.released), x.verdict, m(x.evidenceFor), m(x.whyNot)]
                    md += "| " + cells.joined(separator: " | ") + " |\n"
                }
                md += "\n"
            }
        }

        md += reproduce(document)
        return Output(markdown: md, files: files)
    }

    func table(_ t: StepLayout.Table) -> String {
        func m(_ s: String) -> String { Escape.markdown(s) }
        guard !t.columns.isEmpty else { return "" }
        var md = t.title.isEmpty ? "" : "**\(m(t.title))**\n\n"
        md += "| " + t.columns.map { m($0).isEmpty ? " " : m($0) }.joined(separator: " | ") + " |\n"
        md += "|" + t.numeric.map { $0 ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for row in t.rows {
            md += "| " + row.map { m($0) }.joined(separator: " | ") + " |\n"
        }
        if t.moreRows > 0 { md += "\n_\(t.moreRows) more rows in report.json._\n" }
        return md + "\n"
    }

    func reproduce(_ d: ReportDocument) -> String {
        func m(_ s: String) -> String { Escape.markdown(s) }
        let meta = d.metadata
        let pb = d.run.playbook
        var md = "## Reproduce\n\n"
        if !meta.command.isEmpty {
            let fence = String(repeating: "`", count: max(3, Self.longestRun(of: "`", in: meta.command) + 1))
            md += "Re-run the investigation with:\n\n\(fence)sh\n\(meta.command.replacingOccurrences(of: "\n", with: " "))\n\(fence)\n\n"
        }
        md += "| | |\n|---|---|\n"
        md += "| Playbook | \(m(pb.name)) (\(m(pb.file)))\(meta.playbookSHA256.map { ", SHA-256 \(m($0))" } ?? "") |\n"
        if !pb.description.isEmpty { md += "| Description | \(m(pb.description)) |\n" }
        let params = pb.params.keys.sorted().map { "\(m($0)) = \(m(pb.params[$0]!.interpolated))" }
        md += "| Parameters | \(params.isEmpty ? "none" : params.joined(separator: ", ")) |\n"
        md += "| Casebook | \(m(meta.casebookVersion.isEmpty ? "unknown" : meta.casebookVersion)) |\n"
        if !meta.generatedAt.isEmpty { md += "| Generated | \(m(meta.generatedAt)) |\n" }
        if let s = meta.store {
            md +=
                "| Store | \(m(s.location)), schema \(s.schemaVersion): \(ReportFormat.grouped(s.downloads)) downloads in \(ReportFormat.grouped(s.eventRows)) rows, \(m(ReportFormat.epoch(s.firstEvent))) to \(m(ReportFormat.epoch(s.lastEvent))) |\n"
        }
        md += "\n"
        if let s = meta.store, !s.sources.isEmpty {
            md +=
                "**Sources in the store**\n\n| source | format | index | fingerprint (SHA-256 of the first line) | lines | downloads | first event | last event |\n|---|---|---|---|---:|---:|---|---|\n"
            for src in s.sources.prefix(200) {
                md +=
                    "| \(m(src.name)) | \(m(src.format)) | \(m(src.index ?? "–")) | \(m(src.fingerprint)) | \(ReportFormat.grouped(src.lines)) | \(ReportFormat.grouped(src.downloads)) | \(m(ReportFormat.epoch(src.firstEvent))) | \(m(ReportFormat.epoch(src.lastEvent))) |\n"
            }
            if s.sources.count > 200 { md += "\n_\(s.sources.count - 200) more sources in report.json._\n" }
            md += "\n"
        }
        if let text = meta.playbookText {
            let fence = String(repeating: "`", count: max(3, Self.longestRun(of: "`", in: text) + 1))
            md +=
                "<details><summary>The playbook as run</summary>\n\n\(fence)yaml\n\(text.hasSuffix("\n") ? text : text + "\n")\(fence)\n\n</details>\n"
        }
        return md
    }

    static func longestRun(of c: Character, in s: String) -> Int {
        var longest = 0
        var run = 0
        for x in s {
            if x == c {
                run += 1
                longest = max(longest, run)
            } else {
                run = 0
            }
        }
        return longest
    }
}
