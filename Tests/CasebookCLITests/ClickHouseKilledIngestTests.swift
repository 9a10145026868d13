import CasebookCore
import Foundation
import Testing

@testable import CasebookClickHouse

/// `casebook ingest` into ClickHouse killed with SIGKILL after it has sent rows to the server:
/// nothing of the file is visible, and a retry counts it exactly once. On one server
/// (`CASEBOOK_TEST_CLICKHOUSE_URL`) and on the two-shard cluster
/// (`CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL`), both from `.ci/clickhouse.sh`; skipped without them.
@Suite struct ClickHouseKilledIngestTests {
    static let environment = ProcessInfo.processInfo.environment

    /// The URL in `variable` with a new database in place of its own.
    static func freshStore(_ variable: String) throws -> String? {
        guard let base = environment[variable], !base.isEmpty else { return nil }
        let database = "casebook_t_kill_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let query = base.firstIndex(of: "?").map { String(base[$0...]) } ?? ""
        let path = base.firstIndex(of: "?").map { String(base[..<$0]) } ?? base
        return String(path[..<path.lastIndex(of: "/")!]) + "/" + database + query
    }

    @Test(arguments: ["CASEBOOK_TEST_CLICKHOUSE_URL", "CASEBOOK_TEST_CLICKHOUSE_CLUSTER_URL"])
    func aKilledIngestLeavesNothingVisibleAndARetryIsExact(variable: String) throws {
        guard let store = try Self.freshStore(variable) else {
            #expect(!["true", "1", "yes"].contains(Self.environment["CI"]?.lowercased() ?? ""), "CI=true but \(variable) is not set")
            return
        }
        defer { _ = try? ClickHouseEventStore(url: store).dropDatabase() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = dir.appendingPathComponent("small.log").path
        let big = dir.appendingPathComponent("big.log").path
        try KilledIngestTests.writeLog(small, lines: 1000, day: 1)
        try KilledIngestTests.writeLog(big, lines: 150_000, day: 2)
        #expect(try CLI.run(["ingest", small, "--store", store]).status == 0)

        // Past the first insert of 100,000 events (sent on another thread, through the rollups'
        // views too), the process stops and says so; once the server has those rows, it is
        // killed before its commit.
        let url = try ClickHouseURL(store)
        func onServer() throws -> Int64 {
            try url.shardURLs.reduce(0) { n, shard in
                let events = ClickHouseSchema.table(url.database, "events")
                return n + (Int64(try ClickHouseClient(url: shard).scalar("SELECT count() FROM \(events)") ?? "") ?? 0)
            }
        }
        try KilledIngestTests.killIngest(["ingest", big, "--store", store], pausedAt: 120_000) {
            for _ in 0..<300 where try onServer() < 101_000 { usleep(100_000) }
        }
        let s = try ClickHouseEventStore.openExisting(url: url)
        // The dead ingest's first batch is on the server, and no read sees it.
        #expect(try onServer() >= 101_000, "the killed ingest had sent its first batch")
        #expect(try s.infoSync().downloads == 1000)
        #expect(try s.infoSync().sources.count == 1)
        #expect(try s.aggregateSync(AggregateQuery(bucket: .day)).rows.map(\.downloads) == [1000])
        #expect(try CLI.run(["ingest", big, "--store", store]).status == 0)
        #expect(try s.infoSync().downloads == 151_000)
        #expect(try s.aggregateSync(AggregateQuery(bucket: .day)).rows.map(\.downloads) == [1000, 150_000])
        #expect(try CLI.run(["ingest", big, "--store", store]).stdout.contains("already ingested"))
    }
}
