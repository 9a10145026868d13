import CasebookCore
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookClickHouse

/// The same aggregate queries against ClickHouse, SQLite and the reference semantics: identical
/// rows, in the identical order, for every shape a query can take, whether ClickHouse reads its
/// rollups or only the events.
@Suite(.enabled(if: TestServer.shouldRun)) struct AggregateParityTests {
    static func randomEvents(count: Int, seed: UInt64) -> [DownloadEvent] {
        var rng = SplitMix(seed: seed)
        // Mixed case, punctuation, quotes, backslashes, tabs and non-ASCII names: escaping and
        // byte order must hold on every backend.
        let projects = [
            "numpy", "flask-login", "markdown", "pycparser", "six", "Zeta", "_under", "émile", "a b", "it's", "back\\slash", "t\tab"
        ]
        let pythons: [String?] = ["2.7.16", "3.7.3", "3.8.2", "3.10rc1", nil]
        let cpus: [String?] = ["armv7l", "armv6l", "aarch64", "AMD64", "", nil]
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
            e.country = ["GB", "DE", nil][Int(rng.next() % 3)]
            e.client = "c-\(rng.next() % 20)"
            return e
        }
    }

    /// Every shape: no bucket and each bucket; none, one and several dimensions; `in` and
    /// `not in` filters with and without unknown values (and an empty list); open, half-open and
    /// closed ranges; top-N with and without a bucket.
    static let queries: [AggregateQuery] = [
        AggregateQuery(),
        AggregateQuery(bucket: .hour),
        AggregateQuery(bucket: .day),
        AggregateQuery(bucket: .week),
        AggregateQuery(bucket: .hour, dimensions: [.project]),
        AggregateQuery(bucket: .week, dimensions: [.pythonMajor]),
        AggregateQuery(bucket: .day, dimensions: [.project], top: 2),
        AggregateQuery(bucket: .hour, dimensions: [.cpu, .ci], top: 1),
        AggregateQuery(dimensions: [.project, .pythonMinor], top: 3),
        AggregateQuery(dimensions: [.project], top: 0),
        AggregateQuery(bucket: .day, dimensions: [.cpu], filters: [.equals(.project, "numpy")]),
        AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, ["armv7l"])]),
        AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, [nil])]),
        AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, [nil, "AMD64"])]),
        AggregateQuery(dimensions: [.cpu], filters: [DimensionFilter(.cpu, .notIn, [])]),
        AggregateQuery(dimensions: [.python], filters: [DimensionFilter(.python, .in, ["2.7.16", nil])]),
        AggregateQuery(dimensions: [.python], filters: [DimensionFilter(.python, .in, [nil])]),
        AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.project, .in, ["it's", "back\\slash", "t\tab"])]),
        AggregateQuery(dimensions: [.ci, .client], filters: [DimensionFilter(.project, .in, ["six", "markdown"])], top: 4),
        AggregateQuery(
            bucket: .day, dimensions: [.version],
            range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 1), to: UTCTime.epoch(year: 2020, month: 3, day: 5))),
        AggregateQuery(bucket: .hour, range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 1) + 1800)),
        AggregateQuery(range: TimeRange(to: UTCTime.epoch(year: 2020, month: 3, day: 2))),
        AggregateQuery(range: TimeRange(from: 0, to: 1)),
        AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.project, .in, [])]),
        AggregateQuery(dimensions: [.project, .cpu, .python]),
        AggregateQuery(dimensions: [.project, .project]),
        AggregateQuery(
            bucket: .week, dimensions: [.project, .pythonMinor, .ci], filters: [DimensionFilter(.cpu, .notIn, ["AMD64", nil])], top: 5),
        AggregateQuery(
            dimensions: [.filename, .fileType, .installer, .country],
            filters: [DimensionFilter(.country, .in, ["DE"]), DimensionFilter(.ci, .notIn, ["true"])],
            range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 3)))
    ]

    @Test(arguments: [true, false]) func everyQueryShapeGivesTheReferenceAnswerAsSQLiteDoes(useRollups: Bool) async throws {
        let events = Self.randomEvents(count: 3000, seed: 42)
        let sqlite = try freshSQLite()
        try load(events, into: sqlite)
        try await TestServer.withDatabase { url in
            let ch = try ClickHouseEventStore(url: url, useRollups: useRollups)
            try load(events, into: ch)
            var tables: Set<String> = []
            for (i, q) in Self.queries.enumerated() {
                let expected = ReferenceAggregator.aggregate(q, over: events)
                let fromSQLite = try await sqlite.aggregate(q)
                let fromClickHouse = try await ch.aggregate(q)
                #expect(fromSQLite == expected, "query \(i): SQLite")
                #expect(fromClickHouse == expected, "query \(i): ClickHouse\n\(ch.plan(for: q))")
                tables.insert(ch.plan(for: q).table)
            }
            // The queries reach every rollup, and the events for what no rollup answers.
            #expect(tables == (useRollups ? Set(RollupTable.allCases.map(\.rawValue) + ["events"]) : ["events"]))
        }
    }

    @Test(arguments: [true, false]) func handCountedAnswers(useRollups: Bool) async throws {
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
        try await TestServer.withDatabase { url in
            let store = try ClickHouseEventStore(url: url, useRollups: useRollups)
            try load(events, into: store)
            #expect(store.plan(for: AggregateQuery(bucket: .day)).rollup == (useRollups ? .hourTotals : nil))
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
            let info = try store.infoSync()
            #expect(info.downloads == 9)
            #expect(info.eventRows == 5)
            #expect(info.firstEvent == UTCTime.epoch(year: 2020, month: 3, day: 2, hour: 1))
        }
    }

    @Test func theStoreReopensWithItsSaltAndVersion() async throws {
        try await TestServer.withDatabase { url in
            let first = try ClickHouseEventStore(url: url)
            let keyer = try first.clientKeyer()
            let again = try ClickHouseEventStore(url: url)
            // The salt is created once, with the tables, and kept.
            #expect(try again.clientKeyer().key(for: "198.18.0.1") == keyer.key(for: "198.18.0.1"))
            let info = try ClickHouseEventStore.openExisting(url: url).infoSync()
            #expect(info.schemaVersion == ClickHouseSchema.currentVersion)
            #expect(info.eventRows == 0)
            #expect(info.firstEvent == nil)
            #expect(info.sources.isEmpty)
            #expect(info.location == url.redacted)
            if let password = url.password { #expect(!info.location.contains(password)) }
        }
    }
}
