import ArgumentParser
import CasebookCore
import CasebookPlaybooks
import Foundation

/// Running a playbook and writing its report, shared by `run` and `demo`.
enum PlaybookExecution {
    /// Validates and runs a playbook; validation errors are printed and end the command.
    static func run(playbookPath: String, store: any EventStore, catalog: URL?, overrides: [(String, String)],
                    limits: ExternalAnalyzerLimits, quiet: Bool, command: String) async throws -> RunReport {
        let validator = PlaybookValidator(registry: CasebookAnalyzerRegistry.current, limits: limits)
        let plan: PlaybookPlan
        do {
            let book = try Playbook.load(from: URL(fileURLWithPath: playbookPath), displayPath: playbookPath)
            plan = try await validator.validate(book, overrides: overrides)
        } catch let e as PlaybookValidationError {
            StandardError.write(e.description + "\n")
            throw ExitCode(1)
        }
        for w in plan.warnings { StandardError.write("\(w.location): warning: \(w.message)\n") }
        let runner = PlaybookRunner(store: store, catalogDirectory: catalog, limits: limits,
                                    progress: { line in if !quiet { StandardError.write(line + "\n") } })
        return await runner.run(plan)
    }

    /// Writes the report files into `dir`; returns their URLs.
    static func write(_ report: RunReport, to dir: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let json = dir.appendingPathComponent("report.json")
        try report.jsonData().write(to: json, options: .atomic)
        return [json]
    }
}
