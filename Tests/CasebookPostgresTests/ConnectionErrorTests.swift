import CasebookAnalysis
import CasebookCore
import Foundation
import Testing

@testable import CasebookPostgres

/// Wrong URLs, refused connections, bad passwords and missing databases give errors that say
/// what to fix, and never a password.
@Suite struct URLTests {
    @Test func urlsAreParsedAndRedacted() throws {
        let u = try PostgresURL(
            "postgresql://casebook:s3cr%40t@db.example:5433/downloads?layout=piwheels&table=public.downloads&salt-file=/tmp/s")
        #expect(u.user == "casebook")
        #expect(u.secret == "s3cr@t")
        #expect(u.host == "db.example")
        #expect(u.port == 5433)
        #expect(u.database == "downloads")
        #expect(u.layout == .piwheels)
        #expect(u.table == "public.downloads")
        #expect(u.saltFile == "/tmp/s")
        #expect(u.redacted == "postgres://casebook@db.example:5433/downloads?layout=piwheels&table=public.downloads")
        #expect(!u.description.contains("s3cr"))
        let d = try PostgresURL("postgres://me@localhost/db")
        #expect(d.port == 5432 && d.layout == .casebook && d.schema == "casebook")
    }

    @Test(arguments: [
        ("postgres://u:pw@host:5432/", "database name"),
        ("postgres://u:pw@host:99999/db", "port"),
        ("postgres://u:pw@host/db?layout=mysql", "layout=mysql"),
        ("postgres://u:pw@host/db?schema=bad;drop", "schema="),
        ("postgres://u:pw@host/db?colour=blue", "unknown option")
    ])
    func wrongURLsSayWhatToFix(_ url: String, _ expected: String) {
        do {
            _ = try PostgresURL(url)
            Issue.record("\(url) should not parse")
        } catch let e as PostgresStoreError {
            #expect(e.description.contains(expected), "\(e)")
            #expect(!e.description.contains(":pw@"), "\(e)")
        } catch { Issue.record("unexpected \(error)") }
    }
}

@Suite(.enabled(if: TestServer.shouldRun)) struct ConnectionErrorTests {
    @Test func aPortWithNoServerIsRefused() throws {
        let base = try PostgresURL(TestServer.requireURL())
        var s = "postgres://\(base.user ?? "casebook"):not-the-password@127.0.0.1:1/\(base.database)"
        do {
            _ = try PostgresEventStore(url: s)
            Issue.record("expected a refused connection")
        } catch let e as PostgresStoreError {
            #expect(e == .connectionRefused(try PostgresURL(s).redacted), "\(e)")
            #expect(!e.description.contains("not-the-password"))
        }
        s += "x"
    }

    @Test func aWrongPasswordIsAnAuthenticationErrorWithoutThePassword() throws {
        let base = try PostgresURL(TestServer.requireURL())
        let wrong = "wrong-Pa55word"
        let url = "postgres://\(base.user ?? "casebook"):\(wrong)@\(base.host):\(base.port)/\(base.database)"
        do {
            _ = try PostgresEventStore(url: url)
            Issue.record("expected an authentication error (does the test server use password authentication? see .ci/postgres.sh)")
        } catch let e as PostgresStoreError {
            guard case .authenticationFailed = e else {
                Issue.record("unexpected \(e)")
                return
            }
            #expect(!e.description.contains(wrong))
            #expect(e.description.contains("PGPASSWORD"))
        }
    }

    @Test func aMissingDatabaseIsNamed() throws {
        let base = try TestServer.requireURL()
        var url = try PostgresURL(base)
        let missing = "casebook_no_such_db"
        let text = base.replacingOccurrences(of: "/\(url.database)", with: "/\(missing)")
        url.database = missing
        do {
            _ = try PostgresEventStore(url: text)
            Issue.record("expected a missing database")
        } catch let e as PostgresStoreError {
            #expect(e == .databaseMissing(url.redacted, database: missing), "\(e)")
        }
    }

    @Test func readingAStoreThatWasNeverCreatedSaysSo() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            do {
                _ = try PostgresStores.openRead(TestServer.with(base, "schema=\(schema)"))
                Issue.record("expected an error")
            } catch let e as PostgresStoreError {
                #expect(e.description.contains("ingest logs first"), "\(e)")
            }
        }
    }
}
