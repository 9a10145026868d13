import CasebookCatalog
import CasebookCore
import CasebookIngest
import CasebookTesting
import Foundation
import Testing

@testable import CasebookSQLite

/// The imported catalog: documents and metadata rows loaded into the store's catalog tables
/// (the index is ``CatalogStoreFixture``'s, which the PostgreSQL store's tests import too).
@Suite struct CatalogImportTests {
    typealias Fixture = CatalogStoreFixture

    @Test func importingTwiceAddsNothingAndAnswersAsTheFolderDoes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Fixture.makeCatalog(dir.appendingPathComponent("catalog"))
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
        #expect(try store.importedCatalog() == nil)
        let first = try Fixture.importFolder(dir.appendingPathComponent("catalog"), into: store)
        #expect(first.added == 3 && first.replaced == 0)
        let summary = try store.catalogSummary()
        let second = try Fixture.importFolder(dir.appendingPathComponent("catalog"), into: store)
        #expect(second.unchanged == 3 && second.added == 0 && second.replaced == 0)
        #expect(try store.catalogSummary() == summary)
        #expect(summary.projects == 3 && summary.releases == 4 && summary.files == 4)

        // The imported catalog answers every query as the folder does.
        let folder = try CatalogFolder(directory: dir.appendingPathComponent("catalog"))
        let imported = try #require(try store.importedCatalog())
        for name in ["app", "lib_one", "Requests"] {
            #expect(try imported.project(named: name) == folder.project(named: name))
            #expect(try imported.releases(of: name) == folder.releases(of: name))
        }
        #expect(try imported.requirements(of: "app", version: "2.0", for: nil) == folder.requirements(of: "app", version: "2.0", for: nil))
        #expect(
            try imported.requirementDiff(project: "app", from: "1.0", to: "2.0")
                == folder.requirementDiff(project: "app", from: "1.0", to: "2.0"))
        #expect(throws: CatalogError.self) { try imported.project(named: "nonexistent") }
    }

    @Test func reverseDependenciesWithExtrasAndMarkers() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Fixture.makeCatalog(dir.appendingPathComponent("catalog"))
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
        _ = try Fixture.importFolder(dir.appendingPathComponent("catalog"), into: store)
        let catalog = try #require(try store.importedCatalog())
        #expect(try catalog.dependents(of: "Lib.One") == ["app"])
        // Required only under an extra: still a reverse dependency, with its marker.
        let requests = catalog.reverseDependencies(of: "requests")
        #expect(requests.map(\.dependent) == ["app"])
        #expect(requests.first?.uses.map(\.version) == ["1.0", "2.0"])
        #expect(requests.first?.uses.last?.requirement.marker?.description.contains("extra") == true)
        let extra = try store.dbQueue.read { db in
            try String.fetchOne(db, sql: "SELECT extra FROM catalog_requirements WHERE name = 'requests' AND version = '2.0'")
        }
        #expect(extra == "socks")
        // Under a marker: `futures` only for Python 2.
        #expect(try catalog.dependents(of: "futures") == ["app"])
        let py2 = ClientEnvironment(python: "2.7.16", cpu: "armv7l", system: "Linux")
        let py3 = ClientEnvironment(python: "3.7.3", cpu: "armv7l", system: "Linux")
        #expect(try catalog.requirements(of: "app", version: "2.0", for: py2)?.applicable.map(\.normalizedName) == ["lib-one", "futures"])
        #expect(try catalog.requirements(of: "app", version: "2.0", for: py3)?.applicable.map(\.normalizedName) == ["lib-one"])

        // In a time range: only app 2.0 (uploaded 2020-03-03) falls in March.
        let march = try store.dependentReleases(
            of: ["lib-one", "requests"], from: UTCTime.parse("2020-03-01")!, to: UTCTime.parse("2020-03-15")!)
        #expect(march.map { "\($0.project) \($0.version) \($0.requires)" } == ["app 2.0 lib-one", "app 2.0 requests"])
        #expect(try store.dependentReleases(of: ["lib-one"], from: nil, to: nil).map(\.version) == ["1.0", "2.0"])
        // The catalog API answers the same from the imported tables (its index) and from the folder (reading every dependent).
        let folder = try CatalogFolder(directory: dir.appendingPathComponent("catalog"))
        for names in [["lib-one", "requests"], ["futures"], ["lib-one"], ["nobody"]] {
            for (from, to) in [(nil, nil), (UTCTime.parse("2020-03-01"), UTCTime.parse("2020-03-15")), (UTCTime.parse("2020-03-04"), nil)] {
                let imported = try catalog.dependentReleases(of: names, from: from, to: to)
                #expect(imported == (try folder.dependentReleases(of: names, from: from, to: to)), "\(names) \(String(describing: from))")
                #expect(imported == (try store.dependentReleases(of: names, from: from, to: to)))
            }
        }
    }

    @Test func aNewerDocumentReplacesItsProjectAndAnOlderOneIsSkipped() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let catalog = dir.appendingPathComponent("catalog")
        try Fixture.makeCatalog(catalog)
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
        _ = try Fixture.importFolder(catalog, into: store)
        // requests 2.1 appears (last_serial 8): the project is replaced, the others unchanged.
        try Fixture.write(Fixture.newerRequests, to: catalog, "pypi/requests/json")
        let newer = try Fixture.importFolder(catalog, into: store)
        #expect(newer.replaced == 1 && newer.unchanged == 2)
        let imported = try #require(try store.importedCatalog())
        #expect(try imported.releases(of: "requests").map(\.versionText) == ["2.0", "2.1"])
        // An older document (last_serial 6) does not undo it.
        try Fixture.write(Fixture.olderRequests, to: catalog, "pypi/requests/json")
        let older = try Fixture.importFolder(catalog, into: store)
        #expect(older.older == 1 && older.replaced == 0)
        #expect(try #require(try store.importedCatalog()).latestVersion(of: "requests") == "2.1")
    }

    @Test func metadataRowsImportAsReleasesAndTwiceAddNothing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ndjson = dir.appendingPathComponent("rows.ndjson")
        try Fixture.metadataRowsNDJSON.write(to: ndjson, atomically: true, encoding: .utf8)
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
        func load(_ path: String) throws -> (CatalogImportCounts, [MetadataRowProblem]) {
            var counts = CatalogImportCounts()
            let (_, problems) = try MetadataRowsReader(path: path).read {
                counts = counts + (try store.importCatalogProjects($0, mode: .merge))
            }
            return (counts, problems)
        }
        let (first, problems) = try load(ndjson.path)
        #expect(problems.map(\.line) == [3])
        #expect(problems.first?.description.hasPrefix("\(ndjson.path):3: expected one JSON object per line") == true)
        // App appears twice (its rows are not consecutive): added, then merged with its new file.
        #expect(first.added == 2 && first.replaced == 1)
        let catalog = try #require(try store.importedCatalog())
        #expect(try catalog.files(of: "app", version: "2.0").map(\.filename) == ["app-2.0-py3-none-any.whl", "app-2.0.tar.gz"])
        #expect(try catalog.requirements(of: "lib-one", version: "2.1", for: nil)?.requiresDistIsNull == true)
        #expect(try catalog.requirements(of: "app", version: "1.0", for: nil)?.source == .metadataRow)
        #expect(catalog.requiresPython(of: "app", version: "1.0") == ">=3.6")
        #expect(try catalog.dependents(of: "requests") == ["app"])
        let summary = try store.catalogSummary()
        let (again, _) = try load(ndjson.path)
        #expect(again.added == 0 && again.replaced == 0 && again.unchanged == 3)
        #expect(try store.catalogSummary() == summary)

        // The same rows as CSV (ClickHouse's array syntax) add nothing either.
        let csv = dir.appendingPathComponent("rows.csv")
        try Fixture.metadataRowsCSV.write(to: csv, atomically: true, encoding: .utf8)
        let (fromCSV, csvProblems) = try load(csv.path)
        #expect(csvProblems.map(\.line) == [4])  // 6 fields where the header names 7
        #expect(fromCSV.unchanged == 2 && fromCSV.added == 0)
    }
}
