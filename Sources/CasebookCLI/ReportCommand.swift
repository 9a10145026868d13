import ArgumentParser
import CasebookReport
import Foundation

/// `casebook report DIR/report.json`: renders a saved run again, as Markdown or HTML.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a saved report.json as Markdown (with SVG charts) or self-contained HTML.",
        discussion: """
            Reads the report.json that `casebook run --out DIR` or `casebook demo` wrote and writes \
            report.md (charts in report-charts/) and/or report.html. Nothing is recomputed: the same \
            JSON always renders to the same files.
            """)

    @Argument(help: ArgumentHelp("A report.json written by `casebook run`.", valueName: "REPORT.json"))
    var input: String

    @Option(help: ArgumentHelp("md, html or all.", valueName: "FORMAT"))
    var format: String = "all"

    @Option(help: ArgumentHelp("Folder to write into (default: the folder of REPORT.json).", valueName: "DIR"))
    var out: String?

    func run() throws {
        let formats: [ReportFormatKind]
        switch format.lowercased() {
        case "md", "markdown": formats = [.md]
        case "html": formats = [.html]
        case "all": formats = [.md, .html]
        default: throw ValidationError("--format must be md, html or all, found `\(format)`")
        }
        if let out { try OutputFolder.check(out) }
        let url = URL(fileURLWithPath: input)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CLIError("cannot read \(input): \(error.localizedDescription)")
        }
        let document: ReportDocument
        do { document = try ReportDocument.load(json: data, file: input) } catch let e as ReportLoadError {
            throw CLIError(e.description)
        }
        let dir = out.map { URL(fileURLWithPath: $0) } ?? url.deletingLastPathComponent()
        for written in try ReportWriter(formats: formats).write(document, to: dir) {
            print("report: \(written.path)")
        }
    }
}
