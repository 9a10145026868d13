import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct SegmentSplitAnalyzerTests {
    @Test func theExcessComesFromPython2() async throws {
        var e = TestEvents()
        for d in 0..<21 {
            e.add(day: day(d), project: "lib", count: 60, python: "3.7.3")
            e.add(day: day(d), project: "lib", count: 40, python: "2.7.16")
            if d >= 18 { e.add(day: day(d), project: "lib", count: 300, python: "2.7.16") }
        }
        let r = try await run(
            SegmentSplitAnalyzer.self, with: ["window": lateMarchWindow, "dimensions": ["cpu", "python_major"]],
            store: e.store)
        let top = try #require(r.outputs["top"]?.objectValue)
        #expect(top["dimension"] == "python_major")
        #expect(top["value"] == "2")
        #expect(top["excessShare"] == 1.0)
        #expect(top["baselineShare"] == 0.4)
        let ranking = try #require(r.outputs["ranking"]?.arrayValue)
        #expect(ranking.first?["dimension"] == "python_major")
        #expect(ranking.last?["surprise"] == 0.0)  // one cpu for everyone: nothing surprising
        let finding = try #require(r.findings.first)
        #expect(finding.title == "python_major = 2: 100% of the excess")
    }

    @Test func countsWithoutClientDetailsCannotBeSplit() async throws {
        // A counts file: project and day only, no Python version.
        let store = TestEvents { $0.daily("lib", from: "2020-03-01", counts: Array(repeating: 100, count: 18) + [400, 400, 400]) }.store
        let r = try await run(SegmentSplitAnalyzer.self, with: ["window": lateMarchWindow, "dimensions": ["python_major"]], store: store)
        #expect(r.outputs["top"] == .null)
        let finding = try #require(r.findings.first)
        #expect(finding.title == "No segment split")
        #expect(finding.summary.contains("carry no values for python_major"))
    }

    @Test func segmentsThatGrowInProportionAreSaidToGrowEvenly() async throws {
        // Python 2 and 3 both double: a real rise, but no segment stands out.
        let store = TestEvents {
            $0.daily("lib", from: "2020-03-01", counts: Array(repeating: 100, count: 18) + [200, 200, 200], dimensions: [.python: "3.8.2"])
            $0.daily("lib", from: "2020-03-01", counts: Array(repeating: 50, count: 18) + [100, 100, 100], dimensions: [.python: "2.7.16"])
        }.store
        let r = try await run(SegmentSplitAnalyzer.self, with: ["window": lateMarchWindow, "dimensions": ["python_major"]], store: store)
        #expect(r.outputs["top"] == .null)
        let finding = try #require(r.findings.first)
        #expect(finding.title == "No segment stands out")
        #expect(finding.summary.contains("kept its baseline share"))
        #expect(finding.summary.contains("the rise"))
        #expect(finding.summary.contains("900 downloads against about 450 expected"))
        #expect(!finding.summary.contains("no change"))
    }
}
