import ArgumentParser
import CasebookAnalysis
import CasebookPlaybooks
import Foundation

/// `casebook analyzers [NAME]`: lists analyzers, or shows one's parameters, outputs, an example step
/// and its worked examples (parameters, data and what they find).
struct AnalyzersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyzers",
        abstract: "List the analyzers playbooks can use, or describe one.",
        discussion: "NAME may also be an external program (`./analyzers/x.py`, `casebook-analyzer-NAME`): it is asked to describe itself.")

    @Argument(help: ArgumentHelp("An analyzer name or program.", valueName: "NAME"))
    var name: String?

    func run() async throws {
        let registry = CasebookAnalyzerRegistry.current
        guard let name else {
            let width = registry.names.map(\.count).max() ?? 0
            for d in registry.descriptions {
                print(d.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + d.summary)
            }
            print(
                "\nExternal programs: `uses: ./path/to/program` or `uses: casebook-analyzer-NAME` (JSON protocol \(ExternalAnalyzer.protocolVersion))."
            )
            return
        }
        let description: AnalyzerDescription
        if let t = registry.analyzer(named: name) {
            description = t.description
        } else if name.contains("/") || name.hasPrefix("casebook-analyzer-") {
            var url = URL(fileURLWithPath: name)
            if name.hasPrefix("casebook-analyzer-"), !name.contains("/") {
                let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
                guard
                    let found = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent(name) })
                        .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
                else {
                    throw CLIError("`\(name)` not found on PATH")
                }
                url = found
            }
            switch await ExternalAnalyzer.describe(ExternalProgram(url: url, displayName: name), limits: .init()) {
            case .success(let p): description = p.description!
            case .failure(let e): throw CLIError(e.message)
            }
        } else {
            throw CLIError(
                "unknown analyzer `\(name)`\(Suggest.didYouMean(name, among: registry.names)) (run `casebook analyzers` for the list)")
        }
        print(Self.render(description))
    }

    static func render(_ d: AnalyzerDescription) -> String {
        var lines = ["\(d.name): \(d.summary)"]
        if !d.discussion.isEmpty { lines += ["", d.discussion] }
        lines += ["", "Parameters:"]
        if d.parameters.isEmpty { lines.append("  (none)") }
        for p in d.parameters {
            let dflt = p.defaultValue.map { "default \($0.jsonString)" } ?? (p.optional ? "optional" : "required")
            lines.append("  \(p.name) (\(p.kind.name), \(dflt))")
            lines.append("      \(p.doc)")
        }
        lines += ["", "Outputs:"]
        if d.outputs.isEmpty { lines.append("  (none)") }
        for o in d.outputs {
            lines.append("  \(o.name) (\(o.kind.name))")
            lines.append("      \(o.doc)")
        }
        lines += ["", "Example step:", d.exampleStep.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")]
        if !d.examples.isEmpty {
            lines += ["", "Examples (each is checked by the test suite):"]
            for (i, e) in d.examples.enumerated() {
                lines.append("")
                lines.append("  \(i + 1). \(e.title)")
                lines += e.withBlock.split(separator: "\n").map { "     " + $0 }
                let data = e.data.lines
                lines.append("     data: " + (data.first ?? "(none)"))
                lines += data.dropFirst().map { "           " + $0 }
                let finds = e.expectationLines
                lines.append("     finds: " + (finds.first ?? "(nothing checked)"))
                lines += finds.dropFirst().map { "            " + $0 }
            }
        }
        return lines.joined(separator: "\n")
    }
}
