import CasebookAnalysis
import Foundation
import Testing

/// A small deterministic generator (SplitMix64), so a failing case can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct QuarantinePrivacyTests {
    static func randomAddress(_ g: inout SeededRandom) -> String {
        func octet() -> Int { Int.random(in: 1...254, using: &g) }
        func group() -> String { String(UInt16.random(in: 1...0xffff, using: &g), radix: 16) }
        switch Int.random(in: 0..<6, using: &g) {
        case 0: return "\(octet()).\(octet()).\(octet()).\(octet())"
        case 1: return "2001:db8::\(group())"
        case 2: return "::ffff:\(octet()).\(octet()).\(octet()).\(octet())"
        case 3: return (0..<8).map { _ in group() }.joined(separator: ":")
        case 4: return "fe80::\(group()):\(group())"
        default: return "2a00:\(group())::\(group()):\(group())"
        }
    }

    /// A malformed line with addresses placed anywhere (never a parseable download).
    static func malformedLine(_ g: inout SeededRandom, addresses: inout [String]) -> String {
        let words = [
            "GET", "/simple/pkg/", "pip/20.0", "-", "vhost.example", "\"", "[05/Mar/2020:14:03:11", "+0000]",
            "200", "1.2.3", "x-forwarded-for:", "HTTP/1.1", "ref=", "ua", "(", ")", "2020-03-05"
        ]
        let prefixes = ["", " ", "  ", "vhost.example:443 ", "- ", "\t", "[", "proxy "]
        let arounds: [(String, String)] = [(" ", " "), ("[", "]"), ("[", "]:8080"), ("\"", "\""), ("for=", ";"), ("(", ")"), (" ", ":443 ")]
        var line = prefixes.randomElement(using: &g)!
        for _ in 0..<Int.random(in: 3...12, using: &g) {
            if Bool.random(using: &g) {
                let a = randomAddress(&g)
                let (before, after) = arounds.randomElement(using: &g)!
                addresses.append(a)
                line += before + a + after
            } else {
                line += words.randomElement(using: &g)! + " "
            }
        }
        // Never a well-formed combined line: no closing bracket/quote structure at the end.
        return line + " \"unterminated"
    }

    @Test func noAddressReachesTheStoreOrInfoThroughTheQuarantine() throws {
        var g = SeededRandom(seed: 20_2026)
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        var addresses: [String] = []
        var text = ""
        for i in 0..<400 {
            if i % 5 == 0 {
                let a = "10.9.\(i % 250).\(i % 7 + 1)"
                text += "\(a) - - [05/Mar/2020:14:03:11 +0000] \"GET /simple/pkg/pkg-1.0.tar.gz HTTP/1.1\" 200 5 \"-\" \"pip/20.0.2\"\n"
                addresses.append(a)
            }
            text += Self.malformedLine(&g, addresses: &addresses) + "\n"
        }
        let log = dir.appendingPathComponent("access.log")
        try text.write(to: log, atomically: true, encoding: .utf8)
        let ingest = try CLI.run(["ingest", log.path, "--input-format", "combined", "--store", store])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("malformed lines kept aside"), "\(ingest.stdout)")
        let info = try CLI.run(["info", "--quarantine", "--store", store])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("access.log:2:"), "the quarantined lines are listed")
        #expect(info.stdout.contains("c-"), "addresses are replaced by client keys")
        let infoJSON = try CLI.run(["info", "--quarantine", "--json", "--store", store])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: store))
        for suffix in ["-wal", "-journal"] {
            if let more = try? Data(contentsOf: URL(fileURLWithPath: store + suffix)) { bytes += more }
        }
        let stored = String(decoding: bytes, as: UTF8.self).lowercased()
        #expect(addresses.count > 500)
        var leaked: [String] = []
        for a in Set(addresses) {
            let a = a.lowercased()
            if stored.contains(a) || info.stdout.lowercased().contains(a) || infoJSON.stdout.lowercased().contains(a)
                || ingest.stdout.contains(a) || ingest.stderr.contains(a)
            {
                leaked.append(a)
            }
        }
        #expect(leaked.isEmpty, "addresses found: \(leaked.prefix(10))")
    }

    @Test func strictErrorsDoNotQuoteAddresses() throws {
        let dir = try temporaryDirectory()
        let log = dir.appendingPathComponent("access.log")
        try
            "203.0.113.9 - - [05/Mar/2020:14:03:11 +0000] \"GET /x HTTP/1.1\" 200 5 \"-\" \"ua\"\n203.0.113.9 - - [198.51.100.23 2001:db8::99] \"GET /x HTTP/1.1\" 200 5\n"
            .write(to: log, atomically: true, encoding: .utf8)
        let r = try CLI.run([
            "ingest", log.path, "--strict", "--input-format", "combined", "--store", dir.appendingPathComponent("s.sqlite").path
        ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("access.log:2"), "\(r.stderr)")
        for a in ["198.51.100.23", "2001:db8::99"] { #expect(!r.stderr.contains(a) && !r.stdout.contains(a)) }
    }
}
