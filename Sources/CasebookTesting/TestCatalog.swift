import CasebookCore
import Foundation

/// A small catalog written by a test: PyPI JSON API documents (`pypi/NAME/json` and
/// `pypi/NAME/VERSION/json`) in a fresh temporary folder.
public struct TestCatalog: Sendable {
    /// One release: its version, upload time, `Requires-Python`, `Requires-Dist` and files.
    public struct Release: Sendable {
        public var version: String
        /// ISO 8601 upload time of the release's files.
        public var released: String
        public var requiresPython: String?
        public var requiresDist: [String]?
        /// File names; wheels and sdists are told apart by their suffix.
        public var files: [String]

        public init(_ version: String, _ released: String, requiresPython: String? = nil, requires: [String]? = [], files: [String] = []) {
            self.version = version
            self.released = released
            self.requiresPython = requiresPython
            self.requiresDist = requires
            self.files = files
        }
    }

    public var projects: [(name: String, releases: [Release])] = []

    public init() {}

    /// Adds a project with its releases, oldest first (the last is the latest).
    public mutating func add(_ name: String, _ releases: [Release]) { projects.append((name, releases)) }

    /// Writes the documents and returns the catalog folder.
    public func write() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-catalog-\(UUID().uuidString)")
        for (name, releases) in projects {
            let dir = root.appendingPathComponent("pypi").appendingPathComponent(ProjectName.normalize(name))
            func file(_ f: String, _ r: Release) -> [String: Any] {
                let wheel = f.hasSuffix(".whl")
                let py = wheel ? String(f.split(separator: "-").dropLast(2).last ?? "py3") : "source"
                return [
                    "filename": f, "packagetype": wheel ? "bdist_wheel" : "sdist", "python_version": py,
                    "requires_python": r.requiresPython ?? NSNull(), "upload_time_iso_8601": r.released,
                    "upload_time": String(r.released.prefix(19)), "yanked": false, "size": 1000,
                    "digests": ["sha256": String(repeating: "0", count: 64)]
                ]
            }
            func info(_ r: Release) -> [String: Any] {
                [
                    "name": name, "version": r.version, "requires_dist": r.requiresDist ?? NSNull(),
                    "requires_python": r.requiresPython ?? "", "summary": "\(name) for tests"
                ]
            }
            let latest = releases.last!
            var all: [String: Any] = [:]
            for r in releases { all[r.version] = r.files.map { file($0, r) } }
            try save(
                ["info": info(latest), "releases": all, "urls": latest.files.map { file($0, latest) }, "last_serial": 1],
                dir.appendingPathComponent("json"))
            for r in releases {
                try save(
                    ["info": info(r), "urls": r.files.map { file($0, r) }, "last_serial": 1],
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
