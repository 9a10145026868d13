import CasebookCatalog
import CasebookCore
import CasebookIngest
import CasebookSQLite
import CasebookTesting
import Foundation
import Testing

@testable import CasebookPostgres

/// The imported catalog in PostgreSQL: the same index as the embedded store's tests
/// (``CatalogStoreFixture``), the same import rules, and the same answers as the folder and as
/// the embedded store.
@Suite(.enabled(if: TestServer.shouldRun)) struct PostgresCatalogTests {
    typealias Fixture = CatalogStoreFixture

    /// A fresh store in a throwaway schema, with the fixture's catalog folder written.
    static func withStore(_ body: (PostgresEventStore, URL) throws -> Void) async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try Fixture.makeCatalog(dir.appendingPathComponent("catalog"))
            try body(try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)")), dir.appendingPathComponent("catalog"))
        }
    }

    @Test func importingTwiceAddsNothingAndAnswersAsTheFolderDoes() async throws {
        try await Self.withStore { store, catalog in
            #expect(try store.importedCatalog() == nil)
            #expect(
                try store.catalogSummary()
                    == CatalogSummary(projects: 0, releases: 0, files: 0, requirements: 0, releasesWithMetadata: 0, newestUpload: nil))
            let first = try Fixture.importFolder(catalog, into: store)
            #expect(first.added == 3 && first.replaced == 0)
            let summary = try store.catalogSummary()
            let second = try Fixture.importFolder(catalog, into: store)
            #expect(second.unchanged == 3 && second.added == 0 && second.replaced == 0)
            #expect(try store.catalogSummary() == summary)
            #expect(summary.projects == 3 && summary.releases == 4 && summary.files == 4)

            // The same folder imported into the embedded store: the same summary.
            let sqlite = try freshSQLite()
            _ = try Fixture.importFolder(catalog, into: sqlite)
            #expect(try sqlite.catalogSummary() == summary)

            // The imported catalog answers every query as the folder does.
            let folder = try CatalogFolder(directory: catalog)
            let imported = try #require(try store.importedCatalog())
            #expect(imported.location == "\(store.url.redacted) (imported catalog)")
            for name in ["app", "lib_one", "Requests"] {
                #expect(try imported.project(named: name) == folder.project(named: name))
                #expect(try imported.releases(of: name) == folder.releases(of: name))
                #expect(try imported.dependents(of: name) == folder.dependents(of: name))
                #expect(imported.reverseDependencies(of: name) == folder.reverseDependencies(of: name))
            }
            #expect(
                try imported.requirements(of: "app", version: "2.0", for: nil) == folder.requirements(of: "app", version: "2.0", for: nil))
            #expect(
                try imported.requirementDiff(project: "app", from: "1.0", to: "2.0")
                    == folder.requirementDiff(project: "app", from: "1.0", to: "2.0"))
            #expect(throws: CatalogError.self) { try imported.project(named: "nonexistent") }
        }
    }

    @Test func reverseDependenciesWithExtrasAndMarkers() async throws {
        try await Self.withStore { store, catalog in
            _ = try Fixture.importFolder(catalog, into: store)
            let imported = try #require(try store.importedCatalog())
            #expect(try imported.dependents(of: "Lib.One") == ["app"])
            // Required only under an extra: still a reverse dependency, with its marker.
            let requests = imported.reverseDependencies(of: "requests")
            #expect(requests.map(\.dependent) == ["app"])
            #expect(requests.first?.uses.map(\.version) == ["1.0", "2.0"])
            #expect(requests.first?.uses.last?.requirement.marker?.description.contains("extra") == true)
            let extra = try store.connection.execute(
                "SELECT extra FROM \(store.schema).catalog_requirements WHERE name = 'requests' AND version = '2.0'"
            ).rows
            #expect(extra == [["socks"]])
            // Under a marker: `futures` only for Python 2.
            #expect(try imported.dependents(of: "futures") == ["app"])
            let py2 = ClientEnvironment(python: "2.7.16", cpu: "armv7l", system: "Linux")
            let py3 = ClientEnvironment(python: "3.7.3", cpu: "armv7l", system: "Linux")
            #expect(
                try imported.requirements(of: "app", version: "2.0", for: py2)?.applicable.map(\.normalizedName) == ["lib-one", "futures"])
            #expect(try imported.requirements(of: "app", version: "2.0", for: py3)?.applicable.map(\.normalizedName) == ["lib-one"])

            // In a time range: only app 2.0 (uploaded 2020-03-03) falls in March.
            let march = try store.dependentReleases(
                of: ["lib-one", "requests"], from: UTCTime.parse("2020-03-01")!, to: UTCTime.parse("2020-03-15")!)
            #expect(march.map { "\($0.project) \($0.version) \($0.requires)" } == ["app 2.0 lib-one", "app 2.0 requests"])
            #expect(try store.dependentReleases(of: ["lib-one"], from: nil, to: nil).map(\.version) == ["1.0", "2.0"])
            #expect(try store.dependentReleases(of: [], from: nil, to: nil).isEmpty)

            // Every range answers as the embedded store does, in the same order.
            let sqlite = try freshSQLite()
            _ = try Fixture.importFolder(catalog, into: sqlite)
            let times: [Int64?] = [nil, UTCTime.parse("2020-02-01T10:00:00Z"), UTCTime.parse("2020-03-01"), UTCTime.parse("2021-01-01")]
            for names in [["Lib_One", "requests"], ["futures"], ["idna", "app"], ["nothing-requires-this"]] {
                for from in times {
                    for to in times {
                        #expect(
                            try store.dependentReleases(of: names, from: from, to: to)
                                == sqlite.dependentReleases(of: names, from: from, to: to), "\(names) \(String(describing: from))")
                    }
                }
            }
        }
    }

    @Test func aNewerDocumentReplacesItsProjectAndAnOlderOneIsSkipped() async throws {
        try await Self.withStore { store, catalog in
            _ = try Fixture.importFolder(catalog, into: store)
            // requests 2.1 appears (last_serial 8): the project is replaced, the others unchanged.
            try Fixture.write(Fixture.newerRequests, to: catalog, "pypi/requests/json")
            let newer = try Fixture.importFolder(catalog, into: store)
            #expect(newer.replaced == 1 && newer.unchanged == 2)
            let imported = try #require(try store.importedCatalog())
            #expect(try imported.releases(of: "requests").map(\.versionText) == ["2.0", "2.1"])
            #expect(try imported.project(named: "requests") == CatalogFolder(directory: catalog).project(named: "requests"))
            #expect(try store.catalogSummary().releases == 5)
            // An older document (last_serial 6) does not undo it.
            try Fixture.write(Fixture.olderRequests, to: catalog, "pypi/requests/json")
            let older = try Fixture.importFolder(catalog, into: store)
            #expect(older.older == 1 && older.replaced == 0)
            #expect(try #require(try store.importedCatalog()).latestVersion(of: "requests") == "2.1")
        }
    }

    @Test func aProjectTwiceInOneBatchIsDecidedAgainstItsFirstCopy() async throws {
        try await Self.withStore { store, _ in
            let v1 = Fixture.syntheticProjects(2, serial: 1)
            let v2 = Fixture.syntheticProjects(2, serial: 2).map { p in
                var p = p
                p.latestVersion = "2.0"
                return p
            }
            // Added, then replaced by the newer copy, then the older copy skipped: one transaction.
            let counts = try store.importCatalogProjects([v1[0], v2[0], v1[0], v1[1], v1[1]], mode: .replaceNewer)
            #expect(counts.added == 2 && counts.replaced == 1 && counts.older == 1 && counts.unchanged == 1)
            let imported = try #require(try store.importedCatalog())
            #expect(try imported.project(named: "proj-0") == v2[0])
            #expect(try imported.project(named: "proj-1") == v1[1])
            #expect(try store.catalogSummary().releases == 6)
        }
    }

    @Test func aFailingBatchLeavesTheCatalogAsItWas() async throws {
        try await Self.withStore { store, catalog in
            _ = try Fixture.importFolder(catalog, into: store)
            let before = try store.catalogSummary()
            // The server refuses one file of the batch's last project: nothing of the batch stays.
            try store.connection.execute(
                """
                CREATE FUNCTION \(store.schema).refuse_file() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.filename = 'proj_4-1.2.tar.gz' THEN RAISE EXCEPTION 'refused file %', NEW.filename; END IF; RETURN NEW; END $$;
                CREATE TRIGGER refuse_file BEFORE INSERT ON \(store.schema).catalog_files
                    FOR EACH ROW EXECUTE FUNCTION \(store.schema).refuse_file();
                """)
            var refused = Fixture.syntheticProjects(5)
            refused.append(
                contentsOf: try CatalogFolder.projectFolders(in: catalog).map {
                    try #require(try CatalogFolder.readProject(folder: $0, in: catalog))
                }.map { p in
                    var p = p
                    p.lastSerial = (p.lastSerial ?? 0) + 1
                    return p
                })
            let error = #expect(throws: PostgresStoreError.self) { try store.importCatalogProjects(refused, mode: .replaceNewer) }
            #expect(error?.description.contains("refused file proj_4-1.2.tar.gz") == true)
            #expect(try store.catalogSummary() == before)
            let unchanged = try #require(try store.importedCatalog())
            #expect(throws: CatalogError.self) { try unchanged.project(named: "proj-0") }
            // The connection is usable again, and the batch without the refused file goes in whole.
            try store.connection.execute("DROP TRIGGER refuse_file ON \(store.schema).catalog_files")
            let counts = try store.importCatalogProjects(refused, mode: .replaceNewer)
            #expect(counts.added == 5 && counts.replaced == 3)
        }
    }

    @Test func metadataRowsMergeIntoProjectsAndTwiceAddNothing() async throws {
        try await Self.withStore { store, _ in
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let ndjson = dir.appendingPathComponent("rows.ndjson")
            try Fixture.metadataRowsNDJSON.write(to: ndjson, atomically: true, encoding: .utf8)
            let sqlite = try freshSQLite()
            func load(_ path: String, into target: any CatalogStore) throws -> (CatalogImportCounts, [MetadataRowProblem]) {
                var counts = CatalogImportCounts()
                let (_, problems) = try MetadataRowsReader(path: path).read {
                    counts = counts + (try target.importCatalogProjects($0, mode: .merge))
                }
                return (counts, problems)
            }
            let (first, problems) = try load(ndjson.path, into: store)
            #expect(problems.map(\.line) == [3])
            // App appears twice (its rows are not consecutive): added, then merged with its new file.
            #expect(first.added == 2 && first.replaced == 1)
            let catalog = try #require(try store.importedCatalog())
            #expect(try catalog.files(of: "app", version: "2.0").map(\.filename) == ["app-2.0-py3-none-any.whl", "app-2.0.tar.gz"])
            #expect(try catalog.requirements(of: "lib-one", version: "2.1", for: nil)?.requiresDistIsNull == true)
            #expect(try catalog.requirements(of: "app", version: "1.0", for: nil)?.source == .metadataRow)
            #expect(catalog.requiresPython(of: "app", version: "1.0") == ">=3.6")
            #expect(try catalog.dependents(of: "requests") == ["app"])
            let summary = try store.catalogSummary()
            let (again, _) = try load(ndjson.path, into: store)
            #expect(again.added == 0 && again.replaced == 0 && again.unchanged == 3)
            #expect(try store.catalogSummary() == summary)

            // The same rows as CSV add nothing either; a new project in them is added.
            let csv = dir.appendingPathComponent("rows.csv")
            try Fixture.metadataRowsCSV.write(to: csv, atomically: true, encoding: .utf8)
            let (fromCSV, csvProblems) = try load(csv.path, into: store)
            #expect(csvProblems.map(\.line) == [4])
            #expect(fromCSV.unchanged == 2 && fromCSV.added == 0)

            // The embedded store, given the same rows, holds the same projects.
            _ = try load(ndjson.path, into: sqlite)
            _ = try load(csv.path, into: sqlite)
            #expect(try sqlite.catalogSummary() == store.catalogSummary())
            let embedded = try #require(try sqlite.importedCatalog())
            let fresh = try #require(try store.importedCatalog())
            for name in ["app", "lib-one"] { #expect(try fresh.project(named: name) == embedded.project(named: name)) }
        }
    }

    @Test func aLargeBatchRoundTripsAndMergesAsTheEmbeddedStoreDoes() async throws {
        try await Self.withStore { store, _ in
            let projects = Fixture.syntheticProjects(600)
            let sqlite = try freshSQLite()
            #expect(try store.importCatalogProjects(projects, mode: .replaceNewer).added == 600)
            _ = try sqlite.importCatalogProjects(projects, mode: .replaceNewer)
            #expect(try store.importCatalogProjects(projects, mode: .replaceNewer).unchanged == 600)
            #expect(try store.catalogSummary() == sqlite.catalogSummary())
            #expect(try store.catalogSummary().files == 3600)
            let imported = try #require(try store.importedCatalog())
            let embedded = try #require(try sqlite.importedCatalog())
            for i in [0, 1, 299, 599] {
                // Tabs, newlines, backslashes and `\N` in a yanked reason survive COPY.
                #expect(try imported.project(named: "proj-\(i)") == projects[i])
                #expect(try imported.project(named: "proj-\(i)") == embedded.project(named: "proj-\(i)"))
            }
            #expect(try imported.dependents(of: "common").count == 600)
            #expect(try imported.dependents(of: "common") == embedded.dependents(of: "common"))
            #expect(
                try store.dependentReleases(of: ["common", "proj-7"], from: 1_580_100_000, to: 1_580_500_000)
                    == sqlite.dependentReleases(of: ["common", "proj-7"], from: 1_580_100_000, to: 1_580_500_000))

            // Merging one more release into every project replaces each, keeping what was there.
            let extra = projects.map { p in
                CatalogProject(
                    name: p.name, displayName: p.displayName, latestVersion: nil, lastSerial: nil,
                    files: ["2.0": [ReleaseFile(filename: "\(p.name)-2.0.tar.gz", packageType: "sdist", uploadTime: 1_600_000_000)]],
                    metadata: ["2.0": ReleaseMetadata(requiresDist: ["common>=3"], requiresPython: nil, source: .metadataRow)])
            }
            #expect(try store.importCatalogProjects(extra, mode: .merge).replaced == 600)
            _ = try sqlite.importCatalogProjects(extra, mode: .merge)
            #expect(try store.catalogSummary() == sqlite.catalogSummary())
            #expect(try store.catalogSummary().releases == 2400)
        }
    }
}
