import ArgumentParser
import CasebookAnalysis
import CasebookCore
import CasebookPlaybooks
import CasebookReport
import Foundation

/// Running a playbook and writing its report, shared by `run` and `demo`.
enum PlaybookExecution {
    /// Validates and runs a playbook; validation errors are printed and end the command.
    /// The result carries what makes the report reproducible: the command that re-runs it, the
    /// playbook file (text and SHA-256), the store's sources, the analyzers' one-line summaries.
    static func run(
        playbookPath: String, store: any EventStore, catalog: RunCatalog?, overrides: [(String, String)],
        limits: ExternalAnalyzerLimits, quiet: Bool, command: String
    ) async throws -> ReportDocument {
        let validator = PlaybookValidator(registry: CasebookAnalyzerRegistry.current, limits: limits)
        let plan: PlaybookPlan
        let playbookURL = URL(fileURLWithPath: playbookPath)
        do {
            let book = try Playbook.load(from: playbookURL, displayPath: playbookPath)
            plan = try await validator.validate(book, overrides: overrides)
        } catch let e as PlaybookValidationError {
            StandardError.write(e.description + "\n")
            throw ExitCode(1)
        }
        for w in plan.warnings { StandardError.write("\(w.location): warning: \(w.message)\n") }
        let started = Date()
        let runner = PlaybookRunner(
            store: store, catalog: catalog, limits: limits,
            progress: { line in if !quiet { StandardError.write(line + "\n") } })
        let report = await runner.run(plan)
        var summaries: [String: String] = [:]
        for planned in plan.steps {
            if let d = planned.analyzer.description { summaries[planned.step.uses] = d.summary }
        }
        var info = try? await store.info()
        // Never record a credential in report.json, whatever the backend.
        if let location = info?.location { info?.location = StoreOptions.display(location) }
        let metadata = ReportMetadata.make(
            command: CredentialRedaction.redact(command), playbookFile: playbookURL, store: info,
            analyzers: summaries, now: started)
        return ReportDocument(run: report, metadata: metadata)
    }

    /// Writes `report.json`, `report.md` (with its charts in `report-charts/`) and `report.html`
    /// into `dir`; returns the reports' URLs.
    static func write(_ document: ReportDocument, to dir: URL) throws -> [URL] {
        try ReportWriter().write(document, to: dir)
    }
}

extension ReportDocument {
    /// The plain-text summary `run` and `demo` print.
    var textSummary: String { run.textSummary }
}
