import ArgumentParser
import CasebookAnalysis
import CasebookClickHouse
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
            does not validate; with --fail-on-step-error, also with status 3 (after writing the report) \
            when a step failed, for scripts and CI jobs.
            """)

    @Argument(help: ArgumentHelp("The playbook (YAML).", valueName: "PLAYBOOK"))
    var playbook: String

    @OptionGroup var storeOptions: StoreOptions

    @Option(
        help: ArgumentHelp(
            "Package-metadata catalog folder, or ClickPy's projects table as clickhouse://USER@HOST:PORT/pypi?layout=clickpy (default: the catalog imported into the store, else ./catalog when it exists).",
            valueName: "DIR|URL"))
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

    @Flag(help: "Exit with status 3 when a step failed (the report is written first).")
    var failOnStepError = false

    static func parseOverrides(_ list: [String]) throws -> [(String, String)] {
        try list.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--set expects NAME=VALUE, found `\(item)`")
            }
            return (String(item[..<eq]).trimmingCharacters(in: .whitespaces), String(item[item.index(after: eq)...]))
        }
    }

    func run() async throws {
        try OutputFolder.check(out)
        let limits = ExternalAnalyzerLimits(timeout: timeout, describeTimeout: min(timeout, 10), maxOutputBytes: maxOutputBytes)
        let store = try storeOptions.openReadStore()
        let (runCatalog, catalogURL) = try CatalogChoice.resolve(explicit: catalog, store: store)
        var command = ["casebook", "run", playbook, "--store", storeOptions.displayLocation]
        if let catalogURL {
            command += ["--catalog", catalogURL.path]
        } else if let catalog, ClickHouseStores.isURL(catalog) {
            command += ["--catalog", ClickHouseStores.display(catalog)]
        }
        for o in overrides { command += ["--set", o] }
        command += ["--out", out]
        let report = try await PlaybookExecution.run(
            playbookPath: playbook, store: store, catalog: runCatalog,
            overrides: try Self.parseOverrides(overrides), limits: limits,
            quiet: quiet, command: command.joined(separator: " "))
        let written = try PlaybookExecution.write(report, to: URL(fileURLWithPath: out))
        print(report.textSummary)
        for url in written { print("report: \(url.path)") }
        let failed = report.run.steps.filter { $0.status == .failed }.map(\.id)
        if failOnStepError && !failed.isEmpty {
            FileHandle.standardError.write(Data("casebook run: step(s) failed: \(failed.joined(separator: ", ")) (see the report)\n".utf8))
            throw ExitCode(3)
        }
    }
}
