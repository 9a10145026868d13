import CasebookCore
import CasebookStoreTesting
import Foundation
import GRDB
import Testing

@testable import CasebookIngest
@testable import CasebookSQLite

/// The watcher's file following, on the embedded store: the registry of followed files is kept
/// in the same transaction as the lines, partial lines wait, rotation and truncation are seen.
@Suite struct FileFollowerTests {
    static func lines(_ from: Int, _ count: Int) -> String { WatchRegistryContract.lines(from, count) }
    static func append(_ text: String, to url: URL) throws { try WatchRegistryContract.append(text, to: url) }

    static func total(_ store: SQLiteEventStore) throws -> Int64 {
        try store.aggregateSync(AggregateQuery()).rows.reduce(0) { $0 + $1.downloads }
    }

    /// The scenario every registry store passes (PostgreSQL and ClickHouse run it too).
    @Test func theRegistryContract() async throws {
        let (store, dir) = try freshStore()
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try await WatchRegistryContract.run(
            store, in: logs, reopen: { try SQLiteEventStore(path: store.path) }, expect: { #expect($0, "\($1)") })
    }

    @Test func partialLastLinesWaitAndTheRegistryRecordsTheOffset() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        let full = Self.lines(0, 10)
        let cut = full.index(full.startIndex, offsetBy: full.utf8.count - 40)
        try Self.append(String(full[..<cut]), to: log)
        let follower = try FileFollower(patterns: [log.path], registry: store, options: IngestOptions())
        var pass = follower.poll()
        #expect(pass.errors.isEmpty, "\(pass.errors)")
        #expect(pass.lines == 9)
        #expect(try Self.total(store) == 9)
        let row = try #require(try store.watchedFiles().first)
        let lineEnd = Int64(full.utf8.count - full.split(separator: "\n").last!.utf8.count - 1)
        #expect(row.offset == lineEnd)
        #expect(row.path == log.path && !row.finished)
        // The rest of the line arrives: it is read once, and a look with nothing new reads nothing.
        try Self.append(String(full[cut...]), to: log)
        pass = follower.poll()
        #expect(pass.lines == 1)
        pass = follower.poll()
        #expect(pass.lines == 0 && pass.ingests.isEmpty)
        #expect(try Self.total(store) == 10)
        #expect(try store.watchedFiles().first?.offset == Int64(full.utf8.count))
    }

    @Test func aFileWithoutACompleteLineIsNotASourceYet() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        try Self.append("192.0.2.1 - - [05/Mar/2020:10:00:00 +0000] \"GET /simple/six/", to: log)
        let follower = try FileFollower(patterns: [log.path], registry: store, options: IngestOptions())
        #expect(follower.poll().lines == 0)
        #expect(try store.infoSync().sources.isEmpty)
    }

    @Test func aLongBacklogIsReadInSmallTransactions() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        try Self.append(Self.lines(0, 100), to: log)
        let follower = try FileFollower(patterns: [log.path], registry: store, options: IngestOptions(), maxBytes: 2000)
        let pass = follower.poll()
        #expect(pass.ingests.count > 5)
        #expect(pass.lines == 100)
        #expect(try Self.total(store) == 100)
        // Stopped after the first transaction (as on SIGTERM): the next look reads on.
        try Self.append(Self.lines(100, 50), to: log)
        var calls = 0
        follower.shouldStop = {
            calls += 1
            return calls > 1
        }
        #expect(follower.poll().ingests.count == 1)
        follower.shouldStop = { false }
        #expect(follower.poll().lines > 0)
        #expect(try Self.total(store) == 150)
    }

    @Test func aFailedTransactionLeavesEventsAndRegistryAsTheyWere() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        try Self.append(Self.lines(0, 10), to: log)
        let follower = try FileFollower(patterns: [log.path], registry: store, options: IngestOptions())
        _ = follower.poll()
        let before = try store.watchedFiles()
        try Self.append(Self.lines(10, 10), to: log)
        struct Boom: Error {}
        follower.afterLine = { line in if line == 15 { throw Boom() } }
        let failed = follower.poll()
        #expect(failed.errors.count == 1)
        #expect(try store.watchedFiles() == before)
        #expect(try Self.total(store) == 10)
        follower.afterLine = nil
        _ = follower.poll()
        #expect(try Self.total(store) == 20)
    }

    @Test func rotationByRenameFinishesTheOldFileThenStartsTheNewOne() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        try Self.append(Self.lines(0, 10), to: log)
        // A literal path (no glob): the rotated file is found by its identity in its folder.
        let follower = try FileFollower(patterns: [log.path], registry: store, options: IngestOptions())
        _ = follower.poll()
        try Self.append(Self.lines(10, 5), to: log)  // written just before the rotation
        try FileManager.default.moveItem(at: log, to: dir.appendingPathComponent("access.log.1"))
        try Self.append(Self.lines(15, 7), to: log)
        let pass = follower.poll()
        #expect(pass.notes.contains { $0.contains("rotated to") }, "\(pass.notes)")
        #expect(try Self.total(store) == 22)
        // Compressed later: the rotated file's identity is gone, it is finished.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("access.log.1"))
        _ = follower.poll()
        #expect(try store.watchedFiles().filter { !$0.finished }.map(\.path) == [log.path])
    }

    @Test func copytruncateAndACompressedCopyAlreadyRead() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        try Self.append(Self.lines(0, 10), to: log)
        let follower = try FileFollower(patterns: [dir.path + "/access.log*"], registry: store, options: IngestOptions())
        _ = follower.poll()
        // copytruncate: the copy is taken, then the file is emptied in place and written on.
        let copy = dir.appendingPathComponent("access.log.1")
        try FileManager.default.copyItem(at: log, to: copy)
        let h = try FileHandle(forWritingTo: log)
        try h.truncate(atOffset: 0)
        try h.close()
        try Self.append(Self.lines(10, 4), to: log)
        let pass = follower.poll()
        #expect(pass.notes.contains { $0.contains("copytruncate") }, "\(pass.notes)")
        #expect(try Self.total(store) == 14)
        // The copy compressed: recognised by its content, recorded as finished, nothing added.
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", copy.path]
        try gzip.run()
        gzip.waitUntilExit()
        _ = follower.poll()
        #expect(try Self.total(store) == 14)
        let gz = try #require(try store.watchedFiles().first { $0.path.hasSuffix(".gz") })
        #expect(gz.finished)
        #expect(try store.infoSync().sources.count == 2)
    }

    @Test func aVersion6StoreGainsTheRegistry() throws {
        let (store, dir) = try freshStore()
        let path = store.path
        let log = dir.appendingPathComponent("access.log")
        try Self.append(Self.lines(0, 3), to: log)
        _ = try ingest(store, log.path)
        try store.dbQueue.write { db in
            try db.execute(sql: "DROP TABLE watched_files; DELETE FROM grdb_migrations WHERE identifier = 'v7-watched-files'")
        }
        let reopened = try SQLiteEventStore(path: path)
        #expect(try reopened.watchedFiles().isEmpty)
        #expect(try reopened.infoSync().schemaVersion == 7)
        #expect(try Self.total(reopened) == 3)
        // Removing a source removes its registry rows (the file can then be followed again).
        let follower = try FileFollower(patterns: [log.path], registry: reopened, options: IngestOptions())
        try Self.append(Self.lines(3, 2), to: log)
        _ = follower.poll()
        let id = try #require(try reopened.watchedFiles().first?.sourceID)
        _ = try reopened.removeSource(id: id)
        #expect(try reopened.watchedFiles().isEmpty)
    }
}
