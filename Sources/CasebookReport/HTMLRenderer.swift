import CasebookAnalysis
import CasebookCore
import Foundation

/// Renders a report as one self-contained HTML file: inline CSS and inline SVG charts, no
/// scripts, no fonts, images or styles from anywhere else (a Content-Security-Policy forbids
/// them too), readable offline, by e-mail and on paper.
///
/// Every string from the run goes through ``Escape/html(_:)``, in text and in attributes.
public struct HTMLRenderer: Sendable {
    /// Rows shown per table (the rest stays in `report.json`).
    public var maxTableRows: Int

    public init(maxTableRows: Int = 30) { self.maxTableRows = maxTableRows }

    public func render(_ document: ReportDocument) -> String {
        let run = document.run
        let meta = document.metadata
        let narrative = ReportNarrative(document)
        var h = ""
        func e(_ s: String) -> String { Escape.html(s) }
        h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<meta name=\"generator\" content=\"Casebook \(e(meta.casebookVersion))\">\n"
        h += "<title>\(e(narrative.title))</title>\n<style>\n\(Self.css)</style>\n</head>\n<body>\n<main>\n"

        // Header.
        h += "<header>\n<p class=\"kicker\">Casebook report · playbook <span class=\"name\">\(e(run.playbook.name))</span></p>\n"
        h += "<h1>\(e(narrative.title))</h1>\n"
        var facts: [String] = []
        if let store = meta.store, let first = store.firstEvent, let last = store.lastEvent {
            facts.append(
                "Data: \(e(ReportFormat.epoch(first))) to \(e(ReportFormat.epoch(last))), \(e(ReportFormat.grouped(store.downloads))) downloads from \(store.sources.count) source\(store.sources.count == 1 ? "" : "s")"
            )
        }
        if !meta.generatedAt.isEmpty { facts.append("generated \(e(ReportFormat.time(meta.generatedAt)))") }
        if !meta.casebookVersion.isEmpty { facts.append("Casebook \(e(meta.casebookVersion))") }
        if !facts.isEmpty { h += "<p class=\"meta\">\(facts.joined(separator: " · "))</p>\n" }
        if let incident = meta.incident {
            h += "<p class=\"incident\"><strong>\(incident.open ? "Still open" : "Closed")</strong> · \(e(incident.sentence))</p>\n"
        }
        h += "</header>\n"

        // Summary.
        h += "<section id=\"summary\" class=\"summary\">\n<h2>Summary</h2>\n"
        if narrative.points.isEmpty {
            h += "<p><strong>In short.</strong> No step reached a finding.</p>\n"
        } else {
            h += "<p><strong>In short.</strong> " + narrative.inShort.map { e($0) }.joined(separator: " ") + "</p>\n"
        }
        h += "<ul class=\"points\">\n"
        for p in narrative.points {
            h +=
                "<li><a href=\"#\(Self.anchor(p.stepID))\"><strong>\(e(p.stepName))</strong></a>: \(e(ReportNarrative.sentence(p.finding.summary.isEmpty ? p.finding.title : p.finding.summary))) "
            h += "<span class=\"conf \(p.finding.confidence.level)\">\(p.finding.confidence.level) confidence</span>"
            if !p.others.isEmpty {
                h += " <span class=\"also\">Also: \(e(p.others.map { ReportNarrative.sentence($0) }.joined(separator: " ")))</span>"
            }
            h += "</li>\n"
        }
        for name in narrative.silent { h += "<li><strong>\(e(name))</strong>: ran and found nothing to report.</li>\n" }
        for group in narrative.notRun {
            h +=
                "<li class=\"notrun\"><strong>\(e(ReportNarrative.list(group.stepNames)))</strong>: \(group.status == .failed ? "failed" : "not run"): \(e(group.reason))</li>\n"
        }
        for (step, hyps) in narrative.rejected {
            h += "<li><strong>\(e(step))</strong>: checked and rejected: \(e(ReportNarrative.listing(hyps.map(\.label), limit: 5))).</li>\n"
        }
        h += "</ul>\n</section>\n"

        // Contents.
        h += "<nav class=\"toc\"><h2>Steps</h2><ol>\n"
        for s in run.steps {
            h +=
                "<li><a href=\"#\(Self.anchor(s.id))\">\(e(ReportNarrative.name(of: s)))</a> <span class=\"status \(s.status.rawValue)\">\(s.status.rawValue)</span></li>\n"
        }
        h += "</ol></nav>\n"

        // Steps.
        for layout in StepLayout.steps(of: run, maxTableRows: maxTableRows) {
            let s = layout.step
            h += "<section class=\"step\" id=\"\(Self.anchor(s.id))\">\n"
            h +=
                "<h2><span class=\"num\">\(layout.number).</span> \(e(ReportNarrative.name(of: s))) <span class=\"status \(s.status.rawValue)\">\(s.status.rawValue)</span></h2>\n"
            h +=
                "<p class=\"asked\"><strong>Asked:</strong> \(e(meta.analyzers[s.uses].map(ReportNarrative.sentence) ?? "(no summary recorded)")) <span class=\"uses\">step <code>\(e(s.id))</code> uses <code>\(e(s.uses))</code></span></p>\n"
            if s.status != .succeeded {
                h +=
                    "<p class=\"reason\"><strong>\(s.status == .failed ? "Failed" : "Skipped"):</strong> \(e(s.reason ?? "no reason given"))</p>\n"
            } else if s.findings.isEmpty {
                h += "<p>No finding.</p>\n"
            }
            for finding in layout.findings {
                h += renderFinding(finding, idPrefix: "s\(layout.number)f\(finding.number)")
            }
            // The hypotheses output as a table, unless the step's findings already show one.
            if !layout.hypotheses.isEmpty { h += renderHypotheses(layout.hypotheses) }
            h += "</section>\n"
        }

        h += renderReproduce(document)
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    /// An id attribute value for a step (letters, digits and `-` only).
    static func anchor(_ id: String) -> String { "step-" + Escape.fileStem(id, fallback: "x") }

    func renderFinding(_ layout: StepLayout.FindingLayout, idPrefix: String) -> String {
        func e(_ s: String) -> String { Escape.html(s) }
        let f = layout.finding
        var h = "<article class=\"finding\">\n"
        h +=
            "<h3>\(e(f.title)) <span class=\"conf \(layout.confidenceLevel)\">\(layout.confidenceLevel) confidence (\(e(layout.confidenceScore)))</span></h3>\n"
        if !f.summary.isEmpty { h += "<p>\(e(f.summary))</p>\n" }
        for item in layout.items {
            switch item {
            case .numbers(let numbers):
                h +=
                    "<dl class=\"numbers\">\n"
                    + numbers.map { "<div><dt>\(e($0.label))</dt><dd>\(e($0.value))</dd></div>" }.joined(separator: "\n") + "\n</dl>\n"
            case .note(let text):
                h += "<p class=\"note\">\(e(text))</p>\n"
            case .tableShownAbove(let title):
                h += "<p class=\"note\">The table “\(e(title))” is shown above.</p>\n"
            case .table(let t):
                h += renderTable(t)
            case .chart(let c):
                h += "<figure>\(SVGChart(idPrefix: "\(idPrefix)c\(c.numberInFinding)").render(c.chart, standalone: false))</figure>\n"
            }
        }
        if !f.openQuestions.isEmpty {
            h +=
                "<div class=\"open\"><h4>Still open</h4><ul>\n" + f.openQuestions.map { "<li>\(e($0))</li>" }.joined(separator: "\n")
                + "\n</ul></div>\n"
        }
        h += "</article>\n"
        return h
    }

    func renderTable(_ t: StepLayout.Table) -> String {
        func e(_ s: String) -> String { Escape.html(s) }
        let long = t.columns(longerThan: 60)
        if !long.isEmpty {
            // Rows with long text read better as records: short columns on one line, long ones below.
            var h = "<div class=\"records\">\n"
            if !t.title.isEmpty { h += "<p class=\"caption\">\(e(t.title))</p>\n" }
            func records(_ rows: [[String]]) -> String {
                rows.map { row in
                    let head = t.columns.indices.filter { !long.contains($0) && row[$0] != "–" && !row[$0].isEmpty }
                        .map { "<span class=\"k\">\(e(t.columns[$0]))</span> \(e(row[$0]))" }
                    var r = "<div class=\"record\"><p class=\"head\">\(head.joined(separator: " · "))</p>"
                    for c in t.columns.indices where long.contains(c) && row[c] != "–" && !row[c].isEmpty {
                        r += "<p><span class=\"k\">\(e(t.columns[c]))</span> \(e(row[c]))</p>"
                    }
                    return r + "</div>\n"
                }.joined()
            }
            h += records(t.rows)
            if !t.rest.isEmpty { h += "<details class=\"more\"><summary>\(restSummary(t))</summary>\n\(records(t.rest))</details>\n" }
            h += restNote(t)
            return h + "</div>\n"
        }
        var h = "<div class=\"table\"><table>\n"
        if !t.title.isEmpty { h += "<caption>\(e(t.title))</caption>\n" }
        h +=
            "<thead><tr>" + t.columns.enumerated().map { "<th\(t.numeric[$0.offset] ? " class=\"n\"" : "")>\(e($0.element))</th>" }.joined()
            + "</tr></thead>\n<tbody>\n"
        func body(_ rows: [[String]]) -> String {
            rows.map { row in
                "<tr>"
                    + row.enumerated().map { c, cell in
                        "<td\(t.numeric[c] ? " class=\"n\"" : "")>\(e(cell))</td>"
                    }.joined() + "</tr>\n"
            }.joined()
        }
        h += body(t.rows) + "</tbody></table>"
        if !t.rest.isEmpty {
            // The rest of the rows, folded: the reader opens them in the page, no report.json needed.
            h +=
                "<details class=\"more\"><summary>\(restSummary(t))</summary>\n<table>\n<thead><tr>"
                + t.columns.enumerated().map { "<th\(t.numeric[$0.offset] ? " class=\"n\"" : "")>\(e($0.element))</th>" }.joined()
                + "</tr></thead>\n<tbody>\n\(body(t.rest))</tbody></table></details>\n"
        }
        h += restNote(t)
        h += "</div>\n"
        return h
    }

    /// The summary line of a table's folded rows.
    func restSummary(_ t: StepLayout.Table) -> String {
        let n = ReportFormat.number(Double(t.rest.count), maxDecimals: 0)
        return "Show \(n) more row\(t.rest.count == 1 ? "" : "s")"
    }

    /// A note for rows neither shown nor folded (beyond ``StepLayout/Table/maxRestRows``).
    func restNote(_ t: StepLayout.Table) -> String {
        let unlisted = t.moreRows - t.rest.count
        guard unlisted > 0 else { return "" }
        return "<p class=\"more\">\(ReportFormat.number(Double(unlisted), maxDecimals: 0)) more rows in report.json.</p>"
    }

    func renderHypotheses(_ rows: [StepLayout.HypothesisRow]) -> String {
        func e(_ s: String) -> String { Escape.html(s) }
        var h = "<div class=\"table hypotheses\"><table>\n<caption>Hypotheses checked, best first</caption>\n"
        h +=
            "<thead><tr><th class=\"n\">rank</th><th>hypothesis</th><th class=\"n\">score</th><th>released</th><th>verdict</th><th>evidence for</th><th>why not / missing</th></tr></thead>\n<tbody>\n"
        for x in rows {
            h += "<tr class=\"\(x.rejected ? "rejected" : "kept")\"><td class=\"n\">\(x.rank)</td><td>\(e(x.label))</td>"
            h += "<td class=\"n\">\(e(x.score))</td>"
            h += "<td>\(e(x.released))</td><td>\(x.verdict)</td>"
            h += "<td>\(e(x.evidenceFor))</td><td>\(e(x.whyNot))</td></tr>\n"
        }
        h += "</tbody></table></div>\n"
        return h
    }

    func renderReproduce(_ d: ReportDocument) -> String {
        func e(_ s: String) -> String { Escape.html(s) }
        let meta = d.metadata
        let pb = d.run.playbook
        var h = "<section id=\"reproduce\" class=\"repro\">\n<h2>Reproduce</h2>\n"
        if !meta.command.isEmpty { h += "<p>Re-run the investigation with:</p>\n<pre><code>\(e(meta.command))</code></pre>\n" }
        h += "<table class=\"kv\"><tbody>\n"
        h +=
            "<tr><th>Playbook</th><td>\(e(pb.name)) (<code>\(e(pb.file))</code>)\(meta.playbookSHA256.map { ", SHA-256 <code>\(e($0))</code>" } ?? "")</td></tr>\n"
        if !pb.description.isEmpty { h += "<tr><th>Description</th><td>\(e(pb.description))</td></tr>\n" }
        let params = pb.params.keys.sorted().map { "<code>\(e($0))</code> = <code>\(e(pb.params[$0]!.interpolated))</code>" }
        h += "<tr><th>Parameters</th><td>\(params.isEmpty ? "none" : params.joined(separator: ", "))</td></tr>\n"
        h += "<tr><th>Casebook</th><td>\(e(meta.casebookVersion.isEmpty ? "unknown" : meta.casebookVersion))</td></tr>\n"
        if !meta.generatedAt.isEmpty { h += "<tr><th>Generated</th><td>\(e(meta.generatedAt))</td></tr>\n" }
        if let s = meta.store {
            h +=
                "<tr><th>Store</th><td><code>\(e(s.location))</code>, schema \(s.schemaVersion): \(e(ReportFormat.grouped(s.downloads))) downloads in \(e(ReportFormat.grouped(s.eventRows))) rows, \(e(ReportFormat.epoch(s.firstEvent))) to \(e(ReportFormat.epoch(s.lastEvent)))</td></tr>\n"
            if !s.quarantined.isEmpty {
                h +=
                    "<tr><th>Quarantined lines</th><td>\(e(s.quarantined.keys.sorted().map { "\($0): \(ReportFormat.grouped(s.quarantined[$0]!))" }.joined(separator: ", ")))</td></tr>\n"
            }
        }
        h += "</tbody></table>\n"
        if let s = meta.store, !s.sources.isEmpty {
            h +=
                "<div class=\"table\"><table>\n<caption>Sources in the store</caption>\n<thead><tr><th>source</th><th>format</th><th>index</th><th>fingerprint (SHA-256 of the first line)</th><th class=\"n\">lines</th><th class=\"n\">downloads</th><th>first event</th><th>last event</th></tr></thead>\n<tbody>\n"
            for src in s.sources.prefix(200) {
                h +=
                    "<tr><td>\(e(src.name))</td><td>\(e(src.format))</td><td>\(e(src.index ?? "–"))</td><td><code class=\"fp\">\(e(src.fingerprint))</code></td>"
                h +=
                    "<td class=\"n\">\(e(ReportFormat.grouped(src.lines)))</td><td class=\"n\">\(e(ReportFormat.grouped(src.downloads)))</td>"
                h += "<td>\(e(ReportFormat.epoch(src.firstEvent)))</td><td>\(e(ReportFormat.epoch(src.lastEvent)))</td></tr>\n"
            }
            h += "</tbody></table>"
            if s.sources.count > 200 { h += "<p class=\"more\">\(s.sources.count - 200) more sources in report.json.</p>" }
            h += "</div>\n"
        }
        if let text = meta.playbookText {
            h += "<details><summary>The playbook as run</summary>\n<pre><code>\(e(text))</code></pre>\n</details>\n"
        }
        h += "</section>\n"
        return h
    }

    static let css = """
        :root { color-scheme: light; --ink: #1d1d1f; --muted: #5b5b60; --rule: #d9d9de; --accent: #0072B2; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #f6f6f4; color: var(--ink); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
        main { max-width: 860px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
        header { border-bottom: 3px solid var(--ink); padding-bottom: 12px; margin-bottom: 18px; }
        .kicker { margin: 0; color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .06em; }
        h1 { font-size: 27px; line-height: 1.25; margin: 6px 0 8px; }
        h2 { font-size: 20px; margin: 30px 0 8px; padding-top: 8px; border-top: 1px solid var(--rule); }
        h3 { font-size: 16.5px; margin: 20px 0 6px; }
        h4 { font-size: 14px; margin: 10px 0 4px; }
        .meta { color: var(--muted); margin: 0; font-size: 13.5px; }
        .summary { background: #f1f6fa; border-left: 4px solid var(--accent); padding: 4px 18px 10px; margin: 16px 0; }
        .summary h2 { border: 0; margin-top: 10px; }
        .summary li { margin: 6px 0; }
        .also { color: var(--muted); }
        .notrun { color: var(--muted); }
        a { color: var(--accent); }
        .toc ol { margin: 4px 0; padding-left: 22px; }
        .toc h2 { font-size: 15px; border: 0; margin: 12px 0 2px; }
        .status { font-size: 12px; font-weight: 600; padding: 1px 7px; border-radius: 10px; vertical-align: middle; border: 1px solid; }
        .status.succeeded { color: #006b4f; border-color: #009E73; }
        .status.skipped { color: #6b5800; border-color: #b59b00; border-style: dashed; }
        .status.failed { color: #a33f00; border-color: #D55E00; border-width: 2px; }
        .num { color: var(--muted); }
        .asked { color: var(--muted); }
        .asked .uses { font-size: 12.5px; }
        .reason { background: #fff7ec; border-left: 3px solid #E69F00; padding: 6px 10px; }
        .conf { font-size: 12px; font-weight: 600; padding: 1px 7px; border-radius: 10px; white-space: nowrap; }
        .conf.high { background: #dff2ea; color: #005a42; }
        .conf.medium { background: #fdf1d6; color: #6b4a00; }
        .conf.low { background: #f6e1e1; color: #7a2121; }
        .finding { margin: 12px 0 22px; }
        dl.numbers { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
        dl.numbers div { border: 1px solid var(--rule); border-radius: 6px; padding: 5px 10px; min-width: 130px; }
        dl.numbers dt { font-size: 12px; color: var(--muted); }
        dl.numbers dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
        figure { margin: 12px 0; }
        figure svg { max-width: 100%; height: auto; display: block; }
        .table { overflow-x: auto; margin: 10px 0; }
        table { border-collapse: collapse; font-size: 13.5px; }
        caption { text-align: left; font-weight: 600; padding: 4px 0; }
        th, td { border-bottom: 1px solid var(--rule); padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
        th { font-size: 12.5px; color: var(--muted); }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
        tr.rejected td { color: var(--muted); }
        .note { font-style: italic; }
        .records { margin: 10px 0; font-size: 13.5px; }
        .records .caption { font-weight: 600; margin: 4px 0; }
        .record { border-top: 1px solid var(--rule); padding: 4px 0 6px; break-inside: avoid; }
        .record p { margin: 2px 0; }
        .record .head { font-weight: 600; }
        .record .k { color: var(--muted); font-size: 12px; font-weight: normal; }
        .open { border-left: 3px dashed #CC79A7; padding: 2px 12px; margin: 10px 0; }
        .more { color: var(--muted); font-size: 12.5px; }
        details.more summary { cursor: pointer; margin: 6px 0; }
        details.more table { margin-top: 6px; }
        code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12.5px; background: #f2f2f2; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
        pre { background: #f2f2f2; padding: 10px; overflow-x: auto; white-space: pre-wrap; }
        pre code { padding: 0; }
        table.kv th { width: 150px; }
        code.fp { font-size: 11px; }
        @media print {
          body { background: #fff; font-size: 10.5pt; }
          main { max-width: none; padding: 0; }
          .toc { display: none; }
          a { color: inherit; text-decoration: none; }
          figure, table, .finding h3, dl.numbers { break-inside: avoid; }
          h2, h3 { break-after: avoid; }
          .summary { background: none; border: 1px solid #999; }
          .conf, .status { border: 1px solid #777; background: none; color: #000; }
          details > pre { display: block; }
        }

        """
}
