import CasebookCore
import CasebookIngest
import Foundation
import Testing

@testable import CasebookSQLite

/// Apache's `vhost_combined` lines start with `HOST:PORT`: they used to be read as combined
/// lines whose client was the virtual host.
@Suite struct VhostCombinedTests {
    @Test func recognisedByContentAndTheClientIsTheAddress() throws {
        for format in [InputFormat.auto, .vhostCombined] {
            let (store, _) = try freshStore()
            let s = try ingest(store, fixture("vhost-combined.log"), options: IngestOptions(format: format))
            #expect(s.format == "vhost-combined")
            #expect(s.downloads == 3)
            #expect(s.otherRequests == ["index-page": 1, "not-found": 1])
            #expect(s.quarantined.isEmpty)
            let keyer = try store.clientKeyer()
            let clients = try store.aggregateSync(AggregateQuery(bucket: .day, dimensions: [.client]))
            let byClient = Dictionary(uniqueKeysWithValues: clients.rows.map { ($0.values[0] ?? "-", $0.downloads) })
            #expect(byClient == [keyer.key(for: "192.0.2.10"): 2, keyer.key(for: "2001:db8::7"): 1])
            #expect(byClient[keyer.key(for: "www.piwheels.org:443")] == nil)
            let projects = try store.aggregateSync(AggregateQuery(bucket: .day, dimensions: [.project]))
            #expect(Set(projects.rows.compactMap { $0.values[0] }) == ["markdown", "sentry-sdk", "flask-login"])
        }
    }

    @Test func detection() {
        let ua = #""-" "pip/19.3.1""#
        #expect(
            Ingestor.detectFormat(firstLine: #"www.piwheels.org:443 1.2.3.4 - - [05/Mar/2020:14:03:11 +0000] "GET / HTTP/1.1" 200 1 "# + ua)
                == .vhostCombined)
        #expect(
            Ingestor.detectFormat(
                firstLine: #"pypi.example:8080 2001:db8::1 - - [05/Mar/2020:14:03:11 +0000] "GET / HTTP/1.1" 200 1 "# + ua)
                == .vhostCombined)
        // An IPv6 client of a combined log ends like a port, but the next field is the identity.
        #expect(
            Ingestor.detectFormat(firstLine: #"2a00:1098:0:80:1000:3b:1:1 - - [18/Mar/2019:14:24:56 +0000] "GET / HTTP/1.1" 200 1 "# + ua)
                == .combined)
        #expect(
            Ingestor.detectFormat(firstLine: #"192.0.2.1 - frank [05/Mar/2020:14:03:11 +0000] "GET / HTTP/1.1" 200 1 "# + ua) == .combined)
    }

    @Test func aCombinedLineReadAsVhostIsMalformedWithoutItsAddress() throws {
        let (store, dir) = try freshStore()
        let path = dir.appendingPathComponent("plain.log").path
        let vhost = try String(contentsOfFile: fixture("vhost-combined.log"), encoding: .utf8).split(separator: "\n")
        // A line without the virtual host: its first field is the client address.
        let plain = vhost[0].split(separator: " ", maxSplits: 1)[1]
        try ([String(vhost[0]), String(plain)].joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let s = try ingest(store, path, options: IngestOptions(format: .vhostCombined))
        #expect(s.downloads == 1)
        let q = try store.quarantinedLines()
        #expect(q.count == 1)
        #expect(q[0].reason.hasPrefix("expected the virtual host and port (`www.example.org:443`) at column 1"))
        #expect(!q[0].raw.contains("192.0.2.10"))
    }
}
