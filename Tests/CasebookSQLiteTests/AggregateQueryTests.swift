import CasebookCore
import CasebookSQLite
import Foundation
import Testing

/// The store's SQL answers must equal the reference semantics (a plain loop over the events)
/// for every kind of query.
@Suite struct AggregateQueryTests {
    static func randomEvents(count: Int, seed: UInt64) -> [DownloadEvent] {
        var rng = SplitMix(seed: seed)
        let projects = ["numpy", "flask-login", "markdown", "pycparser", "six"]
        let pythons: [String?] = ["2.7.16", "3.7.3", "3.8.2", nil]
        let cpus: [String?] = ["armv7l", "armv6l", "aarch64", nil]
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

    static func load(_ events: [DownloadEvent]) throws -> SQLiteEventStore {
        let (store, _) = try freshStore()
        _ = try store.ingest(IngestPlan(existing: nil, fingerprint: "test", name: "test", format: "test", index: nil)) { sink in
            for e in events { try sink.add(e) }
            return IngestSummary(name: "test", format: "test", resumed: false, alreadyIngested: false)
        }
        return store
    }

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
        AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.project, .in, [])])
    ]

    @Test(arguments: queries.indices)
    func sqlMatchesTheReferenceSemantics(_ i: Int) async throws {
        let events = Self.randomEvents(count: 3000, seed: 42)
        let store = try Self.load(events)
        let q = Self.queries[i]
        let expected = ReferenceAggregator.aggregate(q, over: events)
        let got = try await store.aggregate(q)
        #expect(got == expected)
    }

    @Test func handCountedAnswers() throws {
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
        let store = try Self.load(events)
        #expect(try dailyTotals(store) == ["2020-03-02": 3, "2020-03-03": 5, "2020-03-09": 1])
        let weeks = try store.aggregateSync(AggregateQuery(bucket: .week))
        #expect(weeks.rows.map { UTCTime.dateString($0.bucketStart!) } == ["2020-03-02", "2020-03-09"])  // Mondays
        #expect(weeks.rows.map(\.downloads) == [8, 1])
        let top = try store.aggregateSync(AggregateQuery(dimensions: [.project], top: 1))
        #expect(top.rows.map(\.values) == [["six"]])
        #expect(top.rows.map(\.downloads) == [6])
        let major = try store.aggregateSync(AggregateQuery(dimensions: [.pythonMajor]))
        #expect(major.rows.map(\.values) == [[nil], ["2"], ["3"]])
        #expect(major.rows.map(\.downloads) == [5, 2, 2])
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
