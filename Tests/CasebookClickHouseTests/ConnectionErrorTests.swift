import CasebookCore
import Foundation
import Testing

@testable import CasebookClickHouse

/// URLs are parsed and redacted; wrong URLs, refused connections, unknown hosts and bad
/// passwords give errors that say what to fix, and never a password.
@Suite struct ClickHouseURLTests {
    @Test func urlsAreParsedAndRedacted() throws {
        let u = try ClickHouseURL("clickhouse://casebook:s3cr%40t@db.example:8124/downloads?timeout=12", environment: [:])
        #expect(u.user == "casebook")
        #expect(u.password == "s3cr@t")
        #expect(u.host == "db.example")
        #expect(u.port == 8124)
        #expect(u.database == "downloads")
        #expect(u.timeout == 12)
        #expect(u.redacted == "clickhouse://casebook@db.example:8124/downloads")
        #expect(!u.description.contains("s3cr"))
        #expect(u.endpoint.absoluteString == "http://db.example:8124/")
        let d = try ClickHouseURL("clickhouse://localhost/db", environment: [:])
        #expect(d.port == 8123 && d.user == "default" && d.password == nil && d.layout == .casebook)
    }

    @Test func thePasswordMayComeFromTheEnvironmentAndTheURLWins() throws {
        let env = [ClickHouseURL.passwordVariable: "from-env"]
        #expect(try ClickHouseURL("clickhouse://u@h/db", environment: env).password == "from-env")
        #expect(try ClickHouseURL("clickhouse://u:in-url@h/db", environment: env).password == "in-url")
        let fromEnv = try ClickHouseURL("clickhouse://u@h/db", environment: env)
        #expect(!fromEnv.redacted.contains("from-env"))
        #expect(fromEnv.authorization == "Basic " + Data("u:from-env".utf8).base64EncodedString())
    }

    @Test(arguments: [
        ("clickhouse://u:pw@host:8123/", "database name"),
        ("clickhouse://u:pw@host:99999/db", "port"),
        ("clickhouse://u:pw@host/db?layout=clickpy", "not supported yet"),
        ("clickhouse://u:pw@host/db?layout=mysql", "layout=mysql"),
        ("clickhouse://u:pw@host/bad-name", "plain name"),
        ("clickhouse://u:pw@host/db?timeout=-1", "timeout=-1"),
        ("clickhouse://u:pw@host/db?colour=blue", "unknown option"),
        ("clickhouse://u:pw@host/db?password=pw", "unknown option")
    ])
    func wrongURLsSayWhatToFix(_ url: String, _ expected: String) {
        do {
            _ = try ClickHouseURL(url, environment: [:])
            Issue.record("\(url) should not parse")
        } catch let e as ClickHouseStoreError {
            #expect(e.description.contains(expected), "\(e)")
            #expect(!e.description.contains("pw"), "\(e)")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func tabSeparatedRowsRoundTrip() {
        var w = TabSeparatedWriter()
        let texts: [String?] = ["plain", nil, "tab\t, newline\n, backslash\\, \\N, cr\r, nul\u{0}", "", "é'\"", "\\"]
        for t in texts { w.text(t) }
        w.int(Int64(-5))
        w.endRow()
        w.text("second")
        w.endRow()
        let rows = TabSeparatedReader.rows(w.bytes)
        #expect(rows == [texts + ["-5"], ["second"]])
        #expect(ClickHouseSQL.literal("it's a \\ \n") == #"'it\'s a \\ \n'"#)
    }
}

@Suite(.enabled(if: TestServer.shouldRun)) struct ClickHouseConnectionErrorTests {
    @Test func aPortWithNoServerIsRefused() throws {
        var url = try TestServer.requireURL()
        url.port = 1
        do {
            _ = try ClickHouseEventStore(url: TestServer.text(url, password: "not-the-password"))
            Issue.record("expected a refused connection")
        } catch let e as ClickHouseStoreError {
            #expect(e == .connectionRefused(url.redacted), "\(e)")
            #expect(!e.description.contains("not-the-password"))
            #expect(e.description.contains("connection refused"))
        }
    }

    @Test func anUnknownHostIsNamed() throws {
        var url = try TestServer.requireURL()
        url.host = "no-such-host.invalid"
        do {
            _ = try ClickHouseEventStore(url: TestServer.text(url, password: "not-the-password"))
            Issue.record("expected an unknown host")
        } catch let e as ClickHouseStoreError {
            // Resolvers differ: a name that does not resolve is named, or the connection fails.
            switch e {
            case .unknownHost(_, let host): #expect(host == "no-such-host.invalid")
            case .connectionFailed, .connectionRefused: break
            default: Issue.record("unexpected \(e)")
            }
            #expect(!e.description.contains("not-the-password"))
        }
    }

    @Test func aWrongPasswordIsAnAuthenticationErrorWithoutThePassword() throws {
        let url = try TestServer.requireURL()
        let wrong = "wrong-Pa55word"
        do {
            _ = try ClickHouseEventStore(url: TestServer.text(url, password: wrong))
            Issue.record("expected an authentication error (does the test user have a password? see .ci/clickhouse.sh)")
        } catch let e as ClickHouseStoreError {
            #expect(e == .authenticationFailed(url.redacted, user: url.user), "\(e)")
            #expect(!e.description.contains(wrong))
            #expect(e.description.contains(ClickHouseURL.passwordVariable))
        }
    }

    @Test func readingAStoreThatWasNeverCreatedSaysSo() async throws {
        try await TestServer.withDatabase { url in
            do {
                _ = try ClickHouseStores.openRead(TestServer.text(url))
                Issue.record("expected an error")
            } catch let e as ClickHouseStoreError {
                #expect(e == .storeMissing(url.redacted), "\(e)")
                #expect(e.description.contains("ingest logs first"))
            }
        }
    }
}
