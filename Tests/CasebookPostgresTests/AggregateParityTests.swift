import CasebookAnalysis
import CasebookCore
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookPostgres

/// The same aggregate queries against both backends (and the reference semantics): identical
/// rows, in the identical order.
@Suite(.enabled(if: TestServer.shouldRun)) struct AggregateParityTests {
    static func randomEvents(count: Int, seed: UInt64) -> [DownloadEvent] {
        var rng = SplitMix(seed: seed)
        // Mixed case, punctuation and non-ASCII names: ordering must be byte order on both backends.
        let projects = ["numpy", "flask-login", "markdown", "pycparser", "six", "Zeta", "_under", "émile", "a b"]
        let pythons: [String?] = ["2.7.16", "3.7.3", "3.8.2", "3.10rc1", nil]
        let cpus: [String?] = ["armv7l", "armv6l", "aarch64", "AMD64", nil]
        let start = UTCTime.epoch(year: 2020, month: 2, day: 24)
        return (0..<count).map { _ in
            var e = DownloadEvent(timestamp: start + Int64(rng.next() % (21 * 86400)), count: Int64(1 + rng.next() % 3))
            let p = projects[Int(rng.next() % UInt64(projects.count))]
            e.project = p
            e.version = ["1.0", "2.0"][Int(rng.next() % 2)]
            e.filename = "\(p)-\(e.version!)-py2.py3-none-any.whl"
            e.fileType = "bdist_wheel"
            e.python = pythons[Int(rng.next() % UInt64(pythons.count))]
            e.cpu = cpus[Int(rng.next() % UInt64(cpus.count))]
            e.ci = [true, false, nil][Int(rng.next() % 3)]
            e.installer = "pip"
            e.client = "c-\(rng.next() % 20)"
            return e
        }
    }

    /// The queries of CasebookSQLiteTests' AggregateQueryTests, and a few more.
    static let queries: [AggregateQuery] = [
        AggregateQuery(),
        AggregateQuery(bucket: .day),
        AggregateQuery(bucket: .hour, dimensions: [.project]),
        AggregateQuery(bucket: .week, dimensions: [.pythonMajor]),
        AggregateQuery(bucket: .day, dimensions: [.project], top: 2),
        AggregateQuery(dimensions: [.project, .pythonMinor], top: 3),
        AggregateQuery(bucket: .day, dimensions: [.cpu], filters: [.equals(.project, "numpy")]),
        AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, ["armv7l"])]),
        AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, [nil])]),
        AggregateQuery(dimensions: [.python], filters: [DimensionFilter(.python, .in, ["2.7.16", nil])]),
        AggregateQuery(dimensions: [.ci, .client], filters: [DimensionFilter(.project, .in, ["six", "markdown"])], top: 4),
        AggregateQuery(
            bucket: .day, dimensions: [.version],
            range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 1), to: UTCTime.epoch(year: 2020, month: 3, day: 5))),
        AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.project, .in, [])]),
        AggregateQuery(dimensions: [.project, .cpu, .python]),
        AggregateQuery(
            bucket: .week, dimensions: [.project, .pythonMinor, .ci], filters: [DimensionFilter(.cpu, .notIn, ["AMD64", nil])], top: 5),
        AggregateQuery(dimensions: [.filename, .fileType, .installer], range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 3)))
    ]

    @Test func bothBackendsGiveTheReferenceAnswers() async throws {
        let base = try TestServer.requireURL()
        let events = Self.randomEvents(count: 3000, seed: 42)
        let sqlite = try freshSQLite()
        try load(events, into: sqlite)
        try await TestServer.withSchema(base) { schema in
            let pg = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            try load(events, into: pg)
            for (i, q) in Self.queries.enumerated() {
                let expected = ReferenceAggregator.aggregate(q, over: events)
                let fromSQLite = try await sqlite.aggregate(q)
                let fromPostgres = try await pg.aggregate(q)
                #expect(fromSQLite == expected, "query \(i): SQLite")
                #expect(fromPostgres == expected, "query \(i): PostgreSQL")
            }
        }
    }

    @Test func handCountedAnswers() async throws {
        let base = try TestServer.requireURL()
        var events: [DownloadEvent] = []
        func add(_ day: Int, _ hour: Int, _ project: String, _ python: String?, count: Int64 = 1) {
            var e = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: day, hour: hour), count: count)
            e.project = project
            e.python = python
            events.append(e)
        }
        add(2, 1, "numpy", "3.7.3")
        add(2, 1, "numpy", "2.7.16")
        add(2, 23, "six", "2.7.16")
        add(3, 0, "six", nil, count: 5)
        add(9, 12, "numpy", "3.7.3")  // 9 March is the next ISO week
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            try load(events, into: store)
            let days = try store.aggregateSync(AggregateQuery(bucket: .day))
            #expect(days.rows.map { UTCTime.dateString($0.bucketStart!) } == ["2020-03-02", "2020-03-03", "2020-03-09"])
            #expect(days.rows.map(\.downloads) == [3, 5, 1])
            let weeks = try store.aggregateSync(AggregateQuery(bucket: .week))
            #expect(weeks.rows.map { UTCTime.dateString($0.bucketStart!) } == ["2020-03-02", "2020-03-09"])  // Mondays
            #expect(weeks.rows.map(\.downloads) == [8, 1])
            let top = try store.aggregateSync(AggregateQuery(dimensions: [.project], top: 1))
            #expect(top.rows.map(\.values) == [["six"]])
            #expect(top.rows.map(\.downloads) == [6])
            let major = try store.aggregateSync(AggregateQuery(dimensions: [.pythonMajor]))
            #expect(major.rows.map(\.values) == [[nil], ["2"], ["3"]])
            #expect(major.rows.map(\.downloads) == [5, 2, 2])
            // An empty range sums nothing: no rows.
            #expect(try store.aggregateSync(AggregateQuery(range: TimeRange(from: 0, to: 1))).rows.isEmpty)
        }
    }

    @Test func theSchemaIsVersionedAndReopensWithoutChange() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let url = TestServer.with(base, "schema=\(schema)")
            let first = try PostgresEventStore(url: url)
            let keyer = try first.clientKeyer()
            let again = try PostgresEventStore(url: url)
            // The salt is created once, with the schema, and kept.
            #expect(try again.clientKeyer().key(for: "198.18.0.1") == keyer.key(for: "198.18.0.1"))
            let info = try again.infoSync()
            #expect(info.schemaVersion == PostgresSchema.currentVersion)
            #expect(info.eventRows == 0)
            if let password = try PostgresURL(url).secret { #expect(!info.location.contains(password)) }
            let c = try PGConnection(url: PostgresURL(url))
            #expect(
                try c.execute("SELECT version FROM \(schema).schema_migrations ORDER BY version").rows
                    == (1...PostgresSchema.currentVersion).map { [String($0)] })
        }
    }
}
