import CasebookCore
import CasebookIngest
import Foundation
import Testing

@testable import CasebookClickHouse

/// The two-shard test cluster: `CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL` (two servers on loopback
/// ports configured as one cluster by `.ci/clickhouse.sh`). Required under `CI=true`.
enum TestCluster {
    static var url: String? {
        TestServer.environment["CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
    /// Run the suite when a cluster is configured, and in CI (where its absence fails).
    static var shouldRun: Bool { url != nil || TestServer.isCI }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "CI=true but CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL is not set: start the test servers with `source .ci/clickhouse.sh && clickhouse_start` (it exports the URL) before `swift test`"
        }
    }

    /// A database new on every shard; dropped from every shard after `body`.
    static func withDatabase<T>(_ body: (ClickHouseURL) async throws -> T) async throws -> T {
        guard let text = url else { throw Missing() }
        var url = try ClickHouseURL(text)
        url.database = "casebook_c_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        defer { for shard in url.shardURLs { try? ClickHouseSchema.drop(ClickHouseClient(url: shard)) } }
        return try await body(url)
    }
}

/// A store over two ClickHouse servers: every ingest written whole to one shard, every query
/// answered over both through `Distributed` tables, with the answers of one server.
@Suite(.enabled(if: TestCluster.shouldRun)) struct ClusterTests {
    /// Local rows of `table` on each shard.
    static func localCounts(_ store: ClickHouseEventStore, _ table: String) throws -> [Int64] {
        try store.shards.map { try int($0.scalar("SELECT count() FROM \(ClickHouseSchema.table(store.url.database, table))")) }
    }

    @Test(arguments: [true, false]) func everyQueryShapeOverTwoShardsGivesTheOneServerAnswer(useRollups: Bool) async throws {
        let events = AggregateParityTests.randomEvents(count: 3000, seed: 7)
        try await TestCluster.withDatabase { url in
            let cluster = try ClickHouseEventStore(url: url, useRollups: useRollups)
            #expect(cluster.shards.count == 2)
            // Six ingests (sources 1-6): shards by source id, three each.
            let chunk = events.count / 6
            for i in 0..<6 {
                try load(Array(events[(i * chunk)..<((i + 1) * chunk)]), into: cluster, name: "part-\(i)")
            }
            #expect(try Self.localCounts(cluster, "events") == [1500, 1500])
            #expect(try Self.localCounts(cluster, "commits") == [3, 3])
            for shard in cluster.shards {
                // Each shard holds whole ingests: every row it has is committed there.
                let orphans = try shard.scalar(
                    "SELECT count() FROM \(ClickHouseSchema.table(url.database, "events")) WHERE NOT \(ClickHouseSchema.committed(url.database))"
                )
                #expect(orphans == "0")
            }
            try await TestServer.withDatabase { one in
                let single = try ClickHouseEventStore(url: one, useRollups: useRollups)
                for i in 0..<6 { try load(Array(events[(i * chunk)..<((i + 1) * chunk)]), into: single, name: "part-\(i)") }
                var tables: Set<String> = []
                for (i, q) in AggregateParityTests.queries.enumerated() {
                    let expected = ReferenceAggregator.aggregate(q, over: events)
                    #expect(try await cluster.aggregate(q) == expected, "query \(i) on two shards\n\(cluster.plan(for: q))")
                    #expect(try await single.aggregate(q) == expected, "query \(i) on one server")
                    tables.insert(cluster.plan(for: q).table)
                    #expect(cluster.plan(for: q).sql.contains(".dist_"))
                }
                #expect(tables == (useRollups ? Set(RollupTable.allCases.map(\.rawValue) + ["events"]) : ["events"]))
                var a = try cluster.infoSync()
                var b = try single.infoSync()
                #expect(a.location.contains("cluster=") && !a.location.contains("casebook-test"))
                a.location = ""
                b.location = ""
                for i in a.sources.indices { a.sources[i].ingestedAt = 0 }
                for i in b.sources.indices { b.sources[i].ingestedAt = 0 }
                #expect(a == b)
            }
        }
    }

    @Test func aLogIngestedOnceKeysClientsAlikeAndIsRecognisedOnEveryShard() async throws {
        try await TestCluster.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            // Two sources: one on each shard.
            let second = dir.appendingPathComponent("april.log").path
            let april = try String(contentsOfFile: fixture("march.log"), encoding: .utf8).replacingOccurrences(of: "/Mar/", with: "/Apr/")
            try april.write(toFile: second, atomically: true, encoding: .utf8)
            _ = try Ingestor(target: store).ingest(path: fixture("march.log"))
            _ = try Ingestor(target: store).ingest(path: second)
            #expect(try Self.localCounts(store, "commits") == [1, 1])
            let before = try store.infoSync()
            #expect(before.downloads == 16)
            #expect(before.sources.map(\.name) == ["march.log", "april.log"])
            #expect(before.quarantined.values.reduce(0, +) == 8)
            // Ingesting either again, through another process's client, adds nothing.
            let other = try ClickHouseEventStore(url: url)
            #expect(try Ingestor(target: other).ingest(path: fixture("march.log")).alreadyIngested)
            #expect(try Ingestor(target: other).ingest(path: second).alreadyIngested)
            var after = try store.infoSync()
            for i in after.sources.indices { after.sources[i].ingestedAt = before.sources[i].ingestedAt }
            #expect(after == before)
            // One salt for every shard: a client seen in both months is one client.
            let salts = try store.shards.map { try ClickHouseSchema.salt($0) }
            #expect(salts[0] != nil && salts[0] == salts[1])
            let clients = try store.aggregateSync(AggregateQuery(dimensions: [.client]))
            let perMonth = try store.aggregateSync(AggregateQuery(bucket: .week, dimensions: [.client]))
            #expect(clients.rows.count < perMonth.rows.count)
            #expect(clients.rows.count == Set(perMonth.rows.map { $0.values[0] }).count)
        }
    }

    /// An ingest that died on the second shard: its rows are there, its commit is not, and no
    /// query over the cluster sees them.
    @Test func aKilledIngestOnOneShardIsInvisibleToTheCluster() async throws {
        try await TestCluster.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            _ = try Ingestor(target: store).ingest(path: fixture("march.log"))
            let before = try store.infoSync()
            let q = AggregateQuery(bucket: .day, dimensions: [.project])
            let rows = try store.aggregateSync(q).rows
            let sink = ClickHouseIngestSink(client: store.shards[1], ingestID: 777, sourceID: 2)
            var e = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 5), count: 9)
            e.project = "half-written"
            for _ in 0..<5 { try sink.add(e) }
            try sink.quarantine(line: 1, reason: "bad line", redactedLine: "x")
            try sink.flush()
            #expect(try Self.localCounts(store, "events")[1] == 5)
            #expect(try store.infoSync() == before)
            #expect(try store.aggregateSync(q).rows == rows)
            #expect(try store.quarantinedLines().count == 4)
            let reopened = try ClickHouseEventStore.openExisting(url: url)
            #expect(try reopened.aggregateSync(AggregateQuery(dimensions: [.project])).rows.allSatisfy { $0.values[0] != "half-written" })
        }
    }

    @Test func anExistingClusterStoreOpensOnlyWhenEveryShardHasIt() async throws {
        try await TestCluster.withDatabase { url in
            #expect(throws: ClickHouseStoreError.self) { try ClickHouseEventStore.openExisting(url: url) }
            // Only the first shard has Casebook's tables: not a cluster store yet.
            _ = try ClickHouseEventStore(url: url.shardURLs[0])
            #expect(throws: ClickHouseStoreError.self) { try ClickHouseEventStore.openExisting(url: url) }
            _ = try ClickHouseEventStore(url: url)
            _ = try ClickHouseEventStore.openExisting(url: url)
        }
    }
}

/// The cluster options of a URL (no server needed).
@Suite struct ClusterURLTests {
    @Test func theShardsAreParsedInOrderAndShownWithoutThePassword() throws {
        let url = try ClickHouseURL(
            "clickhouse://u:s3cret@10.0.0.2:8123/logs?cluster=pair&shards=10.0.0.1:8123,10.0.0.2:8123,[::1]:8125", environment: [:])
        #expect(url.cluster == "pair")
        #expect(url.shardURLs.map { "\($0.host):\($0.port)" } == ["10.0.0.1:8123", "10.0.0.2:8123", "::1:8125"])
        #expect(url.shardURLs.allSatisfy { $0.cluster == nil && $0.database == "logs" && $0.password == "s3cret" })
        #expect(url.redacted == "clickhouse://u@10.0.0.2:8123/logs?cluster=pair&shards=10.0.0.1:8123,10.0.0.2:8123,[::1]:8125")
    }

    @Test(arguments: [
        ("clickhouse://h:8123/db?cluster=pair", "cluster= and shards= go together"),
        ("clickhouse://h:8123/db?shards=h:8123", "cluster= and shards= go together"),
        ("clickhouse://h:8123/db?cluster=pair&shards=a:8123,b:8123", "is not among shards="),
        ("clickhouse://h:8123/db?cluster=pair&shards=h:8123,b", "found `b`"),
        ("clickhouse://h:8123/db?cluster=pair&shards=h:8123,h:8123", "names a server twice"),
        ("clickhouse://h:8123/db?cluster=a-b&shards=h:8123", "cluster=a-b: expected a plain name"),
        ("clickhouse://h:8123/pypi?layout=clickpy&cluster=pair&shards=h:8123", "does not go with layout=clickpy")
    ])
    func aWrongClusterOptionSaysWhatToFix(text: String, message: String) {
        do {
            _ = try ClickHouseURL(text, environment: [:])
            Issue.record("accepted \(text)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
