import CasebookCore
import Foundation
import Testing

@testable import CasebookClickHouse

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        ("clickhouse://u:pw@host/db?table=pypi", "goes with layout=clickpy"),
        ("clickhouse://u:pw@host/db?layout=clickpy&table=bad-name", "table=bad-name"),
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
            // `.invalid` never resolves (RFC 2606), with or without a network.
            #expect(e == .unknownHost(url.redacted, host: "no-such-host.invalid"), "\(e)")
            #expect(e.description.contains("unknown host `no-such-host.invalid`"))
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

    /// A server that accepts the connection and never answers (a hung or overloaded server):
    /// the request ends with a timeout error after `?timeout=`, instead of waiting for ever.
    @Test func aServerThatNeverAnswersTimesOut() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        var url = try TestServer.requireURL()
        url.port = listener.port
        url.timeout = 1
        let started = Date()
        do {
            _ = try ClickHouseEventStore(url: url)
            Issue.record("expected a timeout")
        } catch let e as ClickHouseStoreError {
            #expect(e == .timeout(url.redacted, seconds: 1), "\(e)")
            #expect(e.description.contains("no answer within 1 s"))
        }
        #expect(Date().timeIntervalSince(started) < 10)
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

/// A TCP socket on 127.0.0.1 that listens and never accepts: connections complete (the kernel's
/// backlog) and no byte ever comes back.
struct SilentListener {
    struct Failed: Error {}
    let fd: Int32
    let port: Int

    init() throws {
        #if canImport(Darwin)
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw Failed() }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        guard bound == 0, listen(fd, 8) == 0 else { throw Failed() }
        var actual = sockaddr_in()
        var length = size
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    func close() {
        #if canImport(Darwin)
            _ = Darwin.close(fd)
        #else
            _ = Glibc.close(fd)
        #endif
    }
}

/// The HTTP client reads whole answers however the server frames and splits them.
@Suite struct HTTPTransportTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func chunkedAnswersAreDecoded() throws {
        let raw = Self.bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: Keep-Alive\r\n\r\n4\r\n1\t2\n\r\nA\r\n0123456789\r\n0\r\n\r\n")
        let r = try #require(HTTPTransport.parse(raw))
        #expect(r.status == 200)
        #expect(r.body == Self.bytes("1\t2\n0123456789"))
        // Cut anywhere before the last chunk, the answer is incomplete (read on), never truncated.
        for cut in 0..<(raw.count - 1) { #expect(HTTPTransport.parse(Array(raw[0..<cut])) == nil, "cut at \(cut)") }
    }

    @Test func contentLengthAndConnectionEndFrameTheBody() throws {
        let sized = Self.bytes("HTTP/1.0 401 Unauthorized\r\nContent-Length: 5\r\n\r\nCode:")
        #expect(try #require(HTTPTransport.parse(sized)).body == Self.bytes("Code:"))
        #expect(HTTPTransport.parse(Array(sized.dropLast())) == nil)
        let unsized = Self.bytes("HTTP/1.0 500 Internal Server Error\r\n\r\nCode: 62")
        #expect(HTTPTransport.parse(unsized) == nil)
        #expect(try #require(HTTPTransport.parse(unsized, atEnd: true)).body == Self.bytes("Code: 62"))
        #expect(HTTPTransport.parse(Self.bytes("SSH-2.0-OpenSSH\r\n\r\n"), atEnd: true) == nil)
    }

    @Test func queryParametersAreFullyPercentEncoded() {
        #expect(
            ClickHouseClient.target(query: "INSERT INTO `d`.t (a) FORMAT TabSeparated -- +&=#é")
                == "/?wait_end_of_query=1&query=INSERT%20INTO%20%60d%60.t%20%28a%29%20FORMAT%20TabSeparated%20--%20%2B%26%3D%23%C3%A9")
        #expect(ClickHouseClient.target(query: nil) == "/?wait_end_of_query=1")
    }
}
