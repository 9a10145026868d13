import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import CasebookSimulation
import Foundation
import Testing

@testable import CasebookPostgres

/// The step `id` of `report`, which must have run and succeeded: outputs compared between
/// backends are then what each computed, never two absent outputs of steps that did not run.
/// The failure names the step's status and reason.
@discardableResult
func succeeded(_ report: RunReport, _ id: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> RunReport.StepReport
{
    let step = try #require(
        report.step(id), "the report has no step `\(id)` (steps: \(report.steps.map(\.id)))", sourceLocation: sourceLocation)
    try #require(
        step.status == .succeeded, "step `\(id)` \(step.status.rawValue): \(step.reason ?? "(no reason given)")",
        sourceLocation: sourceLocation)
    return step
}

/// The unchanged `playbooks/downloads-spike.yaml` on the same simulated incident (a downstream
/// release upgrading its dependencies, the founding case's shape at test size) from three stores:
/// the logs in SQLite, the logs in PostgreSQL, and the same downloads in a piwheels-style table.
/// The investigation reaches the same conclusions from each.
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

    /// The steps of `playbooks/downloads-spike.yaml`, in order.
    static let steps = [
        "spike", "health", "localise", "contributors", "segments", "clients", "index_source", "dependency_gap", "attribution", "ledger"
    ]

    /// Every step's finding titles, but for one step's.
    static func titles(_ r: RunReport, without step: String) -> [[String]] {
        r.steps.filter { $0.id != step }.map { $0.findings.map(\.title) }
    }

    /// What a report concludes: each step's status, outputs and findings (client keys, which
    /// depend on each store's salt, are compared by count only).
    static func conclusions(_ r: RunReport) -> [String] {
        r.steps.map { s in
            let findings = s.findings.map { "\($0.title) | \($0.summary) | \($0.confidence.level)" }
            return "\(s.id) \(s.status.rawValue) outputs=\(s.outputs.keys.sorted()) findings=\(findings)"
        }
    }

    @Test func theSpikePlaybookConcludesTheSameOnEveryBackend() async throws {
        let base = try TestServer.requireURL()
        let piwheelsBase = try TestServer.requirePiwheelsURL()
        let quiet = try Scenario.load(path: Self.packageRoot.appendingPathComponent("examples/scenarios/quiet.yaml").path)
        let r = ScenarioFactory.randomized(base: quiet, kind: .releaseUpgrade, seed: 11)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Simulator(scenario: r.scenario).run(to: dir.path)
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("scenario-summary.json"))
        let logsDir = dir.appendingPathComponent("logs")
        let logs = try FileManager.default.contentsOfDirectory(atPath: logsDir.path).sorted().map {
            logsDir.appendingPathComponent($0).path
        }
        let catalog = dir.appendingPathComponent("catalog")

        // 1. The logs, in SQLite.
        let sqlite = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        let options = IngestOptions(format: .combined, index: r.scenario.index)
        for log in logs { _ = try Ingestor(target: sqlite, options: options).ingest(path: log) }
        let fromSQLite = try await Self.run(sqlite, catalog: catalog)
        // What the other backends are compared with ran: the incident was found and explained.
        #expect(fromSQLite.steps.map(\.id) == Self.steps)
        for step in ["spike", "health", "localise", "contributors", "segments", "clients"] { try succeeded(fromSQLite, step) }
        #expect(fromSQLite.step("spike")?.outputs["window"]?["direction"] == "up")

        try await TestServer.withSchema(base) { schema in
            // 2. The logs, in PostgreSQL (Casebook's schema).
            let pg = try PostgresEventStore(url: TestServer.with(base, "schema=\(schema)"))
            for log in logs { _ = try Ingestor(target: pg, options: options).ingest(path: log) }
            let fromPostgres = try await Self.run(pg, catalog: catalog)
            #expect(Self.conclusions(fromPostgres) == Self.conclusions(fromSQLite))
            #expect(fromPostgres.steps.map(\.status) == fromSQLite.steps.map(\.status))
        }

        try await TestServer.withSchema(piwheelsBase) { schema in
            // 3. The same downloads as piwheels keeps them: a `downloads` table (schema 0.16).
            let salt = ClientKeyer.randomSalt()
            var rows: [(event: DownloadEvent, address: String)] = []
            for log in logs { rows += try eventsWithAddresses(fromLog: log, keyer: ClientKeyer(salt: salt)) }
            let admin = try PGConnection(url: PostgresURL(piwheelsBase))
            try createPiwheelsTable(admin, schema: schema, rows: rows)
            let piwheels = try PiwheelsEventStore(
                url: PostgresURL(TestServer.with(piwheelsBase, "layout=piwheels&table=\(schema).downloads&index=\(r.scenario.index)")),
                salt: salt)
            let fromPiwheels = try await Self.run(piwheels, catalog: catalog)
            // The same incident window, the same explaining packages, the same segment and client behaviour.
            #expect(fromPiwheels.steps.map(\.status) == fromSQLite.steps.map(\.status))
            for step in ["spike", "contributors"] {
                #expect(try succeeded(fromPiwheels, step).outputs == succeeded(fromSQLite, step).outputs, "step \(step)")
            }
            let top = try #require(try succeeded(fromSQLite, "segments").outputs["top"]?.objectValue)
            #expect(try succeeded(fromPiwheels, "segments").outputs["top"] == .object(top))
            let concentration = try #require(try succeeded(fromSQLite, "clients").outputs["concentration"]?.stringValue)
            #expect(try succeeded(fromPiwheels, "clients").outputs["concentration"] == .string(concentration))
            // A piwheels downloads table has no server answers (no request log): `log-health`
            // says it cannot tell there, and reads the logs' request lines here.
            #expect(try succeeded(fromPiwheels, "health").outputs["verdict"] == "unknown")
            #expect(try succeeded(fromSQLite, "health").outputs["verdict"] == "traffic")
            #expect(Self.titles(fromPiwheels, without: "health") == Self.titles(fromSQLite, without: "health"))
        }
    }
}

/// The founding case at full size, from a piwheels-style `downloads` table (as piwheels keeps its
/// downloads), reaches the same conclusions as from the logs in the embedded store.
@Suite(.enabled(if: TestServer.shouldRun), .serialized) struct DemoFromPiwheelsTableTests {
    @Test func theDemoFromAPiwheelsTableConcludesAsFromTheLogs() async throws {
        let piwheelsBase = try TestServer.requirePiwheelsURL()
        let scenario = try Scenario.load(
            path: InvestigationParityTests.packageRoot.appendingPathComponent("examples/piwheels-2020-03/scenario.yaml").path)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Simulator(scenario: scenario).run(to: dir.path)
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("scenario-summary.json"))
        let logsDir = dir.appendingPathComponent("logs")
        let logs = try FileManager.default.contentsOfDirectory(atPath: logsDir.path).sorted().map {
            logsDir.appendingPathComponent($0).path
        }
        let catalog = dir.appendingPathComponent("catalog")

        let sqlite = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        for log in logs {
            _ = try Ingestor(target: sqlite, options: IngestOptions(format: .combined, index: scenario.index)).ingest(path: log)
        }
        let fromLogs = try await InvestigationParityTests.run(sqlite, catalog: catalog)
        // The demo's investigation runs to the end from the logs (see FoundingCaseTests).
        #expect(fromLogs.steps.map(\.id) == InvestigationParityTests.steps)
        for step in fromLogs.steps { #expect(step.status == .succeeded, "\(step.id): \(step.reason ?? "")") }

        try await TestServer.withSchema(piwheelsBase) { schema in
            let salt = ClientKeyer.randomSalt()
            var rows: [(event: DownloadEvent, address: String)] = []
            for log in logs { rows += try eventsWithAddresses(fromLog: log, keyer: ClientKeyer(salt: salt)) }
            let admin = try PGConnection(url: PostgresURL(piwheelsBase))
            try createPiwheelsTable(admin, schema: schema, rows: rows)
            rows = []
            let piwheels = try PiwheelsEventStore(
                url: PostgresURL(TestServer.with(piwheelsBase, "layout=piwheels&table=\(schema).downloads&index=\(scenario.index)")),
                salt: salt)
            let fromTable = try await InvestigationParityTests.run(piwheels, catalog: catalog)

            #expect(fromTable.steps.map(\.status) == fromLogs.steps.map(\.status))
            for step in ["spike", "contributors"] {
                #expect(try succeeded(fromTable, step).outputs == succeeded(fromLogs, step).outputs, "step \(step)")
            }
            #expect(try succeeded(fromTable, "spike").outputs["window"]?["start"] == "2020-03-04T00:00:00Z")
            let top = try #require(try succeeded(fromLogs, "segments").outputs["top"]?.objectValue)
            #expect(try succeeded(fromTable, "segments").outputs["top"] == .object(top))
            let repeated = try #require(try succeeded(fromLogs, "clients").outputs["repeated"]?.arrayValue)
            #expect(try succeeded(fromTable, "clients").outputs["repeated"] == .array(repeated))
            #expect(try succeeded(fromTable, "index_source").outputs["primaryIndex"] == true)
            #expect(try succeeded(fromTable, "dependency_gap").outputs["gap"] == true)
            let hypothesis = try #require(try succeeded(fromTable, "attribution").outputs["hypotheses"]?.arrayValue?.first)
            #expect(hypothesis["project"]?.stringValue.map(ProjectName.normalize) == "octoprint")
            #expect(hypothesis["version"] == "1.4.0")
            #expect(try succeeded(fromTable, "health").outputs["verdict"] == "unknown")
            #expect(
                InvestigationParityTests.titles(fromTable, without: "health")
                    == InvestigationParityTests.titles(fromLogs, without: "health"))
        }
    }
}
