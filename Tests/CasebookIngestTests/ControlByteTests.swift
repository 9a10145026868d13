import CasebookCore
import Foundation
import Testing

@testable import CasebookIngest

/// A NUL (or another control byte) used to cut values short: `GET /simple/nul\0pkg/...` was
/// stored as project and file `nul`. Such lines are malformed, and the reason names where.
@Suite struct ControlByteTests {
    let keyer = ClientKeyer(salt: Array("salt".utf8))
    let agent = #"pip/19.3.1 {"installer":{"name":"pip","version":"19.3.1"},"python":"2.7.16"}"#

    func combined(_ line: String) -> LineOutcome {
        var reader = CombinedLogReader(keyer: keyer)
        return LineFeed.one(&reader, line)
    }

    func reason(_ o: LineOutcome) -> String? {
        if case .malformed(let reason, _) = o { return reason }
        return nil
    }

    @Test func combinedLinesWithAControlByteAreMalformedNamingTheField() throws {
        let good = "192.0.2.1 - - [05/Mar/2020:14:03:11 +0000] \"GET /simple/nul/nul-1.0.tar.gz HTTP/1.1\" 200 123 \"-\" \"\(agent)\""
        #expect(combined(good).downloadedEvent?.project == "nul")
        let nulInPath = good.replacingOccurrences(of: "/simple/nul/nul-1.0", with: "/simple/nul\u{0}pkg/nul-1.0")
        let r = try #require(reason(combined(nulInPath)))
        #expect(r == #"control byte in the request (Apache and nginx write them escaped, like \x00), found \x00 at character 60"#)
        #expect(QuarantineReason.kind(of: r) == #"control byte in the request (Apache and nginx write them escaped, like \x00)"#)
        let inAgent = good.replacingOccurrences(of: "pip/19.3.1 {", with: "pip/19.3.1\u{1}{")
        #expect(reason(combined(inAgent))?.hasPrefix("control byte in the user agent") == true)
        let inHost = good.replacingOccurrences(of: "192.0.2.1", with: "192.0.2.1\u{0}")
        #expect(reason(combined(inHost))?.hasPrefix("control byte in the client address") == true)
        let inReferer = good.replacingOccurrences(of: "200 123 \"-\"", with: "200 123 \"-\u{7F}\"")
        #expect(reason(combined(inReferer))?.hasPrefix("control byte in the referer") == true)
        // Percent-encoded in the file name: decoded, it would hold a NUL too.
        let encoded = good.replacingOccurrences(of: "/nul-1.0.tar.gz", with: "/nul%00pkg-1.0.tar.gz")
        #expect(reason(combined(encoded))?.hasPrefix("control byte in the file name of the request") == true)
        // The kept line has no raw address.
        if case .malformed(_, let kept) = combined(nulInPath) { #expect(!kept.contains("192.0.2.1")) }
    }

    @Test func bigQueryValuesWithAnEscapedControlCharacterAreMalformedNamingTheField() throws {
        var reader = BigQueryReader()
        let row =
            #"{"timestamp":"2020-03-05 14:03:11 UTC","country_code":"US","project":"nul\u0000pkg","file":{"filename":"nul-1.0.tar.gz","project":"nul","version":"1.0","type":"sdist"}}"#
        let r = try #require(reason(LineFeed.one(&reader, row)))
        #expect(r.contains("`project`") || r.contains("project"), "\(r)")
        #expect(r.contains(#"\x00 in "nul\x00pkg""#), "\(r)")
        #expect(!r.unicodeScalars.contains { $0.value < 0x20 })
        let clean = row.replacingOccurrences(of: #"nul\u0000pkg"#, with: "nul")
        #expect(LineFeed.one(&reader, clean).downloadedEvent?.project == "nul")
    }

    @Test func csvCellsWithAControlByteAreMalformedNamingTheColumn() throws {
        var reader = CountsCSVReader()
        let outcomes = LineFeed.run(&reader, text: "date,project,downloads\n2020-03-05,nul\u{0}pkg,3\n2020-03-05,nul,4\n")
        let r = try #require(reason(outcomes[1]))
        #expect(r == #"column `project`: expected a value without control characters, found \x00 in "nul\x00pkg""#)
        #expect(outcomes[2].downloadedEvent?.project == "nul")
    }

    @Test func theWordAtATimeCheckFindsWhatAByteLoopFinds() {
        // Random lines mostly of printable text, with now and then a tab, a control byte, DEL or
        // a byte over 0x7F, at every offset and length: the same answer as a plain byte loop.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for _ in 0..<20_000 {
            let count = Int(next() % 40)
            let line: [UInt8] = (0..<count).map { _ in
                switch next() % 40 {
                case 0: return UInt8(next() % 0x20)
                case 1: return 0x7F
                case 2: return 0x09
                case 3: return UInt8(0x80 + next() % 0x80)
                default: return UInt8(0x20 + next() % 0x5F)
                }
            }
            let expected = line.firstIndex { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
            let found = line.withUnsafeBufferPointer { CombinedLogReader.firstControlByte($0) }
            #expect(found == expected, "\(line)")
            if found != expected { return }
        }
    }
}
