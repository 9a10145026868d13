import ArgumentParser
import CasebookCore
import CasebookIngest
import Foundation

/// `casebook parse`: debug a log format line by line.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Parse lines from stdin and print each as a BigQuery-style JSON row, or why it is not a download.",
        discussion: """
            One JSON object per input line on stdout: a download in the shape of a BigQuery \
            `file_downloads` row (field names and conventions as PyPI's public data set), or \
            {"line": N, "status": "not-download", "kind": ...} / {"line": N, "status": "malformed", "reason": ...}. \
            Client addresses are shown as pseudonymous client keys (a throwaway salt per run).
            """
    )

    @Option(help: "Input format: auto, combined, vhost-combined, bigquery or csv.")
    var inputFormat: InputFormat = .auto

    @Option(help: "Index name to record.")
    var index: String?

    func run() throws {
        let keyer = ClientKeyer(salt: ClientKeyer.randomSalt())
        var reader: (any LineReader)?
        var number = 0
        while let line = readLine(strippingNewline: true) {
            number += 1
            if reader == nil {
                var format = inputFormat
                if format == .auto {
                    if line.trimmingCharacters(in: .whitespaces).isEmpty {
                        print(#"{"line":\#(number),"status":"skip"}"#)
                        continue
                    }
                    guard let f = Ingestor.detectFormat(firstLine: line) else {
                        throw CLIError(
                            "stdin:\(number): cannot recognise the input format; use --input-format combined|vhost-combined|bigquery|csv")
                    }
                    format = f
                }
                switch format {
                case .combined, .auto: reader = CombinedLogReader(keyer: keyer, index: index)
                case .vhostCombined: reader = CombinedLogReader(keyer: keyer, index: index, vhost: true)
                case .bigquery: reader = BigQueryReader(index: index ?? "pypi")
                case .csv: reader = CountsCSVReader(index: index)
                }
            }
            var bytes = Array(line.utf8)
            if bytes.last == 13 { bytes.removeLast() }
            let outcome = bytes.withUnsafeBytes { reader!.read(line: $0, number: number) }
            switch outcome {
            case .download(let e):
                print(BigQueryRowWriter.json(for: e))
            case .notDownload(let kind, _, _):
                print(Self.json(["line": number, "status": "not-download", "kind": kind]))
            case .malformed(let reason, _):
                print(Self.json(["line": number, "status": "malformed", "reason": reason]))
            case .skip:
                print(Self.json(["line": number, "status": "skip"]))
            }
        }
        // Records a reader held until the end (a CSV's with_mirrors/without_mirrors pairs).
        if var held = reader {
            for outcome in held.finish() {
                if case .download(let e) = outcome { print(BigQueryRowWriter.json(for: e)) }
            }
            if let csv = held as? CountsCSVReader {
                for w in csv.warnings { StandardError.write("warning: stdin: \(InputText.escaped(w.description))\n") }
            }
        }
    }

    static func json(_ o: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
