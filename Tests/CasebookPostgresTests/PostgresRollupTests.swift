import CasebookAnalysis
import CasebookCore
import Foundation
import Testing

@testable import CasebookPostgres

/// PostgreSQL keeps the same rollups as the embedded store: every answer read from them must
/// equal the answer read from the events, after several ingests, a failed one, and a migration.
@Suite(.enabled(if: TestServer.shouldRun)) struct PostgresRollupTests {
    struct InjectedFailure: Error {}

    /// The parity queries plus day-aligned ones that the rollups answer.
    static var queries: [AggregateQuery] {
        let march = TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 1), to: UTCTime.epoch(year: 2020, month: 3, day: 8))
        return AggregateParityTests.queries + [
            AggregateQuery(bucket: .day, dimensions: [.project], range: march, top: 3),
            AggregateQuery(
                bucket: .day, dimensions: [.pythonMajor], filters: [DimensionFilter(.project, .in, ["numpy", "six"])], range: march),
            AggregateQuery(bucket: .week, dimensions: [.project, .cpu], filters: [DimensionFilter(.ci, .notIn, ["true"])]),
            AggregateQuery(bucket: .hour, range: march),
            AggregateQuery(dimensions: [.client], filters: [DimensionFilter(.project, .in, ["markdown"])], range: march)
        ]
    }

    static func rollupContents(_ c: PGConnection, _ schema: String) throws -> [[[String?]]] {
        try [
            c.execute("SELECT hour, downloads, events FROM \(schema).rollup_hour ORDER BY 1").rows,
            c.execute("SELECT day, profile_id, downloads FROM \(schema).rollup_day_profile ORDER BY 1, 2").rows,
            c.execute("SELECT day, file_id, downloads FROM \(schema).rollup_day_file ORDER BY 1, 2").rows,
            c.execute("SELECT day, file_id, profile_id, downloads FROM \(schema).rollup_day_file_profile ORDER BY 1, 2, 3").rows
        ]
    }

    static func expectSameAnswers(_ pg: PostgresEventStore, _ raw: PostgresEventStore, _ events: [DownloadEvent]) throws {
        for (i, q) in queries.enumerated() {
            let expected = ReferenceAggregator.aggregate(q, over: events)
            #expect(
                try pg.aggregateSync(q) == expected, "query \(i) with rollups (\(RollupTable.choose(for: q).table?.rawValue ?? "events"))")
            #expect(try raw.aggregateSync(q) == expected, "query \(i) from events")
        }
    }

    @Test func rollupsAnswerAsTheEventsDoAndSurviveAFailedIngest() async throws {
        let base = try TestServer.requireURL()
        #expect(Self.queries.filter { RollupTable.choose(for: $0).table != nil }.count >= 12)
        try await TestServer.withSchema(base) { schema in
            let url = TestServer.with(base, "schema=\(schema)")
            let pg = try PostgresEventStore(url: url)
            let raw = try PostgresEventStore(url: url, useRollups: false)
            let first = AggregateParityTests.randomEvents(count: 2000, seed: 7)
            try load(first, into: pg, name: "first")
            try Self.expectSameAnswers(pg, raw, first)
            // A second source adds to the same rollup rows.
            let second = AggregateParityTests.randomEvents(count: 1500, seed: 8)
            try load(second, into: pg, name: "second")
            try Self.expectSameAnswers(pg, raw, first + second)
            // A failing ingest changes neither events nor rollups.
            let c = try PGConnection(url: PostgresURL(url))
            let before = try Self.rollupContents(c, schema)
            #expect(throws: InjectedFailure.self) {
                _ = try pg.ingest(IngestPlan(existing: nil, fingerprint: "third", name: "third", format: "test", index: nil)) { sink in
                    for e in AggregateParityTests.randomEvents(count: 500, seed: 9) { try sink.add(e) }
                    throw InjectedFailure()
                }
            }
            #expect(try Self.rollupContents(c, schema) == before)
            // What the ingests maintained is what a rebuild from the events gives.
            try pg.rebuildRollups()
            #expect(try Self.rollupContents(c, schema) == before)
            try Self.expectSameAnswers(pg, raw, first + second)
        }
    }

    @Test func aStoreFromBeforeTheRollupsGetsThemWhenOpened() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let url = TestServer.with(base, "schema=\(schema)")
            let events = AggregateParityTests.randomEvents(count: 1200, seed: 11)
            try load(events, into: try PostgresEventStore(url: url))
            // Back to schema 1, as a store written before the rollups existed.
            let c = try PGConnection(url: PostgresURL(url))
            try c.execute(
                """
                DROP TABLE \(schema).rollup_hour, \(schema).rollup_day_profile, \(schema).rollup_day_file, \(schema).rollup_day_file_profile;
                ALTER TABLE \(schema).sources DROP COLUMN head_hash;
                DROP TABLE \(schema).request_counts;
                DROP TABLE \(schema).watched_files;
                DROP TABLE \(schema).catalog_projects, \(schema).catalog_releases, \(schema).catalog_files, \(schema).catalog_requirements;
                DROP VIEW \(schema).downloads;
                ALTER TABLE \(schema).profiles DROP COLUMN libc, DROP COLUMN libc_version, DROP COLUMN openssl, DROP COLUMN openssl_version;
                \(PostgresSchema.downloadsViewSQL(schema: schema, libc: false))
                DELETE FROM \(schema).schema_migrations WHERE version >= 2;
                """)
            let reopened = try PostgresEventStore(url: url)
            #expect(try reopened.infoSync().schemaVersion == PostgresSchema.currentVersion)
            #expect(try c.execute("SELECT COUNT(*) FROM \(schema).rollup_day_file_profile").rows[0][0] != "0")
            try Self.expectSameAnswers(reopened, try PostgresEventStore(url: url, useRollups: false), events)
        }
    }

    @Test func removingASourceKeepsTheRollupsEqualToTheEvents() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let url = TestServer.with(base, "schema=\(schema)")
            let pg = try PostgresEventStore(url: url)
            let raw = try PostgresEventStore(url: url, useRollups: false)
            let a = AggregateParityTests.randomEvents(count: 1500, seed: 21)
            let b = AggregateParityTests.randomEvents(count: 1200, seed: 22)
            try load(a, into: pg, name: "a")
            _ = try pg.ingest(IngestPlan(existing: nil, fingerprint: "b", name: "b", format: "test", index: nil)) { sink in
                for e in b { try sink.add(e) }
                try sink.quarantine(line: 3, reason: "test", redactedLine: "-")
                var s = IngestSummary(name: "b", format: "test", resumed: false, alreadyIngested: false)
                s.otherRequests = ["index-page": 2]
                return s
            }
            let ids = try pg.infoSync().sources.compactMap(\.id)
            #expect(ids.count == 2)
            #expect(try pg.removeSource(id: ids[1]).name == "b")
            let info = try pg.infoSync()
            #expect(info.sources.map(\.name) == ["a"])
            #expect(info.eventRows == Int64(a.count))
            #expect(try pg.quarantinedLines().isEmpty)
            #expect(try pg.otherRequestCounts().isEmpty)
            try Self.expectSameAnswers(pg, raw, a)
            let c = try PGConnection(url: PostgresURL(url))
            let maintained = try Self.rollupContents(c, schema)
            try pg.rebuildRollups()
            #expect(try Self.rollupContents(c, schema) == maintained)
            #expect(throws: PostgresStoreError.self) { try pg.removeSource(id: ids[1]) }
        }
    }
}
