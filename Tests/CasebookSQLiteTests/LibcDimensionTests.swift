import CasebookCore
import CasebookIngest
import Foundation
import GRDB
import Testing

@testable import CasebookSQLite

/// The `libc`, `libc_version` and `openssl` dimensions (schema v6), from access-log user agents.
@Suite struct LibcDimensionTests {
    /// pip 23.0.1 on Debian 12 (glibc 2.36, OpenSSL 3.0.9), as pip writes its user agent.
    static let pipAgent =
        #"pip/23.0.1 {"ci":null,"cpu":"x86_64","distro":{"id":"bookworm","libc":{"lib":"glibc","version":"2.36"},"name":"Debian GNU/Linux","version":"12"},"implementation":{"name":"CPython","version":"3.11.2"},"installer":{"name":"pip","version":"23.0.1"},"openssl_version":"OpenSSL 3.0.9 30 May 2023","python":"3.11.2","rustc_version":"1.70.0","setuptools_version":"66.1.1","system":{"name":"Linux","release":"6.1.0-10-amd64"}}"#
    /// The same, from another machine with another setuptools and rustc: the same stored profile.
    static let pipAgentOtherTools = pipAgent.replacingOccurrences(of: "66.1.1", with: "68.0.0").replacingOccurrences(
        of: "1.70.0", with: "1.75.0")
    /// uv in an Alpine container (musl 1.2.5).
    static let uvAgent =
        #"uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},"python":"3.12.6","implementation":{"name":"CPython","version":"3.12.6"},"distro":{"name":"Alpine Linux","version":"3.20.3","id":null,"libc":{"lib":"musl","version":"1.2.5"}},"system":{"name":"Linux","release":"6.8.0-45-generic"},"cpu":"x86_64","openssl_version":null,"setuptools_version":null,"rustc_version":null,"ci":null}"#
    /// pip 19.3.1 saying nothing of its C or TLS library.
    static let oldPipAgent = #"pip/19.3.1 {"installer":{"name":"pip","version":"19.3.1"},"python":"2.7.16"}"#

    static func line(_ agent: String, minute: Int, address: String = "192.0.2.1") -> String {
        let escaped = agent.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\(address) - - [05/Mar/2024:14:\(String(format: "%02d", minute)):11 +0000] "
            + "\"GET /simple/requests/requests-2.31.0-py3-none-any.whl HTTP/1.1\" 200 62574 \"-\" \"\(escaped)\""
    }

    static func write(_ lines: [String], to url: URL) throws {
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    static func counts(_ t: AggregateTable) -> [[String?]: Int64] {
        Dictionary(uniqueKeysWithValues: t.rows.map { ($0.values, $0.downloads) })
    }

    @Test func combinedLogGroupsByLibcAndOpenSSL() throws {
        let (store, dir) = try freshStore()
        let log = dir.appendingPathComponent("access.log")
        try Self.write(
            [
                Self.line(Self.pipAgent, minute: 1), Self.line(Self.pipAgentOtherTools, minute: 2, address: "192.0.2.2"),
                Self.line(Self.uvAgent, minute: 3), Self.line(Self.uvAgent, minute: 4), Self.line(Self.uvAgent, minute: 5),
                Self.line(Self.oldPipAgent, minute: 6)
            ], to: log)
        #expect(try ingest(store, log.path).downloads == 6)
        let raw = try SQLiteEventStore(path: store.path, useRollups: false)
        let byLibc = AggregateQuery(bucket: .day, dimensions: [.libc, .libcVersion])
        #expect(
            Self.counts(try store.aggregateSync(byLibc)) == [
                [.some("musl"), "1.2.5"]: 3, ["glibc", "2.36"]: 2, [nil, nil]: 1
            ])
        #expect(try store.aggregateSync(byLibc) == raw.aggregateSync(byLibc))
        let openssl = AggregateQuery(dimensions: [.openssl], filters: [.equals(.libc, "glibc")])
        #expect(Self.counts(try store.aggregateSync(openssl)) == [["OpenSSL 3.0.9"]: 2])
        #expect(try store.aggregateSync(openssl) == raw.aggregateSync(openssl))
        // setuptools and rustc are not kept: both pip machines share one profile.
        let profiles = try store.dbQueue.read { db in
            try Row.fetchAll(db, sql: "SELECT libc, libc_version, openssl, openssl_version FROM profiles ORDER BY id").map {
                [$0[0], $0[1], $0[2], $0[3]] as [String?]
            }
        }
        #expect(
            profiles == [["glibc", "2.36", "OpenSSL 3.0.9", "OpenSSL 3.0.9 30 May 2023"], ["musl", "1.2.5", nil, nil], [nil, nil, nil, nil]]
        )
        // The view shows them too.
        let view = try store.dbQueue.read { db in
            try String.fetchAll(db, sql: "SELECT libc FROM downloads WHERE libc IS NOT NULL ORDER BY 1")
        }
        #expect(view == ["glibc", "glibc", "musl", "musl", "musl"])
    }

    @Test func aVersion5StoreGainsTheColumnsAndKeepsItsProfiles() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("v5.sqlite").path
        let first = dir.appendingPathComponent("first.log")
        try Self.write([Self.line(Self.oldPipAgent, minute: 1), Self.line(Self.oldPipAgent, minute: 2, address: "192.0.2.9")], to: first)
        do {
            let store = try SQLiteEventStore(path: path)
            _ = try ingest(store, first.path)
        }
        // Take the store back to schema 5, as Casebook wrote it before the libc columns.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    DROP VIEW downloads;
                    ALTER TABLE profiles DROP COLUMN libc;
                    ALTER TABLE profiles DROP COLUMN libc_version;
                    ALTER TABLE profiles DROP COLUMN openssl;
                    ALTER TABLE profiles DROP COLUMN openssl_version;
                    \(SQLiteSchema.downloadsViewV1SQL)
                    DELETE FROM grdb_migrations WHERE identifier = 'v6-libc-openssl';
                    """)
        }
        let applied = try queue.read { db in try SQLiteSchema.migrator.appliedIdentifiers(db) }
        #expect(applied.contains("v5-request-counts") && !applied.contains("v6-libc-openssl"))
        try queue.close()

        let store = try SQLiteEventStore(path: path)
        let columns = try store.dbQueue.read { db in try db.columns(in: "profiles").map(\.name) }
        #expect(columns.suffix(4) == ["libc", "libc_version", "openssl", "openssl_version"])
        #expect(Self.counts(try store.aggregateSync(AggregateQuery(dimensions: [.libc, .installerVersion]))) == [[nil, "19.3.1"]: 2])
        // A later ingest reuses the stored profile where nothing new is known, and adds the rest.
        let second = dir.appendingPathComponent("second.log")
        try Self.write([Self.line(Self.oldPipAgent, minute: 3), Self.line(Self.pipAgent, minute: 4)], to: second)
        _ = try ingest(store, second.path)
        let profileCount = try store.dbQueue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM profiles") }
        #expect(profileCount == 2)
        let byLibc = AggregateQuery(bucket: .day, dimensions: [.libc])
        #expect(Self.counts(try store.aggregateSync(byLibc)) == [[nil]: 3, ["glibc"]: 1])
        #expect(try store.aggregateSync(byLibc) == SQLiteEventStore(path: path, useRollups: false).aggregateSync(byLibc))
    }
}
