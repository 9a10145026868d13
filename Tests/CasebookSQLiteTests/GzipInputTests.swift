import CZlib
import CasebookCore
import CasebookIngest
import Foundation
import Testing

@testable import CasebookSQLite

/// Compressed logs are inflated on a thread of their own, chunks ahead of the parser: these
/// logs span many chunks, so the hand-over between the threads is exercised, not just a first read.
@Suite struct GzipInputTests {
    /// `count` combined-log lines, a download each, one per second from 4 March 2020, over
    /// 300 clients and 7 files (about 560 bytes a line).
    static func lines(_ count: Int) throws -> [String] {
        let agent = try String(contentsOfFile: fixture("march.log"), encoding: .utf8)
            .split(separator: "\n").first.map { String($0.split(separator: "\"", maxSplits: 5).last!) }!
        let start = day("2020-03-04")
        return (0..<count).map { i in
            let t = start + Int64(i)
            let (y, m, d) = UTCTime.civilFromDays(t / 86400)
            let s = Int(t % 86400)
            let time = String(
                format: "%02d/%@/%04d:%02d:%02d:%02d +0000", d, ["Jan", "Feb", "Mar"][m - 1], y, s / 3600, s / 60 % 60, s % 60)
            return
                "192.0.2.\(i % 300 % 250) - - [\(time)] \"GET /simple/markdown/Markdown-3.2.\(i % 7)-py2.py3-none-any.whl HTTP/1.1\" 200 \(80000 + i % 999) \"-\" \"\(agent)"
        }
    }

    /// Writes `parts` as consecutive gzip members of one file (as `cat a.gz b.gz` makes).
    static func writeGzip(_ parts: [[String]], to path: String) throws {
        for (i, part) in parts.enumerated() {
            let gz = try #require(gzopen(path, i == 0 ? "wb1" : "ab1"))
            let text = part.map { $0 + "\n" }.joined()
            _ = text.utf8CString.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count - 1)) }
            gzclose(gz)
        }
    }

    @Test func aManyChunkMultiMemberGzipGivesWhatThePlainLogGives() throws {
        let lines = try Self.lines(12_000)
        let (plainStore, dir) = try freshStore()
        let plain = dir.appendingPathComponent("access.log").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: plain, atomically: true, encoding: .utf8)
        let gz = dir.appendingPathComponent("access.log.gz").path
        try Self.writeGzip([Array(lines[..<5_000]), Array(lines[5_000...])], to: gz)
        #expect(try FileManager.default.attributesOfItem(atPath: plain)[.size] as! Int > 6 << 20)

        let a = try ingest(plainStore, plain)
        let (gzStore, _) = try freshStore()
        let b = try ingest(gzStore, gz)
        #expect(a.downloads == 12_000)
        #expect(b.downloads == 12_000)
        #expect(b.linesRead == 12_000)
        #expect(b.tailHash == a.tailHash)
        let q = AggregateQuery(bucket: .hour, dimensions: [.version, .client])
        #expect(try gzStore.aggregateSync(q).rows.count == plainStore.aggregateSync(q).rows.count)
        #expect(
            try gzStore.aggregateSync(AggregateQuery(bucket: .hour, dimensions: [.version])).rows
                == plainStore.aggregateSync(AggregateQuery(bucket: .hour, dimensions: [.version])).rows)
        // The compressed copy is the same source.
        #expect(try ingest(plainStore, gz).alreadyIngested)
    }

    struct InjectedFailure: Error {}

    @Test func aFailureMidwayThroughAGzipStopsAllThreadsAndLeavesTheStoreAsItWas() throws {
        let lines = try Self.lines(12_000)
        let (store, dir) = try freshStore()
        _ = try ingest(store, fixture("march.log"))
        let before = try store.infoSync()
        let gz = dir.appendingPathComponent("access.log.gz").path
        try Self.writeGzip([lines], to: gz)
        // The writer fails while the inflating thread still has chunks to go.
        let ingestor = try Ingestor(target: store)
        ingestor.afterLine = { line in if line == 9_000 { throw InjectedFailure() } }
        #expect(throws: InjectedFailure.self) { try ingestor.ingest(path: gz) }
        let after = try store.infoSync()
        #expect(after.downloads == before.downloads)
        #expect(after.eventRows == before.eventRows)
        #expect(after.sources == before.sources)
        // A retry is exact, and the sequence numbers go on where they were.
        #expect(try ingest(store, gz).downloads == 12_000)
        #expect(try store.infoSync().downloads == before.downloads + 12_000)
        let seqs = try store.dbQueue.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM events ORDER BY seq") }
        #expect(seqs == Array(1...Int64(seqs.count)))
        // Ids remembered from ingest to ingest never point at rows the failed ingest rolled back.
        let dangling = try store.dbQueue.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM events e WHERE (e.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = e.client_id))
                        OR NOT EXISTS (SELECT 1 FROM files f WHERE f.id = e.file_id)
                        OR NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = e.profile_id)
                    """)
        }
        #expect(dangling == 0)
    }

    @Test func aTruncatedGzipIsAClearErrorAndStoresNothing() throws {
        let lines = try Self.lines(12_000)
        let (store, dir) = try freshStore()
        let gz = dir.appendingPathComponent("cut.log.gz").path
        try Self.writeGzip([lines], to: gz)
        let size = try FileManager.default.attributesOfItem(atPath: gz)[.size] as! Int
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: gz))
        try handle.truncate(atOffset: UInt64(size - 5_000))
        try handle.close()
        let error = try #require(throws: (any Error).self) { try ingest(store, gz) }
        let message = "\(error)"
        #expect(message.contains(gz))
        #expect(message.contains("truncated"))
        let info = try store.infoSync()
        #expect(info.eventRows == 0)
        #expect(info.sources.isEmpty)
    }
}

/// The writer's client-key table (open addressing over ClientKeyer's 64-bit keys).
@Suite struct ClientIDCacheTests {
    @Test func holdsEveryKeyThroughManyGrowthsAndOtherShapesBeside() throws {
        let keyer = ClientKeyer(salt: Array("salt".utf8))
        var cache = ClientIDCache()
        let keys = (0..<50_000).map { keyer.key(for: "10.0.\($0 / 256).\($0 % 256)") }
        let odd = ["c-XYZ", "", "c-0123456789abcdeF", "client-7", "c-0123456789abcdef0"]
        for (i, k) in keys.enumerated() { cache[k] = Int64(i + 1) }
        for (i, k) in odd.enumerated() { cache[k] = Int64(100_000 + i) }
        #expect(Set(keys).count == keys.count)
        for (i, k) in keys.enumerated() where cache[k] != Int64(i + 1) {
            Issue.record("key \(i) (\(k)) maps to \(String(describing: cache[k]))")
            break
        }
        for (i, k) in odd.enumerated() { #expect(cache[k] == Int64(100_000 + i)) }
        #expect(cache[keyer.key(for: "192.0.2.1")] == nil)
        #expect(ClientIDCache.word("c-00000000000000ff") == 255)
        #expect(ClientIDCache.word("c-0123456789abcdeF") == nil)
    }
}

/// One ingestor reading several logs keeps its reader's caches from file to file: the result
/// must be what separate ingestors give.
@Suite struct SeveralFilesTests {
    @Test func oneIngestorForManyFilesStoresWhatSeparateIngestorsStore() throws {
        let lines = try GzipInputTests.lines(3_000)
        let (shared, dir) = try freshStore()
        let (separate, _) = try freshStore()
        var paths: [String] = []
        for part in 0..<3 {
            let path = dir.appendingPathComponent("access-\(part).log").path
            try (lines[(part * 1_000)..<((part + 1) * 1_000)].joined(separator: "\n") + "\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let ingestor = try Ingestor(target: shared)
        for p in paths { #expect(try ingestor.ingest(path: p).downloads == 1_000) }
        for p in paths { #expect(try ingest(separate, p).downloads == 1_000) }
        let q = AggregateQuery(bucket: .hour, dimensions: [.version, .python, .cpu])
        #expect(try shared.aggregateSync(q) == separate.aggregateSync(q))
        // Client keys differ between stores (each has its own salt); their counts must not.
        let clients = AggregateQuery(dimensions: [.client])
        #expect(
            try shared.aggregateSync(clients).rows.map(\.downloads).sorted()
                == separate.aggregateSync(clients).rows.map(\.downloads).sorted())
        #expect(try shared.aggregateSync(clients).rows.count == 250)
        #expect(try shared.infoSync().sources.count == 3)
    }
}
