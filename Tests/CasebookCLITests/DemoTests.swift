import CasebookCore
import CasebookPlaybooks
import CasebookReport
import CasebookSimulation
import Foundation
import Testing

@testable import CasebookCLI

/// The demo's scenario and playbook are built into the executable (``DemoFiles``), so an
/// installed `casebook demo` runs from any folder. These tests keep the built-in texts equal to
/// the repository's files and run the demo outside the repository.
@Suite struct DemoFilesTests {
    @Test(arguments: [(DemoFiles.scenarioPath, DemoFiles.scenario), (DemoFiles.playbookPath, DemoFiles.playbook)])
    func builtInTextEqualsTheRepositoryFile(_ path: String, _ text: String) throws {
        let file = try Data(contentsOf: packageRoot.appendingPathComponent(path))
        #expect(
            Data(text.utf8) == file,
            "Sources/CasebookCLI/DemoFiles.swift differs from \(path): run `bash .ci/embed-demo-files.sh`")
    }

    @Test func builtInScenarioDecodesAsTheFileDoes() throws {
        let builtIn = try Scenario.parse(yaml: DemoFiles.scenario, file: DemoFiles.scenarioPath)
        let file = try Scenario.load(path: packageRoot.appendingPathComponent(DemoFiles.scenarioPath).path)
        #expect(builtIn == file)
        #expect(builtIn.name.contains("piwheels 2020-03"))
    }

    @Test func builtInPlaybookValidates() async throws {
        let book = try Playbook.parse(
            DemoFiles.playbook, file: DemoFiles.playbookPath,
            directory: FileManager.default.temporaryDirectory)
        let plan = try await PlaybookValidator(registry: CasebookAnalyzerRegistry.current).validate(book)
        #expect(plan.steps.map(\.step.id).contains("attribution"))
        #expect(plan.warnings.isEmpty, "\(plan.warnings.map(\.message))")
    }
}

@Suite struct DemoCommandTests {
    /// The whole demo (2.3 million lines) is too slow for a debug test, so this runs it on a
    /// small scenario: what it checks is that nothing is looked up in the repository. The
    /// built-in scenario is checked above; the built-in playbook is what runs here.
    @Test func runsOutsideTheRepository() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(!dir.path.hasPrefix(packageRoot.path))
        let scenario = dir.appendingPathComponent("small.yaml")
        // A quarter of the example's daily volume (about 36,000 lines): the test is about where files come from.
        let text = try String(contentsOf: packageRoot.appendingPathComponent("examples/scenarios/mirror.yaml"), encoding: .utf8)
        try text.replacingOccurrences(of: "daily: {start: 3600, end: 4200", with: "daily: {start: 900, end: 1050")
            .write(to: scenario, atomically: true, encoding: .utf8)

        let r = try CLI.run(["demo", "--scenario", "small.yaml", "--out", "demo-out"], directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("cannot find"), "\(r.stderr)")
        #expect(r.stderr.contains("demo: simulating small.yaml"), "\(r.stderr)")

        // The built-in playbook, written next to the report, is the file the report's command names.
        let out = dir.appendingPathComponent("demo-out")
        let playbook = try Data(contentsOf: out.appendingPathComponent("downloads-spike.yaml"))
        #expect(playbook == Data(DemoFiles.playbook.utf8))
        let report = try ReportDocument.load(json: Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(
            report.metadata.command.hasPrefix("casebook run demo-out/downloads-spike.yaml --store "),
            "\(report.metadata.command)")
        #expect(report.metadata.playbookSHA256 == SHA256.hash([UInt8](playbook)).hexString)
        #expect(report.run.steps.contains { $0.id == "spike" })
        for name in ["report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), "\(name)")
        }
        #expect(r.stdout.contains("report: "), "\(r.stdout)")
    }

    @Test func aMissingScenarioFileIsRefusedFirst() throws {
        // A scenario file that does not exist is refused before anything is written.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["demo", "--scenario", "missing.yaml", "--out", "o"], directory: dir)
        #expect(r.status != 0)
        #expect(r.stderr.contains("missing.yaml"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o").path))
    }
}
