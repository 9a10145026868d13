import CasebookAnalysis
import CasebookAnalyzers
import CasebookCatalog
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import CasebookSimulation
import CasebookTesting
import Foundation
import Testing

/// The package's root folder (for `playbooks/` and `examples/`).
let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url = url.deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return url
}()

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-inv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs one analyzer as a playbook step would (the testing kit's `run`: declared defaults
/// applied, parameters and outputs checked).
func runAnalyzer<A: Analyzer>(_ type: A.Type, store: any EventStore, _ parameters: [String: Value]) async throws -> AnalyzerResult {
    try await CasebookTesting.run(type, with: parameters, store: store)
}

/// Simulates a scenario, ingests its logs into a fresh store, and runs the unchanged
/// `playbooks/downloads-spike.yaml` with the scenario's catalog.
///
/// `importedCatalog` imports the catalog folder into the store first and runs on the imported
/// catalog (as after `casebook catalog import`), instead of reading the folder.
func investigate(_ scenario: Scenario, project: String? = nil, importedCatalog: Bool = false) async throws -> RunReport {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    // Simulating and ingesting are long synchronous work: do it on a thread of its own, not on
    // the few threads Swift concurrency shares between all tests.
    let store: SQLiteEventStore = try await offThePool {
        _ = try Simulator(scenario: scenario).run(to: dir.path)
        // The investigation must not see what was simulated.
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("scenario-summary.json"))
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("store.sqlite").path)
        // Whatever the scenario wrote: access logs, BigQuery rows, a counts CSV (of one project:
        // `project` names it, as `casebook ingest --project` does).
        for (folder, format) in [("logs", InputFormat.combined), ("bigquery", .bigquery), ("csv", .csv)] {
            let url = dir.appendingPathComponent(folder)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let ingestor = try Ingestor(
                target: store,
                options: IngestOptions(
                    format: format, index: scenario.index,
                    project: format == .csv ? project : nil))
            for f in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() {
                _ = try ingestor.ingest(path: url.appendingPathComponent(f).path)
            }
        }
        return store
    }
    let playbook = packageRoot.appendingPathComponent("playbooks/downloads-spike.yaml")
    let book = try Playbook.load(from: playbook, displayPath: "playbooks/downloads-spike.yaml")
    let plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: [])
    let catalogDir = dir.appendingPathComponent("catalog")
    var catalog = RunCatalog(directory: catalogDir)
    if importedCatalog {
        let projects = try CatalogFolder.projectFolders(in: catalogDir).compactMap {
            try CatalogFolder.readProject(folder: $0, in: catalogDir)
        }
        let counts = try store.importCatalogProjects(projects, mode: .replaceNewer)
        #expect(counts.added == projects.count && !projects.isEmpty)
        catalog = RunCatalog(try #require(try store.importedCatalog()))
    }
    let runner = PlaybookRunner(store: store, catalog: catalog)
    let report = await runner.run(plan)
    // Every report a scenario test produces is read for sentences that must never appear.
    let problems = reportProblems(report)
    #expect(problems.isEmpty, "\(scenario.name): \(problems.joined(separator: "\n"))")
    return report
}

/// The window's change reads the same in every step that states it: detection's excess, the
/// localiser's change and the contributors' total, each computed from detection's expectation
/// for the window (to the download, as each rounds).
func expectOneChange(_ report: RunReport, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let window = try #require(try succeeded(report, "spike").outputs["window"]?.objectValue, sourceLocation: sourceLocation)
    let excess = try #require(window["excess"]?.doubleValue, sourceLocation: sourceLocation)
    let change = try #require(try succeeded(report, "localise").outputs["change"]?.doubleValue, sourceLocation: sourceLocation)
    let total = try #require(
        try succeeded(report, "contributors").outputs["totalExcess"]?.doubleValue, sourceLocation: sourceLocation)
    #expect(abs(change - excess) <= 1, "localise's change \(change), detection's excess \(excess)", sourceLocation: sourceLocation)
    #expect(abs(total - excess) <= 1, "contributors' total \(total), detection's excess \(excess)", sourceLocation: sourceLocation)
}

/// The steps of `playbooks/downloads-spike.yaml`, in order.
let spikePlaybookSteps = [
    "spike", "health", "localise", "contributors", "segments", "clients", "index_source", "dependency_gap", "attribution", "ledger"
]

/// The step `id` of `report`, which must have run and succeeded: its outputs and findings are
/// then what its analyzer computed, never absent (or `nil`, or empty) because the step was
/// skipped or failed. The failure names the step's status and reason. Read every output and
/// finding of an investigation through this (or through `skipped` when a skip is the point).
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

/// The reason of step `id` of `report`, which must have been skipped (and say why).
@discardableResult
func skipped(_ report: RunReport, _ id: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
    let step = try #require(
        report.step(id), "the report has no step `\(id)` (steps: \(report.steps.map(\.id)))", sourceLocation: sourceLocation)
    try #require(
        step.status == .skipped,
        "step `\(id)` \(step.status.rawValue), expected skipped: \(step.reason ?? "") \(step.findings.map(\.title))",
        sourceLocation: sourceLocation)
    return try #require(step.reason, "step `\(id)` was skipped without a reason", sourceLocation: sourceLocation)
}

/// The sentences of `playbooks/downloads-spike.yaml`'s `skip-reason:`s, as a skipped step reports them.
enum SkipReason {
    static let noWindow = "no unusual window was found, so there is nothing to explain."
    static let outage = "an outage of the server explains the window (see its answers above), so there is no change in traffic to split."
    static let logGap = "hours missing from the log explain the window (missing data), so there is no change in traffic to split."
    static let drop = "it explains a rise (which files and releases drew the extra downloads), and the window investigated is a drop."
}

extension Value {
    subscript(index: Int) -> Value? { arrayValue.flatMap { index < $0.count ? $0[index] : nil } }
}

/// Runs blocking work on a new thread and waits for it without holding a concurrency thread.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 23
        thread.start()
    }
}

/// Sentences no report may contain, read as its reader would: for a drop, nobody "made"
/// anything and there is no "excess"; nowhere raw playbook expressions or JSON; numbers agree
/// with their nouns. Returns each problem with the step and the sentence.
func reportProblems(_ report: RunReport) -> [String] {
    var problems: [String] = []
    let direction =
        report.step("spike")?.outputs["window"]?["direction"]?.stringValue
        ?? report.step("hours")?.outputs["window"]?["direction"]?.stringValue
    let grammar = try! NSRegularExpression(
        pattern:
            #"(^|[^\d.,])1 ([a-z-]+ )?(values|clients|projects|downloads|hours|requests|lines|packages|days|files|dependencies|versions|causes|windows)\b"#
    )
    for step in report.steps {
        var texts = step.findings.flatMap { [$0.title, $0.summary] }
        if let reason = step.reason { texts.append(reason) }
        for text in texts {
            for raw in ["${{", "steps.", "outputs.", "[{", "{\""] where text.contains(raw) {
                problems.append("\(step.id): raw expression or JSON (`\(raw)`): \(text)")
            }
            if text.contains("project unknown") || text.contains("in unknown") {
                problems.append("\(step.id): a value the data does not have is quoted: \(text)")
            }
            let range = NSRange(text.startIndex..., in: text)
            if grammar.firstMatch(in: text, range: range) != nil {
                problems.append("\(step.id): number and noun disagree: \(text)")
            }
            if direction == "down", !["spike", "hours", "days"].contains(step.id) {
                for phrase in ["made most of it", " made ", "excess"] where text.contains(phrase) {
                    problems.append("\(step.id): a drop described as if something was added (`\(phrase)`): \(text)")
                }
            }
        }
    }
    return problems
}
