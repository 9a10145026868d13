import CasebookCore
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookClickHouse

/// The test server: `CASEBOOK_TEST_CLICKHOUSE_URL` (see `.ci/clickhouse.sh`). Without it the
/// suites are skipped, except under `CI=true`, where a missing server is a failure.
enum TestServer {
    static let environment = ProcessInfo.processInfo.environment
    static var url: String? { environment["CASEBOOK_TEST_CLICKHOUSE_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var isCI: Bool { ["true", "1", "yes"].contains(environment["CI"]?.lowercased() ?? "") }
    /// Run the suites when a server is configured, and in CI (where its absence fails).
    static var shouldRun: Bool { url != nil || isCI }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "CI=true but CASEBOOK_TEST_CLICKHOUSE_URL is not set: start the test server with `source .ci/clickhouse.sh && clickhouse_start` (it exports the URL) before `swift test`"
        }
    }

    static func requireURL() throws -> ClickHouseURL {
        guard let url else { throw Missing() }
        return try ClickHouseURL(url)
    }

    /// A fresh database (on the test server, with its credentials); dropped after `body`, the
    /// rollups' views first.
    static func withDatabase<T>(_ body: (ClickHouseURL) async throws -> T) async throws -> T {
        var url = try requireURL()
        url.database = "casebook_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = ClickHouseClient(url: url)
        defer { try? ClickHouseSchema.drop(admin) }
        return try await body(url)
    }

    /// The URL's text form with the password (as a person would type it).
    static func text(_ url: ClickHouseURL, password: String? = nil) -> String {
        let pw = (password ?? url.password).map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
        return "clickhouse://\(url.user)\(pw)@\(url.host):\(url.port)/\(url.database)"
    }
}

func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-ch-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func freshSQLite() throws -> SQLiteEventStore {
    try SQLiteEventStore(path: temporaryDirectory().appendingPathComponent("store.sqlite").path)
}

/// Adds events to a store in one ingest; `afterEvent` runs after each (given its index).
func load(
    _ events: [DownloadEvent], into store: some IngestTarget, name: String = "test", afterEvent: (Int) throws -> Void = { _ in }
) throws {
    _ = try store.ingest(IngestPlan(existing: nil, fingerprint: name, name: name, format: "test", index: nil)) { sink in
        for (i, e) in events.enumerated() {
            try sink.add(e)
            try afterEvent(i)
        }
        var s = IngestSummary(name: name, format: "test", resumed: false, alreadyIngested: false)
        s.downloads = events.reduce(0) { $0 + $1.count }
        return s
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
