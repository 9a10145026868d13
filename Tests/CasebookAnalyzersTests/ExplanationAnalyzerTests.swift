import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct ExplanationAnalyzerTests {
    /// Two weeks of flask at 100 a day and numpy at 50, then 4–6 March (``testWindow``) flask at 400.
    static var store: TestStore {
        TestEvents {
            $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 14) + [400, 400, 400])
            $0.daily("numpy", from: "2020-02-19", counts: Array(repeating: 50, count: 17))
        }.store
    }

    @Test func theContributorsAccountForTheExcess() async throws {
        let steps: [String: [String: Value]] = [
            "contributors": ["shape": "few", "dimension": "project", "values": ["Flask"]],
            "clients": ["concentration": "few-clients", "ciShare": 0.1]
        ]
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: Self.store, steps: steps)
        #expect(r.outputs["explainedShare"] == 1.0)
        let ledger = try #require(r.outputs["ledger"]?.objectValue)
        #expect(ledger["change"] == 900)
        #expect(ledger["unexplained"] == 0)
        let explanation = try #require(ledger["explanations"]?[0]?.objectValue)
        #expect(explanation["pairs"] == ["project": "flask"])
        #expect(explanation["downloads"] == 900)
        #expect(explanation["hypotheses"] == ["a handful of clients"])
        let finding = try #require(r.findings.first)
        #expect(finding.title == "100% of the excess is explained")
        #expect(finding.summary.contains("900 (100%) are downloads with project flask, explained by a handful of clients"))
        #expect(finding.summary.contains("nothing remains unexplained"))
    }

    @Test func eachLocalisedCauseIsAnExplanationWithTheHypothesesOnTheContributorsCause() async throws {
        // A release upgrade of flask (Python 2) during a mirror sync of numpy: two causes, two
        // explanations; the attribution's release goes with flask's, the mirror with numpy's.
        let store = TestEvents {
            $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 17), dimensions: [.python: "3.8.2"])
            $0.daily(
                "flask", from: "2020-02-19", counts: Array(repeating: 10, count: 14) + [310, 310, 310], dimensions: [.python: "2.7.16"])
            $0.daily("numpy", from: "2020-02-19", counts: Array(repeating: 50, count: 17), dimensions: [.installer: "pip"])
            $0.daily(
                "numpy", from: "2020-02-19", counts: Array(repeating: 0, count: 14) + [200, 200, 200],
                dimensions: [.installer: "bandersnatch"])
        }.store
        let steps: [String: [String: Value]] = [
            "localise": [
                "causes": [
                    ["pairs": ["project": "flask", "python_major": "2"], "excess": 900],
                    ["pairs": ["installer": "bandersnatch"], "excess": 600]
                ]
            ],
            "contributors": ["shape": "few", "dimension": "project", "values": ["flask", "numpy"]],
            "attribution": [
                "hypotheses": [["kind": "release", "project": "octoprint", "version": "1.4.0", "score": 0.9, "rejected": false]]
            ]
        ]
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: store, steps: steps)
        let ledger = try #require(r.outputs["ledger"]?.objectValue)
        #expect(ledger["change"] == 1500)
        #expect(ledger["unexplained"] == 0)
        let explanations = try #require(ledger["explanations"]?.arrayValue)
        #expect(explanations.count == 2)
        #expect(explanations[0]["pairs"] == ["project": "flask", "python_major": "2"])
        #expect(explanations[0]["downloads"] == 900)
        #expect(explanations[0]["hypotheses"] == ["a release of octoprint 1.4.0"])
        #expect(explanations[1]["pairs"] == ["installer": "bandersnatch"])
        #expect(explanations[1]["downloads"] == 600)
        #expect(explanations[1]["hypotheses"] == ["a mirroring tool (bandersnatch)"])
        #expect(r.outputs["explainedShare"] == 1.0)
    }

    @Test func withoutEarlierStepsNothingExplainsTheChange() async throws {
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: Self.store)
        #expect(r.outputs["explainedShare"] == 0.0)
        #expect(r.outputs["ledger"]?["unexplained"] == 900)
        #expect(r.outputs["ledger"]?["explanations"] == .array([]))
        #expect(r.findings.first?.title == "Nothing explains the excess yet")
        #expect(r.findings.first?.summary.contains("The excess of 900 downloads in 2020-03-04 – 2020-03-06") == true)
    }

    @Test func anOutageIsAnExplanationOfItsOwn() async throws {
        var window = testWindow.objectValue!
        window["direction"] = "down"
        let store = TestEvents {
            $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 14) + [40, 100, 100])
        }.store
        let r = try await run(
            ExplanationAnalyzer.self, with: ["window": .object(window)], store: store,
            steps: ["health": ["verdict": "outage", "missingDownloads": 60]])
        #expect(r.outputs["ledger"]?["change"] == -60)
        #expect(r.outputs["explainedShare"] == 1.0)
        #expect(r.findings.first?.summary.contains("are missing because of an outage of the server") == true)
    }

    @Test func noChangeIsSaid() async throws {
        let store = TestEvents { $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 17)) }.store
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: store)
        #expect(r.findings.first?.title == "No change to explain")
    }
}
