import CasebookCatalog
import CasebookCore
import CasebookIngest
import CasebookSQLite
import CasebookTesting
import Foundation
import Testing

@testable import CasebookClickHouse

/// The imported catalog in ClickHouse: the same index as the other stores' tests
/// (``CatalogStoreFixture``), the same import rules, and the same answers as the folder and as
/// the embedded store, on a real server.
@Suite(.enabled(if: TestServer.shouldRun)) struct ClickHouseCatalogTests {
    typealias Fixture = CatalogStoreFixture

    /// A fresh store in a throwaway database, with the fixture's catalog folder written.
    static func withStore(_ body: (ClickHouseEventStore, URL) throws -> Void) async throws {
        try await TestServer.withDatabase { url in
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try Fixture.makeCatalog(dir.appendingPathComponent("catalog"))
            try body(try ClickHouseEventStore(url: url), dir.appendingPathComponent("catalog"))
        }
    }

    static let empty = CatalogSummary(projects: 0, releases: 0, files: 0, requirements: 0, releasesWithMetadata: 0, newestUpload: nil)

    @Test func importingTwiceAddsNothingAndAnswersAsTheFolderDoes() async throws {
        try await Self.withStore { store, catalog in
            #expect(try store.importedCatalog() == nil)
            #expect(try store.catalogSummary() == Self.empty)
            let first = try Fixture.importFolder(catalog, into: store)
            #expect(first.added == 3 && first.replaced == 0)
            let summary = try store.catalogSummary()
            let imports = try store.client.scalar("SELECT count() FROM \(ClickHouseSchema.table(store.url.database, "catalog_imports"))")
            let second = try Fixture.importFolder(catalog, into: store)
            #expect(second.unchanged == 3 && second.added == 0 && second.replaced == 0)
            #expect(try store.catalogSummary() == summary)
            #expect(summary.projects == 3 && summary.releases == 4 && summary.files == 4)
            // Nothing changed: no rows and no import were written.
            #expect(
                try store.client.scalar("SELECT count() FROM \(ClickHouseSchema.table(store.url.database, "catalog_imports"))") == imports)
            #expect(imports == "1")

            // The same folder imported into the embedded store: the same summary.
            let sqlite = try freshSQLite()
            _ = try Fixture.importFolder(catalog, into: sqlite)
            #expect(try sqlite.catalogSummary() == summary)

            // The imported catalog answers every query as the folder does (also through a
            // store opened read-only, as `run` opens it).
            let folder = try CatalogFolder(directory: catalog)
            let reopened = try ClickHouseEventStore.openExisting(url: store.url)
            for imported in [try #require(try store.importedCatalog()), try #require(try reopened.importedCatalog())] {
                #expect(imported.location == "\(store.url.redacted) (imported catalog)")
                for name in ["app", "lib_one", "Requests"] {
                    #expect(try imported.project(named: name) == folder.project(named: name))
                    #expect(try imported.releases(of: name) == folder.releases(of: name))
                    #expect(try imported.dependents(of: name) == folder.dependents(of: name))
                    #expect(imported.reverseDependencies(of: name) == folder.reverseDependencies(of: name))
                }
                #expect(
                    try imported.requirements(of: "app", version: "2.0", for: nil)
                        == folder.requirements(of: "app", version: "2.0", for: nil))
                #expect(
                    try imported.requirementDiff(project: "app", from: "1.0", to: "2.0")
                        == folder.requirementDiff(project: "app", from: "1.0", to: "2.0"))
                #expect(throws: CatalogError.self) { try imported.project(named: "nonexistent") }
            }
        }
    }

    @Test func aStoreMadeBeforeTheCatalogTablesHasNoCatalogAndGetsThemAtItsFirstImport() async throws {
        try await Self.withStore { store, catalog in
            for t in ["catalog_projects", "catalog_releases", "catalog_files", "catalog_requirements", "catalog_imports"] {
                try store.client.execute("DROP TABLE \(ClickHouseSchema.table(store.url.database, t))")
            }
            let old = try ClickHouseEventStore.openExisting(url: store.url)
            #expect(try old.importedCatalog() == nil)
            #expect(try old.catalogSummary() == Self.empty)
            #expect(try old.dependentReleases(of: ["lib-one"], from: nil, to: nil).isEmpty)
            #expect(try Fixture.importFolder(catalog, into: old).added == 3)
            #expect(try old.catalogSummary().projects == 3)
        }
    }

    @Test func reverseDependenciesWithExtrasAndMarkersAnswerAsTheEmbeddedStore() async throws {
        try await Self.withStore { store, catalog in
            _ = try Fixture.importFolder(catalog, into: store)
            let imported = try #require(try store.importedCatalog())
            #expect(try imported.dependents(of: "Lib.One") == ["app"])
            // Required only under an extra: still a reverse dependency, with its marker.
            let requests = imported.reverseDependencies(of: "requests")
            #expect(requests.map(\.dependent) == ["app"])
            #expect(requests.first?.uses.map(\.version) == ["1.0", "2.0"])
            #expect(requests.first?.uses.last?.requirement.marker?.description.contains("extra") == true)
            let extra = try store.client.rows(
                "SELECT extra FROM \(ClickHouseSchema.table(store.url.database, "catalog_requirements")) WHERE name = 'requests' AND version = '2.0'"
            )
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
            #expect(try imported.dependentReleases(of: ["lib-one"], from: nil, to: nil).map(\.version) == ["1.0", "2.0"])

            // Every range answers as the embedded store does, in the same order.
            let sqlite = try freshSQLite()
            _ = try Fixture.importFolder(catalog, into: sqlite)
            let embedded = try #require(try sqlite.importedCatalog())
            let times: [Int64?] = [nil, UTCTime.parse("2020-02-01T10:00:00Z"), UTCTime.parse("2020-03-01"), UTCTime.parse("2021-01-01")]
            for names in [["Lib_One", "requests"], ["futures"], ["idna", "app"], ["nothing-requires-this"]] {
                for from in times {
                    for to in times {
                        #expect(
                            try store.dependentReleases(of: names, from: from, to: to)
                                == sqlite.dependentReleases(of: names, from: from, to: to), "\(names) \(String(describing: from))")
                        #expect(
                            try imported.dependentReleases(of: names, from: from, to: to)
                                == embedded.dependentReleases(of: names, from: from, to: to))
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
            // The replaced rows are shadowed (still stored), never seen.
            #expect(
                try store.client.scalar("SELECT count() FROM \(ClickHouseSchema.table(store.url.database, "catalog_projects"))") == "4")
            #expect(try store.catalogSummary().projects == 3)
            // An older document (last_serial 6) does not undo it.
            try Fixture.write(Fixture.olderRequests, to: catalog, "pypi/requests/json")
            let older = try Fixture.importFolder(catalog, into: store)
            #expect(older.older == 1 && older.replaced == 0)
            #expect(try #require(try store.importedCatalog()).latestVersion(of: "requests") == "2.1")

            // The embedded store, given the same three imports, ends the same.
            let sqlite = try freshSQLite()
            try Fixture.makeCatalog(catalog)
            _ = try Fixture.importFolder(catalog, into: sqlite)
            try Fixture.write(Fixture.newerRequests, to: catalog, "pypi/requests/json")
            _ = try Fixture.importFolder(catalog, into: sqlite)
            #expect(try store.catalogSummary() == sqlite.catalogSummary())
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
            // Added, then replaced by the newer copy, then the older copy skipped: one import.
            let counts = try store.importCatalogProjects([v1[0], v2[0], v1[0], v1[1], v1[1]], mode: .replaceNewer)
            #expect(counts.added == 2 && counts.replaced == 1 && counts.older == 1 && counts.unchanged == 1)
            let imported = try #require(try store.importedCatalog())
            #expect(try imported.project(named: "proj-0") == v2[0])
            #expect(try imported.project(named: "proj-1") == v1[1])
            #expect(try store.catalogSummary().releases == 6)
        }
    }

    @Test func aBatchWithoutItsCommitIsNeverSeen() async throws {
        try await Self.withStore { store, catalog in
            _ = try Fixture.importFolder(catalog, into: store)
            let before = try store.catalogSummary()
            let folder = try CatalogFolder(directory: catalog)
            // An import that wrote its rows and died before its `catalog_imports` row: new
            // projects, and a newer `requests` that would replace the stored one.
            var batch = Fixture.syntheticProjects(5)
            var requests = try folder.project(named: "requests")
            requests.lastSerial = 99
            requests.latestVersion = "9.9"
            batch.append(requests)
            let counts = try store.importCatalogProjects(batch, mode: .replaceNewer, commit: false)
            #expect(counts.added == 5 && counts.replaced == 1)
            let db = store.url.database
            #expect(try store.client.scalar("SELECT count() FROM \(ClickHouseSchema.table(db, "catalog_projects"))") == "9")
            #expect(try store.client.scalar("SELECT count() FROM \(ClickHouseSchema.table(db, "catalog_files"))") != "4")

            // Nothing of it is seen: summary, projects, dependents, reverse dependencies.
            #expect(try store.catalogSummary() == before)
            let imported = try #require(try store.importedCatalog())
            #expect(throws: CatalogError.self) { try imported.project(named: "proj-0") }
            #expect(try imported.project(named: "requests") == folder.project(named: "requests"))
            #expect(try imported.dependents(of: "common").isEmpty)
            #expect(try store.dependentReleases(of: ["common", "idna"], from: nil, to: nil).map(\.project) == ["requests"])

            // The next import decides against the committed state, and wins over the orphans.
            let next = try store.importCatalogProjects(batch, mode: .replaceNewer)
            #expect(next.added == 5 && next.replaced == 1)
            #expect(try store.catalogSummary().projects == 8)
            let after = try #require(try store.importedCatalog())
            #expect(try after.latestVersion(of: "requests") == "9.9")
            #expect(try after.project(named: "proj-3") == batch[3])
        }
    }

    @Test func aFailingBatchLeavesTheCatalogAsItWas() async throws {
        try await Self.withStore { store, catalog in
            _ = try Fixture.importFolder(catalog, into: store)
            let before = try store.catalogSummary()
            // The server refuses the batch's requirement rows (the table is gone), after its
            // projects, releases and files are written: the import fails and nothing is seen.
            let requirements = ClickHouseSchema.table(store.url.database, "catalog_requirements")
            try store.client.execute(
                "RENAME TABLE \(requirements) TO \(ClickHouseSchema.table(store.url.database, "catalog_requirements_away"))")
            #expect(throws: ClickHouseStoreError.self) {
                try store.importCatalogProjects(Fixture.syntheticProjects(3), mode: .replaceNewer)
            }
            try store.client.execute(
                "RENAME TABLE \(ClickHouseSchema.table(store.url.database, "catalog_requirements_away")) TO \(requirements)")
            #expect(try store.catalogSummary() == before)
            #expect(try store.client.scalar("SELECT count() FROM \(ClickHouseSchema.table(store.url.database, "catalog_imports"))") == "1")
        }
    }

    @Test func manyProjectsAndMergedMetadataRowsAnswerAsTheEmbeddedStore() async throws {
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
                // Tabs, newlines, backslashes, quotes and `\N` survive TabSeparated and arrays.
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
            // (Fresh catalogs: each keeps the projects it read.)
            let merged = try #require(try store.importedCatalog())
            let embeddedMerged = try #require(try sqlite.importedCatalog())
            for i in [0, 599] {
                #expect(try merged.project(named: "proj-\(i)") == embeddedMerged.project(named: "proj-\(i)"))
                #expect(try merged.releases(of: "proj-\(i)").map(\.versionText) == ["1.0", "1.1", "1.2", "2.0"])
            }
            // Merging the same rows again changes nothing.
            #expect(try store.importCatalogProjects(extra, mode: .merge).unchanged == 600)
            #expect(
                try store.dependentReleases(of: ["common"], from: 1_590_000_000, to: nil)
                    == sqlite.dependentReleases(of: ["common"], from: 1_590_000_000, to: nil))
        }
    }

    @Test func metadataRowsMergeAsInTheEmbeddedStore() async throws {
        try await Self.withStore { store, catalog in
            let dir = catalog.deletingLastPathComponent()
            let rows = dir.appendingPathComponent("rows.ndjson")
            try Fixture.metadataRowsNDJSON.write(to: rows, atomically: true, encoding: .utf8)
            let sqlite = try freshSQLite()
            for s in [store as any CatalogStore, sqlite] {
                _ = try Fixture.importFolder(catalog, into: s)
                let reader = MetadataRowsReader(path: rows.path)
                _ = try reader.read { batch in _ = try s.importCatalogProjects(batch, mode: .merge) }
            }
            #expect(try store.catalogSummary() == sqlite.catalogSummary())
            let imported = try #require(try store.importedCatalog())
            let embedded = try #require(try sqlite.importedCatalog())
            for name in ["app", "lib-one", "requests"] {
                #expect(try imported.project(named: name) == embedded.project(named: name))
            }
            #expect(
                try store.dependentReleases(of: ["lib-one", "requests"], from: nil, to: nil)
                    == sqlite.dependentReleases(of: ["lib-one", "requests"], from: nil, to: nil))
        }
    }
}
