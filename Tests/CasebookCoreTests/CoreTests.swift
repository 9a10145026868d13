import CasebookCore
import Testing

@Suite struct ProjectNameTests {
    @Test(arguments: [
        ("Flask_Login", "flask-login"), ("flask.login", "flask-login"), ("FLASK--login", "flask-login"),
        ("semantic_version", "semantic-version"), ("zope.interface", "zope-interface"), ("a-_.b", "a-b"),
        ("Markdown", "markdown"), ("-x-", "-x-")
    ])
    func pep503(_ input: String, _ expected: String) {
        #expect(ProjectName.normalize(input) == expected)
    }
}

@Suite struct DistributionFilenameTests {
    @Test func wheel() throws {
        let f = try #require(DistributionFilename("Flask_Login-0.5.0-py2.py3-none-any.whl"))
        #expect(f.project == "flask-login")
        #expect(f.projectDisplay == "Flask_Login")
        #expect(f.version == "0.5.0")
        #expect(f.fileType == "bdist_wheel")
        #expect(f.pythonTag == "py2.py3")
        #expect(f.abiTag == "none")
        #expect(f.platformTag == "any")
    }

    @Test func wheelWithBuildTag() throws {
        let f = try #require(DistributionFilename("numpy-1.18.1-1-cp37-cp37m-linux_armv7l.whl"))
        #expect(f.buildTag == "1")
        #expect(f.platformTag == "linux_armv7l")
    }

    @Test(arguments: [
        ("sentry-sdk-0.13.2.tar.gz", "sentry-sdk", "0.13.2"), ("python-dateutil-2.8.1.tar.gz", "python-dateutil", "2.8.1"),
        ("Flask-Login-0.4.1.tar.gz", "flask-login", "0.4.1"), ("my-pkg-1.0.zip", "my-pkg", "1.0"),
        ("backports.ssl_match_hostname-3.7.0.1.tar.gz", "backports-ssl-match-hostname", "3.7.0.1")
    ])
    func sdist(_ name: String, _ project: String, _ version: String) throws {
        let f = try #require(DistributionFilename(name))
        #expect(f.fileType == "sdist")
        #expect(f.project == project)
        #expect(f.version == version)
    }

    @Test func notADistribution() {
        #expect(DistributionFilename("index.html") == nil)
        #expect(DistributionFilename("bad-name.whl") == nil)
        #expect(!DistributionFilename.isDistribution("/simple/numpy/"))
        #expect(DistributionFilename.isDistribution("/simple/numpy/numpy-1.0.tar.gz"))
    }
}

@Suite struct UTCTimeTests {
    @Test func roundTrip() {
        let t = UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 14, minute: 3, second: 11)
        #expect(t == 1_583_416_991)
        #expect(UTCTime.isoString(t) == "2020-03-05T14:03:11Z")
        #expect(UTCTime.bigQueryString(t) == "2020-03-05 14:03:11 UTC")
        #expect(UTCTime.dateString(t) == "2020-03-05")
    }

    @Test(arguments: [
        ("2020-03-05", 1_583_366_400), ("2020-03-05T14:03:11Z", 1_583_416_991),
        ("2020-03-05 14:03:11 UTC", 1_583_416_991), ("2020-03-05T15:03:11+01:00", 1_583_416_991),
        ("2020-03-05T14:03:11.250Z", 1_583_416_991), ("2020-03-05T14:03", 1_583_416_980),
        ("2020-03-05T13:03:11-0100", 1_583_416_991)
    ])
    func parses(_ text: String, _ expected: Int64) {
        #expect(UTCTime.parse(text) == expected)
    }

    @Test(arguments: ["", "2020-13-01", "05/03/2020", "2020-03-05T25:00", "2020-03-05 garbage"])
    func rejects(_ text: String) {
        #expect(UTCTime.parse(text) == nil)
    }

    @Test func weeksStartOnMonday() {
        // 2020-03-05 is a Thursday; its ISO week starts on Monday 2020-03-02.
        let t = UTCTime.epoch(year: 2020, month: 3, day: 5, hour: 12)
        #expect(UTCTime.dateString(TimeBucket.week.start(of: t)) == "2020-03-02")
        #expect(UTCTime.dateString(TimeBucket.week.start(of: UTCTime.epoch(year: 2020, month: 3, day: 2))) == "2020-03-02")
        #expect(UTCTime.dateString(TimeBucket.week.start(of: UTCTime.epoch(year: 2020, month: 3, day: 1, hour: 23))) == "2020-02-24")
        #expect(TimeBucket.hour.start(of: t + 59) == t)
    }
}

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    ])
    func nistVectors(_ input: String, _ hex: String) {
        #expect(SHA256.hash(Array(input.utf8)).hexString == hex)
    }

    @Test func millionAs() {
        var h = SHA256()
        let block = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { block.withUnsafeBytes { h.update(buffer: $0) } }
        #expect(h.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalEqualsOneShot() {
        var h = SHA256()
        let data = Array((0..<1000).map { UInt8($0 % 251) })
        h.update(data[0..<10])
        data[10..<700].withUnsafeBytes { h.update(buffer: $0) }
        h.update(data[700...])
        #expect(h.finalize() == SHA256.hash(data))
    }

    @Test func hmacRFC4231() {
        // RFC 4231 test case 2.
        let mac = SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(mac.hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func clientKeysArePseudonymousAndStable() {
        let a = ClientKeyer(salt: Array("salt-a".utf8))
        let b = ClientKeyer(salt: Array("salt-b".utf8))
        #expect(a.key(for: "192.0.2.1") == a.key(for: "192.0.2.1"))
        #expect(a.key(for: "192.0.2.1") != b.key(for: "192.0.2.1"))
        #expect(a.key(for: "192.0.2.1") != a.key(for: "192.0.2.2"))
        #expect(!a.key(for: "192.0.2.1").contains("192"))
    }
}

@Suite struct ReferenceAggregatorTests {
    @Test func topPerBucketAndFilters() {
        func e(_ h: Int, _ p: String?, _ c: Int64 = 1) -> DownloadEvent {
            var x = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 1, hour: h), count: c)
            x.project = p
            return x
        }
        let events = [e(0, "a", 3), e(0, "b"), e(1, "b", 2), e(1, nil, 5), e(1, "a")]
        let t = ReferenceAggregator.aggregate(AggregateQuery(bucket: .hour, dimensions: [.project], top: 1), over: events)
        #expect(t.rows.map(\.values) == [["a"], [nil]])
        let f = ReferenceAggregator.aggregate(
            AggregateQuery(dimensions: [.project], filters: [DimensionFilter(.project, .notIn, ["a"])]), over: events)
        #expect(f.rows.map(\.values) == [[nil], ["b"]])
        #expect(f.total == 8)
    }
}
