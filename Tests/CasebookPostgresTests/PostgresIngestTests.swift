import CasebookAnalysis
import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookPostgres

/// The embedded store's ingest guarantees, on PostgreSQL: the same counts as SQLite for the same
/// log, sources recognised by content, growth-only re-ingest, all-or-nothing per file.
@Suite(.enabled(if: TestServer.shouldRun)) struct PostgresIngestTests {
    func ingest(_ store: some IngestTarget, _ path: String, options: IngestOptions = IngestOptions()) throws -> IngestSummary {
        try Ingestor(target: store, options: options).ingest(path: path)
    }

    @Test func theFixtureLogGivesTheSameAnswersAsSQLite() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let pg = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            let sqlite = try freshSQLite()
            let s = try ingest(pg, fixture("march.log"))
            _ = try ingest(sqlite, fixture("march.log"))
            #expect(s.linesRead == 16)
            #expect(s.downloads == 8)
            #expect(s.otherRequests == ["non-get": 1, "not-modified": 1, "index-page": 1, "not-found": 1])
            #expect(s.quarantined.values.reduce(0, +) == 4)
            let queries = [
                AggregateQuery(bucket: .day),
                AggregateQuery(bucket: .hour, dimensions: [.project, .version, .fileType]),
                AggregateQuery(dimensions: [
                    .installer, .installerVersion, .python, .pythonMajor, .pythonMinor, .implementation,
                    .distro, .distroVersion, .system, .cpu, .ci, .country, .index
                ]),
                AggregateQuery(dimensions: [.filename], filters: [DimensionFilter(.fileType, .notIn, ["sdist"])], top: 3)
            ]
            for q in queries {
                #expect(try pg.aggregateSync(q) == sqlite.aggregateSync(q))
            }
            // Client keys differ (each store has its own salt); the grouping is the same.
            let pgClients = try pg.aggregateSync(AggregateQuery(dimensions: [.client]))
            let sqliteClients = try sqlite.aggregateSync(AggregateQuery(dimensions: [.client]))
            #expect(pgClients.rows.map(\.downloads) == sqliteClients.rows.map(\.downloads))
            #expect(pgClients.rows.allSatisfy { $0.values[0]!.hasPrefix("c-") && $0.values[0]!.count == 18 })
            // Info, quarantine and other requests, as SQLite keeps them.
            let info = try pg.infoSync()
            #expect(info.downloads == 8)
            #expect(info.sources.count == 1)
            #expect(info.sources[0].lines == 16)
            #expect(info.quarantined.values.reduce(0, +) == 4)
            #expect(try pg.otherRequestCounts() == sqlite.otherRequestCounts())
            let q = try pg.quarantinedLines()
            #expect(q.map(\.line) == [12, 13, 14, 15])
            #expect(q.map(\.reason) == (try sqlite.quarantinedLines()).map(\.reason))
            for line in q { #expect(!line.raw.contains("203.0.113.6")) }
        }
    }

    @Test func ingestingTwiceRenamedOrCompressedAddsNothing() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            _ = try ingest(store, fixture("march.log"))
            #expect(try ingest(store, fixture("march.log")).alreadyIngested)
            let dir = try temporaryDirectory()
            let renamed = dir.appendingPathComponent("access.log.1").path
            try FileManager.default.copyItem(atPath: fixture("march.log"), toPath: renamed)
            #expect(try ingest(store, renamed).alreadyIngested)
            let info = try store.infoSync()
            #expect(info.downloads == 8)
            #expect(info.sources.count == 1)
            // A second connection (another process) sees the same store.
            let other = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            #expect(try ingest(other, fixture("march.log")).alreadyIngested)
        }
    }

    @Test func aGrowingLogAddsOnlyItsNewLines() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            let dir = try temporaryDirectory()
            let lines = try String(contentsOfFile: fixture("march.log"), encoding: .utf8).split(
                separator: "\n", omittingEmptySubsequences: false)
            let path = dir.appendingPathComponent("access.log").path
            try (lines[0..<5].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try ingest(store, path).downloads == 5)
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let second = try ingest(store, path)
            #expect(second.resumed)
            #expect(second.linesRead == 11)
            #expect(second.downloads == 3)
            let days = try store.aggregateSync(AggregateQuery(bucket: .day))
            #expect(
                Dictionary(uniqueKeysWithValues: days.rows.map { (UTCTime.dateString($0.bucketStart!), $0.downloads) })
                    == ["2020-03-04": 2, "2020-03-05": 5, "2020-03-06": 1])
            #expect(try ingest(store, path).alreadyIngested)
            #expect(try store.quarantinedLines().map(\.line) == [12, 13, 14, 15])
        }
    }

    struct InjectedFailure: Error {}

    @Test func aFailureHalfWayLeavesTheStoreAsItWas() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            let dir = try temporaryDirectory()
            // A first source, so "as it was" is not just "empty".
            let lines = try String(contentsOfFile: fixture("march.log"), encoding: .utf8).split(separator: "\n")
            let first = dir.appendingPathComponent("first.log").path
            try (lines[0..<3].joined(separator: "\n") + "\n").write(toFile: first, atomically: true, encoding: .utf8)
            _ = try ingest(store, first)
            let before = try store.infoSync()
            let q = AggregateQuery(bucket: .hour, dimensions: [.project, .client])
            let beforeRows = try store.aggregateSync(q).rows
            let ingestor = try Ingestor(target: store)
            ingestor.afterLine = { line in if line == 8 { throw InjectedFailure() } }
            let other = dir.appendingPathComponent("other.log").path
            try (lines[1...].joined(separator: "\n") + "\n").write(toFile: other, atomically: true, encoding: .utf8)
            #expect(throws: InjectedFailure.self) { try ingestor.ingest(path: other) }
            let after = try store.infoSync()
            #expect(after.downloads == before.downloads)
            #expect(after.eventRows == before.eventRows)
            #expect(after.sources == before.sources)
            #expect(after.quarantined == before.quarantined)
            #expect(try store.aggregateSync(q).rows == beforeRows)
            // The connection is usable again, and a retry gives exact counts.
            let retry = try ingest(store, other)
            #expect(retry.downloads == 7)
            #expect(try store.infoSync().downloads == before.downloads + 7)
        }
    }

    @Test func strictModeRejectsTheFileAndStoresNothing() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            #expect(throws: IngestError.self) { try ingest(store, fixture("march.log"), options: IngestOptions(strict: true)) }
            let info = try store.infoSync()
            #expect(info.eventRows == 0)
            #expect(info.sources.isEmpty)
        }
    }

    @Test func manyEventsGoThroughSeveralCopyBatches() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            var events: [DownloadEvent] = []
            let start = UTCTime.epoch(year: 2020, month: 3, day: 1)
            for i in 0..<(PostgresIngestSink.batchSize * 2 + 123) {
                var e = DownloadEvent(timestamp: start + Int64(i % 86400))
                e.project = "p\(i % 7)"
                e.filename = "p\(i % 7)-1.0.tar.gz"
                e.client = "c-\(i % 5000)"
                e.installer = i % 3 == 0 ? "pip" : nil
                e.systemRelease = "tab\there, newline\nhere, backslash\\ here"
                events.append(e)
            }
            try load(events, into: store)
            let q = AggregateQuery(dimensions: [.project, .installer], top: 10)
            #expect(try store.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: events))
            #expect(try store.aggregateSync(AggregateQuery(dimensions: [.client])).rows.count == 5000)
            let c = try PGConnection(url: PostgresURL(TestServer.with(base, "schema=\(schema)")))
            #expect(
                try c.execute("SELECT DISTINCT system_release FROM \(schema).profiles").rows == [
                    ["tab\there, newline\nhere, backslash\\ here"]
                ])
        }
    }
}
