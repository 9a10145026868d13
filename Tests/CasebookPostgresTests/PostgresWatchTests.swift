import CasebookCore
import CasebookIngest
import Foundation
import Testing

@testable import CasebookPostgres

/// `casebook watch`'s registry of followed files on PostgreSQL: written with the lines in one
/// transaction, rotation and truncation handled as on the embedded store.
@Suite(.enabled(if: TestServer.shouldRun)) struct PostgresWatchTests {
    static func lines(_ from: Int, _ count: Int) -> String {
        (from..<(from + count)).map { i in
            let t = String(format: "05/Mar/2020:%02d:%02d:%02d +0000", 10 + i / 60, i % 60, i % 7)
            return
                #"192.0.2.\#(i % 200 + 1) - - [\#(t)] "GET /simple/six/six-1.14.0-py2.py3-none-any.whl HTTP/1.1" 200 10938 "-" "pip/20.0.2 {\"installer\":{\"name\":\"pip\",\"version\":\"20.0.2\"},\"python\":\"3.7.3\"}""#
                + "\n"
        }.joined()
    }

    static func append(_ text: String, to url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    static func total(_ store: PostgresEventStore) throws -> Int64 {
        try store.aggregateSync(AggregateQuery()).rows.reduce(0) { $0 + $1.downloads }
    }

    @Test func theRegistryCommitsWithTheLinesAndFollowsRotation() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let store = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            let dir = try temporaryDirectory()
            let log = dir.appendingPathComponent("access.log")
            let full = Self.lines(0, 10)
            // The last line without its newline waits.
            try Self.append(String(full.dropLast(30)), to: log)
            let follower = try FileFollower(patterns: [dir.path + "/access.log*"], registry: store, options: IngestOptions())
            #expect(follower.poll().lines == 9)
            let row = try #require(try store.watchedFiles().first)
            #expect(row.offset == Int64(full.utf8.count - full.split(separator: "\n").last!.utf8.count - 1))
            try Self.append(String(full.suffix(30)), to: log)
            #expect(follower.poll().lines == 1)
            #expect(try store.watchedFiles().first?.offset == Int64(full.utf8.count))
            // A failing transaction leaves the lines and the registry as they were.
            try Self.append(Self.lines(10, 10), to: log)
            let before = try store.watchedFiles()
            struct Boom: Error {}
            follower.afterLine = { line in if line == 15 { throw Boom() } }
            #expect(follower.poll().errors.count == 1)
            #expect(try store.watchedFiles() == before)
            #expect(try Self.total(store) == 10)
            follower.afterLine = nil
            // Rename rotation, then copytruncate of the new file.
            try FileManager.default.moveItem(at: log, to: dir.appendingPathComponent("access.log.1"))
            try Self.append(Self.lines(20, 5), to: log)
            _ = follower.poll()
            #expect(try Self.total(store) == 25)
            try FileManager.default.copyItem(at: log, to: dir.appendingPathComponent("access.log.2"))
            let h = try FileHandle(forWritingTo: log)
            try h.truncate(atOffset: 0)
            try h.close()
            try Self.append(Self.lines(25, 3), to: log)
            let pass = follower.poll()
            #expect(pass.notes.contains { $0.contains("copytruncate") }, "\(pass.notes)")
            #expect(try Self.total(store) == 28)
            #expect(follower.poll().lines == 0)
            // Removing a source removes its registry rows.
            let id = try #require(try store.watchedFiles().first { $0.path == log.path }?.sourceID)
            _ = try store.removeSource(id: id)
            #expect(try store.watchedFiles().allSatisfy { $0.sourceID != id })
        }
    }
}
