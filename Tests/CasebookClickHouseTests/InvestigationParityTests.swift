import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import CasebookSimulation
import Foundation
import Testing

@testable import CasebookClickHouse

/// The unchanged `playbooks/downloads-spike.yaml` on the same simulated incident (a downstream
/// release upgrading its dependencies: the founding case's shape at test size), from the logs in
/// SQLite and the same logs in ClickHouse: the investigation reaches the same conclusions.
@Suite(.enabled(if: TestServer.shouldRun), .serialized) struct InvestigationParityTests {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url = url.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return url
    }()

    static func run(_ store: any EventStore, catalog: URL) async throws -> RunReport {
        let playbook = packageRoot.appendingPathComponent("playbooks/downloads-spike.yaml")
        let book = try Playbook.load(from: playbook, displayPath: "playbooks/downloads-spike.yaml")
        let plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: [])
        return await PlaybookRunner(store: store, catalogDirectory: catalog).run(plan)
    }

    /// The step `id` of `report`, which must have run and succeeded (so that compared outputs are
    /// what each backend computed, never two absent outputs).
    @discardableResult
    static func succeeded(_ report: RunReport, _ id: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws
        -> RunReport.StepReport
    {
        let step = try #require(report.step(id), "the report has no step `\(id)`", sourceLocation: sourceLocation)
        try #require(
            step.status == .succeeded, "step `\(id)` \(step.status.rawValue): \(step.reason ?? "(no reason given)")",
            sourceLocation: sourceLocation)
        return step
    }

    /// What a report concludes: each step's status, outputs and findings.
    static func conclusions(_ r: RunReport) -> [String] {
        r.steps.map { s in
            let findings = s.findings.map { "\($0.title) | \($0.summary) | \($0.confidence.level)" }
            return "\(s.id) \(s.status.rawValue) outputs=\(s.outputs.keys.sorted()) findings=\(findings)"
        }
    }

    @Test func theSpikePlaybookConcludesOnClickHouseAsOnSQLite() async throws {
        let quiet = try Scenario.load(path: Self.packageRoot.appendingPathComponent("examples/scenarios/quiet.yaml").path)
        let r = ScenarioFactory.randomized(base: quiet, kind: .releaseUpgrade, seed: 11)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Simulator(scenario: r.scenario).run(to: dir.path)
        let logsDir = dir.appendingPathComponent("logs")
        let logs = try FileManager.default.contentsOfDirectory(atPath: logsDir.path).sorted().map {
            logsDir.appendingPathComponent($0).path
        }
        let catalog = dir.appendingPathComponent("catalog")
        let options = IngestOptions(format: .combined, index: r.scenario.index)

        let sqlite = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        for log in logs { _ = try Ingestor(target: sqlite, options: options).ingest(path: log) }
        let fromSQLite = try await Self.run(sqlite, catalog: catalog)
        // What ClickHouse is compared with ran: the incident was found and explained.
        for step in ["spike", "health", "localise", "contributors", "segments", "clients"] { try Self.succeeded(fromSQLite, step) }
        #expect(fromSQLite.step("spike")?.outputs["window"]?["direction"] == "up")

        try await TestServer.withDatabase { url in
            let ch = try ClickHouseEventStore(url: url)
            for log in logs { _ = try Ingestor(target: ch, options: options).ingest(path: log) }
            let fromClickHouse = try await Self.run(ch, catalog: catalog)
            #expect(Self.conclusions(fromClickHouse) == Self.conclusions(fromSQLite))
            #expect(fromClickHouse.steps.map(\.status) == fromSQLite.steps.map(\.status))
            for step in ["spike", "health", "contributors", "segments"] {
                #expect(try Self.succeeded(fromClickHouse, step).outputs == Self.succeeded(fromSQLite, step).outputs, "step \(step)")
            }
        }
    }
}
