import ArgumentParser
import CasebookCore
import CasebookPlaybooks
import Foundation

/// `casebook run PLAYBOOK`: validates, runs the steps, writes `DIR/report.json`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a playbook against a store and write DIR/report.json.",
        discussion: """
        Progress goes to stderr, a plain-text summary to stdout. A failing step does not stop the \
        others; the report marks it failed with the reason. Exits with status 1 when the playbook \
        does not validate.
        """)

    @Argument(help: ArgumentHelp("The playbook (YAML).", valueName: "PLAYBOOK"))
    var playbook: String

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("Package-metadata catalog folder (default: ./catalog when it exists).", valueName: "DIR"))
    var catalog: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a playbook parameter (repeatable).", valueName: "NAME=VALUE"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("Folder for report.json (created if needed).", valueName: "DIR"))
    var out: String = "out"

    @Option(help: ArgumentHelp("Seconds an external analyzer program may run before it is killed.", valueName: "SECONDS"))
    var timeout: Double = 300

    @Option(help: ArgumentHelp("Bytes an external analyzer program may write on stdout.", valueName: "BYTES"))
    var maxOutputBytes: Int = 16 << 20

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    static func parseOverrides(_ list: [String]) throws -> [(String, String)] {
        try list.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--set expects NAME=VALUE, found `\(item)`")
            }
            return (String(item[..<eq]).trimmingCharacters(in: .whitespaces), String(item[item.index(after: eq)...]))
        }
    }

    func run() async throws {
        let limits = ExternalAnalyzerLimits(timeout: timeout, describeTimeout: min(timeout, 10), maxOutputBytes: maxOutputBytes)
        let validator = PlaybookValidator(registry: CasebookAnalyzerRegistry.current, limits: limits)
        let plan: PlaybookPlan
        do {
            let book = try Playbook.load(from: URL(fileURLWithPath: playbook), displayPath: playbook)
            plan = try await validator.validate(book, overrides: try Self.parseOverrides(overrides))
        } catch let e as PlaybookValidationError {
            StandardError.write(e.description + "\n")
            throw ExitCode(1)
        }
        for w in plan.warnings { StandardError.write("\(w.location): warning: \(w.message)\n") }

        var catalogURL: URL?
        if let catalog {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: catalog, isDirectory: &isDir), isDir.boolValue else {
                throw CLIError("--catalog \(catalog): no such folder")
            }
            catalogURL = URL(fileURLWithPath: catalog).standardizedFileURL
        } else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: "catalog", isDirectory: &isDir), isDir.boolValue {
                catalogURL = URL(fileURLWithPath: "catalog").standardizedFileURL
            }
        }
        let store = try storeOptions.openReadStore()
        let quiet = self.quiet
        let runner = PlaybookRunner(store: store, catalogDirectory: catalogURL, limits: limits,
                                    progress: { line in if !quiet { StandardError.write(line + "\n") } })
        let report = await runner.run(plan)
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let reportURL = outURL.appendingPathComponent("report.json")
        try report.jsonData().write(to: reportURL, options: .atomic)
        print(report.textSummary)
        print("report: \(reportURL.path)")
    }
}
