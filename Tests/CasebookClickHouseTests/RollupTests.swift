import CasebookCore
import CasebookIngest
import Foundation
import Testing

@testable import CasebookClickHouse

/// The encoding of dimension values in the rollups (a sorting key takes no NULL in 18.16).
@Suite struct RollupEncodingTests {
    static let values: [String?] = [nil, "", "\0", "\0abc", "\0\0", "abc", "a\0b", "é", "\\N", "\u{0}\u{301}"]

    @Test func everyValueDecodesToItself() {
        for v in Self.values {
            #expect(ClickHouseSchema.decoded(ClickHouseSchema.encoded(v)) == v, "\(String(reflecting: v))")
        }
        // Distinct values stay distinct, and unknown is the lone NUL byte.
        #expect(Set(Self.values.map(ClickHouseSchema.encoded)).count == Self.values.count)
        #expect(ClickHouseSchema.encoded(nil) == "\0")
        #expect(ClickHouseSchema.encoded("abc") == "abc")
    }

    @Test func knownValuesKeepTheirByteOrder() {
        let known = Self.values.compactMap { $0 }
        for a in known {
            for b in known {
                let encoded = Array(ClickHouseSchema.encoded(a).utf8).lexicographicallyPrecedes(Array(ClickHouseSchema.encoded(b).utf8))
                #expect(
                    encoded == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)), "\(String(reflecting: a)) < \(String(reflecting: b))"
                )
            }
        }
    }
}

/// The rollups on a real server: kept by the views, read only when they answer, never showing
/// an uncommitted ingest, and built exactly once for a store of version 1.
@Suite(.enabled(if: TestServer.shouldRun)) struct RollupTests {
    /// Per rollup: downloads and event rows of committed ingests (after the server's merges or not).
    static func totals(_ store: ClickHouseEventStore) throws -> [String: [Int64]] {
        var out: [String: [Int64]] = [:]
        for r in RollupTable.allCases {
            let row = try store.client.rows(
                "SELECT sum(downloads), sum(events) FROM \(ClickHouseSchema.table(store.url.database, r.rawValue)) WHERE \(ClickHouseSchema.committed(store.url.database))"
            )[0]
            out[r.rawValue] = [int(row[0]), int(row[1])]
        }
        return out
    }

    /// What every rollup must hold: the committed events' sums.
    static func expectedTotals(_ store: ClickHouseEventStore) throws -> [String: [Int64]] {
        let info = try store.infoSync()
        return Dictionary(uniqueKeysWithValues: RollupTable.allCases.map { ($0.rawValue, [info.downloads, info.eventRows]) })
    }

    static func events(seed: UInt64, count: Int = 500) -> [DownloadEvent] {
        var rng = SplitMix(seed: seed)
        let start = UTCTime.epoch(year: 2020, month: 3, day: 1)
        let awkward: [String?] = [nil, "", "\0", "\0abc", "abc", "a\tb"]
        return (0..<count).map { _ in
            var e = DownloadEvent(timestamp: start + Int64(rng.next() % (10 * 86400)), count: Int64(1 + rng.next() % 4))
            e.project = awkward[Int(rng.next() % UInt64(awkward.count))]
            e.version = ["1.0", nil][Int(rng.next() % 2)]
            e.cpu = awkward[Int(rng.next() % UInt64(awkward.count))]
            e.python = ["3.7.3", "", nil][Int(rng.next() % 3)]
            e.client = "c-\(rng.next() % 7)"
            return e
        }
    }

    /// Queries each rollup answers, over unknown, empty and NUL-led values (grouped and filtered).
    static let queries: [(AggregateQuery, RollupTable)] = [
        (AggregateQuery(bucket: .hour), .hourTotals),
        (AggregateQuery(bucket: .week), .hourTotals),
        (AggregateQuery(bucket: .day, dimensions: [.cpu]), .dayProfile),
        (AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .in, [nil, "", "\0abc"])]), .dayProfile),
        (AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, [nil, "\0"])]), .dayProfile),
        (AggregateQuery(dimensions: [.project, .version]), .dayFile),
        (AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.project, .in, [])]), .dayFile),
        (AggregateQuery(bucket: .day, dimensions: [.project], filters: [DimensionFilter(.project, .notIn, [])], top: 2), .dayFile),
        (AggregateQuery(dimensions: [.project, .cpu, .python], filters: [.equals(.python, "")], top: 5), .dayFileProfile),
        (
            AggregateQuery(
                bucket: .day, dimensions: [.project, .cpu], filters: [DimensionFilter(.project, .notIn, ["\0", "abc"])],
                range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 3), to: UTCTime.epoch(year: 2020, month: 3, day: 6))),
            .dayFileProfile
        )
    ]

    @Test func unknownEmptyAndNulLedValuesComeBackExactly() async throws {
        let events = Self.events(seed: 7)
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            try load(events, into: store)
            for (q, table) in Self.queries {
                #expect(store.plan(for: q).rollup == table, "\(q)")
                #expect(try store.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: events), "\(store.plan(for: q))")
            }
            #expect(try Self.totals(store) == Self.expectedTotals(store))
        }
    }

    /// With the events gone, a query a rollup answers still gets its answer (it reads only the
    /// rollup), and one that needs the events finds nothing.
    @Test func aQueryARollupAnswersReadsOnlyTheRollup() async throws {
        let events = Self.events(seed: 8)
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            try load(events, into: store)
            try store.client.execute("ALTER TABLE \(ClickHouseSchema.table(url.database, "events")) DELETE WHERE 1")
            try ClickHouseRollups.waitForMutations(store.client, table: "events")
            #expect(try store.infoSync().eventRows == 0)
            for (q, _) in Self.queries {
                #expect(!store.plan(for: q).sql.contains(ClickHouseSchema.table(url.database, "events")))
                #expect(try store.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: events))
            }
            let byClient = AggregateQuery(dimensions: [.client])
            #expect(store.plan(for: byClient).rollup == nil)
            #expect(store.plan(for: byClient).fallbackReason == "groups or filters by client")
            #expect(try store.aggregateSync(byClient).rows.isEmpty)
            let raw = try ClickHouseEventStore(url: url, useRollups: false)
            #expect(raw.plan(for: Self.queries[0].0).rollup == nil)
            #expect(try raw.aggregateSync(Self.queries[0].0).rows.isEmpty)
        }
    }

    struct InjectedFailure: Error {}

    /// A killed ingest's rows reach the rollups through the views, and no query sees them; a
    /// failed one is deleted from the rollups too.
    @Test func anUncommittedIngestIsInvisibleInTheRollups() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            try load(Self.events(seed: 9), into: store)
            let answers = try Self.queries.map { try store.aggregateSync($0.0) }
            let totals = try Self.totals(store)
            // Killed: rows written, no commit.
            let sink = ClickHouseIngestSink(client: store.client, ingestID: 4242, sourceID: 9)
            for e in Self.events(seed: 10, count: 50) { try sink.add(e) }
            try sink.flush()
            for r in RollupTable.allCases {
                let n = try store.client.scalar(
                    "SELECT count() FROM \(ClickHouseSchema.table(url.database, r.rawValue)) WHERE ingest_id = 4242")
                #expect(int(n) > 0, "the view wrote the dead ingest's rows into \(r.rawValue)")
            }
            #expect(try Self.queries.map { try store.aggregateSync($0.0) } == answers)
            #expect(try Self.totals(store) == totals)
            // Failed: its rows are deleted, everywhere.
            #expect(throws: InjectedFailure.self) {
                _ = try store.ingest(IngestPlan(existing: nil, fingerprint: "f", name: "failing", format: "test", index: nil)) { sink in
                    for e in Self.events(seed: 11, count: 50) { try sink.add(e) }
                    try (sink as? ClickHouseIngestSink)?.flush()
                    throw InjectedFailure()
                }
            }
            #expect(try Self.queries.map { try store.aggregateSync($0.0) } == answers)
            for r in RollupTable.allCases {
                try ClickHouseRollups.waitForMutations(store.client, table: r.rawValue)
                let n = try store.client.scalar(
                    """
                    SELECT count() FROM \(ClickHouseSchema.table(url.database, r.rawValue))
                    WHERE NOT \(ClickHouseSchema.committed(url.database)) AND ingest_id != 4242
                    """)
                #expect(n == "0", "the failed ingest's rows are gone from \(r.rawValue)")
            }
        }
    }

    @Test func ingestingAgainAddsNothingToTheRollups() async throws {
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url)
            _ = try Ingestor(target: store).ingest(path: fixture("march.log"))
            let totals = try Self.totals(store)
            #expect(totals == (try Self.expectedTotals(store)))
            #expect(totals[RollupTable.dayFile.rawValue]?[0] == 8)
            let q = AggregateQuery(bucket: .day, dimensions: [.project, .installer])
            #expect(store.plan(for: q).rollup == .dayFileProfile)
            let before = try store.aggregateSync(q)
            #expect(try Ingestor(target: store).ingest(path: fixture("march.log")).alreadyIngested)
            #expect(try Self.totals(store) == totals)
            #expect(try store.aggregateSync(q) == before)
            #expect(try store.aggregateSync(q) == ClickHouseEventStore(url: url, useRollups: false).aggregateSync(q))
        }
    }

    /// A store as the first ClickHouse Casebook left it (version 1, no rollups) gets its rollups
    /// at its next writable open, each committed event counted once; a migration run again (as
    /// after a process killed before it recorded the version) still counts each once.
    @Test func aVersion1StoreIsBackfilledExactlyOnce() async throws {
        let first = Self.events(seed: 12)
        let second = Self.events(seed: 13)
        try await TestServer.withDatabase { url in
            try ClickHouseSchema.migrate(ClickHouseClient(url: url), salt: ClientKeyer.randomSalt, to: 1)
            let old = try ClickHouseEventStore.openExisting(url: url)
            #expect(try old.infoSync().schemaVersion == 1)
            #expect(old.plan(for: AggregateQuery(bucket: .day)).rollup == nil)  // none to read yet
            try load(first, into: old, name: "first")
            let views = "SELECT count() FROM system.tables WHERE database = \(ClickHouseSQL.literal(url.database)) AND name LIKE 'rollup%'"
            #expect(try old.client.scalar(views) == "0")
            // An uncommitted ingest from before: its events stay out of the rollups.
            let sink = ClickHouseIngestSink(client: old.client, ingestID: 777, sourceID: 5)
            for e in second { try sink.add(e) }
            try sink.flush()

            let store = try ClickHouseEventStore(url: url)
            #expect(try store.infoSync().schemaVersion == ClickHouseSchema.currentVersion)
            #expect(try store.client.scalar(views) == String(RollupTable.allCases.count * 2 + 1))
            #expect(try Self.totals(store) == Self.expectedTotals(store))
            for (q, table) in Self.queries {
                #expect(store.plan(for: q).rollup == table)
                #expect(try store.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: first))
            }
            // After the migration, ingests reach the rollups through the views, once.
            try load(second, into: store, name: "second")
            #expect(try Self.totals(store) == Self.expectedTotals(store))
            #expect(try store.aggregateSync(Self.queries[5].0) == ReferenceAggregator.aggregate(Self.queries[5].0, over: first + second))
            // The migration again, from its snapshot (deletes what a backfill wrote, copies again).
            try ClickHouseRollups.install(store.client)
            try ClickHouseRollups.install(store.client)
            _ = try ClickHouseEventStore(url: url)
            #expect(try Self.totals(store) == Self.expectedTotals(store))
            for (q, _) in Self.queries {
                #expect(try store.aggregateSync(q) == ReferenceAggregator.aggregate(q, over: first + second))
            }
        }
    }
}
