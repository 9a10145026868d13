import CasebookAnalysis
import Foundation
import Testing

/// The store is read while it is written: readers see the last committed state, a second writer
/// waits (saying so), and gives up with a clear sentence after CASEBOOK_LOCK_TIMEOUT.
@Suite(.serialized) struct ConcurrentAccessTests {
    /// Holds the store's write lock (as an ingest's transaction does) from another process,
    /// until `release` is written to its stdin or it is killed.
    final class LockHolder {
        let process = Process()
        let input = Pipe()
        init(store: String) throws {
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", "-c",
                """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1], isolation_level=None)
                c.execute("BEGIN IMMEDIATE")
                c.execute("INSERT INTO casebook_meta (key, value) VALUES ('lock-test', x'00')")
                print("locked", flush=True)
                sys.stdin.readline()
                c.execute("ROLLBACK")
                """, store
            ]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            let line = output.fileHandleForReading.availableDataLine()
            guard line == "locked" else { throw CLIError("the lock holder did not start: \(line)") }
        }
        func release() {
            try? input.fileHandleForWriting.write(contentsOf: Data("\n".utf8))
            process.waitUntilExit()
        }
    }

    struct CLIError: Error {
        var message: String
        init(_ m: String) { message = m }
    }

    static func totalDownloads(_ info: CLI.Result) throws -> Int {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        return try #require(o["downloads"] as? Int)
    }

    @Test func readersReadWhileAWriterHoldsTheLock() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let holder = try LockHolder(store: store)
        defer { holder.release() }
        let info = try CLI.run(["info", "--json", "--store", store])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(try Self.totalDownloads(info) == 12)
        let query = try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store])
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.hasPrefix("day,downloads\n2019-03-18,4\n"))
        #expect(!info.stderr.contains("waiting") && !query.stderr.contains("waiting"), "readers never wait")
    }

    @Test func aSecondWriterWaitsThenGivesUpWithASentence() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let log = dir.appendingPathComponent("more.log").path
        try KilledIngestTests.writeLog(log, lines: 100, day: 9)
        let holder = try LockHolder(store: store)
        let r = try CLI.run(["ingest", log, "--store", store], environment: ["CASEBOOK_LOCK_TIMEOUT": "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("waiting for another ingest to finish"), "\(r.stderr)")
        #expect(r.stderr.contains("stayed locked for more than 1 s"), "\(r.stderr)")
        #expect(r.stderr.contains("CASEBOOK_LOCK_TIMEOUT"))
        #expect(!r.stderr.contains("is it a Casebook store"), "a lock is not a damaged store")
        // Once the lock is released, a waiting writer goes ahead.
        let waiting = Process()
        waiting.executableURL = CLI.executable
        waiting.arguments = ["ingest", log, "--store", store]
        let err = Pipe()
        waiting.standardError = err
        waiting.standardOutput = Pipe()
        try waiting.run()
        var said = ""
        while !said.contains("waiting for another ingest") {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said += String(decoding: chunk, as: UTF8.self)
        }
        #expect(said.contains("waiting for another ingest to finish"), "\(said)")
        holder.release()
        waiting.waitUntilExit()
        #expect(waiting.terminationStatus == 0)
        #expect(try Self.totalDownloads(try CLI.run(["info", "--json", "--store", store])) == 112)
    }

    @Test func readersDuringALargeIngestSeeOldOrNewTotalsNeverPartial() throws {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let big = dir.appendingPathComponent("big.log").path
        let lines = 200_000
        try KilledIngestTests.writeLog(big, lines: lines, day: 10)
        let old = 12
        let new = 12 + lines
        let child = Process()
        child.executableURL = CLI.executable
        child.arguments = ["ingest", big, "--store", store]
        child.standardOutput = Pipe()
        child.standardError = FileHandle.nullDevice
        try child.run()
        var calls = 0
        var sawOld = 0
        while child.isRunning || calls < 2 {
            let info = try CLI.run(["info", "--json", "--store", store])
            #expect(info.status == 0, "info during an ingest: \(info.stderr)")
            if info.status == 0 {
                let total = try Self.totalDownloads(info)
                #expect(total == old || total == new, "info saw a partial ingest: \(total)")
                if total == old { sawOld += 1 }
            }
            let q = try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store])
            #expect(q.status == 0, "query during an ingest: \(q.stderr)")
            let sum = q.stdout.split(separator: "\n").dropFirst().compactMap { $0.split(separator: ",").last.flatMap { Int($0) } }.reduce(
                0, +)
            #expect(sum == old || sum == new, "query saw a partial ingest: \(sum)")
            calls += 1
            if calls > 10_000 { break }
        }
        child.waitUntilExit()
        #expect(child.terminationStatus == 0)
        #expect(sawOld > 0, "some reads happened while the ingest ran")
        #expect(try Self.totalDownloads(try CLI.run(["info", "--json", "--store", store])) == new)
    }
}

extension FileHandle {
    /// Reads until a newline (or the end), for a child's first line of output.
    func availableDataLine() -> String {
        var data = Data()
        while true {
            let chunk = availableData
            if chunk.isEmpty { break }
            data += chunk
            if data.contains(10) { break }
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
