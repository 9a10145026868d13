import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookClickHouse

/// The embedded store's ingest guarantees, on ClickHouse: the same counts as SQLite for the same
/// log, sources recognised by content, growth-only re-ingest, nothing visible of an ingest that
/// failed or was killed.
@Suite(.enabled(if: TestServer.shouldRun)) struct ClickHouseIngestTests {
    func ingest(_ store: some IngestTarget, _ path: String, options: IngestOptions = IngestOptions()) throws -> IngestSummary {
        try Ingestor(target: store, options: options).ingest(path: path)
    }

    @Test func theFixtureLogGivesTheSameAnswersAsSQLite() async throws {
        try await TestServer.withDatabase { url in
            let ch = try ClickHouseEventStore(url: url)
            let sqlite = try freshSQLite()
            let s = try ingest(ch, fixture("march.log"), options: IngestOptions(index: "piwheels"))
            _ = try ingest(sqlite, fixture("march.log"), options: IngestOptions(index: "piwheels"))
            #expect(s.linesRead == 16)
            #expect(s.downloads == 8)
            #expect(s.otherRequests == ["non-get": 1, "not-modified": 1, "index-page": 1, "not-found": 1])
            #expect(s.quarantined.values.reduce(0, +) == 4)
            let queries = [
                AggregateQuery(bucket: .day),
                AggregateQuery(bucket: .hour, dimensions: [.project, .version, .fileType, .filename]),
                AggregateQuery(dimensions: [
                    .installer, .installerVersion, .python, .pythonMajor, .pythonMinor, .implementation,
                    .distro, .distroVersion, .libc, .libcVersion, .openssl, .system, .cpu, .ci, .country, .index
                ]),
                AggregateQuery(dimensions: [.filename], filters: [DimensionFilter(.fileType, .notIn, ["sdist"])], top: 3)
            ]
            for q in queries {
                #expect(try ch.aggregateSync(q) == sqlite.aggregateSync(q))
            }
            // Client keys differ (each store has its own salt); the grouping is the same.
            let chClients = try ch.aggregateSync(AggregateQuery(dimensions: [.client]))
            let sqliteClients = try sqlite.aggregateSync(AggregateQuery(dimensions: [.client]))
            #expect(chClients.rows.map(\.downloads) == sqliteClients.rows.map(\.downloads))
            #expect(chClients.rows.allSatisfy { $0.values[0]!.hasPrefix("c-") && $0.values[0]!.count == 18 })
            // Info, quarantine, other requests and the server's answers, as SQLite keeps them.
            let info = try ch.infoSync()
            let sqliteInfo = try await sqlite.info()
            #expect(info.downloads == 8)
            #expect(info.eventRows == sqliteInfo.eventRows)
            #expect(info.firstEvent == sqliteInfo.firstEvent && info.lastEvent == sqliteInfo.lastEvent)
            #expect(info.sources.count == 1)
            #expect(info.sources[0].lines == 16)
            #expect(info.sources[0].index == "piwheels")
            #expect(info.sources[0].fingerprint == sqliteInfo.sources[0].fingerprint)
            #expect(info.sources[0].otherRequests == 4)
            #expect(info.quarantined == sqliteInfo.quarantined)
            #expect(try ch.otherRequestCounts() == sqlite.otherRequestCounts())
            let q = try ch.quarantinedLines()
            #expect(q.map(\.line) == [12, 13, 14, 15])
            #expect(q.map(\.reason) == (try sqlite.quarantinedLines()).map(\.reason))
            for line in q { #expect(!line.raw.contains("203.0.113.6")) }
            let all = TimeRange(from: 0, to: 4_000_000_000)
            #expect(try await ch.requestCounts(in: all) == sqlite.requestCounts(in: all))
            #expect(try await ch.requestLogSpan() == sqlite.requestLogSpan())
        }
    }

    @Test func ingestingTwiceOrRenamedAddsNothing() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            _ = try ingest(store, fixture("march.log"))
            let before = try store.infoSync()
            #expect(try ingest(store, fixture("march.log")).alreadyIngested)
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let renamed = dir.appendingPathComponent("access.log.1").path
            try FileManager.default.copyItem(atPath: fixture("march.log"), toPath: renamed)
            #expect(try ingest(store, renamed).alreadyIngested)
            #expect(try store.infoSync().sources.map(\.name) == ["access.log.1"])
            // Another client (another process) recognises it too.
            let other = try ClickHouseEventStore(url: url)
            #expect(try ingest(other, fixture("march.log")).alreadyIngested)
            var after = try store.infoSync()
            #expect(after.downloads == 8)
            #expect(after.sources.count == 1)
            // As in the other stores, a source is known by the name it was last ingested under
            // (march.log again), and its time is that of the last look.
            #expect(after.sources.map(\.name) == ["march.log"])
            #expect(after.sources[0].ingestedAt >= before.sources[0].ingestedAt)
            after.sources[0].ingestedAt = before.sources[0].ingestedAt
            #expect(after == before)
        }
    }

    @Test func aGrowingLogAddsOnlyItsNewLines() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
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
            let info = try store.infoSync()
            #expect(info.sources.count == 1)
            #expect(info.sources[0].downloads == 8)
            #expect(info.sources[0].lines == 16)
            #expect(try store.quarantinedLines().map(\.line) == [12, 13, 14, 15])
        }
    }

    struct InjectedFailure: Error {}

    @Test func aFailureHalfWayLeavesTheStoreAsItWas() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
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
            #expect(after == before)
            #expect(try store.aggregateSync(q).rows == beforeRows)
            // A retry gives exact counts.
            let retry = try ingest(store, other)
            #expect(retry.downloads == 7)
            #expect(try store.infoSync().downloads == before.downloads + 7)
        }
    }

    /// What a killed ingest leaves: rows already sent to the server, and no commit. None of it is
    /// seen by any read, and the file can then be ingested as if never seen.
    @Test func aKilledIngestLeavesNothingVisible() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            _ = try ingest(store, fixture("march.log"))
            let before = try store.infoSync()
            let q = AggregateQuery(bucket: .day, dimensions: [.project])
            let beforeRows = try store.aggregateSync(q).rows
            // An ingest that wrote a batch of events, quarantined lines and request counts, then died.
            let sink = ClickHouseIngestSink(client: store.client, ingestID: 12345, sourceID: 2)
            var e = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 5), count: 7)
            e.project = "half-written"
            for _ in 0..<10 { try sink.add(e) }
            try sink.quarantine(line: 1, reason: "bad line", redactedLine: "x")
            try sink.addRequestCounts([RequestCount(hour: UTCTime.epoch(year: 2020, month: 3, day: 5), status: 200, count: 10)])
            try sink.flush()
            let raw = try store.client.rows("SELECT count() FROM \(ClickHouseSchema.table(url.database, "events"))")
            #expect(raw == [[String(before.eventRows + 10)]], "the dead ingest's rows are on the server")
            #expect(try store.infoSync() == before)
            #expect(try store.aggregateSync(q).rows == beforeRows)
            #expect(try store.quarantinedLines().count == 4)
            let all = TimeRange(from: 0, to: 4_000_000_000)
            let sqlite = try freshSQLite()
            _ = try ingest(sqlite, fixture("march.log"))
            #expect(try await store.requestCounts(in: all) == sqlite.requestCounts(in: all))
            // Ingesting through a fresh client still sees only committed data.
            let reopened = try ClickHouseEventStore.openExisting(url: url)
            #expect(try reopened.infoSync() == before)
        }
    }

    @Test func strictModeRejectsTheFileAndStoresNothing() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            #expect(throws: IngestError.self) { try ingest(store, fixture("march.log"), options: IngestOptions(strict: true)) }
            let info = try store.infoSync()
            #expect(info.eventRows == 0)
            #expect(info.sources.isEmpty)
            #expect(info.quarantined.isEmpty)
        }
    }

    /// An insert sent on the sink's other thread that the server refuses fails the ingest with
    /// the server's message, and leaves nothing visible.
    @Test func anInsertTheServerRefusesFailsTheIngestAndLeavesNothing() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            store.rowsPerInsert = 10
            let events = AggregateParityTests.randomEvents(count: 45, seed: 3)
            try load(Array(events[0..<5]), into: store, name: "first")
            let before = try store.infoSync()
            let client = ClickHouseClient(url: url)
            let eventsTable = ClickHouseSchema.table(url.database, "events")
            let moved = ClickHouseSchema.table(url.database, "events_moved")
            #expect {
                try load(events, into: store, name: "second") { i in
                    // After two inserts, the table goes away: the third insert is refused.
                    if i == 25 { try client.execute("RENAME TABLE \(eventsTable) TO \(moved)") }
                }
            } throws: { error in
                "\(error)".contains("events")
                    && (error as? ClickHouseStoreError).map { if case .queryFailed = $0 { true } else { false } } == true
            }
            try client.execute("RENAME TABLE \(moved) TO \(eventsTable)")
            #expect(try store.infoSync() == before)
            #expect(
                try store.aggregateSync(AggregateQuery(bucket: .day))
                    == ReferenceAggregator.aggregate(AggregateQuery(bucket: .day), over: Array(events[0..<5])))
        }
    }

    @Test func manyEventsGoThroughSeveralInsertsWithEveryByteIntact() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            // Three inserts (of 90,000, 90,000 and 20,123 events), one sent while the next is written.
            store.rowsPerInsert = 90_000
            var events: [DownloadEvent] = []
            let start = UTCTime.epoch(year: 2020, month: 3, day: 1)
            let awkward = "tab\there, newline\nhere, backslash\\ here, \\N, quote' \"q\", cr\r, nul\u{0}, é"
            for i in 0..<200_123 {
                var e = DownloadEvent(timestamp: start + Int64(i % 86400))
                e.project = "p\(i % 7)"
                e.filename = "p\(i % 7)-1.0.tar.gz"
                e.client = "c-\(i % 5000)"
                e.installer = i % 3 == 0 ? "pip" : nil
                e.distro = i % 2 == 0 ? awkward : "\\N"
                events.append(e)
            }
            try load(events, into: store)
            let q = AggregateQuery(dimensions: [.project, .installer], top: 10)
            #expect(try store.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: events))
            let d = AggregateQuery(dimensions: [.distro], filters: [DimensionFilter(.distro, .in, [awkward, "\\N"])])
            #expect(try store.aggregateSync(d) == ReferenceAggregator.aggregate(d, over: events))
            #expect(try store.aggregateSync(AggregateQuery(dimensions: [.client])).rows.count == 5000)
        }
    }
}
