import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookSimulation

/// Shared helpers: a small scenario, temporary directories, the repository's examples.
enum Support {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var examples: URL { repo.appendingPathComponent("examples") }

    static func tempDir(_ name: String) -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-sim-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d.path
    }

    /// A week of small traffic with an upgrade incident, a mirror and an outage.
    static let small = """
        name: small
        seed: 7
        start: 2020-03-01
        end: 2020-03-07
        index: piwheels
        formats: [combined, bigquery]
        baseline:
          daily: {start: 900, end: 1000, noise: 0.05}
          traffic: {index_pages: 0.05, project_pages: 0.01, not_found: 0.01, malformed: 0.01}
          clients:
            count: 300
            python: {"2.7.16": 0.5, "3.7.3": 0.5}
            pip: {"9.0.1": 0.2, "18.1": 0.4, "20.0.2": 0.4}
            cpu: {armv7l: 0.8, armv6l: 0.1, aarch64: 0.1}
            distro: {"Raspbian GNU/Linux 10 (buster)": 1}
          packages:
            - {name: numpy, weight: 100, kind: platform, versions: [{version: "1.16.6"}, {version: "1.18.1", requires_python: ">=3.5"}]}
            - {name: pycparser, weight: 120, versions: [{version: "2.19", pypi: [sdist]}]}
            - {name: Flask, weight: 10, requires: ["Werkzeug>=0.15"], versions: ["1.1.1"]}
            - {name: Werkzeug, weight: 10, versions: ["1.0.0"]}
            - {name: Flask-Login, weight: 5, requires: ["Flask"], versions: [{version: "0.4.1", pypi: [sdist]}, {version: "0.5.0", released: 2020-02-09}]}
            - {name: Markdown, weight: 5, versions: [{version: "3.1.1"}, {version: "3.2", requires_python: ">=3.5"}]}
        downstream:
          - name: OctoPrint
            releases:
              - {version: 1.4.0, released: "2020-03-03T16:28:00+01:00", requires_python: ">=2.7.9, <4", requires_dist: ["Flask-Login<0.5,>=0.4.1", "markdown<3.2,>=3.1", "futures<3.4,>=3.3; python_version < \\"3\\""]}
        incidents:
          - type: release-upgrade
            project: OctoPrint
            version: 1.4.0
            python: "2.7"
            primary: 0.5
            upgrades:
              - {package: Flask-Login, version: 0.4.1, repeat: 2}
              - {package: Markdown, version: 3.1.1}
            days:
              2020-03-04: {total: 2500}
              2020-03-05: 800
          - {type: mirror, start: "2020-03-02T03:00:00Z", hours: 2}
          - {type: outage, start: "2020-03-06T10:00:00Z", end: "2020-03-06T13:00:00Z"}
          - {type: ci-farm, clients: 2, cpu: [x86_64], start: "2020-03-01T00:00:00Z", end: "2020-03-02T00:00:00Z", installs: 30, install: [Flask-Login]}
        """

    static func ingest(_ dir: String, files: [String]) throws -> SQLiteEventStore {
        let store = try SQLiteEventStore(path: "\(dir)/store.sqlite")
        let ingestor = try Ingestor(target: store, options: IngestOptions(index: "piwheels"))
        for f in files { _ = try ingestor.ingest(path: "\(dir)/\(f)") }
        return store
    }

    static func dailyTotals(_ store: SQLiteEventStore, filters: [DimensionFilter] = []) throws -> [String: Int] {
        let t = try store.aggregateSync(AggregateQuery(bucket: .day, filters: filters))
        var out: [String: Int] = [:]
        for r in t.rows { out[UTCTime.dateString(r.bucketStart!)] = Int(r.downloads) }
        return out
    }

    static func files(under dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        let base = URL(fileURLWithPath: dir)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { return out }
        for case let u as URL in e where (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            out[String(u.path.dropFirst(base.path.count))] = try? Data(contentsOf: u)
        }
        return out
    }
}

@Suite struct ScenarioParsingTests {
    @Test func parsesTheSmallScenario() throws {
        let s = try Scenario.parse(yaml: Support.small)
        #expect(s.dayCount == 7)
        #expect(s.formats == [.combined, .bigquery])
        #expect(s.baseline.packages.count == 6)
        #expect(s.incidents.map(\.type) == ["release-upgrade", "mirror", "outage", "ci-farm"])
        guard case .releaseUpgrade(let r) = s.incidents[0] else {
            Issue.record("not a release upgrade")
            return
        }
        #expect(r.upgrades[0].repeatCount == 2)
        #expect(
            r.days == [
                IncidentDay(day: UTCTime.parse("2020-03-04")! / 86400, size: .total(2500)),
                IncidentDay(day: UTCTime.parse("2020-03-05")! / 86400, size: .downloads(800))
            ])
        #expect(s.downstream[0].releases[0].released == UTCTime.parse("2020-03-03T15:28:00Z"))
    }

    @Test func unknownKeysAreReportedWithPositionAndSuggestion() {
        let yaml = Support.small.replacingOccurrences(of: "primary: 0.5", with: "primry: 0.5")
        do {
            _ = try Scenario.parse(yaml: yaml, file: "s.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("s.yaml:"))
            #expect(error.description.contains("incidents[0].primry"))
            #expect(error.description.contains("did you mean 'primary'"))
            #expect(error.line != nil)
        }
    }

    @Test func wrongTypesSayWhatWasExpected() {
        let yaml = Support.small.replacingOccurrences(of: "count: 300", with: "count: many")
        let error = #expect(throws: ScenarioError.self) { try Scenario.parse(yaml: yaml) }
        let description = error?.description ?? ""
        #expect(description.contains("baseline.clients.count"))
        #expect(description.contains("expected a whole number, found 'many'"))
    }

    @Test func unknownPackagesInIncidentsAreRefused() {
        let yaml = Support.small.replacingOccurrences(of: "{package: Markdown, version: 3.1.1}", with: "{package: Markdwn, version: 3.1.1}")
        do {
            _ = try Scenario.parse(yaml: yaml)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("unknown package 'Markdwn'"))
        }
    }

    @Test func aliasesAreRefused() {
        let yaml = "seed: &s 1\nstart: 2020-01-01\nend: 2020-01-02\nbaseline: *s\n"
        do {
            _ = try Scenario.parse(yaml: yaml)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("anchors and aliases"))
        }
    }

    @Test func everyExampleScenarioParses() throws {
        let dir = Support.examples.appendingPathComponent("scenarios")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(
            Set(names).isSuperset(of: [
                "ci-farm.yaml", "mirror.yaml", "outage.yaml", "python3-release.yaml", "quiet.yaml", "holiday-dip.yaml", "outage-5xx.yaml",
                "log-gap.yaml", "mirror-stops.yaml", "ci-closure.yaml", "python3-two-packages.yaml", "overlapping.yaml", "one-version.yaml",
                "country-drop.yaml", "ramp.yaml", "prerelease.yaml", "one-package-csv.yaml", "one-package-mirror-split.yaml"
            ]))
        for n in names { _ = try Scenario.load(path: dir.appendingPathComponent(n).path) }
        let demo = try Scenario.load(path: Support.examples.appendingPathComponent("piwheels-2020-03/scenario.yaml").path)
        #expect(demo.dayCount == 70)
        #expect(demo.downstream.filter(\.decoy).count >= 4)
    }

    @Test func requiresPythonSpecifiers() {
        #expect(PythonSpecifier.allows(">=2.7.9, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, <4", python: [2, 7, 16]))
        #expect(!PythonSpecifier.allows(">=2.7.9, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, <4", python: [3, 5, 3]))
        #expect(PythonSpecifier.allows(">=2.7.9, !=3.5.*, <4", python: [3, 7, 3]))
        #expect(!PythonSpecifier.allows(">=3.5", python: [2, 7, 16]))
        #expect(PythonSpecifier.allows(nil, python: [2, 7]))
        #expect(Requirements.applies("futures<3.4,>=3.3; python_version < \"3\"", python: [2, 7, 16]))
        #expect(!Requirements.applies("futures<3.4,>=3.3; python_version < \"3\"", python: [3, 7, 3]))
        #expect(!Requirements.applies("flask>=0.11; extra == \"flask\"", python: [3, 7, 3]))
        #expect(Requirements.name("Flask-Login<0.5,>=0.4.1") == "Flask-Login")
    }
}

@Suite(.serialized) struct SimulatorTests {
    @Test func sameSeedGivesIdenticalBytes() throws {
        let s = try Scenario.parse(yaml: Support.small)
        let a = Support.tempDir("det-a")
        let b = Support.tempDir("det-b")
        defer {
            try? FileManager.default.removeItem(atPath: a)
            try? FileManager.default.removeItem(atPath: b)
        }
        try Simulator(scenario: s).run(to: a)
        try Simulator(scenario: s).run(to: b)
        let fa = Support.files(under: a)
        let fb = Support.files(under: b)
        #expect(fa.count > 20)
        #expect(fa.keys.sorted() == fb.keys.sorted())
        for (k, v) in fa { #expect(fb[k] == v, "\(k) differs") }
        var other = s
        other.seed = 8
        let c = Support.tempDir("det-c")
        defer { try? FileManager.default.removeItem(atPath: c) }
        try Simulator(scenario: other).run(to: c)
        #expect(Support.files(under: c)["/logs/access-2020-03-03.log"] != fa["/logs/access-2020-03-03.log"])
    }

    @Test func logsIngestAndMatchTheSummary() throws {
        let s = try Scenario.parse(yaml: Support.small)
        let dir = Support.tempDir("ingest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try Simulator(scenario: s).run(to: dir)
        let logs = summary.files.filter { $0.hasPrefix("logs/") }
        #expect(logs.count == 7)
        let store = try Support.ingest(dir, files: logs)
        // Daily totals equal the summary's, and the target total is hit exactly.
        let daily = try Support.dailyTotals(store)
        for d in summary.days { #expect(daily[d.date] == d.downloads, "\(d.date)") }
        #expect(summary.day("2020-03-04")?.downloads == 2500)
        // Per-project counts equal the summary's.
        let byProject = try store.aggregateSync(AggregateQuery(bucket: .day, dimensions: [.project]))
        for r in byProject.rows {
            let date = UTCTime.dateString(r.bucketStart!)
            #expect(summary.day(date)?.projects[r.values[0]!] == Int(r.downloads), "\(date) \(r.values[0]!)")
        }
        // The upgrade: only Python 2.7 clients; Flask-Login twice per primary client; extra-index clients fetch only Flask-Login.
        let upgrade = summary.incidents[0]
        #expect(upgrade.downloads > 0)
        #expect(upgrade.days["2020-03-05"] == 800)
        let fl = upgrade.projects["flask-login"] ?? 0
        let md = upgrade.projects["markdown"] ?? 0
        #expect(fl > 2 * md)  // extra-index clients add Flask-Login (sdist-only on PyPI) but not Markdown
        let md5 = try store.aggregateSync(
            AggregateQuery(
                dimensions: [.pythonMinor], filters: [.equals(.project, "markdown"), .equals(.version, "3.1.1")],
                range: TimeRange(from: UTCTime.parse("2020-03-04")!, to: UTCTime.parse("2020-03-06")!)))
        let py27 = md5.rows.first { $0.values[0] == "2.7" }?.downloads ?? 0
        #expect(Int(py27) >= md)
        // Mirror: one client, every file once.
        let mirror = summary.incidents[1]
        #expect(mirror.clients == 1)
        let installers = try store.aggregateSync(AggregateQuery(dimensions: [.installer], filters: [.equals(.installer, "bandersnatch")]))
        #expect(Int(installers.total) == mirror.downloads)
        // Outage: 10:00-13:00 almost empty.
        let hours = try store.aggregateSync(
            AggregateQuery(
                bucket: .hour,
                range: TimeRange(
                    from: UTCTime.parse("2020-03-06T10:00:00Z")!,
                    to: UTCTime.parse("2020-03-06T13:00:00Z")!)))
        #expect(hours.total < 10)
        // CI farm: ci true, x86_64, Flask-Login plus its dependencies (Flask, Werkzeug).
        let ci = try store.aggregateSync(AggregateQuery(dimensions: [.project], filters: [.equals(.ci, "true")]))
        #expect(Set(ci.rows.map { $0.values[0]! }) == ["flask-login", "flask", "werkzeug"])
        #expect(Int(ci.total) == summary.incidents[3].downloads)
        // Malformed lines were quarantined, other requests counted, none became downloads.
        let info = try store.infoSync()
        let malformed = summary.days.reduce(0) { $0 + $1.malformed }
        #expect(info.quarantined.values.reduce(0, +) == Int64(malformed))
        #expect(info.downloads == Int64(summary.downloads))
    }

    @Test func bigQueryRowsIngestToTheSameTotals() throws {
        var s = try Scenario.parse(yaml: Support.small)
        s.formats = [.bigquery]
        s.gzip = true
        let dir = Support.tempDir("bq")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try Simulator(scenario: s).run(to: dir)
        #expect(summary.files.allSatisfy { $0.hasPrefix("bigquery/") && $0.hasSuffix(".ndjson.gz") })
        let store = try Support.ingest(dir, files: summary.files)
        let daily = try Support.dailyTotals(store)
        for d in summary.days { #expect(daily[d.date] == d.downloads, "\(d.date)") }
        let py = try store.aggregateSync(AggregateQuery(dimensions: [.pythonMajor]))
        #expect(Set(py.rows.compactMap { $0.values[0] }).isSuperset(of: ["2", "3"]))
    }

    @Test func combinedLinesLookLikeApacheWithEscapedPipAgents() throws {
        let s = try Scenario.parse(yaml: Support.small)
        let dir = Support.tempDir("lines")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Simulator(scenario: s).run(to: dir)
        let text = try String(contentsOfFile: "\(dir)/logs/access-2020-03-03.log", encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.contains(".whl HTTP/1.1\" 200 ") && $0.contains("pip/20.0.2") }!
        #expect(line.contains(" - - [03/Mar/2020:"))
        #expect(line.contains(" +0000] \"GET /simple/"))
        #expect(line.contains("\"-\" \"pip/20.0.2 {\\\"ci\\\":null,\\\"cpu\\\":"))
        #expect(line.hasSuffix("}\""))
        let old = text.split(separator: "\n").first { $0.contains("pip/9.0.1 {") }!
        #expect(!old.contains("setuptools_version") && !old.contains("\\\"ci\\\""))
    }

    @Test func catalogDocumentsHaveTheJSONAPIShape() throws {
        let s = try Scenario.parse(yaml: Support.small)
        let dir = Support.tempDir("catalog")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Simulator(scenario: s).run(to: dir)
        func doc(_ path: String) throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/catalog/pypi/\(path)"))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        let fl = try doc("flask-login/json")
        let info = try #require(fl["info"] as? [String: Any])
        #expect(info["name"] as? String == "Flask-Login")
        #expect(info["version"] as? String == "0.5.0")
        #expect(info["requires_dist"] as? [String] == ["Flask"])
        #expect(fl["last_serial"] is Int)
        #expect((fl["vulnerabilities"] as? [Any])?.isEmpty == true)
        let releases = try #require(fl["releases"] as? [String: [[String: Any]]])
        #expect(releases["0.4.1"]?.map { $0["packagetype"] as? String } == ["sdist"])
        let wheel = try #require(releases["0.5.0"]?.first { $0["packagetype"] as? String == "bdist_wheel" })
        #expect(wheel["filename"] as? String == "Flask_Login-0.5.0-py2.py3-none-any.whl")
        #expect(wheel["python_version"] as? String == "py2.py3")
        for key in ["upload_time", "upload_time_iso_8601", "yanked", "size", "digests", "url", "requires_python"] {
            #expect(wheel.keys.contains(key), "\(key)")
        }
        #expect((wheel["digests"] as? [String: String])?["sha256"]?.count == 64)
        #expect((fl["urls"] as? [Any])?.count == 2)
        // Release documents carry their own requirements; no `releases`.
        let op = try doc("octoprint/1.4.0/json")
        #expect(op["releases"] == nil)
        let opInfo = try #require(op["info"] as? [String: Any])
        #expect((opInfo["requires_dist"] as? [String])?.contains("futures<3.4,>=3.3; python_version < \"3\"") == true)
        #expect(opInfo["requires_python"] as? String == ">=2.7.9, <4")
        let opFiles = try #require(op["urls"] as? [[String: Any]])
        #expect(opFiles.first { $0["packagetype"] as? String == "sdist" }?["upload_time_iso_8601"] as? String != nil)
        // Platform packages: sdist and manylinux x86-64 wheels, no ARM wheels; py3-only versions get no cp27 wheel.
        let np = try doc("numpy/1.18.1/json")
        let names = (np["urls"] as? [[String: Any]] ?? []).compactMap { $0["filename"] as? String }
        #expect(names.contains("numpy-1.18.1.tar.gz"))
        #expect(names.contains("numpy-1.18.1-cp37-cp37m-manylinux1_x86_64.whl"))
        #expect(!names.contains { $0.contains("armv7l") || $0.contains("cp27") })
        // Markdown 3.2 is a py3 wheel.
        let md = try doc("markdown/3.2/json")
        #expect((md["urls"] as? [[String: Any]])?.contains { $0["filename"] as? String == "Markdown-3.2-py3-none-any.whl" } == true)
    }
}

@Suite(.serialized) struct ExampleScenarioTests {
    /// Each example runs and its incident shows in the ingested data the way the scenario says.
    @Test(arguments: ["quiet", "outage", "ci-farm", "mirror", "python3-release"])
    func exampleRunsAndIngests(_ name: String) throws {
        let s = try Scenario.load(path: Support.examples.appendingPathComponent("scenarios/\(name).yaml").path)
        let dir = Support.tempDir(name)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try Simulator(scenario: s).run(to: dir)
        #expect(summary.notes.isEmpty)
        let store = try Support.ingest(dir, files: summary.files)
        let daily = try Support.dailyTotals(store)
        for d in summary.days { #expect(daily[d.date] == d.downloads, "\(d.date)") }
        let typical = summary.days.map(\.baseline).sorted()[summary.days.count / 2]
        #expect(typical > 2500 && typical < 5500)
        switch name {
        case "quiet":
            #expect(summary.incidents.allSatisfy { $0.downloads == 0 })
            let friday = try #require(summary.day("2020-04-10"))
            let thursday = try #require(summary.day("2020-04-09"))
            #expect(Double(friday.downloads) < 0.9 * Double(thursday.downloads))
        case "outage":
            let hours = try store.aggregateSync(
                AggregateQuery(
                    bucket: .hour,
                    range: TimeRange(
                        from: UTCTime.parse("2020-02-18T09:00:00Z")!,
                        to: UTCTime.parse("2020-02-18T14:00:00Z")!)))
            #expect(hours.total < 20)
        case "ci-farm":
            let ci = summary.incidents[0]
            #expect(ci.clients == 3)
            #expect(ci.downloads > 2000)
            let rows = try store.aggregateSync(AggregateQuery(dimensions: [.client], filters: [.equals(.ci, "true")]))
            #expect(rows.rows.count == 3)
            #expect(
                Set(ci.projects.keys).isSuperset(of: ["influxdb", "paho-mqtt", "schedule", "pyserial", "requests", "urllib3", "six", "pytz"]
                ))
        case "mirror":
            let m = summary.incidents[0]
            #expect(m.clients == 1 && m.downloads > 1500)
            #expect(Set(m.projects.keys).count == s.baseline.packages.count)
        case "python3-release":
            let u = summary.incidents[0]
            // What does not divide into whole clients (under one set a day, 3 days) is baseline traffic.
            #expect((5391...5400).contains(u.downloads))
            let py = try store.aggregateSync(
                AggregateQuery(
                    dimensions: [.pythonMajor], filters: [.equals(.project, "paho-mqtt"), .equals(.version, "1.5.0")],
                    range: TimeRange(from: UTCTime.parse("2020-03-10")!, to: UTCTime.parse("2020-03-13")!)))
            #expect((py.rows.first { $0.values[0] == "3" }?.downloads ?? 0) > 1000)
            // Half the clients use piwheels as an extra index: they fetch paho-mqtt (sdist-only on PyPI) and RPi.GPIO
            // (no ARM wheel there) but not requests or influxdb (pure wheels on PyPI).
            #expect((u.projects["paho-mqtt"] ?? 0) > Int(1.6 * Double(u.projects["requests"] ?? 0)))
            #expect(u.projects["paho-mqtt"] == u.projects["rpi-gpio"])
        default: break
        }
    }
}

@Suite struct FactoryTests {
    static func base() throws -> Scenario {
        try Scenario.load(path: Support.examples.appendingPathComponent("scenarios/quiet.yaml").path)
    }

    @Test func sameSeedSameDraw() throws {
        let b = try Self.base()
        for kind in IncidentKind.allCases {
            let x = ScenarioFactory.randomized(base: b, kind: kind, seed: 42)
            let y = ScenarioFactory.randomized(base: b, kind: kind, seed: 42)
            #expect(x.scenario == y.scenario)
            #expect(x.expected == y.expected)
        }
        let kinds = Set((0..<40).map { Scenario.randomized(base: b, seed: UInt64($0)).expected.kind })
        #expect(kinds.count >= 4 && !kinds.contains(.none))
    }

    @Test(arguments: [IncidentKind.releaseUpgrade, .ciFarm, .outage, .mirror, .holiday, .none])
    func drawnIncidentsShowInTheData(_ kind: IncidentKind) throws {
        var b = try Self.base()
        b.endDay = b.startDay + 20
        let r = ScenarioFactory.randomized(base: b, kind: kind, seed: 9)
        let dir = Support.tempDir("factory-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try Simulator(scenario: r.scenario).run(to: dir)
        #expect(summary.notes.isEmpty)
        switch kind {
        case .none:
            #expect(r.scenario.incidents.isEmpty && r.expected.start == nil)
        case .releaseUpgrade, .ciFarm:
            let inc = summary.incidents[0]
            #expect(inc.downloads > 1000)
            #expect(Set(inc.projects.keys) == Set(r.expected.packages))
            for d in inc.days.keys {
                let t = UTCTime.parse(d)!
                #expect(t >= r.expected.start! && t < r.expected.end!)
            }
            if kind == .releaseUpgrade {
                #expect(r.scenario.downstream.count == 3)
                #expect(r.expected.pythonMajor != nil)
            }
        case .mirror:
            #expect(summary.incidents[0].clients == 1)
        case .outage, .holiday:
            #expect(r.expected.direction == "down")
        }
    }
}
