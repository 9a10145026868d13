import Foundation

/// The report formats.
public enum ReportFormatKind: String, CaseIterable, Sendable {
    case json, md, html
}

/// Writes a report's files into a folder: `report.json`, `report.md` with its charts in
/// `report-charts/`, and `report.html`.
public struct ReportWriter: Sendable {
    public var formats: [ReportFormatKind]

    public init(formats: [ReportFormatKind] = ReportFormatKind.allCases) { self.formats = formats }

    /// Writes the files; returns the URLs of the reports written (not the chart files).
    @discardableResult
    public func write(_ document: ReportDocument, to dir: URL) throws -> [URL] {
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        var written: [URL] = []
        if formats.contains(.json) {
            let url = dir.appendingPathComponent("report.json")
            try document.jsonData().write(to: url, options: .atomic)
            written.append(url)
        }
        if formats.contains(.md) {
            let renderer = MarkdownRenderer()
            let output = renderer.render(document)
            let charts = dir.appendingPathComponent(renderer.chartFolder)
            // Charts of an earlier rendering would be stale: the folder is the report's own.
            if let old = try? fm.contentsOfDirectory(atPath: charts.path) {
                for name in old where name.hasSuffix(".svg") { try? fm.removeItem(at: charts.appendingPathComponent(name)) }
            }
            if !output.files.isEmpty { try fm.createDirectory(at: charts, withIntermediateDirectories: true) }
            for file in output.files {
                try Data(file.contents.utf8).write(to: dir.appendingPathComponent(file.path), options: .atomic)
            }
            let url = dir.appendingPathComponent("report.md")
            try Data(output.markdown.utf8).write(to: url, options: .atomic)
            written.append(url)
        }
        if formats.contains(.html) {
            let url = dir.appendingPathComponent("report.html")
            try Data(HTMLRenderer().render(document).utf8).write(to: url, options: .atomic)
            written.append(url)
        }
        return written
    }
}
