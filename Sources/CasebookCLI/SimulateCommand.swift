import ArgumentParser
import CasebookCore
import CasebookSimulation
import Foundation

/// `casebook simulate SCENARIO.yaml --out DIR`
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write realistic download logs and catalog documents from a scenario.",
        discussion: """
            A scenario (YAML; see examples/README.md) describes baseline traffic and incidents \
            (downstream releases whose installs upgrade packages, CI farms, mirrors, outages, \
            holidays). The output is what a real investigation starts from: DIR/logs/access-DATE.log \
            (Apache combined format, pip user agents), optionally DIR/bigquery/file_downloads-DATE.ndjson, \
            and DIR/catalog/pypi/NAME[/VERSION]/json in PyPI's JSON API shape. DIR/scenario-summary.json \
            records what was generated, for tests and documentation only. The same scenario and seed \
            always give the same bytes.
            """
    )

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(name: .long, help: "Output directory (created if needed).")
    var out: String

    @Option(help: "Use this seed instead of the scenario's.")
    var seed: Int?

    @Option(help: "Log formats to write, comma-separated: combined, bigquery (default: the scenario's).")
    var format: String?

    @Flag(help: "Write gzip-compressed logs.")
    var gzip = false

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func run() throws {
        var s: Scenario
        do { s = try Scenario.load(path: scenario) } catch {
            throw ValidationError(error.description)
        }
        if let seed { s.seed = UInt64(bitPattern: Int64(seed)) }
        if gzip { s.gzip = true }
        if let format {
            var formats: [LogFormat] = []
            for part in format.split(separator: ",") {
                guard let f = LogFormat(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--format: unknown format '\(part)' (expected combined, bigquery or both, comma-separated)")
                }
                formats.append(f)
            }
            s.formats = formats
        }
        let summary = try Simulator(scenario: s).run(to: out)
        if json {
            print(summary.json().serialized(indent: 2))
            return
        }
        print(
            "\(s.name): \(summary.days.count) days, \(summary.downloads) downloads, \(summary.lines) log lines, "
                + "\(summary.catalogDocuments) catalog documents in \(String(format: "%.1f", summary.seconds)) s → \(out)")
        for i in summary.incidents {
            let days = i.days.keys.sorted()
            let span = days.isEmpty ? "no downloads" : (days.count == 1 ? days[0] : "\(days.first!) to \(days.last!)")
            print("  \(i.type) '\(i.name)': \(i.downloads) downloads, \(i.clients) clients, \(span)")
        }
        for n in summary.notes { StandardError.write("warning: \(n)\n") }
    }
}
