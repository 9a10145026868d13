import CasebookCore
import Foundation

/// A synthetic package index of any size: projects with releases, files and `requires_dist`,
/// deterministic for a seed, to measure catalog import and reverse-dependency queries at the
/// scale of a real index (PyPI holds hundreds of thousands of projects and millions of releases).
///
/// It is written in the two forms real catalogs come in: metadata rows (one NDJSON object per
/// file, the `requires_dist` table shape that mirrors and public datasets ship) and, for a
/// subset, PyPI JSON API documents. Its shape follows real indexes where it matters to the
/// queries: release counts are heavy-tailed (most projects have a few, some hundreds), a few
/// projects are required by very many (`requests`, `six`, `flask`), requirements carry
/// specifiers, extras and markers, pins are bumped from release to release, and uploads spread
/// over the years up to `end`.
public struct SyntheticIndex: Sendable {
    public var projects: Int
    /// Releases in all (each project has at least one).
    public var releases: Int
    public var seed: UInt64
    /// First and last possible upload (epoch seconds).
    public var start: Int64
    public var end: Int64

    public init(projects: Int, releases: Int, seed: UInt64 = 1, start: Int64 = 1_199_145_600, end: Int64 = 1_606_780_800) {
        self.projects = max(1, projects)
        self.releases = max(releases, self.projects)
        self.seed = seed
        self.start = start
        self.end = end
        releaseCounts = SyntheticIndex.allocate(releases: self.releases, projects: self.projects, seed: seed)
    }

    /// Releases per project (sums to `releases`).
    public let releaseCounts: [Int]

    /// Projects everyone depends on, first, so that they are the most required: the founding
    /// case's four packages and Flask among them.
    public static let wellKnown = [
        "requests", "six", "urllib3", "setuptools", "numpy", "flask", "markdown", "sentry-sdk", "semantic-version", "flask-login",
        "click", "pyyaml", "jinja2", "certifi", "idna", "chardet", "python-dateutil", "pytz", "attrs", "packaging", "pyparsing",
        "werkzeug", "itsdangerous", "markupsafe", "cryptography", "cffi", "pycparser", "wheel", "pip", "typing-extensions",
        "pillow", "psutil", "netifaces", "pyserial", "regex", "tornado", "watchdog", "zeroconf", "frozendict", "blinker"
    ]
    static let wellKnownNames = Set(wellKnown)
    static let prefixes = ["", "py", "python-", "django-", "flask-", "pytest-", "sphinx-", "types-", "rpi-", "octoprint-"]
    static let words = [
        "sensor", "mqtt", "gpio", "camera", "weather", "logger", "client", "api", "sdk", "tools", "utils", "cli", "parser", "config",
        "cache", "auth", "admin", "forms", "rest", "graph", "stream", "queue", "worker", "metrics", "exporter", "plugin", "theme",
        "lint", "format", "test", "mock", "fixtures", "async", "http", "socket", "serial", "image", "audio", "video", "geo"
    ]

    /// The normalized name of project `i` (distinct for every index).
    public func name(_ i: Int) -> String {
        if i < Self.wellKnown.count { return Self.wellKnown[i] }
        let k = i - Self.wellKnown.count
        let p = Self.prefixes[k % Self.prefixes.count]
        let w = Self.words[(k / Self.prefixes.count) % Self.words.count]
        let round = k / (Self.prefixes.count * Self.words.count)
        let name = round == 0 ? p + w : "\(p)\(w)-\(round)"
        // `py` + `serial` is a well-known name already: the generated one gets a suffix no other has.
        return Self.wellKnownNames.contains(name) ? name + "-ng" : name
    }

    /// One release of a generated project.
    public struct Release: Sendable, Hashable {
        public var version: String
        public var uploadTime: Int64
        public var requiresPython: String?
        public var requiresDist: [String]
        /// File names (a wheel; every fifth project also an sdist).
        public var filenames: [String]
    }

    /// Project `i`'s releases, oldest first.
    public func releases(of i: Int) -> [Release] {
        var rng = SeededGenerator(seed: seed, stream: 7, UInt64(i))
        let count = releaseCounts[i]
        let name = name(i)
        let wheelName = name.replacingOccurrences(of: "-", with: "_")
        // The project's first upload, then releases spread to `end` (recent projects release densely).
        let span = Double(end - start)
        let first = start + Int64(span * Double.random(in: 0..<0.97, using: &rng))
        let gap = Double(end - first) / Double(count + 1)
        // Its dependencies: 0-6, popular projects far more often (never itself).
        let depCount = min(6, Int(-log(Double.random(in: 0.0001..<1, using: &rng)) * 1.6))
        var deps: [(name: String, lower: Int, marker: String?)] = []
        var taken: Set<Int> = [i]
        for _ in 0..<depCount {
            let j = Int(Double(projects) * pow(Double.random(in: 0..<1, using: &rng), 4))
            guard taken.insert(j).inserted else { continue }
            let roll = Double.random(in: 0..<1, using: &rng)
            let marker: String? =
                roll < 0.1 ? "extra == \"dev\"" : roll < 0.15 ? "python_version < \"3.8\"" : roll < 0.18 ? "sys_platform == \"win32\"" : nil
            deps.append((self.name(j), Int.random(in: 0..<5, using: &rng), marker))
        }
        var out: [Release] = []
        var t = Double(first)
        var (major, minor, patch) = (0, 1, 0)
        for r in 0..<count {
            if r > 0 {
                t += gap * Double.random(in: 0.2..<1.8, using: &rng)
                let bump = Double.random(in: 0..<1, using: &rng)
                if bump < 0.05 {
                    (major, minor, patch) = (major + 1, 0, 0)
                } else if bump < 0.3 {
                    (minor, patch) = (minor + 1, 0)
                } else {
                    patch += 1
                }
                // Pins move now and then: a dependency's lower bound is raised.
                if !deps.isEmpty, Double.random(in: 0..<1, using: &rng) < 0.15 {
                    deps[Int.random(in: 0..<deps.count, using: &rng)].lower += 1
                }
            }
            let version = "\(major).\(minor).\(patch)"
            let upload = min(end, Int64(t))
            let requiresPython: String? = upload < 1_514_764_800 ? nil : upload < 1_577_836_800 ? ">=3.5" : ">=3.7"
            let requiresDist = deps.map { d in "\(d.name)>=\(d.lower).0" + (d.marker.map { "; \($0)" } ?? "") }
            var files = ["\(wheelName)-\(version)-py3-none-any.whl"]
            if i % 5 == 0 { files.append("\(name)-\(version).tar.gz") }
            out.append(
                Release(version: version, uploadTime: upload, requiresPython: requiresPython, requiresDist: requiresDist, filenames: files))
        }
        return out
    }

    /// Writes every file of every release as a metadata row (NDJSON: `name`, `version`,
    /// `requires_dist`, `requires_python`, `upload_time`, `filename`, `packagetype`), grouped
    /// by project. Returns the rows written.
    @discardableResult
    public func writeRows(to path: String) throws -> Int {
        guard let fp = fopen(path, "wb") else {
            throw SimulationError("\(path): cannot open for writing (\(String(cString: strerror(errno))))")
        }
        defer { fclose(fp) }
        var rows = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 21)
        func flush() throws {
            guard out.isEmpty || fwrite(out, 1, out.count, fp) == out.count else {
                throw SimulationError("\(path): write failed (\(String(cString: strerror(errno))))")
            }
            out.removeAll(keepingCapacity: true)
        }
        for i in 0..<projects {
            let name = name(i)
            for r in releases(of: i) {
                let common =
                    "{\"name\":\(JSONValue.string(name).serialized()),\"version\":\"\(r.version)\",\"requires_dist\":"
                    + (r.requiresDist.isEmpty ? "null" : JSONValue.array(r.requiresDist.map { .string($0) }).serialized())
                    + ",\"requires_python\":" + (r.requiresPython.map { JSONValue.string($0).serialized() } ?? "null")
                    + ",\"upload_time\":\"\(UTCTime.isoString(r.uploadTime))\""
                for f in r.filenames {
                    let type = f.hasSuffix(".whl") ? "bdist_wheel" : "sdist"
                    out.append(contentsOf: (common + ",\"filename\":\"\(f)\",\"packagetype\":\"\(type)\"}\n").utf8)
                    rows += 1
                }
            }
            if out.count > 1 << 20 { try flush() }
        }
        try flush()
        return rows
    }

    /// Writes projects `range` as PyPI JSON API documents (a project document and one per
    /// release) under `directory/pypi/`. Returns the documents written.
    @discardableResult
    public func writeDocuments(to directory: String, projects range: Range<Int>? = nil) throws -> Int {
        let writer = PyPIDocumentWriter(seed: seed)
        var count = 0
        for i in range ?? 0..<projects {
            let name = name(i)
            let wheelName = name.replacingOccurrences(of: "-", with: "_")
            let releases = releases(of: i).map { r in
                PyPIDocumentWriter.Release(
                    version: r.version, released: r.uploadTime, requiresPython: r.requiresPython, requiresDist: r.requiresDist,
                    files: writer.files(
                        name: name, wheelName: wheelName, version: r.version, refs: r.filenames.count > 1 ? [.wheel, .sdist] : [.wheel],
                        pureTag: "py3", requiresPython: r.requiresPython, released: r.uploadTime))
            }
            count += try writer.writeProject(
                name: name, summary: "A generated project", description: readme(name), releases: releases, to: directory)
        }
        return count
    }

    /// A README of about 4 KB, as a project document's `description` carries one (real
    /// documents average about 6 KB, most of it the README).
    func readme(_ name: String) -> String {
        var out = "# \(name)\n\n"
        var k = name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF
        while out.utf8.count < 4000 {
            let w = Self.words[k % Self.words.count]
            out += k % 11 == 0 ? "\n\n## \(w.capitalized)\n\n" : "\(w) "
            k = (k &* 1_103_515_245 &+ 12345) & 0x7FFF_FFFF
        }
        return out
    }

    /// Spreads `releases` over `projects`: at least one each, the rest heavy-tailed.
    static func allocate(releases: Int, projects: Int, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed, stream: 6)
        let weights = (0..<projects).map { _ in pow(-log(Double.random(in: 0.000_001..<1, using: &rng)), 1.8) }
        let total = weights.reduce(0, +)
        let extra = releases - projects
        var counts = weights.map { 1 + Int(Double(extra) * $0 / total) }
        var left = releases - counts.reduce(0, +)
        var k = 0
        while left > 0 {
            counts[k % projects] += 1
            left -= 1
            k += 1
        }
        return counts
    }
}
