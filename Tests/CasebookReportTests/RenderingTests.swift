import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import Foundation
import Testing

@testable import CasebookReport

@Suite struct EscapeTests {
    @Test func htmlEscapesTheFiveCharactersAndControls() {
        #expect(Escape.html("<a href=\"x\" title='y'>&</a>") == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
        #expect(Escape.html("a\u{0}b\u{1B}c\td\ne") == "a\u{FFFD}b\u{FFFD}c\td\ne")
        #expect(Escape.html("flask-login 0.4.1 ü") == "flask-login 0.4.1 ü")
    }

    @Test func markdownNeutralisesMarkup() {
        #expect(Escape.markdown("[x](http://e.example)") == "\\[x\\](http\\://e.example)")
        #expect(Escape.markdown("a|b") == "a\\|b")
        #expect(Escape.markdown("<script>") == "\\<script\\>")
        #expect(Escape.markdown("*a* _b_ `c`") == "\\*a\\* \\_b\\_ \\`c\\`")
        #expect(Escape.markdown("# h") == "\\# h")
        #expect(Escape.markdown("- item") == "\\- item")
        #expect(Escape.markdown("12. x") == "12\\. x")
        #expect(Escape.markdown("two\nlines") == "two lines")
        #expect(Escape.markdown("www.evil.example") == "www\\.evil.example")
        #expect(Escape.markdown("some-package 1.4.0") == "some-package 1.4.0")
        #expect(Escape.markdown("-3,596") == "-3,596")
        #expect(Escape.markdown("37.8%") == "37.8%")
        #expect(Escape.markdown("---") == "\\---")
    }

    @Test func markdownCodeSpansOutgrowTheirContent() {
        #expect(Escape.markdownCode("a ` b") == "``a ` b``")
        #expect(Escape.markdownCode("`x`") == "`` `x` ``")
    }

    @Test func fileStemsAreSafe() {
        #expect(Escape.fileStem("../../etc/passwd", fallback: "x") == "etc-passwd")
        #expect(Escape.fileStem("<>", fallback: "x") == "x")
        #expect(Escape.fileStem("spike", fallback: "x") == "spike")
    }
}

@Suite struct HTMLTests {
    @Test func sampleReportIsWellFormedAndSelfContained() throws {
        let html = HTMLRenderer().render(try Fixtures.sampleDocument())
        let check = try MarkupCheck.run("html", text: html)
        #expect(check.ok, "\(check.errors)")
        #expect(check.tags["svg", default: 0] >= 6)
        #expect(check.tags["script"] == nil)
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(html.contains("Content-Security-Policy"))
        // The window is shaded and labelled; dates on the time axis; units on the value axis.
        #expect(html.contains("spike: 2020-03-04 – 2020-03-06"))
        #expect(html.contains(">Mar 4<") || html.contains(">Mar 2<"))
        #expect(html.contains("downloads per day"))
    }

    @Test func hostileStringsRenderAsText() throws {
        let doc = try Fixtures.hostileDocument()
        let html = HTMLRenderer().render(doc)
        let check = try MarkupCheck.run("html", text: html)
        #expect(check.ok, "\(check.errors)")
        for tag in ["script", "img", "iframe", "a"] where tag != "a" { #expect(check.tags[tag] == nil, "<\(tag)> injected") }
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;"))
        #expect(check.title.hasPrefix("Playbook <script>"), "the title shows the hostile text as text: \(check.title)")
        // Every link is an in-page anchor.
        #expect(!html.contains("href=\"http"))
    }

    @Test func chartsAreWellFormedSVG() throws {
        let doc = try Fixtures.hostileDocument()
        let out = MarkdownRenderer().render(doc)
        #expect(out.files.count == 7)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, file) in out.files.enumerated() {
            let url = dir.appendingPathComponent("c\(i).svg")
            try Data(file.contents.utf8).write(to: url)
            let check = try MarkupCheck.run("svg", file: url)
            #expect(check.ok, "\(file.path): \(check.errors)")
            #expect(check.title.contains("<script>"), "titles keep the text: \(check.title)")
        }
    }

    @Test func redactsRawClientKeys() throws {
        var doc = try Fixtures.sampleDocument()
        var run = doc.run
        run.steps[0].findings[0].summary += " Seen from c-0123456789abcdef and c-0123456789abcdef, then c-fedcba9876543210."
        run.steps[0].outputs["top"] = .string("c-0123456789abcdef")
        doc = ReportDocument(run: run, metadata: doc.metadata)
        let html = HTMLRenderer().render(doc)
        let md = MarkdownRenderer().render(doc).markdown
        let json = String(decoding: try doc.jsonData(), as: UTF8.self)
        for text in [html, md, json] {
            #expect(!text.contains("c-0123456789abcdef"))
            #expect(!text.contains("c-fedcba9876543210"))
        }
        #expect(doc.run.steps[0].findings[0].summary.hasSuffix("Seen from client#1 and client#1, then client#2."))
    }
}

@Suite struct MarkdownTests {
    /// Markdown outside code blocks and code spans.
    static func prose(_ md: String) -> [String] {
        var lines: [String] = []
        var fence: String?
        for line in md.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let f = fence {
                if line.hasPrefix(f) && line.allSatisfy({ $0 == "`" }) { fence = nil }
                continue
            }
            if line.hasPrefix("```") {
                fence = String(line.prefix { $0 == "`" })
                continue
            }
            lines.append(line)
        }
        return lines
    }

    /// The line without its code spans (their content is literal text in Markdown).
    static func withoutCodeSpans(_ line: String) -> String {
        let chars = Array(line)
        var out = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "\\", i + 1 < chars.count {
                out.append(chars[i])
                out.append(chars[i + 1])
                i += 2
                continue
            }
            if chars[i] == "`" {
                var n = 0
                while i + n < chars.count, chars[i + n] == "`" { n += 1 }
                // Find the closing run of exactly n backticks.
                var j = i + n
                var close: Int?
                while j < chars.count {
                    if chars[j] == "`" {
                        var m = 0
                        while j + m < chars.count, chars[j + m] == "`" { m += 1 }
                        if m == n {
                            close = j
                            break
                        }
                        j += m
                    } else {
                        j += 1
                    }
                }
                if let close {
                    out += "CODE"
                    i = close + n
                    continue
                }
                out += String(repeating: "`", count: n)
                i += n
                continue
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    /// Characters in `line` at positions not preceded by an escaping backslash.
    static func unescaped(_ line: String, _ c: Character) -> Int {
        var n = 0
        var escaped = false
        for x in line {
            if escaped {
                escaped = false
                continue
            }
            if x == "\\" {
                escaped = true
                continue
            }
            if x == c { n += 1 }
        }
        return n
    }

    @Test func hostileStringsCannotAddMarkup() throws {
        let md = MarkdownRenderer().render(try Fixtures.hostileDocument()).markdown
        let image = try Regex(#"^!\[(?:[^\]\[\\]|\\.)*\]\(report-charts/[a-z0-9-]+\.svg\)$"#)
        for line in Self.prose(md).map(Self.withoutCodeSpans) {
            // Our own HTML: <details> around the playbook.
            if ["<details><summary>The playbook as run</summary>", "</details>"].contains(line) { continue }
            if line.wholeMatch(of: image) != nil { continue }
            #expect(Self.unescaped(line, "<") == 0, "raw < in: \(line)")
            #expect(Self.unescaped(line, "[") == 0, "raw [ in: \(line)")
            #expect(Self.unescaped(line, "]") == 0, "raw ] in: \(line)")
            #expect(!line.contains("http://") && !line.contains("https://"), "autolinkable URL in: \(line)")
            #expect(!line.hasPrefix("#") || line.hasPrefix("# ") || line.hasPrefix("## ") || line.hasPrefix("### "))
        }
    }

    @Test func tableCellsStayInTheirColumns() throws {
        let md = MarkdownRenderer().render(try Fixtures.hostileDocument()).markdown
        var expected: Int?
        var tables = 0
        for line in Self.prose(md) {
            guard line.hasPrefix("|") else {
                expected = nil
                continue
            }
            let pipes = Self.unescaped(line, "|")
            if let e = expected {
                #expect(pipes == e, "row has \(pipes) cell separators, header \(e): \(line)")
            } else {
                expected = pipes
                tables += 1
            }
        }
        #expect(tables >= 3)
    }

    @Test func longTablesFoldTheirRestInTheHTMLPage() throws {
        // 40 rows with a 30-row limit: 30 in the table, the other 10 folded under it (escaped), none
        // left to report.json; the Markdown keeps the 30 and says where the rest are.
        let rows: [[Value]] = (1...40).map { [.string("p\($0) <b>"), .int(Int64(1000 - $0))] }
        let table = StepLayout.Table(EvidenceTable(title: "projects", columns: ["project", "downloads"], rows: rows), maxRows: 30)
        #expect(table.rows.count == 30 && table.rest.count == 10 && table.moreRows == 10)
        let html = HTMLRenderer().renderTable(table)
        #expect(html.contains("<details class=\"more\"><summary>Show 10 more rows</summary>"))
        #expect(html.contains("<td>p40 &lt;b&gt;</td>") && !html.contains("<b>"))
        #expect(!html.contains("report.json"))
        let folded = try #require(html.range(of: "<details"))
        #expect(html[..<folded.lowerBound].contains("p30 &lt;b&gt;") && !html[..<folded.lowerBound].contains("p31 &lt;b&gt;"))
        // Beyond the folding limit the rest is counted, not listed.
        let huge = (1...(5 + StepLayout.Table.maxRestRows)).map { [Value.string("p\($0)")] }
        let big = StepLayout.Table(EvidenceTable(title: "", columns: ["project"], rows: huge), maxRows: 2)
        #expect(big.rest.count == StepLayout.Table.maxRestRows)
        #expect(HTMLRenderer().renderTable(big).contains("<p class=\"more\">3 more rows in report.json.</p>"))
    }

    @Test func sampleRendersChartsAsFilesBesideTheReport() throws {
        let out = MarkdownRenderer().render(try Fixtures.sampleDocument())
        #expect(out.files.count == 7)
        for file in out.files {
            #expect(file.path.hasPrefix("report-charts/") && file.path.hasSuffix(".svg"))
            #expect(out.markdown.contains("](\(file.path))"))
            #expect(file.contents.hasPrefix("<?xml"))
            #expect(file.contents.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        }
        #expect(out.markdown.contains("| flask-login | 22,882 | 106 | 22,776 | 37.8% |"))
    }
}

@Suite struct RoundTripTests {
    @Test func jsonRoundTripsToIdenticalReports() throws {
        for doc in [try Fixtures.sampleDocument(), try Fixtures.hostileDocument()] {
            let a = try temporaryDirectory()
            let b = try temporaryDirectory()
            defer {
                try? FileManager.default.removeItem(at: a)
                try? FileManager.default.removeItem(at: b)
            }
            try ReportWriter().write(doc, to: a)
            // What `casebook report DIR/report.json --out B` does.
            let loaded = try ReportDocument.load(json: Data(contentsOf: a.appendingPathComponent("report.json")))
            #expect(loaded == doc)
            try ReportWriter(formats: [.md, .html]).write(loaded, to: b)
            for name in ["report.md", "report.html"] {
                let x = try String(contentsOf: a.appendingPathComponent(name), encoding: .utf8)
                let y = try String(contentsOf: b.appendingPathComponent(name), encoding: .utf8)
                #expect(x == y, "\(name) differs after the round trip")
            }
            let charts = try FileManager.default.contentsOfDirectory(atPath: a.appendingPathComponent("report-charts").path).sorted()
            #expect(!charts.isEmpty)
            #expect(
                charts == (try FileManager.default.contentsOfDirectory(atPath: b.appendingPathComponent("report-charts").path).sorted()))
            for c in charts {
                #expect(
                    try Data(contentsOf: a.appendingPathComponent("report-charts/\(c)"))
                        == Data(contentsOf: b.appendingPathComponent("report-charts/\(c)")))
            }
        }
    }

    @Test func reportJSONIsStillARunReport() throws {
        let doc = try Fixtures.sampleDocument()
        let data = try doc.jsonData()
        let run = try JSONDecoder().decode(RunReport.self, from: data)
        #expect(run == doc.run)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let report = try #require(object["report"] as? [String: Any])
        #expect(report["casebookVersion"] as? String == CasebookVersion.current)
        #expect(report["command"] as? String == doc.metadata.command)
        #expect((report["store"] as? [String: Any])?["sources"] != nil)
    }

    @Test func aBareRunReportLoads() throws {
        let data = try Data(contentsOf: Fixtures.folder.appendingPathComponent("sample-report.json"))
        let doc = try ReportDocument.load(json: data)
        #expect(doc.metadata.command == "")
        #expect(doc.run.steps.count == 4)
    }

    @Test func notAReportSaysWhatIsWrong() throws {
        let error = #expect(throws: ReportLoadError.self) { try ReportDocument.load(json: Data("{\"steps\": []}".utf8), file: "x.json") }
        let message = "\(try #require(error))"
        #expect(message.contains("x.json") && message.contains("playbook"), "\(message)")
    }
}

@Suite struct TypedVocabularyTests {
    @Test func oneShareWording() {
        #expect(Describe.percent(0.001) == "under 1%")
        #expect(Describe.percent(0.527) == "53%")
        #expect(Describe.percent(0.5, digits: 1) == "50.0%")
        #expect(ReportFormat.percent(0.0004) == "under 0.1%")
        #expect(ReportFormat.percent(-0.0004) == "-under 0.1%")
        #expect(ReportFormat.percent(0.527) == "52.7%")
        #expect(ReportFormat.percent(1) == "100%")
    }

    @Test func hypothesesKeepTheirOutputShape() throws {
        let h = Hypothesis(
            kind: .freshInstall, project: "p", score: 0.5, released: 86400, matched: ["m"],
            components: ["time": 1], rejected: false)
        #expect(
            h.value.jsonString
                == #"{"components":{"time":1},"kind":"fresh-install","matched":["m"],"missing":[],"project":"p","reasons":[],"rejected":false,"released":"1970-01-02T00:00:00Z","score":0.5,"version":null}"#
        )
        #expect(try Hypothesis(value: h.value) == h)
        #expect(try Value(encoding: h).jsonString == h.value.jsonString)
        let other = try Hypothesis(value: ["kind": "weather", "score": 0.2])
        #expect(other.kind == .other("weather") && other.rejected == nil && other.matched.isEmpty)
        #expect(try Value(encoding: Direction.down) == "down")
    }
}
