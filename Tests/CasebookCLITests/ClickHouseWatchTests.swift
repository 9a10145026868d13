import Foundation
import Testing

@testable import CasebookClickHouse

/// `casebook watch` and `casebook sources remove` on ClickHouse, one server and the two-shard
/// cluster (URLs from `.ci/clickhouse.sh`; skipped without them, failed in CI without them):
/// an incident streamed in two looks opens and closes with the embedded store's conclusions, and
/// a removed source's file is read again from its start.
@Suite struct ClickHouseWatchTests {
    @Test(arguments: ["CASEBOOK_TEST_CLICKHOUSE_URL", "CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL"])
    func anIncidentIsFollowedAndASourceRemoved(variable: String) throws {
        guard let store = try ClickHouseKilledIngestTests.freshStore(variable) else {
            #expect(
                !["true", "1", "yes"].contains(ClickHouseKilledIngestTests.environment["CI"]?.lowercased() ?? ""),
                "CI=true but \(variable) is not set")
            return
        }
        defer { _ = try? ClickHouseEventStore(url: store).dropDatabase() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try WatchTests.simulate(WatchTests.streamScenario(seed: 11, incident: true), in: dir)
        let catalog = dir.appendingPathComponent("sim/catalog").path
        let log = dir.appendingPathComponent("access.log")
        let out = dir.appendingPathComponent("incidents")
        // The log up to the incident's sixth hour, then the rest: two looks.
        let cut = try #require(lines.firstIndex { $0.contains("[03/Mar/2020:15:") })
        var stdout = ""
        for part in [lines[..<cut], lines[cut...]] {
            try WatchTests.append(part, to: log)
            let r = try CLI.run([
                "watch", log.path, "--store", store, "--once", "--playbook", WatchTests.playbook, "--catalog", catalog, "--out", out.path
            ])
            #expect(r.status == 0, "\(r.stderr)")
            stdout += r.stdout
        }
        let states = WatchTests.stateLines(stdout)
        #expect(states.first?.hasPrefix("opened: spike 20200303T") == true, "\(stdout)")
        #expect(states.last?.hasPrefix("closed: spike 20200303T") == true, "\(stdout)")
        #expect(try WatchTests.sourceLines(store) == lines.count)
        #expect(try WatchTests.daily(store) == WatchTests.batchDaily(lines, in: dir))
        // The closed report concludes what the batch investigation on the embedded store does.
        let folders = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0 != "incidents.json" }
        #expect(folders.count == 1, "\(folders)")
        let watched = try WatchTests.conclusions(out.appendingPathComponent(folders[0]).appendingPathComponent("report.json"))
        let batch = try WatchTests.batchConclusions(in: dir, catalog: catalog)
        #expect(watched.window == batch.window && watched.contributors == batch.contributors, "\(watched) \(batch)")
        #expect(watched.cause == batch.cause && watched.cause != nil, "\(watched) \(batch)")
        #expect(watched.incidentOpen == false)

        // Removing the source empties the store; the watcher then reads the file from its start.
        let removed = try CLI.run(["sources", "remove", "1", "--store", store])
        #expect(removed.status == 0 && removed.stdout.hasPrefix("removed source 1: access.log"), "\(removed.stdout)\(removed.stderr)")
        #expect(try CLI.run(["sources", "--store", store]).stdout.hasPrefix("no sources"))
        #expect(try CLI.run(["query", "--by", "day", "--format", "csv", "--store", store]).stdout.split(separator: "\n").count <= 1)
        let again = try CLI.run(["sources", "remove", "1", "--store", store])
        #expect(again.status != 0 && again.stderr.contains("no source with id 1") && !again.stderr.contains("casebook-test"))
        #expect(try CLI.run(["watch", log.path, "--store", store, "--once"], directory: dir).status == 0)
        #expect(try WatchTests.sourceLines(store) == lines.count)
        #expect(try CLI.run(["sources", "--store", store]).stdout.hasPrefix("2  access.log"))
    }
}
