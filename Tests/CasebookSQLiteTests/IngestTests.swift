import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@Suite struct CombinedLogIngestTests {
    @Test func piwheelsSampleCountsDownloadsAndOtherRequests() throws {
        let (store, _) = try freshStore()
        let s = try ingest(store, fixture("piwheels-sample.log"))
        #expect(s.format == "combined")
        #expect(s.linesRead == 20)
        #expect(s.downloads == 4)  // lines 3, 7, 11, 12: GET 200 of a .whl
        #expect(s.otherRequests["index-page"] == 8)
        #expect(s.otherRequests["project-page"] == 4)
        #expect(s.otherRequests["other-page"] == 3)
        #expect(s.otherRequests["not-found"] == 1)
        #expect(s.quarantined.isEmpty)
        let byProject = try store.aggregateSync(AggregateQuery(dimensions: [.project, .version]))
        #expect(byProject.rows.map { $0.values } == [["foo", "0.1"], ["foo", "0.2"], ["markupsafe", "1.1.1"], ["pyyaml", "3.13"]])
        // Line 3: pip 9.0.1 on CPython 3.5.3, armv7l Raspbian.
        let t = try store.aggregateSync(
            AggregateQuery(
                dimensions: [.installer, .installerVersion, .python, .pythonMajor, .cpu, .distro],
                filters: [.equals(.project, "markupsafe")]))
        #expect(t.rows.first?.values == ["pip", "9.0.1", "3.5.3", "3", "armv7l", "Raspbian GNU/Linux"])
    }

    @Test func handCountedLogWithEscapesTimeZonesAndMalformedLines() throws {
        let (store, _) = try freshStore()
        let s = try ingest(store, fixture("march.log"))
        #expect(s.linesRead == 16)
        #expect(s.downloads == 8)
        #expect(s.otherRequests == ["non-get": 1, "not-modified": 1, "index-page": 1, "not-found": 1])
        #expect(s.quarantined.values.reduce(0, +) == 4)
        // Times carry offsets; days are UTC.
        #expect(try dailyTotals(store) == ["2020-03-04": 2, "2020-03-05": 5, "2020-03-06": 1])
        let projects = try store.aggregateSync(AggregateQuery(dimensions: [.project]))
        #expect(projects.rows.first?.values == ["flask-login"])
        #expect(projects.rows.first?.downloads == 3)
        #expect(
            Set(projects.rows.map { $0.values[0]! }) == ["flask-login", "markdown", "numpy", "semantic-version", "sentry-sdk", "my-pkg"])
        // nginx's \x22 escaping: the Python 3 client on line 3.
        let py3 = try store.aggregateSync(AggregateQuery(dimensions: [.python, .installerVersion], filters: [.equals(.pythonMajor, "3")]))
        #expect(py3.rows.map(\.values) == [["3.7.3", "20.0.2"]])
        // The old pip user agent form.
        let old = try store.aggregateSync(
            AggregateQuery(
                dimensions: [.installer, .installerVersion, .python, .implementation, .system],
                filters: [.equals(.project, "numpy")]))
        #expect(old.rows.map(\.values) == [["pip", "1.4.1", "2.7.14", "CPython", "Darwin"]])
        // File types and wheel tags from the file names.
        let types = try store.aggregateSync(AggregateQuery(dimensions: [.fileType]))
        #expect(Dictionary(uniqueKeysWithValues: types.rows.map { ($0.values[0]!, $0.downloads) }) == ["bdist_wheel": 6, "sdist": 2])
        // Clients are pseudonymous keys, and the same address gives the same key.
        let clients = try store.aggregateSync(AggregateQuery(dimensions: [.client]))
        #expect(clients.rows.count == 5)
        #expect(clients.rows.allSatisfy { $0.values[0]!.hasPrefix("c-") && $0.values[0]!.count == 18 })
        // Quarantined lines keep their reason and never the raw address.
        let q = try store.quarantinedLines()
        #expect(q.map(\.line) == [12, 13, 14, 15])
        #expect(q[1].reason.contains("32/Mar/2020:12:36:00 +0000"))
        #expect(q[2].reason.contains("3-digit status"))
        for line in q { #expect(!line.raw.contains("203.0.113.6")) }
        #expect(q[1].raw.hasPrefix("c-"))
    }

    @Test func gzipInputGivesTheSameEvents() throws {
        let (a, _) = try freshStore()
        let (b, _) = try freshStore()
        _ = try ingest(a, fixture("march.log"))
        let s = try ingest(b, fixture("march.log.gz"))
        #expect(s.downloads == 8)
        let q = AggregateQuery(bucket: .hour, dimensions: [.project, .version, .python, .cpu])
        #expect(try a.aggregateSync(q).rows == b.aggregateSync(q).rows)
    }

    @Test func strictModeRejectsTheFileAndStoresNothing() throws {
        let (store, _) = try freshStore()
        #expect(throws: IngestError.self) {
            try ingest(store, fixture("march.log"), options: IngestOptions(strict: true))
        }
        let info = try store.infoSync()
        #expect(info.eventRows == 0)
        #expect(info.sources.isEmpty)
    }
}

@Suite struct IdempotencyTests {
    @Test func ingestingTwiceAddsNothing() throws {
        let (store, _) = try freshStore()
        _ = try ingest(store, fixture("march.log"))
        let second = try ingest(store, fixture("march.log"))
        #expect(second.alreadyIngested)
        #expect(try store.infoSync().downloads == 8)
    }

    @Test func renamedAndCompressedCopiesAreRecognisedByContent() throws {
        let (store, dir) = try freshStore()
        _ = try ingest(store, fixture("march.log"))
        let renamed = dir.appendingPathComponent("access.log.1").path
        try FileManager.default.copyItem(atPath: fixture("march.log"), toPath: renamed)
        #expect(try ingest(store, renamed).alreadyIngested)
        #expect(try ingest(store, fixture("march.log.gz")).alreadyIngested)
        #expect(try store.infoSync().downloads == 8)
        #expect(try store.infoSync().sources.count == 1)
    }

    @Test func aGrowingLogAddsOnlyItsNewLines() throws {
        let (store, dir) = try freshStore()
        let lines = try String(contentsOfFile: fixture("march.log"), encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let path = dir.appendingPathComponent("access.log").path
        try (lines[0..<5].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let first = try ingest(store, path)
        #expect(first.downloads == 5)
        try (lines.joined(separator: "\n")).write(toFile: path, atomically: true, encoding: .utf8)
        let second = try ingest(store, path)
        #expect(second.resumed)
        #expect(second.linesRead == 11)
        #expect(second.downloads == 3)
        #expect(try dailyTotals(store) == ["2020-03-04": 2, "2020-03-05": 5, "2020-03-06": 1])
        #expect(try ingest(store, path).alreadyIngested)
        // Quarantined lines are numbered in the whole file.
        #expect(try store.quarantinedLines().map(\.line) == [12, 13, 14, 15])
    }

    @Test func aFileWithTheSameFirstLineButOtherContentIsANewSource() throws {
        let (store, dir) = try freshStore()
        let lines = try String(contentsOfFile: fixture("march.log"), encoding: .utf8).split(separator: "\n")
        let a = dir.appendingPathComponent("a.log").path
        let b = dir.appendingPathComponent("b.log").path
        try (lines[0] + "\n" + lines[1] + "\n").write(toFile: a, atomically: true, encoding: .utf8)
        try (lines[0] + "\n" + lines[2] + "\n").write(toFile: b, atomically: true, encoding: .utf8)
        _ = try ingest(store, a)
        let s = try ingest(store, b)
        #expect(!s.resumed)
        #expect(s.downloads == 2)
        #expect(try store.infoSync().downloads == 4)
    }
}

@Suite struct InterruptedIngestTests {
    struct InjectedFailure: Error {}

    @Test func aFailureHalfWayLeavesTheStoreAsItWas() throws {
        let (store, _) = try freshStore()
        _ = try ingest(store, fixture("piwheels-sample.log"))
        let before = try store.infoSync()
        let beforeRows = try store.aggregateSync(AggregateQuery(bucket: .hour, dimensions: [.project, .client])).rows
        let ingestor = try Ingestor(target: store)
        ingestor.afterLine = { line in if line == 8 { throw InjectedFailure() } }
        #expect(throws: InjectedFailure.self) { try ingestor.ingest(path: fixture("march.log")) }
        let after = try store.infoSync()
        #expect(after.downloads == before.downloads)
        #expect(after.sources == before.sources)
        #expect(after.quarantined == before.quarantined)
        #expect(try store.aggregateSync(AggregateQuery(bucket: .hour, dimensions: [.project, .client])).rows == beforeRows)
        // A retry gives exact counts.
        let retry = try ingest(store, fixture("march.log"))
        #expect(retry.downloads == 8)
        #expect(try store.infoSync().downloads == before.downloads + 8)
    }
}
