import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import CasebookSimulation
import Foundation
import Testing

/// `casebook demo`'s investigation: the full-size March 2020 piwheels case through the unchanged
/// playbook. The expectations are the write-up's findings; the analyzers see only logs and
/// catalog documents.
@Suite(.serialized) struct FoundingCaseTests {
    /// From the catalog folder, and from the same catalog imported into the store.
    @Test(arguments: [false, true])
    func theDemoFindsWhatTheMaintainersFoundByHand(importedCatalog: Bool) async throws {
        let scenario = try Scenario.load(path: packageRoot.appendingPathComponent("examples/piwheels-2020-03/scenario.yaml").path)
        let report = try await investigate(scenario, importedCatalog: importedCatalog)
        #expect(report.steps.map(\.id) == spikePlaybookSteps)
        for step in report.steps { #expect(step.status == .succeeded, "\(step.id): \(step.reason ?? "")") }

        // The spike, 4–6 March, as one window.
        let window = try #require(try succeeded(report, "spike").outputs["window"]?.objectValue)
        #expect(window["start"] == "2020-03-04T00:00:00Z")
        #expect(window["end"] == "2020-03-07T00:00:00Z")
        #expect(window["direction"] == "up")
        #expect(window["actual"] == .int(56_225 + 60_324 + 52_879))
        // One excess, however many steps state it.
        try expectOneChange(report)

        // The four packages and nothing else; without them the days are normal again.
        let contributors = try succeeded(report, "contributors").outputs
        let values = Set(try #require(contributors["values"]?.arrayValue).compactMap(\.stringValue))
        #expect(values == ["flask-login", "markdown", "sentry-sdk", "semantic-version"])
        #expect(contributors["residualNormal"] == true)
        #expect(contributors["broad"] == false)

        // Across every dimension at once: Python 2 clients fetching the four packages, one cause
        // that leaves the window back to normal.
        let localise = try succeeded(report, "localise").outputs
        let causes = try #require(localise["causes"]?.arrayValue)
        #expect(causes.count == 1)
        let pairs = try #require(causes.first?["pairs"]?.objectValue)
        #expect(
            Set(try #require(pairs["project"]?.arrayValue).compactMap(\.stringValue))
                == ["flask-login", "markdown", "sentry-sdk", "semantic-version"])
        #expect(pairs["python_major"] == "2")
        let causeShare = try #require(causes.first?["share"]?.doubleValue)
        #expect(causeShare >= 0.9)
        #expect(localise["backToNormal"] == true)
        #expect(Set(try #require(localise["projects"]?.arrayValue).compactMap(\.stringValue)) == values)

        // All of the excess from Python 2 clients.
        let top = try #require(try succeeded(report, "segments").outputs["top"]?.objectValue)
        #expect(top["dimension"] == "python_major")
        #expect(top["value"] == "2")
        let excessShare = try #require(top["excessShare"]?.doubleValue)
        #expect(excessShare >= 0.99)
        // Split within the cause's four projects, and said so.
        let split = try #require(try succeeded(report, "segments").findings.first?.summary)
        #expect(
            split.hasPrefix("Within project flask-login, markdown, semantic-version and sentry-sdk, 100% of the window's excess"),
            "\(split)")

        // Many clients, and Flask-Login's double count is the same clients fetching it twice.
        let clients = try succeeded(report, "clients").outputs
        #expect(clients["concentration"] == "many-clients")
        let repeated = try #require(clients["repeated"]?.arrayValue)
        #expect(repeated.map { $0["value"] } == ["flask-login"])
        let perClient = try #require(repeated.first?["perClient"]?.doubleValue)
        #expect(abs(perClient - 2) < 0.05)

        // PyPI had equally good wheels for the files that had them: primary-index clients.
        #expect(try succeeded(report, "index_source").outputs["primaryIndex"] == true)
        // The dependencies did not move.
        let gap = try succeeded(report, "dependency_gap")
        #expect(gap.outputs["gap"] == true)
        let flask = try #require(gap.outputs["dependencies"]?.arrayValue?.first { $0["dependency"] == "flask" })
        let ratio = try #require(flask["ratio"]?.doubleValue)
        #expect(ratio < 1.5)

        // OctoPrint 1.4.0 first; the decoys below.
        let hypotheses = try #require(try succeeded(report, "attribution").outputs["hypotheses"]?.arrayValue)
        #expect(hypotheses.count >= 5)
        let first = try #require(hypotheses.first)
        #expect(first["kind"] == "release")
        #expect(first["project"]?.stringValue.map(ProjectName.normalize) == "octoprint")
        #expect(first["version"] == "1.4.0")
        let firstScore = try #require(first["score"]?.doubleValue)
        for h in hypotheses.dropFirst() {
            let score = try #require(h["score"]?.doubleValue, "\(h)")
            #expect(score < firstScore)
        }
    }
}
