import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookReport

/// Headless Chromium, when installed (`apt-get install chromium`; `.ci/run` installs it).
enum Chromium {
    static let path: String? = {
        if let p = ProcessInfo.processInfo.environment["CHROMIUM"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }()

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs the browser with `arguments` (plus headless flags) and returns stdout; fails after `timeout` seconds.
    static func run(_ arguments: [String], timeout: TimeInterval = 120) throws -> String {
        guard let path else { throw CheckError("chromium is not installed") }
        let profile = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: profile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        // As root Chromium needs --no-sandbox; a private profile lets tests run side by side.
        p.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(profile.path)"
            ] + arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        nonisolated(unsafe) var data = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            data = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        DispatchQueue.global().async { _ = err.fileHandleForReading.readDataToEndOfFile() }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            throw CheckError("chromium did not finish within \(Int(timeout)) s")
        }
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite struct BrowserTests {
    static let title = "<script>document.title='pwned'</script>"
    static let fromLog = "<img src=x onerror=alert('log')>"
    static let fromBigQuery = "\"><script>alert('bq')</script>"
    static let fromCSV = "<script>alert('csv')</script>"

    /// Writes one input file per format, with hostile values in a spike day, ingests them with
    /// the real readers into a fresh SQLite store, runs a small playbook and renders the HTML.
    static func hostileReport(in dir: URL) async throws -> (URL, ReportDocument) {
        let days = (1...21).map { UTCTime.epoch(year: 2021, month: 5, day: $0) }
        let spikeDay = days[17]
        func ua(distro: String) -> String {
            // pip's JSON user agent as Apache logs it (quotes escaped with a backslash).
            let json =
                "{\"cpu\":\"armv7l\",\"distro\":{\"id\":\"buster\",\"name\":\"\(distro)\",\"version\":\"10\"},\"implementation\":{\"name\":\"CPython\",\"version\":\"3.7.3\"},\"installer\":{\"name\":\"pip\",\"version\":\"20.0.2\"},\"python\":\"3.7.3\",\"system\":{\"name\":\"Linux\",\"release\":\"5.10.17-v7+\"}}"
            return "pip/20.0.2 " + json.replacingOccurrences(of: "\"", with: "\\\"")
        }
        func logTime(_ t: Int64) -> String {
            let (y, m, d) = UTCTime.civilFromDays(t / 86400)
            let s = UTCTime.isoString(t)
            return String(format: "%02d/%@/%04d:%@ +0000", d, SVGChart.months[m - 1], y, String(s.dropFirst(11).prefix(8)))
        }
        var log = ""
        var ndjson = ""
        for day in days {
            let hostileDay = day == spikeDay
            for i in 0..<(hostileDay ? 420 : 20) {
                let t = day + Int64(i * 97 % 86400)
                let distro = hostileDay ? fromLog : "Raspbian GNU/Linux"
                log +=
                    "10.0.\(i / 250).\(i % 250 + 1) - - [\(logTime(t))] \"GET /simple/numpy/numpy-1.20.0-cp37-cp37m-linux_armv7l.whl HTTP/1.1\" 200 123 \"-\" \"\(ua(distro: distro))\"\n"
                let bqDistro = hostileDay ? fromBigQuery : "Ubuntu"
                let project = hostileDay ? "evil\"><img src=x onerror=alert('bq-project')>" : "six"
                let row: Value = [
                    "timestamp": .string(UTCTime.bigQueryString(t)), "country_code": "DE", "project": .string(project),
                    "file": [
                        "filename": "six-1.15.0-py2.py3-none-any.whl", "project": .string(project), "version": "1.15.0",
                        "type": "bdist_wheel"
                    ],
                    "details": [
                        "installer": ["name": "pip", "version": "21.0"], "python": "3.8.5",
                        "implementation": ["name": "CPython", "version": "3.8.5"],
                        "distro": ["name": .string(bqDistro), "version": "20.04", "id": "focal"],
                        "system": ["name": "Linux", "release": "5.4"], "cpu": "x86_64", "ci": .null
                    ]
                ]
                ndjson += row.jsonString + "\n"
            }
        }
        var csv = "date,project,distro,count\n"
        for day in days {
            csv += "\(UTCTime.dateString(day)),numpy,Debian,1000\n"
            if day == spikeDay { csv += "\(UTCTime.dateString(day)),\"numpy\",\"\(fromCSV)\",3000\n" }
        }
        // File names carry hostile text too (they appear in the sources table).
        let files = [
            ("access\"><img src=x onerror=alert('file')>.log", log, InputFormat.combined),
            ("rows<svg onload=alert('file')>.ndjson", ndjson, .bigquery),
            ("counts.csv", csv, .csv)
        ]
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        for (name, text, format) in files {
            let url = dir.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            let summary = try Ingestor(target: store, options: IngestOptions(format: format, index: "test")).ingest(path: url.path)
            #expect(summary.downloads > 0, "\(format) ingested nothing")
        }
        let playbook = dir.appendingPathComponent("hostile.yaml")
        try Data(
            """
            name: "Hostile \(title)"
            description: "\\"><img src=x onerror=alert('playbook')>"
            steps:
              - id: spike
                name: "Unusual windows <script>alert('step')</script>"
                uses: spike-detection
                with: {bucket: day}
              - id: contributors
                name: Which distros
                uses: contributors
                if: steps.spike.outputs.windows
                with: {window: "${{ steps.spike.outputs.window }}", dimension: distro, baseline_days: 7}
              - id: projects
                name: Which projects
                uses: contributors
                if: steps.spike.outputs.windows
                with: {window: "${{ steps.spike.outputs.window }}", dimension: project, baseline_days: 7}
              - id: segments
                name: Segments
                uses: segment-split
                if: steps.spike.outputs.windows
                with: {window: "${{ steps.spike.outputs.window }}", dimensions: [distro, installer], baseline_days: 7}

            """.utf8
        ).write(to: playbook)
        let registry = BuiltinAnalyzers.registry()
        let plan = try await PlaybookValidator(registry: registry).validate(try Playbook.load(from: playbook))
        let run = await PlaybookRunner(store: store).run(plan)
        var summaries: [String: String] = [:]
        for step in plan.steps { summaries[step.step.uses] = step.analyzer.description?.summary }
        let doc = ReportDocument(
            run: run,
            metadata: .make(
                command: "casebook run '\(title)'", playbookFile: playbook,
                store: try await store.info(), analyzers: summaries))
        let html = dir.appendingPathComponent("report.html")
        try Data(HTMLRenderer().render(doc).utf8).write(to: html)
        return (html, doc)
    }

    @Test(
        .enabled(
            if: Chromium.path != nil || Chromium.isCI,
            "chromium is not installed (apt-get install chromium); set CI=true to make this a failure"))
    func hostileDataStaysTextInARealBrowser() async throws {
        guard Chromium.path != nil else {
            Issue.record(
                "CI=true but no chromium on PATH: .ci/run must install Debian's `chromium` package (or set CHROMIUM=/path/to/chromium)")
            return
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (html, doc) = try await Self.hostileReport(in: dir)
        #expect(doc.run.steps.map(\.id) == ["spike", "contributors", "projects", "segments"])
        #expect(doc.run.steps.allSatisfy { $0.status == .succeeded }, "\(doc.run.textSummary)")

        let dom = try Chromium.run(["--dump-dom", html.absoluteString])
        #expect(dom.contains("</html>"), "chromium printed no DOM: \(dom.prefix(300))")
        let domFile = dir.appendingPathComponent("dom.html")
        try Data(("<!DOCTYPE html>" + dom).utf8).write(to: domFile)
        let check = try MarkupCheck.run("html", file: domFile)
        #expect(check.ok, "\(check.errors)")
        #expect(check.tags["script"] == nil && check.tags["img"] == nil, "injected elements: \(check.tags)")
        // A script from the data would have set the title to "pwned".
        let expected = ReportNarrative(doc).title
        #expect(check.title == expected, "title changed: \(check.title)")
        #expect(check.title.contains(Self.title), "the hostile playbook name is shown as text")
        // Hostile values from every input format reached the page, as text.
        let text = NarrativeTests.stripHTML(dom)
        for value in [Self.fromLog, Self.fromBigQuery, Self.fromCSV] {
            #expect(text.contains(value), "\(value) is not shown as text")
        }
        #expect(text.contains("access\"><img src=x onerror=alert('file')>.log"))
    }

    @Test(.enabled(if: Chromium.path != nil, "chromium is not installed"))
    func browserRendersEveryChart() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("sample.html")
        try Data(HTMLRenderer().render(try Fixtures.sampleDocument()).utf8).write(to: html)
        let dom = try Chromium.run(["--dump-dom", html.absoluteString])
        let svgs = dom.components(separatedBy: "<svg").count - 1
        #expect(svgs == 7)
        #expect(dom.contains("Downloads spike: A major spike"))
    }
}
