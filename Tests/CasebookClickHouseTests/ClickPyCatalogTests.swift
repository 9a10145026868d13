import CasebookCatalog
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@testable import CasebookClickHouse

/// ClickPy's `pypi.projects` read as a catalog, on the test server: the table is created as
/// ClickPy creates it (18.16 has no `DateTime64` or `Bool`: `DateTime` and `UInt8` stand in),
/// filled with the shared small index one row per file, and asked what the folder is asked.
@Suite(.enabled(if: TestServer.shouldRun)) struct ClickPyCatalogTests {
    static let createTable = """
        CREATE TABLE %@ (
            metadata_version String, name String, version String, summary String, description String,
            description_content_type String, author String, author_email String, maintainer String, maintainer_email String,
            license String, keywords String, classifiers Array(String), platform Array(String), home_page String,
            download_url String, requires_python String, requires Array(String), provides Array(String),
            obsoletes Array(String), requires_dist Array(String), provides_dist Array(String), obsoletes_dist Array(String),
            requires_external Array(String), project_urls Array(String), uploaded_via String, upload_time DateTime,
            filename String, size Int64, path String, python_version String, packagetype String, comment_text String,
            has_signature UInt8, md5_digest String, sha256_digest String, blake2_256_digest String
        ) ENGINE = MergeTree ORDER BY name
        """

    /// The folder's projects as ClickPy's rows: one per file, with its release's requires_dist.
    static func load(_ folder: CatalogFolder, names: [String], into url: ClickHouseURL) throws {
        let client = ClickHouseClient(url: url)
        _ = try client.execute("CREATE DATABASE IF NOT EXISTS \(ClickHouseSQL.ident(url.database))")
        _ = try client.execute(createTable.replacingOccurrences(of: "%@", with: ClickHouseSchema.table(url.database, "projects")))
        var values: [String] = []
        for name in names {
            let p = try folder.project(named: name)
            for v in p.versions {
                let m = p.metadata[v]
                for f in p.files[v] ?? [] {
                    let requires = "[" + (m?.requiresDist ?? []).map(ClickHouseSQL.literal).joined(separator: ", ") + "]"
                    values.append(
                        "(\(ClickHouseSQL.literal(p.displayName)), \(ClickHouseSQL.literal(v)), \(requires), \(ClickHouseSQL.literal(m?.requiresPython ?? "")), toDateTime(\(f.uploadTime ?? 0)), \(ClickHouseSQL.literal(f.filename)), \(ClickHouseSQL.literal(f.packageType)))"
                    )
                }
            }
        }
        _ = try client.execute(
            "INSERT INTO \(ClickHouseSchema.table(url.database, "projects")) (name, version, requires_dist, requires_python, upload_time, filename, packagetype) VALUES "
                + values.joined(separator: ", "))
    }

    @Test func clickPysProjectsAnswerAsTheFolderDoes() async throws {
        try await TestServer.withDatabase { url in
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try CatalogStoreFixture.makeCatalog(dir)
            let folder = try CatalogFolder(directory: dir)
            try Self.load(folder, names: ["app", "lib-one", "requests"], into: url)
            let clickpy = try ClickPyCatalog.open(TestServer.text(url) + "?layout=clickpy")
            #expect(clickpy.location.contains("ClickPy"))

            // Names as the projects write them, found by their normalized form.
            #expect(try clickpy.displayName(of: "APP") == "App")
            #expect(try clickpy.releases(of: "app").map(\.versionText) == folder.releases(of: "app").map(\.versionText))
            for v in ["1.0", "2.0"] {
                // The same requirements; only the source differs (a metadata row, not a release document).
                let (a, b) = (
                    try clickpy.requirements(of: "app", version: v, for: nil), try folder.requirements(of: "app", version: v, for: nil)
                )
                #expect(a?.all == b?.all && a?.applicable == b?.applicable && a?.source == .metadataRow)
                #expect(try clickpy.files(of: "app", version: v).map(\.filename) == folder.files(of: "app", version: v).map(\.filename))
            }
            #expect(
                try clickpy.requirementDiff(project: "app", from: "1.0", to: "2.0")
                    == folder.requirementDiff(project: "app", from: "1.0", to: "2.0"))
            #expect(throws: CatalogError.self) { try clickpy.project(named: "nobody") }

            // Reverse dependencies (extras, markers, time ranges) as the folder answers them.
            for name in ["lib-one", "requests", "futures", "idna", "nobody"] {
                #expect(try clickpy.dependents(of: name) == folder.dependents(of: name), "\(name)")
            }
            #expect(clickpy.reverseDependencies(of: "requests").map(\.dependent) == ["app"])
            for names in [["lib-one", "requests"], ["futures"], ["idna"]] {
                for (from, to) in [
                    (nil, nil), (UTCTime.parse("2020-03-01"), UTCTime.parse("2020-03-15")), (UTCTime.parse("2020-03-04"), nil)
                ] {
                    #expect(
                        try clickpy.dependentReleases(of: names, from: from, to: to)
                            == folder.dependentReleases(of: names, from: from, to: to),
                        "\(names) \(String(describing: from))")
                }
            }
        }
    }

    @Test func aTableThatIsNotClickPysIsNamed() async throws {
        try await TestServer.withDatabase { url in
            let client = ClickHouseClient(url: url)
            _ = try client.execute("CREATE DATABASE IF NOT EXISTS \(ClickHouseSQL.ident(url.database))")
            _ = try client.execute(
                "CREATE TABLE \(ClickHouseSchema.table(url.database, "projects")) (name String, version String) ENGINE = MergeTree ORDER BY name"
            )
            let text = TestServer.text(url)
            let lacking = #expect(throws: ClickHouseStoreError.self) { try ClickPyCatalog.open(text + "?layout=clickpy") }
            #expect(
                lacking?.description.contains("lacks the column(s) requires_dist, requires_python, upload_time, filename, packagetype")
                    == true)
            let missing = #expect(throws: ClickHouseStoreError.self) { try ClickPyCatalog.open(text + "?layout=clickpy&table=nope") }
            #expect(missing?.description.contains("no table `\(url.database).nope`") == true)
            let noLayout = #expect(throws: ClickHouseStoreError.self) { try ClickPyCatalog.open(text) }
            #expect(noLayout?.description.contains("add ?layout=clickpy") == true)
        }
    }
}
