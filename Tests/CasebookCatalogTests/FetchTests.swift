import Foundation
import Testing

@testable import CasebookCatalog

/// A loopback JSON API (Fixtures/server.py) started for one test and stopped after it.
final class LoopbackIndex: @unchecked Sendable {
    let process = Process()
    /// The server exits when this pipe closes, even if the test process dies.
    let stdin = Pipe()
    let port: Int
    var base: URL { URL(string: "http://127.0.0.1:\(port)/pypi")! }

    init() throws {
        let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", fixtures.appendingPathComponent("server.py").path]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The server prints its port first; EOF (empty data) means it died.
        var text = ""
        while !text.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        guard let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw FetchError.offline(url: "loopback server", reason: "server.py did not start (python3 missing?)")
        }
        port = p
    }

    func stats() throws -> [String: [String: Int]] {
        let d = try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/_stats")!)
        return try JSONSerialization.jsonObject(with: d) as! [String: [String: Int]]
    }

    /// Stops the server: closes its stdin, sends SIGTERM, waits at most 2 s.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { usleep(20_000) }
    }

    deinit { stop() }
}

func fetchError(_ body: () async throws(FetchError) -> Void) async -> FetchError? {
    do {
        try await body()
        return nil
    } catch { return error }
}

func temporaryDirectory() -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-catalog-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}

@Suite(.timeLimit(.minutes(5))) struct FetchTests {
    func fetcher(_ server: LoopbackIndex, _ dir: URL, timeout: Double = 3) throws -> CatalogFetcher {
        try CatalogFetcher(indexURL: server.base, catalogDirectory: dir, timeout: timeout, maxRetries: 2, baseDelay: 0.05, maxDelay: 0.2)
    }

    @Test func fetchesWritesAndRevalidatesWithETag() async throws {
        let server = try LoopbackIndex()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try fetcher(server, dir)
        let first = try await f.fetch(project: "Flask_Login", withReleases: true)
        // Release documents: the fixture index has 0.4.1 and 0.5.0 only; 0.2.11 and 0.3.0 are 404.
        #expect(first.map(\.status) == [.downloaded, .notFound, .notFound, .downloaded, .downloaded])
        #expect(first[0].path.hasSuffix("pypi/flask-login/json"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("pypi/flask-login/0.5.0/json").path))
        let meta =
            try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("pypi/flask-login/json.meta")))
            as! [String: String]
        #expect(meta["etag"]?.hasPrefix("\"") == true)
        #expect(meta["last_modified"] == "Wed, 04 Mar 2020 10:53:00 GMT")
        let second = try await f.fetch(project: "flask-login")
        #expect(second.map(\.status) == [.notModified])
        let stats = try server.stats()
        #expect(stats["conditional"]?["/pypi/flask-login/json"] == 1)
        #expect(stats["not_modified"]?["/pypi/flask-login/json"] == 1)
        // The fetched directory is a catalog.
        let catalog = try CatalogFolder(directory: dir)
        #expect(catalog.projects() == ["flask-login"])
        #expect(try catalog.requirements(of: "flask-login", version: "0.5.0", for: nil)?.source == .releaseDocument)
    }

    @Test func missingProjectIs404Error() async throws {
        let server = try LoopbackIndex()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        await #expect(throws: FetchError.noSuchProject(name: "missing", index: server.base.absoluteString)) {
            try await fetcher(server, dir).fetch(project: "missing")
        }
        #expect(
            FetchError.noSuchProject(name: "missing", index: "http://x/pypi").description
                == "no such project 'missing' on http://x/pypi (HTTP 404)")
    }

    @Test func retriesAfter500And429() async throws {
        let server = try LoopbackIndex()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let flaky = try await fetcher(server, dir).fetch(project: "flaky")
        #expect(flaky.first?.status == .downloaded)
        #expect(flaky.first?.attempts == 2)
        let start = Date()
        let busy = try await fetcher(server, dir).fetch(project: "busy")
        #expect(busy.first?.attempts == 2)
        // Retry-After says an hour; finishing within the suite's time limit means maxDelay (0.2 s) capped it.
        _ = start
        await #expect(throws: FetchError.httpStatus(url: server.base.absoluteString + "/broken/json", status: 503, attempts: 3)) {
            try await fetcher(server, dir).fetch(project: "broken")
        }
    }

    @Test func slowAnswerTimesOut() async throws {
        let server = try LoopbackIndex()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let start = Date()
        let f = try fetcher(server, dir, timeout: 0.5)
        let error = await fetchError { () async throws(FetchError) in _ = try await f.fetch(project: "slow") }
        switch error {
        case .timeout(_, let seconds)?: #expect(seconds == 0.5)
        default: Issue.record("expected .timeout, got \(String(describing: error))")
        }
        // The answer would take an hour: finishing within the suite's time limit means the 0.5 s timeout worked.
        _ = start
    }

    @Test func refusedConnectionIsOffline() async throws {
        // A port nobody listens on: bind, read the port, close.
        let server = try LoopbackIndex()
        let port = server.port
        server.stop()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = try CatalogFetcher(
            indexURL: URL(string: "http://127.0.0.1:\(port)/pypi")!, catalogDirectory: dir, timeout: 2, maxRetries: 1, baseDelay: 0.01)
        let error = await fetchError { () async throws(FetchError) in _ = try await f.fetch(project: "flask-login") }
        switch error {
        case .offline(let url, _)?:
            #expect(url == "http://127.0.0.1:\(port)/pypi/flask-login/json")
            #expect(error!.description.contains("offline"))
        default: Issue.record("expected .offline, got \(String(describing: error))")
        }
    }

    @Test func indexURLComesFromArgumentOrEnvironment() throws {
        #expect(throws: FetchError.noIndexURL) { try CatalogFetcher.indexURL(explicit: nil, environment: [:]) }
        #expect(
            try CatalogFetcher.indexURL(explicit: nil, environment: ["CASEBOOK_INDEX_URL": "http://127.0.0.1:1/pypi"]).absoluteString
                == "http://127.0.0.1:1/pypi")
        #expect(throws: FetchError.invalidIndexURL("file:///tmp")) {
            try CatalogFetcher(indexURL: URL(string: "file:///tmp")!, catalogDirectory: URL(fileURLWithPath: "/tmp"))
        }
        #expect(CatalogFetcher.retryAfter("2") == 2)
    }
}
