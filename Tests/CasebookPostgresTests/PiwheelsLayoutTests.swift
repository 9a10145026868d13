import CasebookAnalysis
import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookPostgres

/// A piwheels-style `downloads` table, read as it is: the same aggregates as from the logs the
/// rows came from, client keys included (same salt), and nothing written to that database.
@Suite(.enabled(if: TestServer.shouldRun)) struct PiwheelsLayoutTests {
    static let salt: [UInt8] = Array("a fixed test salt for piwheels!!".utf8)

    /// Every dimension a piwheels table can answer, alone and combined.
    static let queries: [AggregateQuery] = {
        let dims: [CasebookCore.Dimension] = [
            .project, .version, .filename, .fileType, .python, .pythonMajor, .pythonMinor, .implementation,
            .installer, .installerVersion, .distro, .distroVersion, .system, .cpu, .client
        ]
        var q = dims.map { AggregateQuery(dimensions: [$0]) }
        q += [
            AggregateQuery(bucket: .day),
            AggregateQuery(bucket: .hour, dimensions: [.project, .pythonMinor]),
            AggregateQuery(bucket: .week, dimensions: [.project], top: 2),
            AggregateQuery(bucket: .day, dimensions: [.client, .project], filters: [DimensionFilter(.fileType, .notIn, ["sdist"])]),
            AggregateQuery(
                dimensions: [.cpu, .pythonMajor], filters: [.equals(.project, "flask-login")],
                range: TimeRange(from: UTCTime.epoch(year: 2020, month: 3, day: 5), to: UTCTime.epoch(year: 2020, month: 3, day: 6))),
            AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.python, .in, ["2.7.16", nil])])
        ]
        return q
    }()

    /// What a piwheels table knows of an event: no CI flag, country or index.
    static func piwheelsView(_ e: DownloadEvent) -> DownloadEvent {
        var e = e
        e.ci = nil
        e.country = nil
        e.index = nil
        return e
    }

    @Test(arguments: [true, false])
    func aggregatesEqualThoseFromTheLogs(schema016: Bool) async throws {
        let base = try TestServer.requirePiwheelsURL()
        let keyer = ClientKeyer(salt: Self.salt)
        let rows =
            try eventsWithAddresses(fromLog: fixture("march.log"), keyer: keyer)
            + eventsWithAddresses(fromLog: fixture("piwheels-sample.log"), keyer: keyer)
        #expect(rows.count == 12)
        try await TestServer.withSchema(base) { schema in
            let admin = try PGConnection(url: PostgresURL(base))
            try createPiwheelsTable(admin, schema: schema, rows: rows, version016: schema016)
            let store = try PiwheelsEventStore(
                url: PostgresURL(TestServer.with(base, "layout=piwheels&table=\(schema).downloads")), salt: Self.salt)
            #expect(store.hasInstallerColumns == schema016)
            let events = rows.map { e in
                var v = Self.piwheelsView(e.event)
                if !schema016 {
                    v.installer = nil
                    v.installerVersion = nil
                }
                return v
            }
            for (i, q) in Self.queries.enumerated() {
                let expected = ReferenceAggregator.aggregate(q, over: events)
                #expect(try store.aggregateSync(q) == expected, "query \(i)")
            }
            let info = try store.infoSync()
            #expect(info.downloads == 12)
            #expect(info.schemaVersion == (schema016 ? 16 : 15))
        }
    }

    @Test func theClientKeyIsTheStoresHMACComputedInSQL() async throws {
        let base = try TestServer.requirePiwheelsURL()
        let keyer = ClientKeyer(salt: Self.salt)
        let rows = try eventsWithAddresses(fromLog: fixture("march.log"), keyer: keyer)
        try await TestServer.withSchema(base) { schema in
            let admin = try PGConnection(url: PostgresURL(base))
            try createPiwheelsTable(admin, schema: schema, rows: rows)
            let store = try PiwheelsEventStore(
                url: PostgresURL(TestServer.with(base, "layout=piwheels&table=\(schema).downloads")), salt: Self.salt)
            let keys = Set(try store.aggregateSync(AggregateQuery(dimensions: [.client])).rows.compactMap { $0.values[0] })
            #expect(keys == Set(rows.map { keyer.key(for: $0.address) }))
        }
    }

    @Test func theDatabaseIsNeverWritten() async throws {
        let base = try TestServer.requirePiwheelsURL()
        let rows = try eventsWithAddresses(fromLog: fixture("march.log"), keyer: ClientKeyer(salt: Self.salt))
        try await TestServer.withSchema(base) { schema in
            let admin = try PGConnection(url: PostgresURL(base))
            try createPiwheelsTable(admin, schema: schema, rows: rows)
            let url = TestServer.with(base, "layout=piwheels&table=\(schema).downloads")
            let relations = "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '\(schema)'"
            let tablesBefore = try admin.execute(relations).rows
            let store = try PiwheelsEventStore(url: PostgresURL(url), salt: Self.salt)
            _ = try store.aggregateSync(AggregateQuery(bucket: .day, dimensions: [.project, .client]))
            // The session is read-only: even a deliberate write fails.
            #expect(throws: PostgresStoreError.self) { try store.connection.execute("DELETE FROM \(schema).downloads") }
            #expect(try admin.execute("SELECT count(*) FROM \(schema).downloads").rows == [["8"]])
            #expect(try admin.execute(relations).rows == tablesBefore)
            #expect(try admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'casebook'").rows == [["0"]])
            // Ingesting into it is refused with a reason.
            #expect(throws: PostgresStoreError.readOnly(try PostgresURL(url).redacted)) { try PostgresStores.openWritable(url) }
        }
    }

    @Test func newRowsWithNewFilesAreSeenByLaterQueries() async throws {
        let base = try TestServer.requirePiwheelsURL()
        let rows = try eventsWithAddresses(fromLog: fixture("march.log"), keyer: ClientKeyer(salt: Self.salt))
        try await TestServer.withSchema(base) { schema in
            let admin = try PGConnection(url: PostgresURL(base))
            try createPiwheelsTable(admin, schema: schema, rows: rows)
            let store = try PiwheelsEventStore(
                url: PostgresURL(TestServer.with(base, "layout=piwheels&table=\(schema).downloads")), salt: Self.salt)
            #expect(
                try store.aggregateSync(AggregateQuery(dimensions: [.project], filters: [.equals(.project, "new-project")])).rows.isEmpty)
            try admin.execute(
                "INSERT INTO \(schema).downloads (filename, accessed_by, accessed_at) VALUES ('New_Project-2.0-py3-none-any.whl', '198.18.0.9', '2020-03-07 10:00:00')"
            )
            let t = try store.aggregateSync(
                AggregateQuery(dimensions: [.project, .version, .fileType], filters: [.equals(.project, "new-project")]))
            #expect(t.rows == [AggregateRow(bucketStart: nil, values: ["new-project", "2.0", "bdist_wheel"], downloads: 1)])
        }
    }

    @Test func aMissingTableOrColumnIsNamed() async throws {
        let base = try TestServer.requirePiwheelsURL()
        try await TestServer.withSchema(base) { schema in
            let admin = try PGConnection(url: PostgresURL(base))
            try admin.execute("CREATE SCHEMA \(schema)")
            let url = TestServer.with(base, "layout=piwheels&table=\(schema).downloads")
            do {
                _ = try PiwheelsEventStore(url: PostgresURL(url), salt: Self.salt)
                Issue.record("expected an error")
            } catch let e as PostgresStoreError {
                guard case .tableMissing = e else {
                    Issue.record("unexpected \(e)")
                    return
                }
                #expect(e.description.contains("\(schema).downloads"))
            }
            try admin.execute("CREATE TABLE \(schema).downloads (filename text, accessed_at timestamp)")
            do {
                _ = try PiwheelsEventStore(url: PostgresURL(url), salt: Self.salt)
                Issue.record("expected an error")
            } catch let e as PostgresStoreError {
                #expect(e.description.contains("accessed_by"))
            }
        }
    }

    @Test func theSaltFileIsCreatedOnceAndKept() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("casebook/piwheels-salt").path
        let first = try PiwheelsEventStore.loadSalt(path: path)
        #expect(first.count == 32)
        #expect(try PiwheelsEventStore.loadSalt(path: path) == first)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
