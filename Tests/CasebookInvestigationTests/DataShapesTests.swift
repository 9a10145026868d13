import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import Foundation
import Testing

/// Shapes of data the investigation was not built around: a maintainer's one-package counts.
/// (The contributors step on one value only and on a set of packages rising together is in
/// `CasebookAnalyzersTests/ContributorsAnalyzerTests`.)
@Suite(.serialized) struct DataShapesTests {
    /// Sixty days of one package's daily downloads as pypistats or a BigQuery export writes them:
    /// `date,downloads`, no project column; days 40 and 41 three times the usual.
    static func onePackageCSV() -> String {
        var out = "date,downloads\n"
        let start = UTCTime.epoch(year: 2024, month: 1, day: 1)
        for d in 0..<60 {
            let t = start + Int64(d) * 86400
            let weekday = (d + 0) % 7  // 2024-01-01 is a Monday
            var n = 1000.0 * (weekday >= 5 ? 0.7 : 1) * (1 + 0.03 * sin(Double(d) * 1.3))
            if d == 40 || d == 41 { n *= 3 }
            out += "\(UTCTime.dateString(t)),\(Int(n))\n"
        }
        return out
    }

    @Test func aOnePackageCountsFileWithoutAProjectColumnIsInvestigatedToTheEnd() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = dir.appendingPathComponent("pypistats.csv")
        try Self.onePackageCSV().write(to: csv, atomically: true, encoding: .utf8)
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
        _ = try Ingestor(target: store, options: IngestOptions(format: .csv)).ingest(path: csv.path)
        let book = try Playbook.load(from: packageRoot.appendingPathComponent("playbooks/downloads-spike.yaml"))
        let plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: [])
        let report = await PlaybookRunner(store: store).run(plan)

        // Nothing fails; what cannot be told is said, and the investigation goes on.
        #expect(report.steps.map(\.id) == spikePlaybookSteps)
        #expect(report.steps.allSatisfy { $0.status != .failed }, "\(report.steps.map { ($0.id, $0.status, $0.reason ?? "") })")
        let window = try #require(try succeeded(report, "spike").outputs["window"]?.objectValue)
        #expect(window["start"] == "2024-02-10T00:00:00Z")
        #expect(window["direction"] == "up")
        #expect(try succeeded(report, "health").outputs["verdict"] == "unknown")
        let contributors = try succeeded(report, "contributors")
        #expect(contributors.outputs["values"] == .array([]))
        #expect(contributors.outputs["shape"] == "none")
        #expect(contributors.findings.first?.title == "No project values in the data")
        #expect(contributors.findings.first?.summary.contains("--project NAME") == true)
        let segments = try succeeded(report, "segments")
        #expect(segments.findings.first?.summary.contains("carry no values for python_major") == true)
        #expect(segments.outputs["top"] == .null)
        #expect(try succeeded(report, "clients").outputs["concentration"] == "unknown")
        // No sentence quotes a value the data does not have.
        let text = report.steps.flatMap(\.findings).map { $0.title + " " + $0.summary }.joined(separator: "\n")
        #expect(!text.isEmpty)
        #expect(!text.contains("project unknown"))
        #expect(!text.contains("project in unknown"))
    }
}
