import CasebookCore
import CasebookAnalysis
import CasebookPlaybooks
import CasebookSimulation
import Foundation
import Testing

/// `casebook demo`'s investigation: the full-size March 2020 piwheels case through the unchanged
/// playbook. The expectations are the write-up's findings; the analyzers see only logs and
/// catalog documents.
@Suite(.serialized) struct FoundingCaseTests {
    @Test func theDemoFindsWhatTheMaintainersFoundByHand() async throws {
        let scenario = try Scenario.load(path: packageRoot.appendingPathComponent("examples/piwheels-2020-03/scenario.yaml").path)
        let report = try await investigate(scenario)
        for step in report.steps { #expect(step.status == .succeeded, "\(step.id): \(step.reason ?? "")") }

        // The spike, 4–6 March, as one window.
        let window = try #require(report.step("spike")?.outputs["window"]?.objectValue)
        #expect(window["start"] == "2020-03-04T00:00:00Z")
        #expect(window["end"] == "2020-03-07T00:00:00Z")
        #expect(window["direction"] == "up")
        #expect(window["actual"] == .int(56_225 + 60_324 + 52_879))

        // The four packages and nothing else; without them the days are normal again.
        let contributors = report.step("contributors")?.outputs
        let values = Set(contributors?["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(values == ["flask-login", "markdown", "sentry-sdk", "semantic-version"])
        #expect(contributors?["residualNormal"] == true)
        #expect(contributors?["broad"] == false)

        // All of the excess from Python 2 clients.
        let top = report.step("segments")?.outputs["top"]
        #expect(top?["dimension"] == "python_major")
        #expect(top?["value"] == "2")
        #expect((top?["excessShare"]?.doubleValue ?? 0) >= 0.99)

        // Many clients, and Flask-Login's double count is the same clients fetching it twice.
        let clients = report.step("clients")?.outputs
        #expect(clients?["concentration"] == "many-clients")
        let repeated = clients?["repeated"]?.arrayValue ?? []
        #expect(repeated.map { $0["value"] } == ["flask-login"])
        #expect(abs((repeated.first?["perClient"]?.doubleValue ?? 0) - 2) < 0.05)

        // PyPI had equally good wheels for the files that had them: primary-index clients.
        #expect(report.step("index_source")?.outputs["primaryIndex"] == true)
        // The dependencies did not move.
        #expect(report.step("dependency_gap")?.outputs["gap"] == true)
        let flask = report.step("dependency_gap")?.outputs["dependencies"]?.arrayValue?.first { $0["dependency"] == "flask" }
        #expect(flask != nil)
        #expect((flask?["ratio"]?.doubleValue ?? 99) < 1.5)

        // OctoPrint 1.4.0 first; the decoys below.
        let hypotheses = report.step("attribution")?.outputs["hypotheses"]?.arrayValue ?? []
        #expect(hypotheses.first?["kind"] == "release")
        #expect(hypotheses.first?["project"]?.stringValue.map(ProjectName.normalize) == "octoprint")
        #expect(hypotheses.first?["version"] == "1.4.0")
        #expect(hypotheses.count >= 5)
        for h in hypotheses.dropFirst() {
            #expect((h["score"]?.doubleValue ?? 1) < (hypotheses.first?["score"]?.doubleValue ?? 0))
        }
    }
}
