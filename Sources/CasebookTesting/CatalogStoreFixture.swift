import CasebookCatalog
import CasebookCore
import Foundation

/// The small index that every ``CatalogStore`` backend's tests import: the same documents and
/// metadata rows for each store, so each proves the same import rules and the same answers.
///
/// An app whose 2.0 release pins a library, requires `requests` under an extra and `futures`
/// under a marker; the library; and `requests` (with newer and older documents of it).
public enum CatalogStoreFixture {
    /// A project document as PyPI's JSON API writes it (one file per release: version, file
    /// name, ISO 8601 upload time).
    public static func projectDocument(
        _ name: String, serial: Int, latest: String, requiresDist: [String]?, releases: [(String, String, String)]
    ) -> String {
        let rd =
            requiresDist.map { "[" + $0.map { "\"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"" }.joined(separator: ",") + "]" }
            ?? "null"
        let rel = releases.map { v, file, time in
            "\"\(v)\":[{\"filename\":\"\(file)\",\"packagetype\":\"\(file.hasSuffix(".whl") ? "bdist_wheel" : "sdist")\",\"upload_time_iso_8601\":\"\(time)\",\"yanked\":false}]"
        }.joined(separator: ",")
        return
            "{\"info\":{\"name\":\"\(name)\",\"version\":\"\(latest)\",\"requires_dist\":\(rd),\"requires_python\":null},\"last_serial\":\(serial),\"releases\":{\(rel)},\"urls\":[]}"
    }

    /// Writes `text` to `dir/path`, creating the folders.
    public static func write(_ text: String, to dir: URL, _ path: String) throws {
        let url = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Writes the index into `dir` (a catalog folder: `dir/pypi/NAME/json`, ...): three
    /// projects, four releases, four files.
    public static func makeCatalog(_ dir: URL) throws {
        try write(
            projectDocument(
                "App", serial: 10, latest: "2.0", requiresDist: nil,
                releases: [("1.0", "app-1.0.tar.gz", "2020-02-01T10:00:00Z"), ("2.0", "app-2.0-py3-none-any.whl", "2020-03-03T10:00:00Z")]),
            to: dir, "pypi/App/json")
        try write(
            projectDocument("App", serial: 10, latest: "1.0", requiresDist: ["Lib_One (>=1.0,<2)", "requests"], releases: []),
            to: dir, "pypi/App/1.0/json")
        try write(
            projectDocument(
                "App", serial: 10, latest: "2.0",
                requiresDist: ["lib-one==2.1", "requests[socks]; extra == 'socks'", "futures; python_version < \"3\""], releases: []),
            to: dir, "pypi/App/2.0/json")
        try write(
            projectDocument(
                "lib-one", serial: 4, latest: "2.1", requiresDist: [],
                releases: [("2.1", "lib_one-2.1-py2.py3-none-any.whl", "2020-01-05T00:00:00Z")]),
            to: dir, "pypi/lib-one/json")
        try write(
            projectDocument(
                "requests", serial: 7, latest: "2.0", requiresDist: ["idna"],
                releases: [("2.0", "requests-2.0.tar.gz", "2019-01-01T00:00:00Z")]),
            to: dir, "pypi/requests/json")
    }

    /// A newer `requests` document (last_serial 8, release 2.1 added): replaces the stored project.
    public static let newerRequests = projectDocument(
        "requests", serial: 8, latest: "2.1", requiresDist: ["idna", "chardet"],
        releases: [("2.0", "requests-2.0.tar.gz", "2019-01-01T00:00:00Z"), ("2.1", "requests-2.1.tar.gz", "2020-03-04T00:00:00Z")])

    /// An older `requests` document (last_serial 6): skipped once a newer one is stored.
    public static let olderRequests = projectDocument("requests", serial: 6, latest: "1.9", requiresDist: [], releases: [])

    /// Reads every project of a catalog folder and imports them in one batch (`.replaceNewer`).
    public static func importFolder(_ dir: URL, into store: any CatalogStore) throws -> CatalogImportCounts {
        let projects = try CatalogFolder.projectFolders(in: dir).compactMap { try CatalogFolder.readProject(folder: $0, in: dir) }
        return try store.importCatalogProjects(projects, mode: .replaceNewer)
    }

    /// Metadata rows as NDJSON: app 1.0 and 2.0 (2.0's rows not consecutive: a second file
    /// later), lib-one 2.1 with `requires_dist: null`, and a malformed line 3.
    public static let metadataRowsNDJSON = """
        {"name":"App","version":"1.0","requires_dist":["lib-one>=1"],"requires_python":">=3.6","upload_time":"2020-02-01 10:00:00 UTC","filename":"app-1.0.tar.gz","packagetype":"sdist"}
        {"name":"App","version":"2.0","requires_dist":["lib-one==2.1","requests[socks]; extra == \\"socks\\""],"requires_python":null,"upload_time":"2020-03-03T10:00:00Z","filename":"app-2.0-py3-none-any.whl","packagetype":"bdist_wheel","python_version":"py3"}
        not json at all
        {"name":"lib-one","version":"2.1","requires_dist":null,"upload_time":"2020-01-05T00:00:00Z","filename":"lib_one-2.1.tar.gz","packagetype":"sdist"}
        {"name":"App","version":"2.0","requires_dist":["lib-one==2.1","requests[socks]; extra == \\"socks\\""],"upload_time":"2020-03-03T10:05:00Z","filename":"app-2.0.tar.gz","packagetype":"sdist"}

        """

    /// Some of the same rows as CSV (ClickHouse's array syntax), and a short line 4 (6 fields
    /// where the header names 7).
    public static let metadataRowsCSV = """
        name,version,requires_dist,requires_python,upload_time,filename,packagetype
        App,1.0,['lib-one>=1'],>=3.6,2020-02-01 10:00:00,app-1.0.tar.gz,sdist
        lib-one,2.1,,,2020-01-05 00:00:00,lib_one-2.1.tar.gz,sdist
        lib-two,0.1,"[""lib-one""]",,2020-03-05 00:00:00,lib_two-0.1.tar.gz

        """

    /// `count` projects of three releases each, every one requiring the one before it and
    /// `common` (under an extra and a marker too), with text that COPY and TabSeparated must
    /// escape: a large batch for comparing a server's catalog with the embedded store's.
    public static func syntheticProjects(_ count: Int, serial: Int64 = 1) -> [CatalogProject] {
        (0..<count).map { i in
            var files: [String: [ReleaseFile]] = [:]
            var metadata: [String: ReleaseMetadata] = [:]
            for minor in 0..<3 {
                let v = "1.\(minor)"
                let t = Int64(1_580_000_000 + i * 3600 + minor * 86400)
                files[v] = [
                    ReleaseFile(
                        filename: "proj_\(i)-\(v)-py3-none-any.whl", packageType: "bdist_wheel", pythonVersion: "py3", uploadTime: t,
                        requiresPython: ">=3.6", size: 1000 + i, sha256: String(repeating: "a", count: 64),
                        url: "https://files.example/proj_\(i)-\(v)-py3-none-any.whl"),
                    ReleaseFile(
                        filename: "proj_\(i)-\(v).tar.gz", packageType: "sdist", uploadTime: t + 60, yanked: minor == 1,
                        yankedReason: minor == 1 ? "broken:\ttab,\nline, back\\slash, \\N, 'quote', é" : nil)
                ]
                metadata[v] = ReleaseMetadata(
                    requiresDist: [
                        "common>=\(minor)", "proj-\(max(0, i - 1))[fast]; extra == 'speed'", "futures; python_version < \"3\"",
                        "odd\\name\ttab"
                    ],
                    requiresPython: ">=3.6", source: .releaseDocument)
            }
            return CatalogProject(
                name: "proj-\(i)", displayName: "Proj_\(i) ✓", latestVersion: "1.2", lastSerial: serial, files: files, metadata: metadata)
        }
    }
}
