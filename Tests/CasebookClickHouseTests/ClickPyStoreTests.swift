import CasebookAnalysis
import CasebookAnalyzers
import CasebookCatalog
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import CasebookSimulation
import Foundation
import Testing

@testable import CasebookClickHouse

/// ClickPy's downloads table (`pypi.pypi`) read as a store, on the test server: the table is
/// created with ClickPy's columns (plain `String` for its `LowCardinality(String)`, which 18.16
/// does not have without a setting), filled one row per download, and asked what a SQLite store
/// holding the same downloads is asked.
@Suite(.enabled(if: TestServer.shouldRun), .serialized) struct ClickPyStoreTests {
    static let createTable = """
        CREATE TABLE %@ (
            date Date, country_code String, project String, type String, installer String,
            python_minor String, system String, version String
        ) ENGINE = MergeTree ORDER BY (project, date)
        """

    /// Creates ClickPy's downloads table `table` in the URL's database.
    static func createDownloads(_ url: ClickHouseURL, table: String = "pypi") throws {
        let client = ClickHouseClient(url: url)
        _ = try client.execute("CREATE DATABASE IF NOT EXISTS \(ClickHouseSQL.ident(url.database))")
        _ = try client.execute(createTable.replacingOccurrences(of: "%@", with: ClickHouseSchema.table(url.database, table)))
    }

    /// One downloads row as ClickPy has it (day, values, `''` for unknown).
    struct Row {
        var day: Int64
        var project: String
        var version: String?
        var fileType: String?
        var pythonMinor: String?
        var installer: String?
        var system: String?
        var country: String?
        var downloads: Int64
    }

    /// Inserts `downloads` rows per `Row` (one per download) into ClickPy's table.
    static func insert(_ rows: [Row], into url: ClickHouseURL, table: String = "pypi") throws {
        let client = ClickHouseClient(url: url)
        var w = TabSeparatedWriter()
        var pending = 0
        func flush() throws {
            guard pending > 0 else { return }
            try client.insert(
                "INSERT INTO \(ClickHouseSchema.table(url.database, table)) (date, country_code, project, type, installer, python_minor, system, version) FORMAT TabSeparated",
                rows: w.bytes)
            w.reset()
            pending = 0
        }
        for r in rows {
            for _ in 0..<r.downloads {
                w.text(UTCTime.dateString(r.day))
                w.text(r.country ?? "")
                w.text(r.project)
                w.text(r.fileType ?? "")
                w.text(r.installer ?? "")
                w.text(r.pythonMinor ?? "")
                w.text(r.system ?? "")
                w.text(r.version ?? "")
                w.endRow()
                pending += 1
                if pending >= 100_000 { try flush() }
            }
        }
        try flush()
    }

    /// Random downloads restricted to what ClickPy's table holds: a day (00:00 UTC), a project
    /// (written as uploaded: `Flask_Login`), version, file type, Python major.minor, installer,
    /// system and country, any of which may be unknown.
    static func randomDownloads(seed: UInt64) -> (events: [DownloadEvent], rows: [Row]) {
        var rng = SplitMix(seed: seed)
        func pick<T>(_ values: [T]) -> T { values[Int(rng.next() % UInt64(values.count))] }
        let first = UTCTime.parse("2020-02-24")! / 86400
        var events: [DownloadEvent] = []
        var rows: [Row] = []
        for _ in 0..<700 {
            let row = Row(
                day: (first + Int64(rng.next() % 30)) * 86400,
                project: pick(["Flask_Login", "requests", "paho-mqtt", "Paho.MQTT", "numpy", "RPi.GPIO"]),
                version: pick(["1.0", "2.0", "2.23.0", nil]), fileType: pick(["bdist_wheel", "sdist", "bdist_egg", nil]),
                pythonMinor: pick(["2.7", "3.7", "3.11", "3.8", nil]), installer: pick(["pip", "uv", "bandersnatch", nil]),
                system: pick(["Linux", "Windows", "Darwin", nil]), country: pick(["US", "DE", "CN", nil]),
                downloads: Int64(1 + rng.next() % 3))
            rows.append(row)
            var e = DownloadEvent(timestamp: row.day, count: row.downloads)
            e.project = ProjectName.normalize(row.project)
            e.projectDisplay = row.project
            e.version = row.version
            e.fileType = row.fileType
            // The Python version is only known to its minor part (python_major and
            // python_minor are what both stores derive from it).
            e.python = row.pythonMinor
            e.installer = row.installer
            e.system = row.system
            e.country = row.country
            events.append(e)
        }
        return (events, rows)
    }

    /// ClickPy's per-day tables, filled from `pypi` as its materialized views fill them.
    static func createPerDayTables(_ url: ClickHouseURL) throws {
        let client = ClickHouseClient(url: url)
        for t in ClickPyEventStore.perDayTables {
            let columns = ["project", "date", "version", "python_minor", "system", "country_code", "installer", "type"].filter {
                t.columns.contains($0)
            }
            let typed = columns.map { "\($0) \($0 == "date" ? "Date" : "String")" } + ["count UInt64"]
            let name = ClickHouseSchema.table(url.database, t.name)
            _ = try client.execute(
                "CREATE TABLE \(name) (\(typed.joined(separator: ", "))) ENGINE = SummingMergeTree ORDER BY (\(columns.joined(separator: ", ")))"
            )
            let list = columns.joined(separator: ", ")
            _ = try client.execute(
                "INSERT INTO \(name) (\(list), count) SELECT \(list), count() FROM \(ClickHouseSchema.table(url.database, "pypi")) GROUP BY \(list)"
            )
        }
    }

    @Test(arguments: [false, true]) func aggregatesMatchSQLiteOnTheSameDownloads(perDayTables: Bool) async throws {
        let (events, rows) = Self.randomDownloads(seed: 17)
        let sqlite = try freshSQLite()
        try load(events, into: sqlite)
        try await TestServer.withDatabase { url in
            try Self.createDownloads(url)
            try Self.insert(rows, into: url)
            if perDayTables { try Self.createPerDayTables(url) }
            var clickpyURL = url
            clickpyURL.layout = .clickpy
            let store = try ClickPyEventStore(url: clickpyURL)
            #expect(store.perDay.count == (perDayTables ? ClickPyEventStore.perDayTables.count : 0))
            let info = try await store.info()
            #expect(info.downloads == events.reduce(0) { $0 + $1.count })
            #expect(info.firstEvent == events.map(\.timestamp).min() && info.lastEvent == events.map(\.timestamp).max())

            let dimensionSets: [[CasebookCore.Dimension]] = [
                [], [.project], [.version], [.pythonMajor], [.pythonMinor], [.country], [.installer], [.system], [.fileType],
                [.project, .pythonMinor], [.installer, .fileType, .country], [.cpu], [.client], [.filename, .project]
            ]
            let filters: [[DimensionFilter]] = [
                [], [.equals(.project, "flask-login")], [.equals(.project, "paho-mqtt")],
                [DimensionFilter(.project, .notIn, ["requests", "numpy"])],
                [.equals(.pythonMinor, nil)], [DimensionFilter(.pythonMajor, .in, ["3", nil])],
                [DimensionFilter(.country, .notIn, [nil])], [DimensionFilter(.installer, .notIn, ["pip", nil])],
                [DimensionFilter(.installer, .notIn, ["pip"]), .equals(.fileType, "sdist")],
                [DimensionFilter(.system, .in, ["Linux", nil])],
                // What the layout lacks: a value selects nothing, unknown selects everything.
                [.equals(.cpu, "x86_64")], [.equals(.cpu, nil)], [DimensionFilter(.client, .notIn, [nil])],
                [DimensionFilter(.distro, .notIn, ["Ubuntu"])]
            ]
            let march = TimeRange(from: UTCTime.parse("2020-03-01")! - 3600, to: UTCTime.parse("2020-03-15")! + 7200)
            var i = 0
            var answered = 0
            var fromPerDay: Set<String> = []
            for bucket in [nil, TimeBucket.day, .week, .hour] {
                for dims in dimensionSets {
                    for f in filters {
                        i += 1
                        let q = AggregateQuery(
                            bucket: bucket, dimensions: dims, filters: f, range: i % 3 == 0 ? march : .all,
                            top: i % 4 == 0 ? 2 : nil)
                        let expected = try await sqlite.aggregate(q)
                        let got = try await store.aggregate(q)
                        #expect(got == expected, "\(q)\n\(store.sql(for: q))")
                        if !expected.rows.isEmpty { answered += 1 }
                        if let t = store.perDayTable(for: q) {
                            fromPerDay.insert(t)
                            #expect(store.sql(for: q).contains(t))
                        }
                    }
                }
            }
            // Most shapes select something (the comparison is not of empty tables).
            #expect(answered > i * 3 / 4, "\(answered) of \(i) queries answered rows")
            // With ClickPy's per-day tables, the queries that can read one do (the smallest that
            // has their columns); the others read `pypi`.
            if perDayTables {
                #expect(fromPerDay.contains("pypi_downloads_per_day") && fromPerDay.contains("pypi_downloads_per_day_by_version_by_python"))
                #expect(
                    store.perDayTable(for: AggregateQuery(bucket: .day, dimensions: [.pythonMajor]))
                        == "pypi_downloads_per_day_by_version_by_python")
                #expect(store.perDayTable(for: AggregateQuery(dimensions: [.installer, .system])) == nil)
            } else {
                #expect(fromPerDay.isEmpty)
            }
            // Hours are answered at day resolution: the store says it has days only.
            let coverage = try await StoreCoverage.of(store)
            #expect(coverage.resolution == .day && !coverage.hasClients)
            #expect(
                Set(coverage.dimensionsWithValues)
                    == [.project, .version, .fileType, .pythonMajor, .pythonMinor, .installer, .system, .country])
        }
    }

    static let packageRoot: URL = InvestigationParityTests.packageRoot

    static func run(_ playbook: String, store: any EventStore, catalog: RunCatalog, overrides: [(String, String)] = []) async throws
        -> RunReport
    {
        let url = packageRoot.appendingPathComponent("playbooks/\(playbook)")
        let book = try Playbook.load(from: url, displayPath: "playbooks/\(playbook)")
        let plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: overrides)
        return await PlaybookRunner(store: store, catalog: catalog).run(plan)
    }

    /// A one-package spike (paho-mqtt, upgraded by a downstream release on Python 3), simulated
    /// as BigQuery rows, loaded into ClickPy's tables (downloads one row each, the catalog as
    /// ClickPy's `projects`), and investigated with the unchanged playbooks.
    @Test func aPackageSpikeIsExplainedFromClickPysTables() async throws {
        var scenario = try Scenario.load(path: Self.packageRoot.appendingPathComponent("examples/scenarios/python3-release.yaml").path)
        scenario.formats = [.bigquery]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Simulator(scenario: scenario).run(to: dir.path)
        let sqlite = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
        let ingestor = try Ingestor(target: sqlite, options: IngestOptions(format: .bigquery))
        let bigquery = dir.appendingPathComponent("bigquery")
        for f in try FileManager.default.contentsOfDirectory(atPath: bigquery.path).sorted() {
            _ = try ingestor.ingest(path: bigquery.appendingPathComponent(f).path)
        }
        // The BigQuery rows, as ClickPy keeps them: by day, without the time, the client or the system details.
        let dims: [CasebookCore.Dimension] = [.project, .version, .fileType, .pythonMinor, .installer, .system, .country]
        let days = try await sqlite.aggregate(AggregateQuery(bucket: .day, dimensions: dims))
        let rows: [Row] = days.rows.map { (r: AggregateRow) -> Row in
            Row(
                day: r.bucketStart ?? 0, project: r.values[0] ?? "", version: r.values[1], fileType: r.values[2],
                pythonMinor: r.values[3], installer: r.values[4], system: r.values[5], country: r.values[6], downloads: r.downloads)
        }
        let folder = try CatalogFolder(directory: dir.appendingPathComponent("catalog"))

        try await TestServer.withDatabase { url in
            try Self.createDownloads(url)
            try Self.insert(rows, into: url)
            try ClickPyCatalogTests.load(folder, names: folder.projects(), into: url)
            let store = try ClickHouseStores.openRead(TestServer.text(url) + "?layout=clickpy")
            #expect(store is ClickPyEventStore)
            let catalog = RunCatalog(try ClickPyCatalog.open(TestServer.text(url) + "?layout=clickpy"))

            let report = try await Self.run("package-spike.yaml", store: store, catalog: catalog, overrides: [("project", "Paho_MQTT")])
            #expect(!report.steps.contains { $0.status == .failed }, "\(report.steps.map { "\($0.id) \($0.status) \($0.reason ?? "")" })")
            let window = try #require(try InvestigationParityTests.succeeded(report, "spike").outputs["window"]?.objectValue)
            #expect(window["direction"] == "up")
            #expect(window["start"]?.stringValue?.hasPrefix("2020-03-1") == true, "\(window)")
            #expect(try InvestigationParityTests.succeeded(report, "versions").outputs["values"] == ["1.5.0"])
            let top = try #require(try InvestigationParityTests.succeeded(report, "segments").outputs["top"]?.objectValue)
            #expect(top["dimension"] == "python_major" || top["dimension"] == "python_minor", "\(top)")
            #expect(top["value"]?.stringValue?.hasPrefix("3") == true, "\(top)")
            // No client keys in ClickPy's rows: the step says so (or is skipped, saying why) instead of guessing.
            let clients = try #require(report.step("clients"))
            #expect(
                clients.status == .skipped ? clients.reason?.isEmpty == false : clients.outputs["concentration"] == "unknown",
                "\(clients.status) \(clients.reason ?? "") \(clients.outputs)")

            // The package playbook's attribution, from ClickPy's projects as catalog: the
            // downstream release whose requirement change on the project matches the rise.
            let release = try #require(
                try InvestigationParityTests.succeeded(report, "attribution").outputs["hypotheses"]?.arrayValue?.first?.objectValue)
            #expect(release["kind"] == "release", "\(release)")
            #expect(release["project"]?.stringValue == "weather-station", "\(release)")
            #expect(release["version"]?.stringValue == "2.0.0", "\(release)")

            // With ClickPy's per-day tables beside `pypi`, the queries that can read them do, and
            // every step finds the same.
            try Self.createPerDayTables(url)
            let fast = try ClickHouseStores.openRead(TestServer.text(url) + "?layout=clickpy")
            #expect((fast as? ClickPyEventStore)?.perDay.isEmpty == false)
            let again = try await Self.run("package-spike.yaml", store: fast, catalog: catalog, overrides: [("project", "Paho_MQTT")])
            #expect(again.steps.map(\.status) == report.steps.map(\.status))
            #expect(again.steps.map(\.outputs) == report.steps.map(\.outputs))

            // The whole-index playbook on the same tables: attribution (with ClickPy's projects
            // as catalog) names the downstream release; what needs clients or hours does not fail.
            let index = try await Self.run("downloads-spike.yaml", store: store, catalog: catalog)
            let statuses = index.steps.map { "\($0.id) \($0.status.rawValue): \($0.reason ?? "") \($0.findings.map(\.title))" }
            #expect(!index.steps.contains { $0.status == .failed }, "\(statuses)")
            #expect(!index.steps.contains { $0.status == .skipped && ($0.reason ?? "").isEmpty }, "\(statuses)")
            let first = try #require(
                try InvestigationParityTests.succeeded(index, "attribution").outputs["hypotheses"]?.arrayValue?.first?.objectValue,
                "\(statuses)")
            #expect(first["kind"] == "release", "\(first)")
            #expect(first["project"]?.stringValue == "weather-station", "\(first)")
            #expect(first["version"]?.stringValue == "2.0.0", "\(first)")
            #expect(try InvestigationParityTests.succeeded(index, "clients").outputs["concentration"] == "unknown")
        }
    }

    @Test func tablesThatAreNotClickPysAndWritesAreRefused() async throws {
        try await TestServer.withDatabase { url in
            let client = ClickHouseClient(url: url)
            _ = try client.execute("CREATE DATABASE IF NOT EXISTS \(ClickHouseSQL.ident(url.database))")
            _ = try client.execute(
                "CREATE TABLE \(ClickHouseSchema.table(url.database, "pypi")) (date Date, project String, version String) ENGINE = MergeTree ORDER BY project"
            )
            let text = TestServer.text(url)
            let lacking = #expect(throws: ClickHouseStoreError.self) { try ClickHouseStores.openRead(text + "?layout=clickpy") }
            #expect(
                lacking?.description.contains(
                    "lacks the column(s) country_code, type, installer, python_minor, system of ClickPy's downloads table")
                    == true, "\(String(describing: lacking))")
            let missing = #expect(throws: ClickHouseStoreError.self) { try ClickPyEventStore.open(text + "?layout=clickpy&table=nope") }
            #expect(missing?.description.contains("no table `\(url.database).nope`") == true)
            let notClickPy = #expect(throws: ClickHouseStoreError.self) { try ClickPyEventStore.open(text) }
            #expect(notClickPy?.description.contains("?layout=clickpy") == true)

            // Another table with ClickPy's columns is named with table=.
            try Self.createDownloads(url, table: "pypi_downloads")
            let other = try ClickPyEventStore.open(text + "?layout=clickpy&table=pypi_downloads")
            #expect(other.location.contains("pypi_downloads") && other.location.contains("read-only"))

            // Writes are refused before anything is sent, naming the layout; no password anywhere.
            for location in [text + "?layout=clickpy", text + "?layout=clickpy&table=pypi_downloads"] {
                let refused = #expect(throws: ClickHouseStoreError.self) { try ClickHouseStores.openWritable(location) }
                let message = refused?.description ?? ""
                #expect(message.contains("read-only") && message.contains("layout=clickpy"), "\(message)")
                #expect(!message.contains("casebook-test") && !message.contains(url.password ?? "\u{0}"))
            }
            let tables = try client.rows("SHOW TABLES FROM \(ClickHouseSQL.ident(url.database))").compactMap { $0.first ?? nil }
            #expect(Set(tables) == ["pypi", "pypi_downloads"], "a refused write created \(tables)")
        }
    }

    @Test func clickPyURLsAreParsedAndRedacted() throws {
        let u = try ClickHouseURL("clickhouse://me:s3cret@clickpy.example:8443/pypi?layout=clickpy&table=pypi_downloads", environment: [:])
        #expect(u.layout == .clickpy && u.table == "pypi_downloads" && u.database == "pypi")
        #expect(u.redacted == "clickhouse://me@clickpy.example:8443/pypi?layout=clickpy&table=pypi_downloads")
        #expect(!u.redacted.contains("s3cret"))
        let refused = ClickHouseStoreError.readOnly(u.redacted, layout: "clickpy").description
        #expect(!refused.contains("s3cret") && refused.contains("layout=clickpy"))
    }
}
