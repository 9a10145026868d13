import CZlib
import CasebookCore
import CasebookIngest
import Foundation
import Testing

@testable import CasebookSQLite

/// Issue 20 (ingest side): long lines, source removal, fingerprints.
@Suite struct IngestHardeningTests {
    static func logLine(_ i: Int) throws -> String { try GzipInputTests.lines(i + 1)[i] }

    /// A 4-line log whose second line is 10 MB: one "too long" entry, with its number, and the
    /// next lines keep theirs, plain and compressed.
    @Test(arguments: [false, true]) func aLineOverOneMiBIsOneEntryAndLaterLinesKeepTheirNumbers(gzip: Bool) throws {
        let (store, dir) = try freshStore()
        let long = String(repeating: "x", count: 10_000_000)
        let lines = [try Self.logLine(0), long, "not a log line", try Self.logLine(1)]
        let path = dir.appendingPathComponent(gzip ? "long.log.gz" : "long.log").path
        if gzip {
            try GzipInputTests.writeGzip([lines], to: path)
        } else {
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        let s = try ingest(store, path, options: IngestOptions(format: .combined))
        #expect(s.totalLines == 4)
        #expect(s.linesRead == 4)
        #expect(s.downloads == 2)
        #expect(s.quarantined.values.reduce(0, +) == 2)
        #expect(s.quarantined["line too long"] == 1)
        let q = try store.quarantinedLines()
        #expect(q.map(\.line) == [2, 3])
        #expect(q[0].reason == "line longer than 1048576 bytes")
        // Ingesting again adds nothing; a line appended later is line 5.
        #expect(try ingest(store, path).alreadyIngested)
    }

    /// Lines around the limit: exactly 1 MiB is read; a byte more is too long, wherever the
    /// line falls in the read buffer; a long last line without a line break is counted too.
    @Test func theLimitIsTheSameWhereverTheLineFalls() throws {
        let (store, dir) = try freshStore()
        let limit = 1 << 20
        let exact = "y" + String(repeating: "z", count: limit - 1)  // exactly 1 MiB, malformed but read
        let over = String(repeating: "w", count: limit + 1)
        let middle = String(repeating: "v", count: limit + limit / 2)
        let lines = [try Self.logLine(0), exact, over, "short", middle, try Self.logLine(1), over]
        let path = dir.appendingPathComponent("edge.log").path
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let s = try ingest(store, path, options: IngestOptions(format: .combined))
        #expect(s.totalLines == 7)
        #expect(s.downloads == 2)
        let q = try store.quarantinedLines()
        #expect(q.map(\.line) == [2, 3, 4, 5, 7])
        #expect(q.filter { $0.reason.hasPrefix("line longer") }.map(\.line) == [3, 5, 7])
    }

    @Test func removingASourceKeepsTheRollupsEqualToTheEvents() throws {
        let (store, _) = try freshStore()
        store.rollupFlushThreshold = 37
        let a = RollupTests.randomEvents(count: 3000, seed: 11, days: 30)
        let b = RollupTests.randomEvents(count: 2000, seed: 12, days: 20, start: UTCTime.epoch(year: 2020, month: 2, day: 25))
        let c = RollupTests.randomEvents(count: 500, seed: 13, days: 5, start: UTCTime.epoch(year: 2020, month: 3, day: 1))
        for (events, name) in [(a, "a"), (b, "b"), (c, "c")] {
            _ = try store.ingest(IngestPlan(existing: nil, fingerprint: name, name: name, format: "test", index: nil)) { sink in
                for e in events { try sink.add(e) }
                try sink.quarantine(line: 1, reason: "test", redactedLine: "-")
                var s = IngestSummary(name: name, format: "test", resumed: false, alreadyIngested: false)
                s.downloads = events.reduce(0) { $0 + $1.count }
                s.firstEvent = events.map(\.timestamp).min()
                s.lastEvent = events.map(\.timestamp).max()
                return s
            }
        }
        let ids = try store.infoSync().sources.map(\.id)
        #expect(ids == [1, 2, 3])
        let removed = try store.removeSource(id: 2)
        #expect(removed.name == "b")
        #expect(removed.downloads == b.reduce(0) { $0 + $1.count })
        let info = try store.infoSync()
        #expect(info.sources.map(\.name) == ["a", "c"])
        #expect(info.downloads == (a + c).reduce(0) { $0 + $1.count })
        #expect(try store.quarantinedLines().map(\.source) == ["a", "c"])
        try RollupTests.expectSameAnswers(store, a + c, RollupTests.randomQueries(count: 150, seed: 5))
        let maintained = try RollupTests.rollupContents(store)
        try store.rebuildRollups()
        #expect(try RollupTests.rollupContents(store) == maintained)
        // Unknown ids change nothing.
        #expect(throws: SQLiteStoreError.self) { try store.removeSource(id: 2) }
        #expect(try store.infoSync().downloads == info.downloads)
    }

    /// Two different CSVs with the same header used to share a fingerprint (the first line's
    /// hash); larger ones whose bytes before the first one's end matched its last 4 KiB were
    /// taken for a continuation of it, and their own earlier rows were never read.
    @Test func filesWithTheSameHeaderAreDifferentSourcesWithDifferentFingerprints() throws {
        let (store, dir) = try freshStore()
        func rows(_ project: String, _ days: ClosedRange<Int>, _ n: Int) -> String {
            days.map { d in "2020-01-\(String(format: "%02d", d)),\(project),\(n)\n" }.joined()
        }
        let header = "date,project,downloads\n"
        // The same length, different content, before a shared 4 KiB+ block.
        let x = (1...9).map { _ in rows("flask-login", 1...28, 1) }.joined()
        let y = (1...9).map { _ in rows("markdown-xx", 1...28, 2) }.joined()
        let shared = (1...8).map { _ in rows("sentry-sdk", 1...28, 3) }.joined()
        #expect(x.utf8.count == y.utf8.count && x.utf8.count > 4096 && shared.utf8.count > 4096)
        let aPath = dir.appendingPathComponent("a.csv").path
        let bPath = dir.appendingPathComponent("b.csv").path
        try (header + x + shared).write(toFile: aPath, atomically: true, encoding: .utf8)
        try (header + y + shared + rows("semantic-version", 1...3, 5)).write(toFile: bPath, atomically: true, encoding: .utf8)
        let a = try ingest(store, aPath)
        let b = try ingest(store, bPath)
        #expect(!b.resumed)
        #expect(b.downloads == 9 * 28 * 2 + 8 * 28 * 3 + 15)
        let total = try store.infoSync().downloads
        #expect(a.downloads + b.downloads == total)
        let small1 = dir.appendingPathComponent("s1.csv").path
        let small2 = dir.appendingPathComponent("s2.csv").path
        try (header + "2020-01-01,flask,1\n").write(toFile: small1, atomically: true, encoding: .utf8)
        try (header + "2020-01-01,flask,2\n").write(toFile: small2, atomically: true, encoding: .utf8)
        _ = try ingest(store, small1)
        _ = try ingest(store, small2)
        let fingerprints = try store.infoSync().sources.map(\.fingerprint)
        #expect(fingerprints.count == 4)
        #expect(Set(fingerprints).count == 4)
        // The fingerprint is the SHA-256 of the first 4 KiB.
        let head = Array(try Data(contentsOf: URL(fileURLWithPath: aPath)).prefix(4096))
        #expect(fingerprints[0] == SHA256.hash(head).hexString)
        // Same content renamed: nothing new; a grown copy: only its new lines.
        let renamed = dir.appendingPathComponent("renamed.csv").path
        try FileManager.default.copyItem(atPath: aPath, toPath: renamed)
        #expect(try ingest(store, renamed).alreadyIngested)
        try (header + x + shared + rows("flask-login", 1...2, 4)).write(toFile: renamed, atomically: false, encoding: .utf8)
        let grown = try ingest(store, renamed)
        #expect(grown.resumed && grown.downloads == 8)
    }

    /// A file that is a prefix of a known source cannot be told from a new one (only the known
    /// source's first and last 4 KiB are kept): it is stored, and the summary warns.
    @Test func aShorterCopyOfAKnownSourceIsStoredWithAWarning() throws {
        let (store, dir) = try freshStore()
        let lines = try GzipInputTests.lines(40)
        let full = dir.appendingPathComponent("access.log").path
        let older = dir.appendingPathComponent("access.log.old").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: full, atomically: true, encoding: .utf8)
        try (lines[..<20].joined(separator: "\n") + "\n").write(toFile: older, atomically: true, encoding: .utf8)
        #expect(try ingest(store, full).downloads == 40)
        let s = try ingest(store, older)
        #expect(!s.resumed && s.downloads == 20)
        #expect(s.warnings.count == 1)
        #expect(s.warnings.first?.hasPrefix("its first 4 KiB are those of source 1 (access.log), but it is shorter than the ") == true)
        // The other way round, the longer file is the same log grown.
        let (store2, _) = try freshStore()
        _ = try ingest(store2, older)
        let grown = try ingest(store2, full)
        #expect(grown.resumed && grown.downloads == 20 && grown.warnings.isEmpty)
    }
}
