import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookPostgres

/// The `libc`, `libc_version` and `openssl` dimensions (schema 5) on PostgreSQL: the same answers
/// as the embedded store for the same log, and stores of schema 4 migrated.
@Suite(.enabled(if: TestServer.shouldRun)) struct PostgresLibcTests {
    static let pipAgent =
        #"pip/23.0.1 {"ci":null,"cpu":"x86_64","distro":{"id":"bookworm","libc":{"lib":"glibc","version":"2.36"},"name":"Debian GNU/Linux","version":"12"},"implementation":{"name":"CPython","version":"3.11.2"},"installer":{"name":"pip","version":"23.0.1"},"openssl_version":"OpenSSL 3.0.9 30 May 2023","python":"3.11.2","rustc_version":"1.70.0","setuptools_version":"66.1.1","system":{"name":"Linux","release":"6.1.0-10-amd64"}}"#
    static let uvAgent =
        #"uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},"python":"3.12.6","implementation":{"name":"CPython","version":"3.12.6"},"distro":{"name":"Alpine Linux","version":"3.20.3","id":null,"libc":{"lib":"musl","version":"1.2.5"}},"system":{"name":"Linux","release":"6.8.0-45-generic"},"cpu":"x86_64","openssl_version":null,"setuptools_version":null,"rustc_version":null,"ci":null}"#
    static let oldPipAgent = #"pip/19.3.1 {"installer":{"name":"pip","version":"19.3.1"},"python":"2.7.16"}"#

    static func log(_ agents: [String], first minute: Int = 0) throws -> String {
        let lines = agents.enumerated().map { i, agent in
            let escaped = agent.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "192.0.2.\(i + 1) - - [05/Mar/2024:14:\(String(format: "%02d", minute + i)):11 +0000] "
                + "\"GET /simple/requests/requests-2.31.0-py3-none-any.whl HTTP/1.1\" 200 62574 \"-\" \"\(escaped)\""
        }
        let url = try temporaryDirectory().appendingPathComponent("access-\(minute).log")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static let queries = [
        AggregateQuery(bucket: .day, dimensions: [.libc, .libcVersion]),
        AggregateQuery(dimensions: [.openssl, .installer]),
        AggregateQuery(bucket: .hour, dimensions: [.libcVersion], filters: [DimensionFilter(.libc, .in, ["musl", nil])]),
        AggregateQuery(dimensions: [.openssl], filters: [DimensionFilter(.openssl, .notIn, [nil])])
    ]

    @Test func libcAndOpenSSLGiveTheSameAnswersAsSQLite() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let pg = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            let sqlite = try freshSQLite()
            let path = try Self.log([Self.pipAgent, Self.uvAgent, Self.uvAgent, Self.oldPipAgent, Self.pipAgent])
            _ = try Ingestor(target: pg, options: IngestOptions()).ingest(path: path)
            _ = try Ingestor(target: sqlite, options: IngestOptions()).ingest(path: path)
            for q in Self.queries { #expect(try pg.aggregateSync(q) == sqlite.aggregateSync(q)) }
            let t = try pg.aggregateSync(Self.queries[0])
            #expect(t.rows.map(\.values) == [["glibc", "2.36"], ["musl", "1.2.5"], [nil, nil]])
            #expect(t.rows.map(\.downloads) == [2, 2, 1])
            #expect(try pg.aggregateSync(Self.queries[3]).rows.map(\.values) == [["OpenSSL 3.0.9"]])
        }
    }

    @Test func aSchema4StoreGainsTheColumnsAndKeepsItsProfiles() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let url = TestServer.with(base, "schema=\(schema)")
            _ = try Ingestor(target: try PostgresEventStore(url: url), options: IngestOptions()).ingest(path: Self.log([Self.oldPipAgent]))
            // Back to schema 4, as Casebook wrote it before the libc columns.
            let c = try PGConnection(url: PostgresURL(url))
            try c.execute(
                """
                DROP TABLE \(schema).watched_files;
                DROP TABLE \(schema).catalog_projects, \(schema).catalog_releases, \(schema).catalog_files, \(schema).catalog_requirements;
                DROP VIEW \(schema).downloads;
                ALTER TABLE \(schema).profiles DROP COLUMN libc, DROP COLUMN libc_version, DROP COLUMN openssl, DROP COLUMN openssl_version;
                \(PostgresSchema.downloadsViewSQL(schema: schema, libc: false))
                DELETE FROM \(schema).schema_migrations WHERE version >= 5;
                """)
            let pg = try PostgresEventStore(url: url)
            #expect(try c.execute("SELECT MAX(version) FROM \(schema).schema_migrations").rows == [[String(PostgresSchema.currentVersion)]])
            _ = try Ingestor(target: pg, options: IngestOptions()).ingest(path: Self.log([Self.oldPipAgent, Self.uvAgent], first: 10))
            #expect(try c.execute("SELECT COUNT(*) FROM \(schema).profiles").rows == [["2"]])
            #expect(try pg.aggregateSync(Self.queries[0]).rows.map(\.values) == [[nil, nil], ["musl", "1.2.5"]])
            #expect(try c.execute("SELECT libc FROM \(schema).downloads WHERE libc IS NOT NULL").rows == [["musl"]])
        }
    }
}
