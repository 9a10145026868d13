import CasebookCore
import CasebookIngest
import Foundation
import GRDB
import Testing

@testable import CasebookSQLite

/// The rollups are a speedup only: every answer read from a rollup must equal the answer read
/// from the raw events (the same store opened with `useRollups: false`) and the reference loop.
@Suite struct RollupTests {
    // MARK: Data

    /// Events over ~40 days (a few before 1970, to check floors), with unknown values, weights
    /// 0–3, and many dimension values (C and TLS libraries unless `libc` is false: schema 1 kept none).
    static func randomEvents(
        count: Int, seed: UInt64, days: Int64 = 40, start: Int64 = UTCTime.epoch(year: 2020, month: 2, day: 10),
        libc: Bool = true
    ) -> [DownloadEvent] {
        var rng = SplitMix(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let projects: [String?] = ["numpy", "flask-login", "markdown", "pycparser", "six", "sentry-sdk", nil]
        let pythons: [String?] = ["2.7.16", "2.7.13", "3.7.3", "3.8.2", "3.5.3", nil]
        return (0..<count).map { i in
            let t: Int64 = i % 97 == 0 ? -86400 * 3 + Int64(rng.next() % (5 * 86400)) : start + Int64(rng.next() % UInt64(days * 86400))
            var e = DownloadEvent(timestamp: t, count: Int64(rng.next() % 4))
            let p = pick(projects)
            e.project = p
            e.version = pick(["1.0", "2.0", "2.1", nil])
            e.filename = p.map { "\($0)-\(e.version ?? "0")-py2.py3-none-any.whl" }
            e.fileType = pick(["bdist_wheel", "sdist", nil])
            e.python = pick(pythons)
            e.implementation = pick(["CPython", "PyPy", nil])
            e.installer = pick(["pip", "bandersnatch", "uv", nil])
            e.installerVersion = pick(["18.1", "20.0.2", nil])
            e.cpu = pick(["armv7l", "armv6l", "aarch64", nil])
            e.distro = pick(["Raspbian GNU/Linux", "Ubuntu", nil])
            e.system = pick(["Linux", "Darwin", nil])
            e.ci = pick([true, false, nil])
            e.country = pick(["GB", "DE", nil])
            e.index = pick(["piwheels", "pypi"])
            e.client = rng.next() % 5 == 0 ? nil : "c-\(rng.next() % 40)"
            if libc {
                (e.libc, e.libcVersion) = pick([("glibc", "2.28"), ("glibc", "2.17"), ("musl", "1.2.3"), (nil, nil)])
                e.opensslVersion = pick(["OpenSSL 1.1.1d  10 Sep 2019", "OpenSSL 1.0.2g  1 Mar 2016", nil])
                e.setuptoolsVersion = pick(["40.8.0", "66.1.1", nil])
            }
            return e
        }
    }

    static func ingestEvents(_ store: SQLiteEventStore, _ events: [DownloadEvent], name: String) throws {
        _ = try store.ingest(IngestPlan(existing: nil, fingerprint: name, name: name, format: "test", index: nil)) { sink in
            for e in events { try sink.add(e) }
            return IngestSummary(name: name, format: "test", resumed: false, alreadyIngested: false)
        }
    }

    /// Random queries of every shape: buckets, 0–3 dimensions, `in`/`not in` filters with
    /// unknown values, aligned and unaligned ranges, open ends, top-N.
    static func randomQueries(count: Int, seed: UInt64) -> [AggregateQuery] {
        var rng = SplitMix(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let values: [CasebookCore.Dimension: [String?]] = [
            .project: ["numpy", "six", "markdown", nil], .version: ["1.0", "2.1", nil], .fileType: ["sdist", nil],
            .python: ["2.7.16", "3.7.3", nil], .pythonMajor: ["2", "3", nil], .pythonMinor: ["2.7", "3.8", nil],
            .cpu: ["armv7l", nil], .ci: ["true", "false", nil], .installer: ["pip", nil], .country: ["GB", nil],
            .index: ["pypi"], .client: ["c-1", "c-2", nil], .system: ["Linux", nil],
            .libc: ["musl", nil], .libcVersion: ["2.17", "1.2.3"], .openssl: ["OpenSSL 1.0.2g", nil]
        ]
        let dims: [CasebookCore.Dimension] = CasebookCore.Dimension.allCases
        let day0 = UTCTime.epoch(year: 2020, month: 2, day: 10)
        return (0..<count).map { _ in
            var q = AggregateQuery()
            q.bucket = pick([nil, .hour, .day, .day, .week])
            let n = Int(rng.next() % 3)
            // Mostly dimensions the rollups keep; client sometimes. A query keeps to file
            // dimensions, to profile dimensions, or mixes them, a third of the time each, so
            // that every rollup answers some, however many dimensions each table has.
            let side = rng.next() % 3
            func onSide(_ d: CasebookCore.Dimension) -> Bool {
                let table = StarSchema.column(d).table
                return side == 2 || table == .clients || (side == 0) == (table == .files)
            }
            let kept: [CasebookCore.Dimension] = dims.filter { $0 != .client && onSide($0) }
            var chosen: [CasebookCore.Dimension] = []
            for _ in 0..<n {
                let d: CasebookCore.Dimension = rng.next() % 8 == 0 ? .client : pick(kept)
                if !chosen.contains(d) { chosen.append(d) }
            }
            q.dimensions = chosen
            let filterable: [CasebookCore.Dimension] = values.keys.filter(onSide).sorted { $0.rawValue < $1.rawValue }
            for _ in 0..<Int(rng.next() % 3) {
                let d = pick(filterable)
                var vs: [String?] = []
                for _ in 0..<(1 + Int(rng.next() % 2)) { vs.append(pick(values[d]!)) }
                q.filters.append(DimensionFilter(d, rng.next() % 3 == 0 ? .notIn : .in, vs))
            }
            func boundary() -> Int64? {
                switch rng.next() % 5 {
                case 0: return nil
                case 1, 2: return day0 + Int64(rng.next() % 40) * 86400  // whole days
                case 3: return day0 + Int64(rng.next() % 960) * 3600  // whole hours
                default: return day0 + Int64(rng.next() % (40 * 86400))  // any second
                }
            }
            if rng.next() % 6 == 0 {
                q.dimensions = []
                q.filters = []
            }  // totals
            var from = boundary()
            var to = boundary()
            if let f = from, let t = to, f > t { swap(&from, &to) }
            q.range = TimeRange(from: from, to: to)
            if rng.next() % 4 == 0 { q.top = 1 + Int(rng.next() % 4) }
            return q
        }
    }

    /// Checks every query three ways; returns how many the rollups answered.
    @discardableResult
    static func expectSameAnswers(
        _ store: SQLiteEventStore, _ events: [DownloadEvent], _ queries: [AggregateQuery],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [SQLiteTable: Int] {
        let raw = try SQLiteEventStore(path: store.path, useRollups: false)
        var used: [SQLiteTable: Int] = [:]
        for q in queries {
            let plan = store.plan(for: q)
            used[plan.table, default: 0] += 1
            #expect(raw.plan(for: q).table == .events)
            let fast = try store.aggregateSync(q)
            let slow = try raw.aggregateSync(q)
            #expect(fast == slow, "\(plan)", sourceLocation: sourceLocation)
            #expect(fast == ReferenceAggregator.aggregate(q, over: events), "\(plan)", sourceLocation: sourceLocation)
        }
        return used
    }

    static func rollupContents(_ store: SQLiteEventStore) throws -> [String] {
        try store.dbQueue.read { db in
            var out: [String] = []
            for t in SQLiteTable.rollups {
                out += try String.fetchAll(
                    db,
                    sql: "SELECT group_concat(x, ';') FROM (SELECT quote(\(t.timeColumn)) || ',' || "
                        + (t == .hourTotals
                            ? "downloads || ',' || events"
                            : t == .dayFile
                                ? "file_id || ',' || downloads"
                                : t == .dayProfile ? "profile_id || ',' || downloads" : "file_id || ',' || profile_id || ',' || downloads")
                        + " AS x FROM \(t.rawValue) ORDER BY 1)")
            }
            return out
        }
    }

    // MARK: Tests

    @Test func rollupAnswersEqualRawEventAnswersOnRandomQueries() throws {
        let events = Self.randomEvents(count: 4000, seed: 7)
        let (store, _) = try freshStore()
        try Self.ingestEvents(store, events, name: "a")
        let used = try Self.expectSameAnswers(store, events, Self.randomQueries(count: 300, seed: 11))
        // The test means something only if every table answered some of the queries.
        for t in SQLiteTable.allCases { #expect(used[t, default: 0] > 5, "\(t.rawValue) answered \(used[t, default: 0]) queries") }
    }

    @Test func thePlannerPicksTheSmallestTableThatAnswersExactly() throws {
        let (store, _) = try freshStore()
        let d1 = UTCTime.epoch(year: 2020, month: 3, day: 1)
        let d8 = UTCTime.epoch(year: 2020, month: 3, day: 8)
        let cases: [(AggregateQuery, SQLiteTable)] = [
            (AggregateQuery(bucket: .day), .hourTotals),
            (AggregateQuery(bucket: .hour, range: TimeRange(from: d1 + 3600, to: d8)), .hourTotals),
            (AggregateQuery(bucket: .week, range: TimeRange(from: d1, to: d8)), .hourTotals),
            (AggregateQuery(dimensions: [.cpu], range: TimeRange(from: d1, to: d8)), .dayProfile),
            (AggregateQuery(bucket: .day, dimensions: [.project], top: 10), .dayFile),
            (AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.version, .notIn, [nil])]), .dayFile),
            (
                AggregateQuery(dimensions: [.pythonMajor], filters: [.equals(.project, "flask-login")], range: TimeRange(from: d1, to: d8)),
                .dayFileProfile
            ),
            (AggregateQuery(bucket: .week, dimensions: [.project, .installer]), .dayFileProfile),
            // Only the events know clients, hours per file or profile, and unaligned ranges.
            (AggregateQuery(dimensions: [.client], range: TimeRange(from: d1, to: d8)), .events),
            (AggregateQuery(filters: [.equals(.client, "c-1")]), .events),
            (AggregateQuery(bucket: .hour, dimensions: [.project]), .events),
            (AggregateQuery(dimensions: [.project], range: TimeRange(from: d1 + 3600, to: d8)), .events),
            (AggregateQuery(bucket: .day, range: TimeRange(from: d1 + 1, to: d8)), .events)
        ]
        for (q, table) in cases {
            let plan = store.plan(for: q)
            #expect(plan.table == table, "\(plan)")
            #expect((plan.fallbackReason != nil) == (table == .events))
        }
        let raw = try SQLiteEventStore(path: store.path, useRollups: false)
        #expect(raw.plan(for: AggregateQuery(bucket: .day)).table == .events)
    }

    @Test func manyFlushesAndSeveralIngestsAddUp() throws {
        // A tiny flush threshold makes every ingest upsert into rows an earlier flush wrote.
        let a = Self.randomEvents(count: 1500, seed: 1)
        let b = Self.randomEvents(count: 1500, seed: 2)
        let c = Self.randomEvents(count: 700, seed: 3)
        let (store, _) = try freshStore()
        store.rollupFlushThreshold = 7
        try Self.ingestEvents(store, a, name: "a")
        try Self.ingestEvents(store, b, name: "b")
        store.rollupFlushThreshold = 100_000
        try Self.ingestEvents(store, c, name: "c")
        try Self.expectSameAnswers(store, a + b + c, Self.randomQueries(count: 120, seed: 5))
        // What ingest maintained is exactly what a rebuild from the events computes.
        let maintained = try Self.rollupContents(store)
        try store.rebuildRollups()
        #expect(try Self.rollupContents(store) == maintained)
        let info = try store.infoSync()
        #expect(info.eventRows == 3700)
        #expect(info.downloads == (a + b + c).reduce(0) { $0 + $1.count })
    }

    struct InjectedFailure: Error {}

    @Test func aRolledBackIngestLeavesTheRollupsAsTheyWere() throws {
        let a = Self.randomEvents(count: 1200, seed: 21)
        let (store, _) = try freshStore()
        store.rollupFlushThreshold = 50
        try Self.ingestEvents(store, a, name: "a")
        let before = try Self.rollupContents(store)
        #expect(throws: InjectedFailure.self) {
            _ = try store.ingest(IngestPlan(existing: nil, fingerprint: "b", name: "b", format: "test", index: nil)) { sink in
                // Past several flushes, then a failure: nothing of it may remain.
                for e in Self.randomEvents(count: 900, seed: 22) { try sink.add(e) }
                throw InjectedFailure()
            }
        }
        #expect(try Self.rollupContents(store) == before)
        try Self.expectSameAnswers(store, a, Self.randomQueries(count: 60, seed: 23))
    }

    /// Combined-log lines over several days, for ingest through the real reader.
    static func logLines(count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix(seed: seed)
        let months = ["Jan", "Feb", "Mar"]
        let projects = ["numpy", "Flask_Login", "Markdown", "six", "sentry_sdk"]
        let agents = [
            #"pip/18.1 {\"cpu\":\"armv7l\",\"implementation\":{\"name\":\"CPython\",\"version\":\"2.7.13\"},\"installer\":{\"name\":\"pip\",\"version\":\"18.1\"},\"python\":\"2.7.13\",\"system\":{\"name\":\"Linux\",\"release\":\"4.19.97-v7+\"}}"#,
            #"pip/20.0.2 {\"ci\":true,\"cpu\":\"aarch64\",\"implementation\":{\"name\":\"CPython\",\"version\":\"3.7.3\"},\"installer\":{\"name\":\"pip\",\"version\":\"20.0.2\"},\"python\":\"3.7.3\"}"#,
            "Wget/1.20.1 (linux-gnu)"
        ]
        var t = UTCTime.epoch(year: 2020, month: 2, day: 25)
        return (0..<count).map { _ in
            t += Int64(rng.next() % 900)
            let (_, m, d) = UTCTime.civilFromDays(t / 86400)
            let s = t % 86400
            let time = String(format: "%02d/%@/2020:%02d:%02d:%02d +0000", d, months[m - 1], s / 3600, s / 60 % 60, s % 60)
            let p = projects[Int(rng.next() % UInt64(projects.count))]
            let path =
                rng.next() % 10 == 0
                ? "/simple/\(p.lowercased())/" : "/simple/\(p.lowercased())/\(p)-1.\(rng.next() % 3)-py2.py3-none-any.whl"
            return "10.0.0.\(rng.next() % 30) - - [\(time)] \"GET \(path) HTTP/1.1\" 200 1234 \"-\" \"\(agents[Int(rng.next() % 3)])\""
        }
    }

    @Test func aGrowingLogKeepsTheRollupsExact() throws {
        let (store, dir) = try freshStore()
        store.rollupFlushThreshold = 40
        let lines = Self.logLines(count: 3000, seed: 99)
        let path = dir.appendingPathComponent("access.log").path
        var reference: [String] = []
        for end in [700, 1800, 1801, 3000] {
            try (lines[0..<end].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            _ = try ingest(store, path)
            reference = Array(lines[0..<end])
            let raw = try SQLiteEventStore(path: store.path, useRollups: false)
            for q in Self.randomQueries(count: 40, seed: UInt64(end)) + [
                AggregateQuery(bucket: .day, dimensions: [.project]),
                AggregateQuery(bucket: .week, dimensions: [.pythonMajor, .project])
            ] {
                #expect(try store.aggregateSync(q) == raw.aggregateSync(q), "\(store.plan(for: q))")
            }
        }
        #expect(try store.infoSync().sources.count == 1)
        let counted = try store.dbQueue.read { db in try Row.fetchOne(db, sql: "SELECT COUNT(*), SUM(count) FROM events")! }
        #expect(try store.infoSync().eventRows == counted[0] as Int64)
        #expect(try store.infoSync().downloads == counted[1] as Int64)
        #expect(reference.count == 3000)
        let maintained = try Self.rollupContents(store)
        try store.rebuildRollups()
        #expect(try Self.rollupContents(store) == maintained)
    }

    @Test func openingAStoreFromBeforeTheRollupsBuildsThem() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("v1.sqlite").path
        let events = Self.randomEvents(count: 2500, seed: 31, libc: false)
        try SQLiteEventStore.writeVersion1Store(path: path, events: events)
        let store = try SQLiteEventStore(path: path)
        #expect(try store.infoSync().schemaVersion == SQLiteSchema.currentVersion)
        #expect(try store.infoSync().eventRows == 2500)
        let used = try Self.expectSameAnswers(store, events, Self.randomQueries(count: 150, seed: 32))
        #expect(used[.dayFileProfile, default: 0] > 0)
        // v3: events are keyed by (time, sequence), numbered on from the old row ids.
        let (keys, nextSeq) = try store.dbQueue.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT ts, seq FROM events").map { [$0[0] as Int64, $0[1] as Int64] },
                try Int64.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'next_event_seq'")
            )
        }
        #expect(keys == keys.sorted { $0[0] != $1[0] ? $0[0] < $1[0] : $0[1] < $1[1] })
        #expect(Set(keys.map { $0[1] }) == Set(1...2500))
        #expect(nextSeq == 2501)
        // Later ingests add to the migrated rollups, and number their events on.
        let more = Self.randomEvents(count: 800, seed: 33)
        try Self.ingestEvents(store, more, name: "more")
        try Self.expectSameAnswers(store, events + more, Self.randomQueries(count: 60, seed: 34))
        let seqs = try store.dbQueue.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM events") }
        #expect(Set(seqs) == Set(1...3300))
    }
}
