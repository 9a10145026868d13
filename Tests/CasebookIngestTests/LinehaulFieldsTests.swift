import CasebookCore
import Foundation
import Testing

@testable import CasebookIngest

/// linehaul's `details` fields that Casebook once dropped: `distro.libc`, `openssl_version`,
/// `setuptools_version` and `rustc_version`, from user agents to `casebook parse`'s rows and back.
@Suite("linehaul's libc, OpenSSL, setuptools and rustc fields")
struct LinehaulFieldsTests {
    let keyer = ClientKeyer(salt: Array("salt".utf8))

    /// pip 23.0.1 on Debian 12, as pip writes it (compact JSON, keys sorted; `rustc_version` since pip 21.2).
    static let pipAgent =
        #"pip/23.0.1 {"ci":null,"cpu":"x86_64","distro":{"id":"bookworm","libc":{"lib":"glibc","version":"2.36"},"name":"Debian GNU/Linux","version":"12"},"implementation":{"name":"CPython","version":"3.11.2"},"installer":{"name":"pip","version":"23.0.1"},"openssl_version":"OpenSSL 3.0.9 30 May 2023","python":"3.11.2","rustc_version":"1.70.0","setuptools_version":"66.1.1","system":{"name":"Linux","release":"6.1.0-10-amd64"}}"#
    /// uv 0.4.18 in an Alpine container (musl), as uv writes it.
    static let uvAgent =
        #"uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},"python":"3.12.6","implementation":{"name":"CPython","version":"3.12.6"},"distro":{"name":"Alpine Linux","version":"3.20.3","id":null,"libc":{"lib":"musl","version":"1.2.5"}},"system":{"name":"Linux","release":"6.8.0-45-generic"},"cpu":"x86_64","openssl_version":null,"setuptools_version":null,"rustc_version":null,"ci":null}"#

    /// A combined log line downloading a wheel with `agent`, escaped as Apache writes it.
    static func logLine(agent: String, address: String = "192.0.2.1") -> String {
        let escaped = agent.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return
            "\(address) - - [05/Mar/2024:14:03:11 +0000] \"GET /simple/requests/requests-2.31.0-py3-none-any.whl HTTP/1.1\" 200 62574 \"-\" \"\(escaped)\""
    }

    /// What `casebook parse` prints for one combined log line, as a JSON object.
    func parsedRow(_ line: String) throws -> [String: Any] {
        var reader = CombinedLogReader(keyer: keyer)
        let event = try #require(LineFeed.one(&reader, line).downloadedEvent)
        let json = BigQueryRowWriter.json(for: event)
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func pipAgentGivesEveryDetailInParseOutput() throws {
        let row = try parsedRow(Self.logLine(agent: Self.pipAgent))
        let details = try #require(row["details"] as? [String: Any])
        #expect(details["openssl_version"] as? String == "OpenSSL 3.0.9 30 May 2023")
        #expect(details["setuptools_version"] as? String == "66.1.1")
        #expect(details["rustc_version"] as? String == "1.70.0")
        let distro = try #require(details["distro"] as? [String: Any])
        #expect(distro["id"] as? String == "bookworm")
        let libc = try #require(distro["libc"] as? [String: Any])
        #expect(libc["lib"] as? String == "glibc")
        #expect(libc["version"] as? String == "2.36")
        // Still null: what no user agent tells.
        #expect(row["url"] is NSNull && row["tls_protocol"] is NSNull && row["tls_cipher"] is NSNull)
    }

    @Test func pipAgentFillsTheEventAndItsDimensions() throws {
        var reader = CombinedLogReader(keyer: keyer)
        let e = try #require(LineFeed.one(&reader, Self.logLine(agent: Self.pipAgent)).downloadedEvent)
        #expect(e.libc == "glibc" && e.libcVersion == "2.36")
        #expect(e.opensslVersion == "OpenSSL 3.0.9 30 May 2023")
        #expect(e.setuptoolsVersion == "66.1.1" && e.rustcVersion == "1.70.0")
        #expect(e.value(of: .libc) == "glibc")
        #expect(e.value(of: .libcVersion) == "2.36")
        #expect(e.value(of: .openssl) == "OpenSSL 3.0.9")
        // Stores keep neither setuptools nor rustc.
        let kept = e.profileFields.value.keptByStores
        #expect(kept.setuptoolsVersion == nil && kept.rustcVersion == nil && kept.libc == "glibc")
    }

    @Test func uvAgentGivesLibc() throws {
        let row = try parsedRow(Self.logLine(agent: Self.uvAgent))
        let details = try #require(row["details"] as? [String: Any])
        #expect((details["installer"] as? [String: Any])?["name"] as? String == "uv")
        let libc = try #require((details["distro"] as? [String: Any])?["libc"] as? [String: Any])
        #expect(libc["lib"] as? String == "musl")
        #expect(libc["version"] as? String == "1.2.5")
        #expect(details["openssl_version"] is NSNull && details["setuptools_version"] is NSNull && details["rustc_version"] is NSNull)
    }

    @Test func opensslDimensionDropsTheBuildDate() {
        #expect(OpenSSLVersion.library(of: "OpenSSL 1.1.1d  10 Sep 2019") == "OpenSSL 1.1.1d")
        #expect(OpenSSLVersion.library(of: "OpenSSL 1.1.1k  FIPS 25 Mar 2021") == "OpenSSL 1.1.1k")
        #expect(OpenSSLVersion.library(of: "LibreSSL 2.8.3") == "LibreSSL 2.8.3")
        #expect(OpenSSLVersion.library(of: "OpenSSL") == "OpenSSL")
        #expect(OpenSSLVersion.library(of: "  ") == nil)
    }

    @Test func bigQueryRowsCarryThemBothWays() throws {
        var reader = BigQueryReader()
        let rows = try LineFeed.run(&reader, fixture: "bigquery/file_downloads.ndjson").compactMap(\.downloadedEvent)
        let first = try #require(rows.first)
        #expect(first.libc == "glibc" && first.libcVersion == "2.28")
        #expect(first.opensslVersion == "OpenSSL 1.1.1d  10 Sep 2019")
        #expect(first.setuptoolsVersion == "44.0.0")
        #expect(first.rustcVersion == nil)
        // A log line's event, written as a row and read back: the same event.
        var log = CombinedLogReader(keyer: keyer, index: "pypi")
        for agent in [Self.pipAgent, Self.uvAgent] {
            var e = try #require(LineFeed.one(&log, Self.logLine(agent: agent)).downloadedEvent)
            e.client = nil
            let json = BigQueryRowWriter.json(for: e)
            let back = try #require(LineFeed.one(&reader, json).downloadedEvent)
            #expect(back == e, "\(json)")
            #expect(BigQueryRowWriter.json(for: back) == json)
        }
        // A wrong type names the field.
        let bad = #"{"timestamp":"2024-03-05 14:03:11 UTC","details":{"distro":{"libc":{"lib":5}}}}"#
        #expect(LineFeed.one(&reader, bad).malformedReason?.contains("details.distro.libc.lib") == true)
    }
}
