import ArgumentParser
import CasebookCore
import CasebookIngest
import Foundation

/// `casebook ingest FILE...`
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read download logs (plain or .gz) into the store.",
        discussion: """
            Formats: Apache/nginx combined access logs, PyPI BigQuery `file_downloads` rows as \
            newline-delimited JSON, and CSV files of counts. Each file is recognised by its content: \
            ingesting the same file again (even renamed or rotated) adds nothing, and a log that grew \
            adds only its new lines. Each file is ingested all-or-nothing. Lines that cannot be parsed \
            are kept aside in the store with their reason (see `casebook info --quarantine`).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Log files to ingest (plain or gzip).")
    var files: [String]

    @Option(help: "Input format: auto, combined, vhost-combined (Apache's vhost_combined: HOST:PORT first), bigquery or csv.")
    var inputFormat: InputFormat = .auto

    @Option(help: "Name of the index these logs come from (recorded with each download).")
    var index: String?

    @Flag(help: "Fail on the first malformed line instead of keeping it aside.")
    var strict = false

    @Option(help: "CSV: the time column (default `timestamp` or `date`).")
    var timeColumn: String?

    @Option(help: "CSV: the count column (default `count` or `downloads`).")
    var countColumn: String?

    @Option(help: "CSV: the project of every row, for files without a `project` column (pypistats' `date,downloads` exports).")
    var project: String?

    @Flag(help: "Print the summary as JSON on stdout.")
    var json = false

    func run() throws {
        let store = try storeOptions.openWritableStore()
        let options = IngestOptions(
            format: inputFormat, index: index, strict: strict, timeColumn: timeColumn, countColumn: countColumn,
            project: project)
        let ingestor = try Ingestor(target: store, options: options)
        let showProgress = StandardError.isTerminal
        if showProgress {
            ingestor.onProgress = { p in
                let rate = p.seconds > 0 ? Double(p.lines) / p.seconds : 0
                StandardError.write("\r\u{1B}[K\(p.file): \(p.lines) lines, \(p.downloads) downloads, \(Int(rate)) lines/s")
            }
        }
        if let pauseAt = ProcessInfo.processInfo.environment["CASEBOOK_TEST_PAUSE_AT_LINE"].flatMap(Int64.init) {
            // For crash tests: stop mid-ingest (inside the transaction) so a test can kill the process.
            ingestor.afterLine = { line in
                if line == pauseAt {
                    StandardError.write("casebook: paused at line \(line)\n")
                    sleep(600)
                }
            }
        }
        var summaries: [IngestSummary] = []
        var failed: [String] = []
        for file in files {
            do {
                let s = try ingestor.ingest(path: file)
                if showProgress { StandardError.write("\r\u{1B}[K") }
                summaries.append(s)
                for w in s.warnings { StandardError.write("warning: \(InputText.escaped(file)): \(InputText.escaped(w))\n") }
                if !json { print(Self.describe(s, path: file)) }
            } catch {
                if showProgress { StandardError.write("\r\u{1B}[K") }
                failed.append(file)
                let message = UserFacingErrors.describe(error) ?? "\(error)"
                let lines = message.split(separator: "\n", omittingEmptySubsequences: false).map { InputText.escaped(String($0)) }
                StandardError.write("error: " + lines.joined(separator: "\n") + "\n")
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(summaries), as: UTF8.self))
        }
        if !failed.isEmpty {
            throw CLIError(
                "\(failed.count) of \(files.count) file(s) not ingested (nothing of them was stored): \(failed.joined(separator: ", "))")
        }
    }

    static func describe(_ s: IngestSummary, path: String) -> String {
        if s.empty {
            return "\(path): empty, nothing to ingest"
        }
        if s.alreadyIngested {
            return "\(path): already ingested, nothing new (\(s.totalLines) lines known)"
        }
        let rate = s.seconds > 0 ? Double(s.linesRead) / s.seconds : 0
        var out = "\(path) (\(s.format)\(s.resumed ? ", new lines only" : "")): \(s.linesRead) lines, \(s.downloads) downloads stored"
        let others = s.otherRequests.values.reduce(0, +)
        if others > 0 {
            out +=
                ", \(others) other requests ("
                + s.otherRequests.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        let q = s.quarantined.values.reduce(0, +)
        if q > 0 {
            out +=
                ", \(q) malformed lines kept aside ("
                + s.quarantined.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
                .map { "\($0.value) × \(InputText.escaped($0.key))" }.joined(separator: "; ") + ")"
        }
        out += String(format: ", %.2f s, %.0f lines/s", s.seconds, rate)
        return out
    }
}

extension InputFormat: ExpressibleByArgument {}
