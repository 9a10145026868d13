import Foundation
import Testing

@testable import CasebookIngest

// MARK: - Fixture loading

/// One case of `Fixtures/linehaul/fixtures.json` or `differential.json`.
private struct LinehaulCase: Decodable {
    struct Expected: Decodable {
        var kind: String
        var info: UserAgentInfo?
    }
    var file: String?
    var index: Int?
    var ua: String
    var expected: Expected

    var label: String { file.map { "\($0)[\(index ?? 0)]" } ?? ua.debugDescription }

    func matches(_ c: UserAgentClassification) -> Bool {
        switch (expected.kind, c) {
        case ("known", .known(let info)): info == (expected.info ?? UserAgentInfo())
        case ("ignored", .ignored), ("unknown", .unknown), ("rejected", .rejected): true
        default: false
        }
    }
}

private struct LinehaulFile: Decodable {
    var cases: [LinehaulCase]
}

private func loadCases(_ name: String) throws -> [LinehaulCase] {
    let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    let data = try Data(contentsOf: root.appendingPathComponent("linehaul/\(name)"))
    return try JSONDecoder().decode(LinehaulFile.self, from: data).cases
}

private func describe(_ c: UserAgentClassification) -> String {
    switch c {
    case .known(let info): return "known(\(info))"
    case .ignored: return "ignored"
    case .unknown: return "unknown"
    case .rejected(let reason): return "rejected(\(reason))"
    }
}

// MARK: - linehaul's own fixtures

@Suite("UserAgentParser: linehaul fixtures")
struct LinehaulFixtureTests {
    @Test("every case of every linehaul fixture file gives linehaul's result")
    func allFixtures() throws {
        let cases = try loadCases("fixtures.json")
        var failures: [String] = []
        for c in cases {
            let got = UserAgentParser.classify(c.ua)
            if !c.matches(got) {
                failures.append(
                    "\(c.label) \(c.ua.debugDescription): expected \(c.expected.kind) \(c.expected.info.map { "\($0)" } ?? ""), got \(describe(got))"
                )
            }
        }
        print("linehaul fixture cases passing: \(cases.count - failures.count) / \(cases.count)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(cases.count == 38)
    }

    @Test("fixtures.json covers every .yml fixture file")
    func everyFileConverted() throws {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("linehaul")
        let ymls = try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { $0.hasSuffix(".yml") }
        let converted = Set(try loadCases("fixtures.json").compactMap(\.file))
        #expect(ymls.count == 24)
        #expect(Set(ymls) == converted)
    }

    @Test("agents run through linehaul itself give the same result here")
    func differential() throws {
        let cases = try loadCases("differential.json")
        var failures: [String] = []
        for c in cases {
            let got = UserAgentParser.classify(c.ua)
            if !c.matches(got) {
                failures.append(
                    "\(c.ua.debugDescription): expected \(c.expected.kind) \(c.expected.info.map { "\($0)" } ?? ""), got \(describe(got))")
            }
        }
        print("linehaul differential cases passing: \(cases.count - failures.count) / \(cases.count)")
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
        #expect(cases.count > 1500)
    }
}

// MARK: - Specific behaviour

@Suite("UserAgentParser: behaviour")
struct UserAgentBehaviourTests {
    @Test("ignored agents versus unknown ones")
    func ignoredVersusUnknown() {
        #expect(UserAgentParser.parse("(null)") == .ignored)
        #expect(UserAgentParser.parse("Go-http-client/1.1") == .ignored)
        #expect(UserAgentParser.parse("Apache Nutch/1.x") == .ignored)  // "Nutch" anywhere
        #expect(UserAgentParser.parse("Mythic HTTP monitor check") == .unknown)
        #expect(UserAgentParser.parse("") == .unknown)
        #expect(UserAgentParser.parse("PIP/18.0 {}") == .unknown)
        // A parser that accepts an agent wins over the ignore list.
        #expect(UserAgentParser.parse("Java/1.8 pex/1.0") == .known(UserAgentInfo(installerName: "pex", installerVersion: "1.0")))
    }

    @Test("pip's JSON: broken, missing, or not an object")
    func pipJSONEdgeCases() {
        #expect(UserAgentParser.parse("pip/19.0.3 no JSON UA") == .unknown)
        #expect(UserAgentParser.parse("pip/evil {invalid JSON}") == .unknown)
        #expect(UserAgentParser.parse("pip/18.0") == .unknown)
        #expect(UserAgentParser.parse("pip/5.0 {}") == .unknown)  // the JSON form starts at pip 6
        #expect(UserAgentParser.parse(#"pip/18.0 {"cpu":"x",}"#) == .unknown)  // Python rejects trailing commas
        #expect(UserAgentParser.parse("pip/18.0 []") == .known(UserAgentInfo()))
        // linehaul accepts these, then fails converting them: its pipeline drops the line.
        for ua in ["pip/18.0 5", "pip/18.0 null", #"pip/18.0 {"installer":"myname"}"#, #"pip/18.0 ["cpu"]"#] {
            guard case .rejected = UserAgentParser.classify(ua) else {
                Issue.record("\(ua) should be rejected, got \(UserAgentParser.classify(ua))")
                continue
            }
            #expect(UserAgentParser.parse(ua) == .unknown)
        }
        // When pip's JSON fails, the later parsers still get their turn.
        #expect(
            UserAgentParser.parse("pip/19.0.3 no JSON UA pex/2.0") == .known(UserAgentInfo(installerName: "pex", installerVersion: "2.0")))
    }

    @Test("values become text the way Python's str() writes them")
    func pythonStringConversion() {
        let ua =
            #"pip/20.0 {"python":3.10,"cpu":[1,"a",null,true],"ci":"false","openssl_version":{"b":1,"a":"it's"},"setuptools_version":1e16,"rustc_version":-0}"#
        #expect(
            UserAgentParser.parse(ua)
                == .known(
                    UserAgentInfo(
                        python: "3.1", cpu: "[1, 'a', None, True]", opensslVersion: #"{'b': 1, 'a': "it's"}"#,
                        setuptoolsVersion: "1e+16", rustcVersion: "0", ci: true)))
    }

    @Test("pip 1.4 to 5 form, with Unknown parts left out")
    func pipOldForm() {
        #expect(
            UserAgentParser.parse("pip/1.4.1 CPython/2.7.14 Darwin/17.7.0")
                == .known(
                    UserAgentInfo(
                        installerName: "pip", installerVersion: "1.4.1", python: "2.7.14",
                        implementationName: "CPython", implementationVersion: "2.7.14",
                        systemName: "Darwin", systemRelease: "17.7.0")))
        #expect(
            UserAgentParser.parse("pip/1.5.6 unknown/UNKNOWN Unknown/unknown")
                == .known(
                    UserAgentInfo(
                        installerName: "pip", installerVersion: "1.5.6")))
        #expect(UserAgentParser.parse("pip/1.3.9 CPython/2.7 Linux/3.2") == .unknown)
        #expect(UserAgentParser.parse("pip/6.0a1 CPython/2.7 Linux/3.2") == .unknown)
    }

    @Test("Python's whitespace and line ends, not ICU's")
    func pythonRegexSemantics() {
        // Python's `$` allows one final "\n" but not "\r".
        #expect(UserAgentParser.parse("Python-urllib/2.7\n") == .known(UserAgentInfo(python: "2.7")))
        #expect(UserAgentParser.parse("Python-urllib/2.7\r") == .unknown)
        // U+001F is whitespace to Python's split(), so pip's JSON here is `0`.
        guard case .rejected = UserAgentParser.classify("pip/18.0 \u{1F}0") else {
            Issue.record("expected rejected")
            return
        }
        // Python's IGNORECASE folds the Kelvin sign to k, but not the ligature ﬁ to "fi".
        #expect(UserAgentParser.parse("Lin\u{212A}s") == .known(UserAgentInfo(installerName: "Browser")))
        #expect(UserAgentParser.parse("\u{FB01}refox/1") == .unknown)
    }
}

// MARK: - The piwheels access-log sample

@Suite("UserAgentParser: piwheels log sample")
struct PiwheelsSampleTests {
    /// What linehaul gives for the user agents of `Fixtures/linehaul/piwheels-access-log-sample.txt`
    /// (a copy of `shared/facts/piwheels-access-log-sample.txt`), in order.
    static let raspbianStretch = UserAgentInfo(
        installerName: "pip", distroName: "Raspbian GNU/Linux", distroVersion: "9", distroID: "stretch",
        libcLib: "glibc", libcVersion: "2.24", systemName: "Linux", cpu: "armv7l")

    static func pip(
        _ installer: String, python: String, release: String, openssl: String = "OpenSSL 1.1.0j  20 Nov 2018",
        setuptools: String? = nil, cpu: String = "armv7l"
    ) -> UserAgentParseResult {
        var info = raspbianStretch
        info.installerVersion = installer
        info.python = python
        info.implementationName = "CPython"
        info.implementationVersion = python
        info.systemRelease = release
        info.opensslVersion = openssl
        info.setuptoolsVersion = setuptools
        info.cpu = cpu
        return .known(info)
    }

    static let browser = UserAgentParseResult.known(UserAgentInfo(installerName: "Browser"))

    static let expected: [UserAgentParseResult] = [
        pip("9.0.1", python: "3.5.3", release: "4.14.79-v7+"),
        pip("19.0.3", python: "2.7.13", release: "4.14.98-v7+", setuptools: "40.8.0"),
        pip("9.0.1", python: "3.5.3", release: "4.14.79-v7+"),
        pip("9.0.1", python: "2.7.13", release: "4.14.79-v7+"),
        pip("19.0.3", python: "2.7.13", release: "4.14.98-v7+", setuptools: "40.8.0"),
        pip("19.0.3", python: "3.5.3", release: "4.14.98-v7+", setuptools: "33.1.1"),
        pip("19.0.3", python: "3.5.3", release: "4.19.27-v7+", setuptools: "33.1.1"),
        pip("18.0", python: "2.7.13", release: "4.14.52+", openssl: "OpenSSL 1.1.0f  25 May 2017", setuptools: "40.0.0", cpu: "armv6l"),
        pip("19.0.3", python: "3.6.8", release: "4.9.93-linuxkit-aufs", setuptools: "40.8.0"),
        pip("9.0.1", python: "2.7.13", release: "4.14.79-v7+", openssl: "OpenSSL 1.1.0f  25 May 2017"),
        .unknown,  // pip/19.0.3 no JSON UA
        .unknown,  // pip/evil {invalid JSON}
        browser,  // Wget/1.20.3 (linux-gnu)
        .known(UserAgentInfo(installerName: "requests", installerVersion: "2.22.0")),
        .unknown,  // Mythic HTTP monitor check: not on linehaul's ignore list
        .known(
            UserAgentInfo(
                installerName: "pip", installerVersion: "20.1.1", python: "3.5.4",
                implementationName: "CPython", implementationVersion: "3.5.4",
                distroName: "Raspbian GNU/Linux", distroVersion: "10", distroID: "buster",
                libcLib: "glibc", libcVersion: "2.28", systemName: "Linux", systemRelease: "4.19.97-v7l+",
                cpu: "armv7l", opensslVersion: "OpenSSL 1.1.1d  10 Sep 2019", setuptoolsVersion: "41.4.0")),
        browser, browser, browser, browser
    ]

    static func userAgents(_ log: String) -> [String] {
        log.split(separator: "\n").map { line in
            // The user agent is the last quoted field; inside it `\"` stands for `"`.
            var body = line.dropLast()  // closing quote
            var chars: [Character] = []
            while let c = body.popLast() {
                if c == "\"" && body.last != "\\" { break }
                chars.append(c)
            }
            return String(chars.reversed()).replacingOccurrences(of: #"\""#, with: "\"")
        }
    }

    @Test("each sample line's user agent gives linehaul's fields")
    func sampleLines() throws {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let log = try String(contentsOf: root.appendingPathComponent("linehaul/piwheels-access-log-sample.txt"), encoding: .utf8)
        let agents = Self.userAgents(log)
        try #require(agents.count == Self.expected.count)
        #expect(agents[10] == "pip/19.0.3 no JSON UA")
        #expect(agents[11] == "pip/evil {invalid JSON}")
        for (i, (ua, expected)) in zip(agents, Self.expected).enumerated() {
            #expect(UserAgentParser.parse(ua) == expected, "line \(i + 1): \(ua)")
        }
    }
}

// MARK: - Robustness

@Suite("UserAgentParser: robustness")
struct UserAgentFuzzTests {
    /// A small deterministic generator (SplitMix64), so a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("random bytes and mutated agents never trap")
    func randomInputs() {
        var rng = SplitMix(state: 0x0C70_0B12_1A40)
        let seeds = [
            #"pip/20.1.1 {"ci":null,"cpu":"armv7l","distro":{"id":"buster","libc":{"lib":"glibc","version":"2.28"}},"python":"3.5.4"}"#,
            "pip/1.5.6 CPython/2.7.6 Linux/3.13", "uv/0.1.22 {}", #"Hatch/1.0 {"a":[1,2.5e3,"\u00e9"]} HTTPX/1"#,
            "Homebrew/1.0 (Macintosh; Intel Mac OS X 10.9) curl/7", "Mozilla/5.0", "(null)"
        ]
        let pieces = [
            "{", "}", "[", "]", "\"", "\\", "\\u", "\\ud800", ":", ",", "-", "1e", "NaN", "\u{1F}", "\u{85}",
            "\u{2028}", "\u{FEFF}", "\u{301}", "\u{212A}", "😀", "\n", "\r", " ", "pip/", "pex/1", "null", "0"
        ]
        var count = 0
        for _ in 0..<3000 {
            let input: String
            if Bool.random(using: &rng) {
                let bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                input = String(decoding: bytes, as: UTF8.self)
            } else {
                var s = Array(seeds.randomElement(using: &rng)!.unicodeScalars)
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let at = Int.random(in: 0...s.count, using: &rng)
                    if Bool.random(using: &rng), at < s.count {
                        s.remove(at: at)
                    } else {
                        s.insert(contentsOf: pieces.randomElement(using: &rng)!.unicodeScalars, at: at)
                    }
                }
                var v = String.UnicodeScalarView()
                v.append(contentsOf: s)
                input = String(v)
            }
            _ = UserAgentParser.classify(input)
            count += 1
        }
        // Deep nesting fails cleanly, as Python's RecursionError does.
        _ = UserAgentParser.classify("pip/20.0 " + String(repeating: "[", count: 100_000))
        #expect(UserAgentParser.parse("pip/20.0 " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)) == .unknown)
        #expect(count == 3000)
    }
}
