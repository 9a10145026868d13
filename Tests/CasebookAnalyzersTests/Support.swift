import CasebookAnalyzers
import CasebookCatalog
import CasebookCore
import CasebookPlaybooks
import Foundation
import Testing

/// A small catalog written by a test: PyPI JSON API documents (`pypi/NAME/json` and
/// `pypi/NAME/VERSION/json`) in a fresh temporary folder.
struct TestCatalog {
    struct Release {
        var version: String
        /// ISO 8601 upload time of the release's files.
        var released: String
        var requiresPython: String?
        var requiresDist: [String]?
        /// File names; wheels and sdists are told apart by their suffix.
        var files: [String]

        init(_ version: String, _ released: String, requiresPython: String? = nil, requires: [String]? = [], files: [String] = []) {
            self.version = version
            self.released = released
            self.requiresPython = requiresPython
            self.requiresDist = requires
            self.files = files
        }
    }

    var projects: [(name: String, releases: [Release])] = []

    mutating func add(_ name: String, _ releases: [Release]) { projects.append((name, releases)) }

    /// Writes the documents and returns the catalog folder.
    func write() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-catalog-\(UUID().uuidString)")
        for (name, releases) in projects {
            let dir = root.appendingPathComponent("pypi").appendingPathComponent(ProjectName.normalize(name))
            func file(_ f: String, _ r: Release) -> [String: Any] {
                let wheel = f.hasSuffix(".whl")
                let py = wheel ? String(f.split(separator: "-").dropLast(2).last ?? "py3") : "source"
                return ["filename": f, "packagetype": wheel ? "bdist_wheel" : "sdist", "python_version": py,
                        "requires_python": r.requiresPython ?? NSNull(), "upload_time_iso_8601": r.released,
                        "upload_time": String(r.released.prefix(19)), "yanked": false, "size": 1000,
                        "digests": ["sha256": String(repeating: "0", count: 64)]]
            }
            func info(_ r: Release) -> [String: Any] {
                ["name": name, "version": r.version, "requires_dist": r.requiresDist ?? NSNull(),
                 "requires_python": r.requiresPython ?? "", "summary": "\(name) for tests"]
            }
            let latest = releases.last!
            var all: [String: Any] = [:]
            for r in releases { all[r.version] = r.files.map { file($0, r) } }
            try save(["info": info(latest), "releases": all, "urls": latest.files.map { file($0, latest) }, "last_serial": 1],
                     dir.appendingPathComponent("json"))
            for r in releases {
                try save(["info": info(r), "urls": r.files.map { file($0, r) }, "last_serial": 1],
                         dir.appendingPathComponent(r.version).appendingPathComponent("json"))
            }
        }
        return root
    }

    private func save(_ object: [String: Any], _ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }
}

/// Builds download events for tests.
struct Events {
    var events: [DownloadEvent] = []

    /// A client as pip reports it.
    struct Client {
        var python = "2.7.16"
        var cpu = "armv7l"
        var system = "Linux"
        var ci: Bool? = nil
        var installer = "pip"
        var installerVersion = "18.1"
        var key = "c-0"
    }

    /// `count` downloads of `filename` on each day of `days`, spread over `clients` (one each, round robin).
    mutating func add(_ filename: String, days: [String], perDay: Int, clients: [Client]) {
        for (d, day) in days.enumerated() {
            let start = UTCTime.parse(day)!
            for i in 0..<perDay {
                let c = clients[(i + d * perDay) % clients.count]
                var e = DownloadEvent(timestamp: start + Int64(8 * 3600 + (i * 37) % 36000))
                e.filename = filename
                e.python = c.python
                e.implementation = "CPython"
                e.cpu = c.cpu
                e.system = c.system
                e.ci = c.ci
                e.installer = c.installer
                e.installerVersion = c.installerVersion
                e.client = c.key
                e.index = "test-index"
                e.fillFromFilename()
                events.append(e)
            }
        }
    }

    var store: InMemoryEventStore { InMemoryEventStore(events: events) }
}

/// Consecutive days `from` (inclusive) for `count` days, as `YYYY-MM-DD`.
func days(_ from: String, _ count: Int) -> [String] {
    let start = UTCTime.parse(from)!
    return (0..<count).map { UTCTime.dateString(start + Int64($0) * 86400) }
}

/// Many distinct Python 2.7 Raspberry Pi clients.
func piClients(_ n: Int, python: String = "2.7.16", prefix: String = "pi") -> [Events.Client] {
    (0..<n).map { Events.Client(python: python, cpu: $0 % 5 == 0 ? "armv6l" : "armv7l", key: "\(prefix)-\($0)") }
}

/// The window used by the tests: 4–6 March 2020.
let testWindow: Value = ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z", "direction": "up"]

/// Runs an analyzer with parameters (defaults applied as the runner does).
func run<A: Analyzer>(_ type: A.Type, _ parameters: [String: Value], store: InMemoryEventStore, catalog: URL?) async throws -> AnalyzerResult {
    var params = parameters
    for spec in A.description.parameters where params[spec.name] == nil {
        if let d = spec.defaultValue { params[spec.name] = d }
    }
    let context = AnalyzerContext(stepID: "test", parameters: params, store: store, catalogDirectory: catalog)
    let result = try await A().run(context)
    // Outputs have the declared types, as the runner checks.
    for spec in A.description.outputs {
        let v = result.outputs[spec.name] ?? .null
        #expect(v == .null || spec.kind.problem(with: v) == nil, "output \(spec.name): \(spec.kind.problem(with: v) ?? "")")
    }
    return result
}

extension Value {
    /// The objects of a list output.
    var objects: [[String: Value]] { (arrayValue ?? []).compactMap(\.objectValue) }
}
