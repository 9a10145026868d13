import ArgumentParser
import CasebookAnalysis
import CasebookPlaybooks
import Foundation

/// `casebook validate PLAYBOOK...`: checks playbooks without running them.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check playbooks: YAML, analyzers, parameters, types and step references.",
        discussion: "Errors are printed as FILE:LINE:COLUMN: error: MESSAGE. Exits with status 1 when any playbook has errors.")

    @Argument(help: ArgumentHelp("Playbook files (YAML).", valueName: "PLAYBOOK"))
    var playbooks: [String]

    @Option(name: .customLong("set"), help: ArgumentHelp("Check a parameter override as `run` would.", valueName: "NAME=VALUE"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Seconds an external analyzer may take to describe itself.", valueName: "SECONDS"))
    var describeTimeout: Double = 10

    func run() async throws {
        let parsed = try RunCommand.parseOverrides(overrides)
        var failed = 0
        for path in playbooks {
            let validator = PlaybookValidator(
                registry: CasebookAnalyzerRegistry.current,
                limits: ExternalAnalyzerLimits(describeTimeout: describeTimeout))
            do {
                let playbook = try Playbook.load(from: URL(fileURLWithPath: path), displayPath: path)
                let plan = try await validator.validate(playbook, overrides: parsed)
                for w in plan.warnings { StandardError.write("\(w.location): warning: \(w.message)\n") }
                print("\(path): ok (\(plan.steps.count) step\(plan.steps.count == 1 ? "" : "s"))")
            } catch let e as PlaybookValidationError {
                failed += 1
                StandardError.write(e.description + "\n")
                StandardError.write("\(path): \(e.diagnostics.count) error\(e.diagnostics.count == 1 ? "" : "s")\n")
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
