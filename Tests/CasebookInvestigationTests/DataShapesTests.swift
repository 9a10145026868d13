import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookAnalysis
import CasebookPlaybooks
import CasebookSQLite
import Foundation
import Testing

/// Shapes of data the investigation was not built around: a maintainer's one-package counts,
/// one value only, a large set of packages rising together.
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

    @Test func aStoreOfOneProjectSaysThereIsNothingToSplitByProject() async throws {
        var b = EventBuilder()
        for d in 0..<28 { b.add(day: day(d), project: "flask", count: d == 20 ? 900 : 300) }
        let store = InMemoryEventStore(events: b.events)
        let window: Value = .object(["start": .string(UTCTime.isoString(day(20))), "end": .string(UTCTime.isoString(day(21)))])
        let r = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": window])
        #expect(r.findings.first?.title == "All downloads are of one project: flask")
        #expect(r.outputs["values"] == ["flask"])
        #expect(r.outputs["shape"] == "none")
    }

    @Test func aClosureOfTwentyFivePackagesRisingTogetherIsASetNotABroadChange() async throws {
        // 150 projects with steady traffic; a CI farm installs a closure of 25 of them, each
        // about 120 times more in the window (each package once per session).
        var b = EventBuilder()
        for d in 0..<28 {
            for p in 0..<150 {
                let usual = Int64(20 + (p * 37) % 60)
                let extra: Int64 = d == 21 && p % 6 == 0 ? 110 + Int64(p % 5) * 5 : 0
                b.add(day: day(d), project: "pkg\(p)", count: usual + extra)
            }
        }
        let store = InMemoryEventStore(events: b.events)
        let window: Value = .object(["start": .string(UTCTime.isoString(day(21))), "end": .string(UTCTime.isoString(day(22)))])
        let r = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": window])
        #expect(r.outputs["shape"] == "set")
        #expect(r.outputs["broad"] == false)
        #expect(Set(r.outputs["values"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set((0..<150).filter { $0 % 6 == 0 }.map { "pkg\($0)" }))
        #expect(r.outputs["residualNormal"] == true)
        let finding = try #require(r.findings.first)
        #expect(finding.title == "A set of 25 project values rose together")
        #expect(finding.summary.contains("and 17 more"))
    }

    @Test func aChangeOverMostValuesIsBroad() async throws {
        // Every one of 60 projects rises by a third: no set explains it.
        var b = EventBuilder()
        for d in 0..<28 {
            for p in 0..<60 { b.add(day: day(d), project: "pkg\(p)", count: d == 21 ? 80 : 60) }
        }
        let store = InMemoryEventStore(events: b.events)
        let window: Value = .object(["start": .string(UTCTime.isoString(day(21))), "end": .string(UTCTime.isoString(day(22)))])
        let r = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": window])
        #expect(r.outputs["shape"] == "broad")
        #expect(r.findings.first?.title == "A broad change: no set of project values explains it")
    }
}
