import CasebookClickHouse
import Foundation
import Testing

/// `casebook catalog import / show / dependents` through the executable.
@Suite struct CatalogCommandTests {
    static func write(_ text: String, _ dir: URL, _ path: String) throws {
        let url = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func aMalformedDocumentIsNamedAndTheRestIsImported() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(
            #"{"info":{"name":"Good","version":"1.0","requires_dist":["Flask (>=1.0)"]},"last_serial":3,"releases":{"1.0":[{"filename":"good-1.0.tar.gz","packagetype":"sdist","upload_time_iso_8601":"2020-03-03T00:00:00Z","yanked":false}]},"urls":[]}"#,
            dir, "catalog/pypi/good/json")
        try Self.write(#"{"info":{"name":7}}"#, dir, "catalog/pypi/bad/json")
        try Self.write(
            #"{"info":{"name":"Flask","version":"1.1","requires_dist":[]},"last_serial":9,"releases":{"1.1":[]},"urls":[]}"#, dir,
            "catalog/pypi/flask/json")
        let store = dir.appendingPathComponent("s.sqlite").path
        let first = try CLI.run(["catalog", "import", "catalog", "--store", store], directory: dir)
        #expect(first.status == 1)
        #expect(
            first.stderr.contains("pypi/bad/json: field 'info.name': expected a string or null, found a number (project bad not imported)"))
        #expect(first.stdout.contains("3 projects read") && first.stdout.contains("2 projects added"))
        #expect(first.stdout.contains("catalog in \(store): 2 projects, 2 releases"))
        // Again: nothing added, nothing replaced.
        let again = try CLI.run(["catalog", "import", "catalog", "--store", store], directory: dir)
        #expect(again.stdout.contains("0 projects added, 0 replaced by newer, 2 unchanged"))

        // The imported catalog answers `show` and `dependents` (no folder needed any more).
        try FileManager.default.removeItem(at: dir.appendingPathComponent("catalog"))
        let show = try CLI.run(["catalog", "show", "good", "--store", store], directory: dir)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("Good (good): 1 releases") && show.stdout.contains("+ Flask>=1.0"))
        let deps = try CLI.run(
            ["catalog", "dependents", "flask", "--from", "2020-03-01", "--to", "2020-03-08", "--store", store], directory: dir)
        #expect(deps.status == 0, "\(deps.stderr)")
        #expect(deps.stdout.contains("1 releases require flask uploaded 2020-03-01T00:00:00Z to 2020-03-08T00:00:00Z"))
        #expect(deps.stdout.contains("good 1.0: Flask (>=1.0)"))
        let none = try CLI.run(["catalog", "dependents", "flask", "--from", "2021-01-01", "--store", store], directory: dir)
        #expect(none.stdout.hasPrefix("0 releases require flask"))
    }

    /// The same through a ClickHouse store (`CASEBOOK_TEST_CLICKHOUSE_URL`, see
    /// `.ci/clickhouse.sh`; skipped without one): import, import again, `show` and `dependents`
    /// answered by the imported catalog alone.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CASEBOOK_TEST_CLICKHOUSE_URL"].map { !$0.isEmpty } ?? false))
    func aClickHouseStoreKeepsTheCatalog() throws {
        let base = try #require(ProcessInfo.processInfo.environment["CASEBOOK_TEST_CLICKHOUSE_URL"])
        let database = "casebook_t_cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let slash = try #require(base.lastIndex(of: "/"))
        let store = String(base[..<slash]) + "/" + database
        defer { _ = try? ClickHouseEventStore(url: store).dropDatabase() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(
            #"{"info":{"name":"Good","version":"1.0","requires_dist":["Flask (>=1.0)"]},"last_serial":3,"releases":{"1.0":[{"filename":"good-1.0.tar.gz","packagetype":"sdist","upload_time_iso_8601":"2020-03-03T00:00:00Z","yanked":false}]},"urls":[]}"#,
            dir, "catalog/pypi/good/json")
        try Self.write(
            #"{"info":{"name":"Flask","version":"1.1","requires_dist":[]},"last_serial":9,"releases":{"1.1":[]},"urls":[]}"#, dir,
            "catalog/pypi/flask/json")
        let shown = try ClickHouseURL(store).redacted
        let first = try CLI.run(["catalog", "import", "catalog", "--store", store], directory: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("2 projects added"))
        #expect(first.stdout.contains("catalog in \(shown): 2 projects, 2 releases"))
        #expect(!first.stdout.contains("casebook-test") && !first.stderr.contains("casebook-test"))
        let again = try CLI.run(["catalog", "import", "catalog", "--store", store], directory: dir)
        #expect(again.stdout.contains("0 projects added, 0 replaced by newer, 2 unchanged"))

        try FileManager.default.removeItem(at: dir.appendingPathComponent("catalog"))
        let show = try CLI.run(["catalog", "show", "good", "--store", store], directory: dir)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("Good (good): 1 releases") && show.stdout.contains("+ Flask>=1.0"))
        let deps = try CLI.run(
            ["catalog", "dependents", "flask", "--from", "2020-03-01", "--to", "2020-03-08", "--store", store], directory: dir)
        #expect(deps.status == 0, "\(deps.stderr)")
        #expect(deps.stdout.contains("good 1.0: Flask (>=1.0)"))
        let none = try CLI.run(["catalog", "dependents", "flask", "--from", "2021-01-01", "--store", store], directory: dir)
        #expect(none.stdout.hasPrefix("0 releases require flask"))
    }

    /// `catalog fetch --store` downloads the documents (from the catalog tests' loopback JSON
    /// API) and then imports them: the store answers without the folder.
    @Test func fetchThenImportsIntoTheStore() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CasebookCatalogTests/Fixtures/server.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", server.path]
        let out = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.terminate()
            process.waitUntilExit()
        }
        var text = ""
        while !text.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        let port = try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), "server.py did not start")
        let store = dir.appendingPathComponent("s.sqlite").path
        let fetch = try CLI.run(
            [
                "catalog", "fetch", "Flask-Login", "markdown", "--index-url", "http://127.0.0.1:\(port)/pypi", "--catalog", "catalog",
                "--store", store
            ],
            directory: dir)
        #expect(fetch.status == 0, "\(fetch.stderr)")
        #expect(fetch.stdout.contains("imported into \(store): 2 projects added, 0 replaced by newer, 0 unchanged"))
        let again = try CLI.run(
            ["catalog", "fetch", "flask-login", "--index-url", "http://127.0.0.1:\(port)/pypi", "--catalog", "catalog", "--store", store],
            directory: dir)
        #expect(again.stdout.contains("0 projects added, 0 replaced by newer, 1 unchanged"), "\(again.stdout)")
        // Without --store, the default store is imported into when it exists; --no-import only writes the folder.
        let base = ["catalog", "fetch", "markdown", "--index-url", "http://127.0.0.1:\(port)/pypi", "--catalog", "catalog"]
        let folderOnly = try CLI.run(base, directory: dir)
        #expect(folderOnly.status == 0 && !folderOnly.stdout.contains("imported into"), "\(folderOnly.stdout)")
        try FileManager.default.copyItem(atPath: store, toPath: dir.appendingPathComponent("casebook.sqlite").path)
        let byDefault = try CLI.run(base, directory: dir)
        #expect(
            byDefault.stdout.contains("imported into casebook.sqlite: 0 projects added, 0 replaced by newer, 1 unchanged"),
            "\(byDefault.stdout)")
        let notImported = try CLI.run(base + ["--no-import"], directory: dir)
        #expect(notImported.status == 0 && !notImported.stdout.contains("imported into"), "\(notImported.stdout)")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("catalog"))
        let show = try CLI.run(["catalog", "show", "flask-login", "--store", store], directory: dir)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("(flask-login)"), "\(show.stdout)")
    }
}
