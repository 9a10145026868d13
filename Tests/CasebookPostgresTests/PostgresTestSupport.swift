import CasebookAnalysis
import CasebookCore
import CasebookIngest
import CasebookSQLite
import Foundation
import Testing

@testable import CasebookPostgres

/// The test server: `CASEBOOK_TEST_POSTGRES_URL` (see `.ci/postgres.sh`). Without it the suites
/// are skipped, except under `CI=true`, where a missing server is a failure.
enum TestServer {
    static let environment = ProcessInfo.processInfo.environment
    static var url: String? { environment["CASEBOOK_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    /// A second database for piwheels-style tables (defaults to the first).
    static var piwheelsURL: String? { environment["CASEBOOK_TEST_POSTGRES_PIWHEELS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? url }
    static var isCI: Bool { ["true", "1", "yes"].contains(environment["CI"]?.lowercased() ?? "") }
    /// Run the suites when a server is configured, and in CI (where its absence fails).
    static var shouldRun: Bool { url != nil || isCI }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "CI=true but CASEBOOK_TEST_POSTGRES_URL is not set: start the test server with `source .ci/postgres.sh && postgres_start` (it exports the URL) before `swift test`"
        }
    }

    static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    static func requirePiwheelsURL() throws -> String {
        guard let url = piwheelsURL else { throw Missing() }
        return url
    }

    /// `base` with extra query options.
    static func with(_ base: String, _ options: String) -> String {
        base + (base.contains("?") ? "&" : "?") + options
    }

    /// A fresh schema name; the schema is dropped after `body`.
    static func withSchema<T>(_ base: String, _ body: (String) async throws -> T) async throws -> T {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let admin = try PGConnection(url: PostgresURL(base))
        defer { _ = try? admin.execute("DROP SCHEMA IF EXISTS \(name) CASCADE") }
        return try await body(String(name))
    }
}

func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-pg-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func freshSQLite() throws -> SQLiteEventStore {
    try SQLiteEventStore(path: temporaryDirectory().appendingPathComponent("store.sqlite").path)
}

/// Adds events to a store in one ingest.
func load(_ events: [DownloadEvent], into store: some IngestTarget, name: String = "test") throws {
    _ = try store.ingest(IngestPlan(existing: nil, fingerprint: name, name: name, format: "test", index: nil)) { sink in
        for e in events { try sink.add(e) }
        return IngestSummary(name: name, format: "test", resumed: false, alreadyIngested: false)
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

/// Download events read from a combined log with a known salt, each with the client address it
/// came from (to write a piwheels-style table from the same log).
func eventsWithAddresses(fromLog path: String, keyer: ClientKeyer) throws -> [(event: DownloadEvent, address: String)] {
    var reader = CombinedLogReader(keyer: keyer)
    var out: [(DownloadEvent, String)] = []
    let text = try String(contentsOfFile: path, encoding: .utf8)
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
        var bytes = Array(line.utf8)
        let outcome = bytes.withUnsafeMutableBytes { reader.read(line: UnsafeRawBufferPointer($0), number: i + 1) }
        if case .download(let e) = outcome {
            out.append((e, String(line.prefix { $0 != " " })))
        }
    }
    return out
}

/// Creates a piwheels schema 0.16 (or 0.15) `downloads` table in `schema` and fills it.
func createPiwheelsTable(_ c: PGConnection, schema: String, rows: [(event: DownloadEvent, address: String)], version016: Bool = true) throws
{
    try c.execute("CREATE SCHEMA \(schema)")
    try c.execute(
        """
        CREATE TABLE \(schema).downloads (
            filename VARCHAR(255) NOT NULL, accessed_by INET NOT NULL, accessed_at TIMESTAMP NOT NULL,
            arch VARCHAR(100) DEFAULT NULL, distro_name VARCHAR(100) DEFAULT NULL, distro_version VARCHAR(100) DEFAULT NULL,
            os_name VARCHAR(100) DEFAULT NULL, os_version VARCHAR(100) DEFAULT NULL,
            py_name VARCHAR(100) DEFAULT NULL, py_version VARCHAR(100) DEFAULT NULL
            \(version016 ? ", installer_name VARCHAR(20) DEFAULT NULL, installer_version VARCHAR(100) DEFAULT NULL, setuptools_version VARCHAR(100) DEFAULT NULL" : "")
        )
        """)
    try c.execute("CREATE INDEX ON \(schema).downloads (filename)")
    try c.execute("CREATE INDEX ON \(schema).downloads (accessed_at DESC)")
    var buf = CopyBuffer()
    for (e, address) in rows {
        buf.text(e.filename)
        buf.text(address)
        buf.text(UTCTime.isoString(e.timestamp))
        for v in [e.cpu, e.distro, e.distroVersion, e.system, e.systemRelease, e.implementation, e.python] { buf.text(v) }
        if version016 {
            buf.text(e.installer)
            buf.text(e.installerVersion)
            buf.text(nil)
        }
        buf.endRow()
    }
    let cols =
        "filename, accessed_by, accessed_at, arch, distro_name, distro_version, os_name, os_version, py_name, py_version"
        + (version016 ? ", installer_name, installer_version, setuptools_version" : "")
    try c.copyIn("COPY \(schema).downloads (\(cols)) FROM STDIN", buf.bytes)
}
