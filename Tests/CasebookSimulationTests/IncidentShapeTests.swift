import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookSimulation

/// Helpers for the incident-shape scenarios of `examples/scenarios`.
enum Shapes {
    static func load(_ name: String) throws -> Scenario {
        try Scenario.load(path: Support.examples.appendingPathComponent("scenarios/\(name).yaml").path)
    }

    /// Runs a scenario into a fresh directory; the caller removes it.
    static func run(_ s: Scenario, _ label: String) throws -> (String, SimulationSummary) {
        let dir = Support.tempDir(label)
        let summary = try Simulator(scenario: s).run(to: dir)
        return (dir, summary)
    }

    static func lines(_ dir: String, _ date: String) throws -> [Substring] {
        try String(contentsOfFile: "\(dir)/logs/access-\(date).log", encoding: .utf8).split(separator: "\n")
    }

    /// The `HH:MM:SS` second of the day of a combined log line.
    static func second(_ line: Substring) -> Int? {
        guard let open = line.firstIndex(of: "[") else { return nil }
        let stamp = line[line.index(after: open)...].prefix(20)  // 19/Feb/2020:10:00:00
        let parts = stamp.split(separator: ":")
        guard parts.count >= 4, let h = Int(parts[1]), let m = Int(parts[2]), let s = Int(parts[3].prefix(2)) else { return nil }
        return h * 3600 + m * 60 + s
    }

    /// The status of a combined log line (`"GET ... HTTP/1.1" 503 312`).
    static func status(_ line: Substring) -> Int? {
        guard let r = line.range(of: " HTTP/1.1\" ") else { return nil }
        return Int(line[r.upperBound...].prefix(3))
    }

    static func isDownload(_ line: Substring) -> Bool {
        line.contains(".whl HTTP/1.1\"") || line.contains(".tar.gz HTTP/1.1\"")
    }

    static func summaryJSON(_ dir: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/scenario-summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

@Suite struct IncidentShapeParsingTests {
    static let head = """
        name: t
        seed: 1
        start: 2020-03-01
        end: 2020-03-07
        baseline:
          daily: {start: 500}
          clients: {count: 50, python: {"3.7.3": 1}, pip: {"20.0.2": 1}, cpu: {armv7l: 1}, distro: {"Raspbian GNU/Linux 10 (buster)": 1}}
          packages:
            - {name: requests, weight: 10, versions: ["2.22.0", {version: "3.0.0rc1", released: 2020-03-03}]}
            - {name: six, weight: 10, versions: ["1.14.0"]}

        """

    func error(_ yaml: String) -> ScenarioError? {
        do {
            _ = try Scenario.parse(yaml: Self.head + yaml, file: "t.yaml")
            return nil
        } catch { return error }
    }

    @Test func newIncidentTypesParse() throws {
        let s = try Scenario.parse(
            yaml: Self.head + """
                formats: [combined, csv]
                csv: {project: requests, shape: overall}
                incidents:
                  - {type: outage, start: "2020-03-02T10:00:00Z", end: "2020-03-02T12:00:00Z", status: 503}
                  - {type: log-gap, start: "2020-03-03T08:00:00Z", end: "2020-03-03T14:00:00Z"}
                  - {type: client-stops, stop: "2020-03-05T00:00:00Z", daily: 40, at: 1, hours: 2}
                  - {type: client-stops, client: ci, stop: "2020-03-05T00:00:00Z", daily: 40, packages: [six]}
                  - {type: country-drop, country: de, start: "2020-03-02T00:00:00Z", end: "2020-03-04T00:00:00Z", factor: 10%}
                  - {type: ramp, package: six, start: 2020-03-02, days: 4, downloads: 100}
                  - {type: package-spike, package: requests, version: 3.0.0rc1, python: "3", days: {2020-03-04: 50, 2020-03-05: 20}}
                  - {type: mirror, start: "2020-03-02T01:00:00Z", clients: 5, packages: [six]}
                """)
        #expect(s.formats == [.combined, .csv])
        #expect(s.csv == CountsCSV(project: "requests", shape: .overall))
        #expect(
            s.incidents.map(\.type) == [
                "outage", "log-gap", "client-stops", "client-stops", "country-drop", "ramp", "package-spike", "mirror"
            ])
        guard case .outage(let o) = s.incidents[0], case .countryDrop(let c) = s.incidents[4],
            case .packageTraffic(let ramp) = s.incidents[5],
            case .clientStops(let ci) = s.incidents[3], case .mirror(let m) = s.incidents[7]
        else {
            Issue.record("wrong incident kinds")
            return
        }
        #expect(o.status == 503)
        #expect(c.country == "DE" && c.factor == 0.1)
        #expect(ci.kind == .ci && ci.packages == ["six"] && ci.start == UTCTime.parse("2020-03-01")!)
        #expect(m.clients == 5 && m.packages == ["six"])
        // A ramp grows by a quarter of its size a day for four days, then stays until the end of the scenario.
        #expect(ramp.days.map { if case .downloads(let n) = $0.size { n } else { -1 } } == [25, 50, 75, 100, 100, 100])
        #expect(
            isPreRelease("3.0.0rc1") && isPreRelease("1.0a2") && isPreRelease("2.0.dev3") && !isPreRelease("2019.11.28")
                && !isPreRelease("1.0.post1"))
    }

    @Test func newKeysAreCheckedWithPositions() {
        let cases: [(String, [String])] = [
            (
                "incidents:\n  - {type: outage, start: \"2020-03-02T10:00:00Z\", end: \"2020-03-02T12:00:00Z\", status: 200}\n",
                ["t.yaml:", "incidents[0].status", "expected an HTTP error status", "found '200'"]
            ),
            (
                "incidents:\n  - {type: outage, start: \"2020-03-02T10:00:00Z\", end: \"2020-03-02T12:00:00Z\", retries: 5}\n",
                ["incidents[0].retries", "no retries without a status"]
            ),
            (
                "incidents:\n  - {type: log-gap, start: \"2020-03-02T10:00:00Z\", ned: \"2020-03-02T12:00:00Z\"}\n",
                ["incidents[0].ned", "did you mean 'end'"]
            ),
            (
                "incidents:\n  - {type: log-gap, start: \"2020-03-02T10:00:00Z\", end: \"2020-03-02T09:00:00Z\"}\n",
                ["incidents[0].end", "expected a time after start"]
            ),
            ("formats: [csv]\n", ["formats", "needs a 'csv' key"]),
            (
                "formats: [csv]\ncsv: {project: requests, shape: weekly}\n",
                ["csv.shape", "expected daily (date,downloads) or overall", "found 'weekly'"]
            ),
            ("formats: [csv]\ncsv: {project: numpy}\n", ["csv.project", "unknown package 'numpy'"]),
            ("formats: [tsv]\n", ["formats[0]", "expected combined, bigquery or csv"]),
            (
                "incidents:\n  - {type: country-drop, country: XX, start: \"2020-03-02T00:00:00Z\", end: \"2020-03-03T00:00:00Z\"}\n",
                ["incidents[0].country", "a country code", "found 'XX'"]
            ),
            (
                "incidents:\n  - {type: client-stops, client: ci, stop: \"2020-03-05T00:00:00Z\", daily: 10}\n",
                ["incidents[0]", "'packages'"]
            ),
            (
                "incidents:\n  - {type: client-stops, client: robot, stop: \"2020-03-05T00:00:00Z\", daily: 10}\n",
                ["incidents[0].client", "expected mirror or ci", "found 'robot'"]
            ),
            (
                "incidents:\n  - {type: client-stops, stop: \"2020-04-05T00:00:00Z\", daily: 10}\n",
                ["incidents[0].stop", "a time within the scenario"]
            ),
            (
                "incidents:\n  - {type: ramp, package: six, start: 2020-03-02, days: 0, downloads: 10}\n",
                ["incidents[0].days", "a number of days >= 1"]
            ),
            (
                "incidents:\n  - {type: package-spike, package: requests, version: 9.9, start: 2020-03-02, downloads: 10}\n",
                ["incidents[0].version", "no version '9.9'"]
            ),
            (
                "incidents:\n  - {type: package-spike, package: reqests, start: 2020-03-02, downloads: 10}\n",
                ["incidents[0].package", "unknown package 'reqests'"]
            ),
            (
                "incidents:\n  - {type: log-gapp, start: \"2020-03-02T10:00:00Z\"}\n",
                ["incidents[0].type", "log-gap, client-stops, country-drop, ramp, package-spike"]
            )
        ]
        for (yaml, parts) in cases {
            guard let e = error(yaml) else {
                Issue.record("no error for \(yaml)")
                continue
            }
            #expect(e.line != nil, "\(e.description)")
            for p in parts { #expect(e.description.contains(p), "\(e.description) lacks \(p)") }
        }
    }
}

@Suite(.serialized) struct IncidentShapeTests {
    /// Every example scenario simulates without error or note, and writes what its formats say.
    @Test func everyExampleScenarioSimulates() throws {
        let dir = Support.examples.appendingPathComponent("scenarios")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names.count >= 18)
        for n in names {
            var s = try Scenario.load(path: dir.appendingPathComponent(n).path)
            // Keep the test quick: at most four weeks, and every incident still starts inside them.
            let lastStart = s.incidents.compactMap { IncidentShapeTests.start(of: $0) }.max() ?? s.startDay
            s.endDay = min(s.endDay, max(s.startDay + 27, lastStart + 3))
            let (out, summary) = try Shapes.run(s, "all-\(n)")
            defer { try? FileManager.default.removeItem(atPath: out) }
            #expect(summary.notes.isEmpty, "\(n): \(summary.notes)")
            #expect(summary.downloads > 0, "\(n)")
            let expectedFiles = s.formats.reduce(0) { $0 + ($1 == .csv ? 1 : s.dayCount) }
            #expect(summary.files.count == expectedFiles, "\(n)")
            // Every incident's expected facts are in the summary file.
            let json = try Shapes.summaryJSON(out)
            let incidents = try #require(json["incidents"] as? [[String: Any]])
            #expect(incidents.count == s.incidents.count, "\(n)")
            for (i, inc) in incidents.enumerated() {
                let facts = try #require(inc["expected"] as? [String: Any], "\(n) incident \(i)")
                #expect(facts["type"] as? String == s.incidents[i].type, "\(n)")
                #expect(facts["start"] is String && facts["end"] is String, "\(n) incident \(i)")
                #expect(["up", "down", "missing"].contains(facts["direction"] as? String ?? ""), "\(n)")
            }
        }
    }

    static func start(of inc: Incident) -> Int64? {
        switch inc {
        case .releaseUpgrade(let r): r.days.first?.day
        case .freshInstall(let f): f.start / 86400
        case .mirror(let m): m.start / 86400
        case .outage(let o): o.start / 86400
        case .holiday(let h): h.day
        case .logGap(let l): l.start / 86400
        case .clientStops(let c): c.stop / 86400
        case .countryDrop(let c): c.start / 86400
        case .packageTraffic(let p): p.days.first?.day
        }
    }

    @Test func holidayIsADayLevelDip() throws {
        let (dir, summary) = try Shapes.run(try Shapes.load("holiday-dip"), "holiday")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let holiday = try #require(summary.day("2020-05-01"))
        let before = try #require(summary.day("2020-04-24"))
        #expect(Double(holiday.downloads) < 0.85 * Double(before.downloads))
        #expect(summary.incidents[0].expected.direction == "down")
        #expect(summary.incidents[0].expected.start == UTCTime.parse("2020-05-01"))
    }

    @Test func outageWithStatusLogs503sInItsHours() throws {
        let s = try Shapes.load("outage-5xx")
        let (dir, summary) = try Shapes.run(s, "503")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = try Shapes.lines(dir, "2020-02-19")
        // 10:00 to 15:00, and the last retries' few seconds after.
        let inside = lines.filter { (36000..<54020).contains(Shapes.second($0) ?? -1) }
        let outside = lines.filter { !(36000..<54020).contains(Shapes.second($0) ?? -1) }
        let failed = inside.filter { Shapes.status($0) == 503 }
        let served = inside.filter { Shapes.status($0) == 200 && Shapes.isDownload($0) }
        // Clients keep asking: the hours hold as many download requests as usual, nearly all answered 503.
        #expect(failed.count > 600)
        #expect(served.count * 30 < failed.count)
        #expect(failed.filter(Shapes.isDownload).count > 500)
        #expect(outside.allSatisfy { Shapes.status($0) != 503 })
        // pip retries: a refused file is asked for six times by the same client within about eight seconds.
        var runs: [String: [Int]] = [:]
        for l in failed where Shapes.isDownload(l) {
            let f = l.split(separator: " ")
            runs["\(f[0]) \(f[6])", default: []].append(Shapes.second(l)!)
        }
        #expect(runs.count > 500)
        #expect(runs.values.filter { $0.count == 6 }.count * 10 > runs.count * 9)
        #expect(runs.values.filter { $0.count == 6 }.allSatisfy { $0.max()! - $0.min()! <= 8 })
        // Error pages are small; the files were not sent.
        for l in failed.prefix(50) {
            let size = l.components(separatedBy: "\" 503 ").last?.split(separator: " ").first.flatMap { Int($0) }
            #expect(size != nil && size! < 400, "\(l)")
        }
        // The same hours a week earlier: normal downloads.
        let week = try Shapes.lines(dir, "2020-02-12").filter { (36000..<54000).contains(Shapes.second($0) ?? -1) }
        #expect(week.filter { Shapes.status($0) == 200 && Shapes.isDownload($0) }.count > 600)
        let inc = summary.incidents[0]
        #expect(inc.errors >= failed.count - 5 && inc.errors <= failed.count)
        #expect(inc.removed > 600)
        #expect(inc.expected.status == 503 && inc.expected.retries == 5 && inc.expected.direction == "down")
        #expect(failed.filter(Shapes.isDownload).count == 6 * inc.removed)
        // Ingested, 503s are not downloads: the store agrees with the summary.
        let store = try Support.ingest(dir, files: summary.files.filter { $0.contains("2020-02-1") })
        let daily = try Support.dailyTotals(store)
        #expect(daily["2020-02-19"] == summary.day("2020-02-19")?.downloads)
    }

    @Test func logGapWritesNoLineInItsHours() throws {
        let (dir, summary) = try Shapes.run(try Shapes.load("log-gap"), "gap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = try Shapes.lines(dir, "2020-02-20")
        let seconds = lines.compactMap(Shapes.second)
        #expect(!seconds.contains { (28800..<50400).contains($0) })
        // Normal lines around it: the hour before and the hour after look like a week earlier.
        let before = seconds.filter { (25200..<28800).contains($0) }.count
        let after = seconds.filter { (50400..<54000).contains($0) }.count
        let weekSeconds = try Shapes.lines(dir, "2020-02-13").compactMap(Shapes.second)
        let weekBefore = weekSeconds.filter { (25200..<28800).contains($0) }.count
        let weekAfter = weekSeconds.filter { (50400..<54000).contains($0) }.count
        #expect(before > weekBefore / 2 && before < weekBefore * 2)
        #expect(after > weekAfter / 2 && after < weekAfter * 2)
        #expect(lines.allSatisfy { Shapes.status($0) != 503 })
        let inc = summary.incidents[0]
        #expect(inc.removed > 1000)
        #expect(inc.expected.direction == "missing" && inc.expected.shape == "gap")
        // The summary counts what the log holds.
        let downloads = lines.filter { Shapes.isDownload($0) && Shapes.status($0) == 200 && $0.hasSuffix("\"") }.count
        #expect(downloads == summary.day("2020-02-20")?.downloads)
    }

    @Test func steadyMirrorStopsAtItsTime() throws {
        let s = try Shapes.load("mirror-stops")
        let (dir, summary) = try Shapes.run(s, "stops")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var addresses = Set<Substring>()
        for d in summary.days {
            let mirror = try Shapes.lines(dir, d.date).filter { $0.contains("\"bandersnatch/3.6.0 ") }
            addresses.formUnion(mirror.compactMap { $0.split(separator: " ").first })
            if d.date < "2020-02-24" {
                #expect(mirror.count == 700, "\(d.date)")
                #expect(mirror.allSatisfy { (3600..<14400).contains(Shapes.second($0) ?? -1) })
            } else {
                #expect(mirror.isEmpty, "\(d.date)")
            }
        }
        #expect(addresses.count == 1)
        let inc = summary.incidents[0]
        #expect(inc.clients == 1)
        #expect(Set(inc.projects.keys).count > 100)  // many projects, a little each
        #expect(
            inc.expected.start == UTCTime.parse("2020-02-24T00:00:00Z") && inc.expected.direction == "down"
                && inc.expected.clientKind == "mirror")
    }

    @Test func ciFarmInstallsTheWholeClosure() throws {
        let s = try Shapes.load("ci-closure")
        let (dir, summary) = try Shapes.run(s, "closure")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inc = summary.incidents[0]
        // 25 packages, each fetched once per session.
        #expect(inc.projects.count == 25)
        #expect(Set(inc.projects.values) == [336])
        #expect(inc.projects["fleetctl"] == 336 && inc.projects["markupsafe"] == 336)
        #expect(inc.clients == 12)
        #expect(inc.expected.packages.count == 25 && inc.expected.clientKind == "ci")
        #expect(try s.expectedFacts() == [inc.expected])
        // The catalog has the project and its dependencies, with their requirements.
        let doc =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/catalog/pypi/fleetctl/1.3.0/json")))
            as? [String: Any]
        let info = try #require(doc?["info"] as? [String: Any])
        #expect((info["requires_dist"] as? [String])?.count == 10)
        for p in inc.projects.keys { #expect(FileManager.default.fileExists(atPath: "\(dir)/catalog/pypi/\(p)/json"), "\(p)") }
        // The runners' lines: pip with ci: true, twelve addresses, only during the farm's days.
        var runners = Set<Substring>()
        for d in ["2020-02-17", "2020-02-18", "2020-02-19", "2020-02-22"] {
            let ci = try Shapes.lines(dir, d).filter { $0.contains("\\\"ci\\\":true") }
            runners.formUnion(ci.compactMap { $0.split(separator: " ").first })
            if d == "2020-02-17" || d == "2020-02-22" { #expect(ci.isEmpty, "\(d)") } else { #expect(ci.count > 1500, "\(d)") }
        }
        #expect(runners.count == 12)
    }

    @Test func python3ReleaseUpgradesTwoPackages() throws {
        let (dir, summary) = try Shapes.run(try Shapes.load("python3-two-packages"), "py3two")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inc = summary.incidents[0]
        #expect(Set(inc.projects.keys) == ["requests", "jinja2"])
        #expect(inc.downloads > 3900)
        #expect(inc.expected.versions == ["jinja2==2.11.1", "requests==2.23.0"] && inc.expected.python == "3")
        // Nothing before the release: the first upgrade comes after 16:00 on the 25th.
        #expect(inc.expected.start == UTCTime.parse("2020-02-25T16:00:00Z"))
        let first = try Shapes.lines(dir, "2020-02-25").filter { $0.contains("/Jinja2-2.11.1-") && $0.contains("\\\"python\\\":\\\"3") }
        #expect(first.filter { (Shapes.second($0) ?? 0) >= 57600 }.count > 500)
        let store = try Support.ingest(dir, files: summary.files.filter { $0.contains("2020-02-2") })
        let py = try store.aggregateSync(
            AggregateQuery(
                dimensions: [.pythonMajor], filters: [.equals(.project, "jinja2"), .equals(.version, "2.11.1")],
                range: TimeRange(from: UTCTime.parse("2020-02-25")!, to: UTCTime.parse("2020-02-28")!)))
        let three = py.rows.first { $0.values[0] == "3" }?.downloads ?? 0
        let two = py.rows.first { $0.values[0] == "2" }?.downloads ?? 0
        #expect(three > 1000 && two * 10 < three)
    }

    @Test func overlappingIncidentsShareADay() throws {
        let (dir, summary) = try Shapes.run(try Shapes.load("overlapping"), "overlap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let day = try #require(summary.day("2020-02-26"))
        #expect(day.incidents.count == 2)
        #expect(summary.incidents[0].clients == 1 && summary.incidents[0].projects.count > 100)
        #expect(Set(summary.incidents[1].projects.keys) == ["paho-mqtt", "pyserial"])
        let lines = try Shapes.lines(dir, "2020-02-26")
        #expect(lines.filter { $0.contains("\"bandersnatch/") }.count == summary.incidents[0].downloads)
    }

    @Test func oneVersionSpikes() throws {
        let (dir, summary) = try Shapes.run(try Shapes.load("one-version"), "oneversion")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inc = summary.incidents[0]
        #expect(inc.projects == ["werkzeug": 3000])
        #expect(inc.expected.versions == ["werkzeug==0.16.0"])
        func count(_ date: String, _ file: String) throws -> Int { try Shapes.lines(dir, date).filter { $0.contains(file) }.count }
        #expect(try count("2020-02-25", "/Werkzeug-0.16.0-") > 800)
        #expect(try count("2020-02-11", "/Werkzeug-0.16.0-") < 20)
        let newBefore = try count("2020-02-11", "/Werkzeug-1.0.0-")
        let newDuring = try count("2020-02-25", "/Werkzeug-1.0.0-")
        #expect(newDuring < newBefore * 2 + 10)
        #expect(inc.clients > 200)
    }

    @Test func countryDropIsOnlyInOneCountry() throws {
        var s = try Shapes.load("country-drop")
        s.endDay = UTCTime.parse("2020-02-26")! / 86400
        let (dir, summary) = try Shapes.run(s, "country")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(summary.files.allSatisfy { $0.hasPrefix("bigquery/") })
        func rows(_ date: String, _ country: String) throws -> Int {
            try String(contentsOfFile: "\(dir)/bigquery/file_downloads-\(date).ndjson", encoding: .utf8)
                .split(separator: "\n").filter { $0.contains("\"country_code\":\"\(country)\"") }.count
        }
        #expect(try rows("2020-02-18", "DE") > 200)
        #expect(try rows("2020-02-21", "DE") == 0)
        #expect(try rows("2020-02-25", "DE") > 200)
        let gbBefore = try rows("2020-02-18", "GB")
        let gbDuring = try rows("2020-02-19", "GB")
        #expect(Double(gbDuring) > 0.8 * Double(gbBefore))
        #expect(summary.incidents[0].removed > 800)
        #expect(summary.incidents[0].expected.country == "DE")
    }

    @Test func rampGrowsThenStays() throws {
        var s = try Shapes.load("ramp")
        s.endDay = UTCTime.parse("2020-03-01")! / 86400
        let (dir, summary) = try Shapes.run(s, "ramp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inc = summary.incidents[0]
        let days = inc.days.sorted { $0.key < $1.key }.map(\.value)
        #expect(days.count == 14)
        #expect(Array(days.prefix(10)) == (1...10).map { $0 * 60 })
        #expect(days.suffix(4).allSatisfy { $0 == 600 })
        #expect(inc.projects.keys.sorted() == ["gpiozero"])
        #expect(inc.clients > 1000)
        #expect(inc.expected.shape == "ramp")
    }

    @Test func preReleaseSpikesWhileStableStaysFlat() throws {
        var s = try Shapes.load("prerelease")
        s.endDay = UTCTime.parse("2020-03-01")! / 86400
        let (dir, summary) = try Shapes.run(s, "pre")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rcBefore = 0
        for d in summary.days where d.date < "2020-02-25" {
            rcBefore += try Shapes.lines(dir, d.date).filter { $0.contains("/Flask-2.0.0rc1-") }.count
        }
        #expect(rcBefore == 0)  // ordinary installs ignore pre-releases
        let rc = try Shapes.lines(dir, "2020-02-25").filter { $0.contains("/Flask-2.0.0rc1-py3-none-any.whl") }
        #expect(rc.count > 1000)
        #expect(rc.allSatisfy { $0.contains("\\\"python\\\":\\\"3.7") || $0.contains("\\\"python\\\":\\\"3.8") })
        let stableBefore = try Shapes.lines(dir, "2020-02-18").filter { $0.contains("/Flask-1.1.1-") }.count
        let stableDuring = try Shapes.lines(dir, "2020-02-25").filter { $0.contains("/Flask-1.1.1-") }.count
        #expect(stableDuring < stableBefore * 2 + 10)
        // PyPI's project document names the newest stable release.
        let doc =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/catalog/pypi/flask/json")))
            as? [String: Any]
        #expect((doc?["info"] as? [String: Any])?["version"] as? String == "1.1.1")
        #expect(summary.incidents[0].expected.versions == ["flask==2.0.0rc1"])
    }

    @Test func singlePackageCountsCSV() throws {
        let s = try Shapes.load("one-package-csv")
        let (dir, summary) = try Shapes.run(s, "csv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(summary.files == ["csv/requests.csv"])
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/logs"))
        let rows = try String(contentsOfFile: "\(dir)/csv/requests.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.first == "date,downloads")
        #expect(rows.count == s.dayCount + 1)
        for (row, day) in zip(rows.dropFirst(), summary.days) {
            #expect(row == "\(day.date),\(day.projects["requests"] ?? 0)")
        }
        let spike = try #require(summary.day("2020-02-25")?.projects["requests"])
        let before = try #require(summary.day("2020-02-18")?.projects["requests"])
        #expect(spike > before + 300)
        // The counts file ingests to the same totals.
        let store = try Support.ingest(dir, files: summary.files)
        let daily = try Support.dailyTotals(store)
        for d in summary.days where (d.projects["requests"] ?? 0) > 0 { #expect(daily[d.date] == d.projects["requests"], "\(d.date)") }
    }

    @Test func mirrorSplitCSVPutsTheSpikeInMirrors() throws {
        let s = try Shapes.load("one-package-mirror-split")
        let (dir, summary) = try Shapes.run(s, "split")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rows = try String(contentsOfFile: "\(dir)/csv/requests.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.first == "category,date,downloads")
        #expect(rows.count == 2 * s.dayCount + 1)
        var with: [String: Int] = [:]
        var without: [String: Int] = [:]
        for r in rows.dropFirst() {
            let f = r.split(separator: ",")
            guard f.count == 3, let n = Int(f[2]) else {
                Issue.record("bad row \(r)")
                continue
            }
            if f[0] == "with_mirrors" {
                with[String(f[1])] = n
            } else if f[0] == "without_mirrors" {
                without[String(f[1])] = n
            } else {
                Issue.record("\(r)")
            }
        }
        #expect(with.count == s.dayCount && without.count == s.dayCount)
        for (date, w) in with {
            let wo = try #require(without[date])
            #expect(w >= wo, "\(date)")
            #expect(w == summary.day(date)?.projects["requests"], "\(date)")
            // Only the mirrors' day differs: 150 mirrors, each requests file once.
            #expect(w - wo == (date == "2020-02-26" ? 300 : 0), "\(date)")
        }
        #expect(summary.incidents[0].clients == 150)
        #expect(summary.incidents[0].expected.clientKind == "mirror")
    }
}
