import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import CasebookSimulation
import Foundation
import Testing

/// The other shipped playbooks on other inputs: a maintainer's BigQuery rows, and an outage.
@Suite(.serialized) struct OtherPlaybooksTests {
    static func run(_ playbook: String, store: any EventStore, overrides: [(String, String)] = []) async throws -> RunReport {
        let url = packageRoot.appendingPathComponent("playbooks/\(playbook)")
        let book = try Playbook.load(from: url, displayPath: "playbooks/\(playbook)")
        let plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: overrides)
        return await PlaybookRunner(store: store).run(plan)
    }

    @Test func aMaintainersPackageSpikeFromBigQueryRows() async throws {
        var scenario = try Scenario.load(path: packageRoot.appendingPathComponent("examples/scenarios/python3-release.yaml").path)
        scenario.formats = [.bigquery]
        let simulated = scenario
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store: SQLiteEventStore = try await offThePool {
            _ = try Simulator(scenario: simulated).run(to: dir.path)
            let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
            let ingestor = try Ingestor(target: store, options: IngestOptions(format: .auto))
            let rows = dir.appendingPathComponent("bigquery")
            for f in try FileManager.default.contentsOfDirectory(atPath: rows.path).sorted() {
                let s = try ingestor.ingest(path: rows.appendingPathComponent(f).path)
                precondition(s.format == "bigquery")
            }
            return store
        }
        let report = try await Self.run("package-spike.yaml", store: store, overrides: [("project", "Paho_MQTT")])
        let window = try #require(try succeeded(report, "spike").outputs["window"]?.objectValue)
        #expect(window["direction"] == "up")
        #expect(window["start"]?.stringValue?.hasPrefix("2020-03-1") == true)
        #expect(try succeeded(report, "versions").outputs["values"] == ["1.5.0"])
        let top = try succeeded(report, "segments").outputs["top"]
        #expect(top?["value"]?.stringValue?.hasPrefix("3") == true)
        // BigQuery rows carry no client keys: the step says so instead of guessing.
        #expect(try succeeded(report, "clients").outputs["concentration"] == "unknown")
        // No catalog was given: attribution is skipped, and says how to give one.
        #expect(try skipped(report, "attribution").contains("--catalog DIR"))
    }

    @Test func anOutageShowsInHours() async throws {
        let r = ScenarioFactory.randomized(
            base: try Scenario.load(path: packageRoot.appendingPathComponent("examples/scenarios/quiet.yaml").path),
            kind: .outage, seed: 42)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store: SQLiteEventStore = try await offThePool {
            _ = try Simulator(scenario: r.scenario).run(to: dir.path)
            let store = try SQLiteEventStore(path: dir.appendingPathComponent("s.sqlite").path)
            let ingestor = try Ingestor(target: store)
            let logs = dir.appendingPathComponent("logs")
            for f in try FileManager.default.contentsOfDirectory(atPath: logs.path).sorted() {
                _ = try ingestor.ingest(path: logs.appendingPathComponent(f).path)
            }
            return store
        }
        let report = try await Self.run("outage.yaml", store: store)
        let w = try #require(try succeeded(report, "hours").outputs["window"]?.objectValue)
        #expect(w["direction"] == "down")
        #expect(w["outage"] == true)
        let start = try #require(w["start"]?.stringValue.flatMap { UTCTime.parse($0) })
        let end = try #require(w["end"]?.stringValue.flatMap { UTCTime.parse($0) })
        #expect(start < r.expected.end! && r.expected.start! < end, "\(w) vs \(r.expected)")
        try succeeded(report, "lost")
    }
}
