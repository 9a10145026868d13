import CasebookCore
import CasebookIngest
import CasebookStoreTesting
import Foundation
import Testing

@testable import CasebookClickHouse

/// `casebook sources remove` and `casebook watch`'s registry on ClickHouse, on one server and on
/// the two-shard cluster: a removed source vanishes from every answer at once and its file can be
/// ingested again; the registry passes the scenario the other stores pass.
@Suite(.enabled(if: TestServer.shouldRun)) struct SourceRemovalAndWatchTests {
    /// Ingests two sources (the second with quarantined lines, request counts and other
    /// requests), removes the second, and checks every answer is the first's alone.
    static func removeOneOfTwo(_ url: ClickHouseURL) async throws {
        let store = try ClickHouseEventStore(url: url)
        let raw = try ClickHouseEventStore(url: url, useRollups: false)
        let a = AggregateParityTests.randomEvents(count: 1500, seed: 21)
        let b = AggregateParityTests.randomEvents(count: 1200, seed: 22)
        try load(a, into: store, name: "a")
        let hour = UTCTime.epoch(year: 2020, month: 3, day: 5)
        func ingestB() throws {
            _ = try store.ingest(IngestPlan(existing: nil, fingerprint: "b", name: "b", format: "test", index: nil)) { sink in
                for e in b { try sink.add(e) }
                try sink.quarantine(line: 3, reason: "test", redactedLine: "-")
                try sink.addRequestCounts([RequestCount(hour: hour, status: 404, count: 2)])
                var s = IngestSummary(name: "b", format: "test", resumed: false, alreadyIngested: false)
                s.otherRequests = ["index-page": 2]
                return s
            }
        }
        try ingestB()
        #expect(try store.infoSync().sources.compactMap(\.id) == [1, 2])
        #expect(try store.removeSource(id: 2).name == "b")
        for s in [store, raw, try ClickHouseEventStore.openExisting(url: url)] {
            let info = try s.infoSync()
            #expect(info.sources.map(\.name) == ["a"])
            #expect(info.eventRows == Int64(a.count))
            #expect(info.quarantined.isEmpty)
            #expect(try s.quarantinedLines().isEmpty)
            #expect(try s.otherRequestCounts().isEmpty)
            #expect(try await s.requestCounts(in: TimeRange(from: 0, to: 4_000_000_000)).isEmpty)
            #expect(try s.sources(withFingerprint: "b").isEmpty)
        }
        for (i, q) in AggregateParityTests.queries.enumerated() {
            let expected = ReferenceAggregator.aggregate(q, over: a)
            #expect(try store.aggregateSync(q) == expected, "query \(i) from \(store.plan(for: q).table)")
            #expect(try raw.aggregateSync(q) == expected, "query \(i) from the events")
        }
        #expect(throws: ClickHouseStoreError.noSuchSource(url.redacted, id: 2, known: [1])) { try store.removeSource(id: 2) }
        // The server deletes the removed rows in the background.
        let owner = store.shards[store.shardIndex(of: 2)]
        var left = "?"
        for _ in 0..<100 {
            left = try owner.scalar("SELECT count() FROM \(ClickHouseSchema.table(url.database, "events")) WHERE source_id = 2") ?? "?"
            if left == "0" { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(left == "0")
        // The same file again is a new source, counted once.
        try ingestB()
        let again = try store.infoSync()
        #expect(again.sources.compactMap(\.id) == [1, 3])
        #expect(again.eventRows == Int64(a.count + b.count))
        #expect(
            try store.aggregateSync(AggregateQuery(bucket: .day))
                == ReferenceAggregator.aggregate(AggregateQuery(bucket: .day), over: a + b))
    }

    @Test func aRemovedSourceVanishesFromEveryAnswerOnOneServer() async throws {
        try await TestServer.withDatabase { url in try await Self.removeOneOfTwo(url) }
    }

    @Test(.enabled(if: TestCluster.shouldRun)) func aRemovedSourceVanishesFromEveryAnswerOnTwoShards() async throws {
        try await TestCluster.withDatabase { url in try await Self.removeOneOfTwo(url) }
    }

    @Test func theWatchRegistryOnOneServer() async throws {
        try await TestServer.withDatabase { url in
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try await WatchRegistryContract.run(
                try ClickHouseEventStore(url: url), in: dir, reopen: { try ClickHouseEventStore(url: url) },
                expect: { #expect($0, "\($1)") })
        }
    }

    @Test(.enabled(if: TestCluster.shouldRun)) func theWatchRegistryOnTwoShards() async throws {
        try await TestCluster.withDatabase { url in
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let store = try ClickHouseEventStore(url: url)
            try await WatchRegistryContract.run(
                store, in: dir, reopen: { try ClickHouseEventStore(url: url) }, expect: { #expect($0, "\($1)") })
            // The rotated files are sources 1 and 2, on both shards.
            #expect(try ClusterTests.localCounts(store, "commits").allSatisfy { $0 > 0 })
        }
    }

    /// A store made by the previous Casebook (version 2: no `removed_sources`, no
    /// `watched_files`) is read as it is, and migrated by the next writable open.
    @Test func aVersion2StoreIsReadAndThenMigrated() async throws {
        try await TestServer.withDatabase { url in
            let client = ClickHouseClient(url: url)
            try ClickHouseSchema.migrate(client, salt: { ClientKeyer.randomSalt() }, to: 2)
            for name in ["removed_sources", "watched_files"] {
                try client.execute("DROP TABLE \(ClickHouseSchema.table(url.database, name))")
            }
            let events = AggregateParityTests.randomEvents(count: 300, seed: 5)
            let old = try ClickHouseEventStore.openExisting(url: url)
            #expect(old.schemaVersion == 2 && !old.removals)
            let sink = ClickHouseIngestSink(client: client, ingestID: 42, sourceID: 1)
            for e in events { try sink.add(e) }
            try sink.flush()
            try client.execute(
                "INSERT INTO \(ClickHouseSchema.table(url.database, "commits")) (ingest_id, source_id, fingerprint, name, format) VALUES (42, 1, 'f', 'old', 'test')"
            )
            let q = AggregateQuery(bucket: .day, dimensions: [.project])
            #expect(try old.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: events))
            #expect(try old.watchedFiles().isEmpty)
            let migrated = try ClickHouseEventStore(url: url)
            #expect(migrated.removals)
            #expect(try ClickHouseSchema.storedVersion(client) == ClickHouseSchema.currentVersion)
            #expect(try migrated.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: events))
            #expect(try migrated.removeSource(id: 1).name == "old")
            #expect(try migrated.aggregateSync(q).rows.isEmpty)
        }
    }
}
