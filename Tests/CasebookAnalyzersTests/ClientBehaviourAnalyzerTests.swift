import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct ClientBehaviourAnalyzerTests {
    @Test func oneClientIsAMirrorLikeConcentration() async throws {
        var e = TestEvents()
        for d in 0..<21 {
            for c in 0..<50 { e.add(day: day(d), project: "p\(c % 5)", client: "c-\(c)") }
            if d >= 18 { for p in 0..<40 { e.add(day: day(d), project: "q\(p)", client: "c-mirror") } }
        }
        let r = try await run(ClientBehaviourAnalyzer.self, with: ["window": lateMarchWindow], store: e.store)
        #expect(r.outputs["concentration"] == "single-client")
        #expect((r.outputs["topClientShare"]?.doubleValue ?? 0) > 0.9)
        #expect(r.outputs["topClients"]?[0]?["client"] == "client-1")
        // Keys never appear: only pseudonyms.
        #expect(!String(describing: r).contains("c-mirror"))
    }

    @Test func aValueFetchedTwicePerClientIsARepeat() async throws {
        var e = TestEvents()
        for d in 0..<21 { e.add(day: day(d), project: "base", client: "c-base") }
        for c in 0..<200 {
            let t = day(18 + c % 3)
            e.add(day: t, project: "twice", count: 2, client: "c-\(c)")
            e.add(day: t, project: "once-a", client: "c-\(c)")
            e.add(day: t, project: "once-b", client: "c-\(c)")
        }
        let r = try await run(
            ClientBehaviourAnalyzer.self, with: ["window": lateMarchWindow, "values": ["twice", "once-a", "once-b"]],
            store: e.store)
        #expect(r.outputs["concentration"] == "many-clients")
        let repeated = try #require(r.outputs["repeated"]?.arrayValue)
        #expect(repeated.map { $0["value"] } == ["twice"])
        #expect(repeated.first?["perClient"] == 2.0)
        #expect(r.outputs["coFetchShare"] == 1.0)
        #expect(r.outputs["clients"] == 200)
    }

    @Test func noClientKeysIsSaidPlainly() async throws {
        var e = TestEvents()
        for d in 0..<21 { e.add(day: day(d), project: "x", count: 10) }
        let r = try await run(ClientBehaviourAnalyzer.self, with: ["window": lateMarchWindow], store: e.store)
        #expect(r.outputs["concentration"] == "unknown")
        #expect(r.findings.first?.title == "No client information")
    }
}
