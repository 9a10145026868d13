import CasebookCore
import Foundation
import Testing

@testable import CasebookIngest

/// Feeds a fixture (or a string) to a reader line by line, through the `LineReader` protocol,
/// the way the ingest pipeline does: split on `\n`, line terminator removed, numbers 1-based.
enum LineFeed {
    static func fixture(_ relativePath: String) throws -> Data {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return try Data(contentsOf: root.appendingPathComponent(relativePath))
    }

    static func run<R: LineReader>(_ reader: inout R, data: Data) -> [LineOutcome] {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var outcomes: [LineOutcome] = []
        for (i, line) in lines.enumerated() {
            let bytes = Array(line)
            outcomes.append(bytes.withUnsafeBytes { reader.read(line: $0, number: i + 1) })
        }
        return outcomes
    }

    static func run<R: LineReader>(_ reader: inout R, fixture: String) throws -> [LineOutcome] {
        run(&reader, data: try self.fixture(fixture))
    }

    static func run<R: LineReader>(_ reader: inout R, text: String) -> [LineOutcome] {
        run(&reader, data: Data(text.utf8))
    }

    static func one<R: LineReader>(_ reader: inout R, _ line: String, number: Int = 1) -> LineOutcome {
        Array(line.utf8).withUnsafeBytes { reader.read(line: $0, number: number) }
    }
}

extension LineOutcome {
    var downloadedEvent: DownloadEvent? {
        if case .download(let e) = self { return e }
        return nil
    }

    var malformedReason: String? {
        if case .malformed(let reason, _) = self { return reason }
        return nil
    }
}

@Suite("BigQuery NDJSON reader")
struct BigQueryReaderTests {
    @Test func readsAFullRow() throws {
        var reader = BigQueryReader()
        let outcomes = try LineFeed.run(&reader, fixture: "bigquery/file_downloads.ndjson")
        #expect(outcomes.count == 8)
        let e = try #require(outcomes[0].downloadedEvent)
        #expect(e.timestamp == UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 14, minute: 3, second: 11))
        #expect(e.country == "DE")
        #expect(e.project == "sentry-sdk")
        #expect(e.projectDisplay == "sentry-sdk")
        #expect(e.filename == "sentry_sdk-0.13.2-py2.py3-none-any.whl")
        #expect(e.version == "0.13.2")
        #expect(e.fileType == "bdist_wheel")
        #expect(e.pythonTag == "py2.py3")
        #expect(e.abiTag == "none")
        #expect(e.platformTag == "any")
        #expect(e.installer == "pip")
        #expect(e.installerVersion == "20.0.2")
        #expect(e.python == "2.7.16")
        #expect(e.pythonMajor == "2")
        #expect(e.pythonMinor == "2.7")
        #expect(e.implementation == "CPython")
        #expect(e.implementationVersion == "2.7.16")
        #expect(e.distro == "Raspbian GNU/Linux")
        #expect(e.distroVersion == "10")
        #expect(e.distroID == "buster")
        #expect(e.system == "Linux")
        #expect(e.systemRelease == "4.19.97-v7+")
        #expect(e.cpu == "armv7l")
        #expect(e.ci == nil)
        #expect(e.index == "pypi")
        #expect(e.client == nil)
        #expect(e.count == 1)
    }

    @Test func nullsAndOmittedFieldsAreUnknown() throws {
        var reader = BigQueryReader(index: "pypi-mirror")
        let outcomes = try LineFeed.run(&reader, fixture: "bigquery/file_downloads.ndjson")
        // Line 2: explicit nulls, `details` null.
        let sdist = try #require(outcomes[1].downloadedEvent)
        #expect(sdist.country == nil)
        #expect(sdist.installer == nil && sdist.python == nil && sdist.distro == nil && sdist.ci == nil)
        #expect(sdist.project == "flask-login")
        #expect(sdist.fileType == "sdist")
        #expect(sdist.pythonTag == nil)
        #expect(sdist.index == "pypi-mirror")
        // Line 3 is blank.
        #expect(outcomes[2] == .skip)
        // Line 4: null fields left out altogether, as BigQuery's JSON export writes them.
        let markdown = try #require(outcomes[3].downloadedEvent)
        #expect(markdown.project == "markdown")
        #expect(markdown.version == "3.1.1")
        #expect(markdown.country == nil && markdown.installer == nil)
        #expect(markdown.pythonTag == "py2.py3")
        // Line 5: a non-pip installer with null sub-records.
        let bandersnatch = try #require(outcomes[4].downloadedEvent)
        #expect(bandersnatch.installer == "bandersnatch")
        #expect(bandersnatch.implementation == nil && bandersnatch.python == nil)
    }

    @Test func timestampForms() throws {
        var reader = BigQueryReader()
        let outcomes = try LineFeed.run(&reader, fixture: "bigquery/file_downloads.ndjson")
        let base = UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 14, minute: 6, second: 7)
        #expect(outcomes[4].downloadedEvent?.timestamp == base)  // ISO 8601 with microseconds
        #expect(outcomes[5].downloadedEvent?.timestamp == base)  // epoch seconds
        #expect(outcomes[6].downloadedEvent?.timestamp == base + 1)  // epoch microseconds
        func time(_ json: String) -> Int64? {
            LineFeed.one(&reader, "{\"timestamp\":\(json)}").downloadedEvent?.timestamp
        }
        #expect(time("\"1.583417167E9\"") == base)  // BigQuery REST API form
        #expect(time("1583417167123") == base)  // milliseconds
        #expect(time("1583417167.9") == base)
        #expect(time("\"2020-03-05T15:06:07+01:00\"") == base)
        #expect(time("\"2020-03-05\"") == UTCTime.epoch(year: 2020, month: 3, day: 5))
    }

    @Test func ciUnicodeAndOtherDetails() throws {
        var reader = BigQueryReader()
        let outcomes = try LineFeed.run(&reader, fixture: "bigquery/file_downloads.ndjson")
        #expect(outcomes[6].downloadedEvent?.ci == true)
        let uv = try #require(outcomes[7].downloadedEvent)
        #expect(uv.ci == false)
        #expect(uv.installer == "uv")
        #expect(uv.distro == "Fedora Linux \u{2013} \"Workstation\"")
        #expect(uv.distroID == nil)
        #expect(uv.platformTag == "manylinux_2_17_x86_64.manylinux2014_x86_64")
        #expect(uv.python == "3.12.1")
        #expect(uv.pythonMinor == "3.12")
    }

    @Test func malformedRowsSayWhichFieldAndWhat() throws {
        var reader = BigQueryReader()
        let outcomes = try LineFeed.run(&reader, fixture: "bigquery/malformed.ndjson")
        let reasons = outcomes.map { $0.malformedReason ?? "NOT MALFORMED: \($0)" }
        #expect(reasons.count == 10)
        #expect(
            reasons[0].hasPrefix(
                "invalid JSON at column 122: expected ',' or '}' after the value of \"filename\", found the end of the line"))
        #expect(reasons[1] == "missing field `timestamp`: expected a time such as \"2020-03-05 14:03:11 UTC\", found no such field")
        #expect(reasons[2].hasPrefix("missing field `timestamp` at column 14: expected a time such as"))
        #expect(reasons[2].hasSuffix("found null"))
        #expect(reasons[3] == "field `details.installer.name` at column 94: expected a string or null, found a number (20)")
        #expect(reasons[4] == "field `details.ci` at column 79: expected true, false or null, found the string \"maybe\"")
        #expect(reasons[5] == "invalid JSON at column 1: expected a JSON object (one BigQuery row per line), found an array")
        #expect(reasons[6].hasPrefix("invalid JSON at column 64: expected the end of the line after the row's closing '}', found 't'"))
        #expect(reasons[7].hasPrefix("field `timestamp` at column 14: expected a time such as"))
        #expect(reasons[7].hasSuffix("found the string \"yesterday\""))
        #expect(
            reasons[8]
                == "field `file` at column 70: expected an object or null, found a string (\"sentry_sdk-0.13.2-py2.py3-none-any.whl\")")
        #expect(reasons[9] == "field `count` at column 71: expected a whole number of downloads, 0 or more, found \"-1\"")
        // BigQuery rows hold no client address: the line is kept as it was.
        if case .malformed(_, let kept) = outcomes[1] {
            #expect(kept.hasPrefix("{\"country_code\":\"DE\""))
        }
    }

    @Test func jsonSyntaxEdges() {
        var reader = BigQueryReader()
        func outcome(_ s: String) -> LineOutcome { LineFeed.one(&reader, s) }
        #expect(outcome("   \t") == .skip)
        #expect(outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\"}\r").downloadedEvent != nil)
        #expect(
            outcome("{ \"timestamp\" : \"2020-03-05 14:03:11 UTC\" , \"extra\" : [1, {\"a\": [true, null]}, -2.5e3] }").downloadedEvent
                != nil)
        #expect(outcome("\u{FEFF}{\"timestamp\":\"2020-03-05 14:03:11 UTC\"}").downloadedEvent != nil)  // BOM on line 1
        let escaped = outcome(#"{"timestamp":"2020-03-05 14:03:11 UTC","details":{"distro":{"name":"A\"B\\C\/D\u00e9\ud83d\ude00\n"}}}"#)
        #expect(escaped.downloadedEvent?.distro == "A\"B\\C/D\u{e9}\u{1F600}\n")
        #expect(outcome(#"{"timestamp":"2020-03-05 14:03:11 UTC","project":"x\q"}"#).malformedReason?.contains("a valid escape") == true)
        #expect(outcome(#"{"timestamp":"2020-03-05 14:03:11 UTC","project":"x\ud800"}"#).malformedReason?.contains("low surrogate") == true)
        #expect(
            outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\",\"project\":\"unterminated}").malformedReason?.contains("closing '\"'")
                == true)
        #expect(outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\",}").malformedReason?.contains("a field name in double quotes") == true)
        #expect(outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\",\"x\":tru}").malformedReason?.contains("a JSON value") == true)
        #expect(outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\",\"x\":01.}").malformedReason != nil)
        let deep = "{\"timestamp\":\"2020-03-05 14:03:11 UTC\",\"x\":" + String(repeating: "[", count: 10_000) + "}"
        #expect(outcome(deep).malformedReason?.contains("levels of nesting") == true)
        #expect(outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\",\"count\":0}") == .skip)
        #expect(outcome("{\"timestamp\":\"2020-03-05 14:03:11 UTC\",\"count\":\"250\"}").downloadedEvent?.count == 250)
        #expect(outcome("{\"timestamp\":99999999999999999999}").malformedReason != nil)
    }

    @Test func urlSuppliesTheFilenameWhenFileIsNull() {
        var reader = BigQueryReader()
        let e = LineFeed.one(
            &reader,
            #"{"timestamp":"2020-03-05 14:03:11 UTC","url":"/packages/py2.py3/M/Markdown/Markdown-3.1.1-py2.py3-none-any.whl?x=1","file":null}"#
        ).downloadedEvent
        #expect(e?.filename == "Markdown-3.1.1-py2.py3-none-any.whl")
        #expect(e?.project == "markdown")
        #expect(e?.projectDisplay == "Markdown")
        #expect(e?.version == "3.1.1")
        #expect(e?.fileType == "bdist_wheel")
    }

    @Test func projectIsNormalizedAndDisplayKept() {
        var reader = BigQueryReader()
        let e = LineFeed.one(&reader, #"{"timestamp":"2020-03-05 14:03:11 UTC","file":{"project":"Flask_Login"}}"#).downloadedEvent
        #expect(e?.project == "flask-login")
        #expect(e?.projectDisplay == "Flask_Login")
    }
}

@Suite("BigQuery row writer")
struct BigQueryRowWriterTests {
    @Test func writesTheTableShapeInSchemaOrder() {
        var e = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 14, minute: 3, second: 11))
        e.project = "flask-login"
        e.projectDisplay = "Flask-Login"
        e.filename = "Flask-Login-0.4.1.tar.gz"
        e.installer = "pip"
        e.installerVersion = "20.0.2"
        e.python = "2.7.16"
        e.ci = false
        e.fillFromFilename()
        let expected =
            #"{"timestamp":"2020-03-05 14:03:11 UTC","country_code":null,"url":null,"project":"flask-login","#
            + #""file":{"filename":"Flask-Login-0.4.1.tar.gz","project":"flask-login","version":"0.4.1","type":"sdist"},"#
            + #""details":{"installer":{"name":"pip","version":"20.0.2"},"python":"2.7.16","#
            + #""implementation":{"name":null,"version":null},"distro":{"name":null,"version":null,"id":null,"#
            + #""libc":{"lib":null,"version":null}},"system":{"name":null,"release":null},"cpu":null,"#
            + #""openssl_version":null,"setuptools_version":null,"rustc_version":null,"ci":false},"#
            + #""tls_protocol":null,"tls_cipher":null}"#
        #expect(BigQueryRowWriter.json(for: e) == expected)
        // Foundation agrees it is one valid JSON object.
        let parsed = try? JSONSerialization.jsonObject(with: Data(expected.utf8)) as? [String: Any]
        #expect(parsed?.count == 8)
    }

    @Test func roundTripsEveryFixtureRow() throws {
        var reader = BigQueryReader()
        let events = try LineFeed.run(&reader, fixture: "bigquery/file_downloads.ndjson").compactMap(\.downloadedEvent)
        #expect(events.count == 7)
        for e in events {
            let json = BigQueryRowWriter.json(for: e)
            let back = LineFeed.one(&reader, json).downloadedEvent
            #expect(back == e, "\(json)")
        }
    }

    @Test func roundTripsAwkwardStringsAndCounts() throws {
        var e = DownloadEvent(timestamp: -86_401, count: 42)
        e.project = "x"
        e.projectDisplay = "x"
        e.distro = "quote \" backslash \\ newline \n tab \t é 😀"
        e.cpu = "</script>"
        e.ci = true
        e.country = ""
        e.index = "pypi"
        var reader = BigQueryReader()
        let json = BigQueryRowWriter.json(for: e)
        #expect(!json.contains("\n"))
        #expect(json.hasSuffix(",\"count\":42}"))
        #expect(json.hasPrefix("{\"timestamp\":\"1969-12-30 23:59:59 UTC\""))
        #expect(LineFeed.one(&reader, json).downloadedEvent == e)
        // Other control characters are written escaped, and read back as a malformed row: a NUL
        // used to cut the stored value short.
        e.distro = "nul \u{0} del \u{7F}"
        let withNul = BigQueryRowWriter.json(for: e)
        #expect(withNul.contains(#"nul \u0000"#))
        #expect(LineFeed.one(&reader, withNul).malformedReason?.contains("details.distro.name") == true)
    }

    @Test func displayNameIsTheOnlyThingNormalizedOnTheWay() {
        var e = DownloadEvent(timestamp: 1_583_417_167)
        e.filename = "Flask_Login-0.5.0-py2.py3-none-any.whl"
        e.index = "pypi"
        e.fillFromFilename()
        #expect(e.projectDisplay == "Flask_Login")
        var reader = BigQueryReader()
        var back = LineFeed.one(&reader, BigQueryRowWriter.json(for: e)).downloadedEvent
        #expect(back?.projectDisplay == "flask-login")
        back?.projectDisplay = "Flask_Login"
        #expect(back == e)
    }
}
