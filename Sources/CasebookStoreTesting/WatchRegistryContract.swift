import CasebookCore
import CasebookIngest
import Foundation

/// What every store that keeps `casebook watch`'s registry of followed files must do, as one
/// scenario each store's tests run on a real store: the registry commits with the lines (a
/// partial last line waits, a failed transaction leaves both as they were), rename rotation and
/// copytruncate are followed, a new process resumes where the last one stopped, and removing a
/// source forgets its files.
public enum WatchRegistryContract {
    /// The failure the scenario injects into a transaction.
    struct InjectedFailure: Error {}

    /// `count` download lines from minute `from` on, one a minute on 2020-03-05 from 10:00.
    public static func lines(_ from: Int, _ count: Int) -> String {
        (from..<(from + count)).map { i in
            let t = String(format: "05/Mar/2020:%02d:%02d:%02d +0000", 10 + i / 60, i % 60, i % 7)
            return
                #"192.0.2.\#(i % 200 + 1) - - [\#(t)] "GET /simple/six/six-1.14.0-py2.py3-none-any.whl HTTP/1.1" 200 10938 "-" "pip/20.0.2 {\"installer\":{\"name\":\"pip\",\"version\":\"20.0.2\"},\"python\":\"3.7.3\"}""#
                + "\n"
        }.joined()
    }

    /// Appends `text` to the file at `url` (creating it), as a web server writes its log.
    public static func append(_ text: String, to url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    /// Runs the scenario on `store` with logs in `dir` (empty); `reopen` opens the same store
    /// again, as a new process would. Each check is passed to `expect` with what it checks.
    public static func run<S: WatchRegistry & EventStore & SourceRemoval>(
        _ store: S, in dir: URL, reopen: () throws -> S, expect: (Bool, String) -> Void
    ) async throws {
        func total(_ s: S) async throws -> Int64 { try await s.aggregate(AggregateQuery()).rows.reduce(0) { $0 + $1.downloads } }
        let log = dir.appendingPathComponent("access.log")
        let full = lines(0, 10)
        // The last line without its newline waits.
        try append(String(full.dropLast(30)), to: log)
        let follower = try FileFollower(patterns: [dir.path + "/access.log*"], registry: store, options: IngestOptions())
        expect(follower.poll().lines == 9, "nine complete lines are read")
        let row = try store.watchedFiles().first
        let lastLine = full.split(separator: "\n").last!.utf8.count + 1
        expect(row?.offset == Int64(full.utf8.count - lastLine), "the offset ends at the last complete line")
        try append(String(full.suffix(30)), to: log)
        expect(follower.poll().lines == 1, "the completed line is read")
        expect(try store.watchedFiles().first?.offset == Int64(full.utf8.count), "the offset moves with it")
        // A failing transaction leaves the lines and the registry as they were.
        try append(lines(10, 10), to: log)
        let before = try store.watchedFiles()
        follower.afterLine = { line in if line == 15 { throw InjectedFailure() } }
        expect(follower.poll().errors.count == 1, "the failure is reported")
        expect(try store.watchedFiles() == before, "the registry is as it was after a failed transaction")
        expect(try await total(store) == 10, "no line of the failed transaction counts")
        follower.afterLine = nil
        // Several small transactions in one look.
        follower.maxBytes = 600
        expect(follower.poll().lines == 10, "the ten new lines are read in small transactions")
        expect(try await total(store) == 20, "each counted once")
        // Rename rotation, then copytruncate of the new file.
        try FileManager.default.moveItem(at: log, to: dir.appendingPathComponent("access.log.1"))
        try append(lines(20, 5), to: log)
        _ = follower.poll()
        expect(try await total(store) == 25, "the new file after a rename rotation is read")
        try FileManager.default.copyItem(at: log, to: dir.appendingPathComponent("access.log.2"))
        let h = try FileHandle(forWritingTo: log)
        try h.truncate(atOffset: 0)
        try h.close()
        try append(lines(25, 3), to: log)
        let pass = follower.poll()
        expect(pass.notes.contains { $0.contains("copytruncate") }, "copytruncate is noticed: \(pass.notes)")
        expect(try await total(store) == 28, "the truncated file's new lines are read")
        expect(follower.poll().lines == 0, "nothing more to read")
        // Another process resumes where this one stopped: nothing is read twice.
        let reopened = try reopen()
        let resumed = try FileFollower(patterns: [dir.path + "/access.log*"], registry: reopened, options: IngestOptions())
        expect(resumed.poll().lines == 0, "a new process reads nothing twice")
        try append(lines(28, 2), to: log)
        expect(resumed.poll().lines == 2, "and reads what is new")
        expect(try await total(reopened) == 30, "30 lines in all")
        // Removing a source forgets its files.
        let id = try store.watchedFiles().first { $0.path == log.path }?.sourceID
        expect(id != nil, "the followed file has a source")
        if let id {
            _ = try store.removeSource(id: id)
            expect(try store.watchedFiles().allSatisfy { $0.sourceID != id }, "a removed source's files are forgotten")
        }
    }
}
