import ArgumentParser
import CasebookAnalysis
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import CasebookSimulation
import Foundation

/// `casebook demo`: the founding case end to end, from raw logs to the report.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Simulate the March 2020 piwheels case, ingest its logs, run the spike playbook and write the report.",
        discussion: """
            Steps: `casebook simulate` the scenario (about 2.3 million combined-log lines and the \
            catalog documents), `casebook ingest` the logs into a fresh embedded store, and \
            `casebook run playbooks/downloads-spike.yaml` with the catalog. Nothing of the scenario \
            reaches the analyzers except the logs and catalog documents, as in a real investigation.

            The scenario (examples/piwheels-2020-03/scenario.yaml) and the playbook are built into \
            the executable, so the demo runs the same from any folder; the playbook is written to \
            DIR/downloads-spike.yaml, the file the report's command re-runs.
            """)

    @Option(help: ArgumentHelp("Folder for the report, the store and the simulated input.", valueName: "DIR"))
    var out: String = "casebook-demo"

    @Option(help: ArgumentHelp("Store to ingest into (default: DIR/casebook.sqlite, created fresh).", valueName: "PATH"))
    var store: String?

    @Option(help: ArgumentHelp("The scenario (default: the built-in examples/piwheels-2020-03/scenario.yaml).", valueName: "FILE"))
    var scenario: String?

    @Option(help: ArgumentHelp("The playbook (default: the built-in playbooks/downloads-spike.yaml, written to DIR).", valueName: "FILE"))
    var playbook: String?

    @Flag(help: "Keep the simulated logs (about 1.4 GB) in DIR/input after ingesting them.")
    var keepLogs = false

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    func run() async throws {
        let say: (String) -> Void = { line in if !quiet { StandardError.write(line + "\n") } }
        try OutputFolder.check(out)
        // The scenario and the playbook are built in (the same whatever the current folder);
        // the playbook is written next to the report, so the report's command re-runs it.
        let scenarioModel: Scenario
        do {
            scenarioModel =
                try scenario.map { try Scenario.load(path: $0) }
                ?? Scenario.parse(yaml: DemoFiles.scenario, file: DemoFiles.scenarioPath)
        } catch {
            throw CLIError(String(describing: error))
        }
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let playbookPath: String
        if let playbook {
            playbookPath = playbook
        } else {
            playbookPath = (out as NSString).appendingPathComponent((DemoFiles.playbookPath as NSString).lastPathComponent)
            do { try Data(DemoFiles.playbook.utf8).write(to: URL(fileURLWithPath: playbookPath)) } catch {
                throw CLIError("cannot write \(playbookPath): \(error.localizedDescription)")
            }
        }
        let input = outURL.appendingPathComponent("input")
        try? FileManager.default.removeItem(at: input)

        // 1. Simulate.
        let started = Date()
        say("demo: simulating \(scenario ?? DemoFiles.scenarioPath + " (built in)") ...")
        _ = try Simulator(scenario: scenarioModel).run(to: input.path)
        // The summary is for tests and docs only: the investigation must not read it.
        try? FileManager.default.removeItem(at: input.appendingPathComponent("scenario-summary.json"))

        // 2. Ingest into a fresh store.
        let storePath = store ?? outURL.appendingPathComponent("casebook.sqlite").path
        if store == nil {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }
        }
        let sqlite = try StoreOptions.openWritable(storePath)
        let logs = try FileManager.default.contentsOfDirectory(atPath: input.appendingPathComponent("logs").path).sorted()
            .map { input.appendingPathComponent("logs").appendingPathComponent($0).path }
        let ingestor = try Ingestor(target: sqlite, options: IngestOptions(format: .combined, index: scenarioModel.index))
        var lines: Int64 = 0
        var downloads: Int64 = 0
        let ingestStart = Date()
        for (i, log) in logs.enumerated() {
            let s = try ingestor.ingest(path: log)
            lines += s.linesRead
            downloads += s.downloads
            if !quiet && StandardError.isTerminal {
                StandardError.write("\r\u{1B}[Kdemo: ingested \(i + 1)/\(logs.count) files, \(lines) lines, \(downloads) downloads")
            }
        }
        if !quiet && StandardError.isTerminal { StandardError.write("\r\u{1B}[K") }
        let ingestSeconds = Date().timeIntervalSince(ingestStart)
        say(
            String(
                format: "demo: ingested %lld lines (%lld downloads) from %d files in %.1f s (%.0f lines/s)",
                lines, downloads, logs.count, ingestSeconds, Double(lines) / max(ingestSeconds, 0.001)))
        if !keepLogs { try? FileManager.default.removeItem(at: input.appendingPathComponent("logs")) }

        // 3. Investigate.
        let catalog = input.appendingPathComponent("catalog")
        let command = "casebook run \(playbookPath) --store \(StoreOptions.display(storePath)) --catalog \(catalog.path) --out \(out)"
        let report = try await PlaybookExecution.run(
            playbookPath: playbookPath, store: sqlite, catalog: RunCatalog(directory: catalog), overrides: [],
            limits: ExternalAnalyzerLimits(), quiet: quiet, command: command)
        let written = try PlaybookExecution.write(report, to: outURL)
        print(report.textSummary)
        for url in written { print("report: \(url.path)") }
        say(String(format: "demo: done in %.1f s", Date().timeIntervalSince(started)))
    }
}
