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
        #expect(finding.title == "All of the excess is explained")
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

    /// The causes carry more than the change when the rest of the traffic fell: the ledger states
    /// what each measures (as localise does), and that the rest moved the other way.
    @Test func whenTheRestFellTheCausesCarryMoreThanTheChange() async throws {
        let store = TestEvents {
            $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 14) + [400, 400, 400])
            $0.daily("numpy", from: "2020-02-19", counts: Array(repeating: 200, count: 14) + [100, 100, 100])
        }.store
        let steps: [String: [String: Value]] = ["localise": ["causes": [["pairs": ["project": "flask"], "excess": 900]]]]
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: store, steps: steps)
        let ledger = try #require(r.outputs["ledger"]?.objectValue)
        #expect(ledger["change"] == 600)
        #expect(ledger["explanations"]?[0]?["downloads"] == 900)
        #expect(ledger["explanations"]?[0]?["share"] == 1.5)
        #expect(ledger["unexplained"] == -300)
        #expect(r.outputs["explainedShare"] == 1.0)
        let finding = try #require(r.findings.first)
        #expect(finding.title == "All of the excess is explained")
        #expect(
            finding.summary.contains(
                "900 (150%) are downloads with project flask; that is more than the excess: the rest of the traffic came out 300 downloads (50% of the excess) below its baseline"
            ), "\(finding.summary)")
    }

    /// Two causes that describe the same downloads are counted once in the total.
    @Test func overlappingCausesAreCountedOnce() async throws {
        let store = TestEvents {
            $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 17), dimensions: [.python: "3.8.2"])
            $0.daily(
                "flask", from: "2020-02-19", counts: Array(repeating: 10, count: 14) + [310, 310, 310], dimensions: [.python: "2.7.16"])
            $0.daily(
                "numpy", from: "2020-02-19", counts: Array(repeating: 10, count: 14) + [110, 110, 110], dimensions: [.python: "2.7.16"])
        }.store
        let steps: [String: [String: Value]] = [
            "localise": ["causes": [["pairs": ["project": "flask"], "excess": 900], ["pairs": ["python_major": "2"], "excess": 1200]]]
        ]
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: store, steps: steps)
        let ledger = try #require(r.outputs["ledger"]?.objectValue)
        #expect(ledger["change"] == 1200)
        #expect(ledger["explanations"]?.arrayValue?.map { $0["downloads"] } == [900, 1200])
        #expect(ledger["overlap"] == 900)
        #expect(ledger["unexplained"] == 0)
        #expect(r.outputs["explainedShare"] == 1.0)
        #expect(
            r.findings.first?.summary.contains("nothing remains unexplained (900 downloads are in more than one of them, counted once)")
                == true)
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
        // The outage's missing downloads are an estimate: a little more than the shortfall is
        // "about the whole" of it, not a rise of the rest of the traffic.
        let near = try await run(
            ExplanationAnalyzer.self, with: ["window": .object(window)], store: store,
            steps: ["health": ["verdict": "outage", "missingDownloads": 64]])
        #expect(near.outputs["ledger"]?["unexplained"] == 4)
        #expect(near.findings.first?.title == "About all of the shortfall is explained")
        #expect(
            near.findings.first?.summary.contains(
                "about 64 (107%) are missing because of an outage of the server; about the whole shortfall")
                == true, "\(near.findings.first?.summary ?? "")")
    }

    @Test func noChangeIsSaid() async throws {
        let store = TestEvents { $0.daily("flask", from: "2020-02-19", counts: Array(repeating: 100, count: 17)) }.store
        let r = try await run(ExplanationAnalyzer.self, with: ["window": testWindow], store: store)
        #expect(r.findings.first?.title == "No change to explain")
    }
}
