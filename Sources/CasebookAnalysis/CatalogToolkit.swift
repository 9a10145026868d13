import CasebookCatalog
import CasebookCore
import Foundation

/// A step that reads package metadata ran without a catalog (or with a folder that is not one).
///
/// Its message tells the person running the playbook how to give one.
public struct CatalogRequiredError: StepSkippingError, Sendable {
    public var analyzer: String
    public var step: String
    /// The folder that was given, when it could not be opened.
    public var path: String?
    public var reason: String?

    public var description: String {
        // The same sentence for every step that needs the catalog, so the report can group them.
        let how =
            "run with `--catalog DIR` (a folder of PyPI JSON documents `DIR/pypi/NAME/json`; `casebook run` uses ./catalog when it exists, and `casebook catalog fetch NAME...` fills one)."
        if let path {
            return "it needs the package-metadata catalog, and \(path) cannot be used (\(reason ?? "not a catalog folder")): \(how)"
        }
        return "it needs the package-metadata catalog and none was given: \(how)"
    }
}

/// The catalog of one run: opened at most once, on the first step that asks, and shared by
/// every later step (a folder of documents is read once per run, not once per step).
public final class RunCatalog: @unchecked Sendable {
    /// The folder given with `--catalog`, when the catalog is one (external analyzers get its path).
    public let directory: URL
    /// Where the metadata comes from, for messages.
    public let location: String
    private let lock = NSLock()
    private var opened: Result<any PackageCatalog, CatalogError>?

    /// A catalog folder, read when a step first asks for it.
    public init(directory: URL) {
        self.directory = directory
        self.location = directory.path
    }

    /// A catalog already open (an imported catalog in the store).
    public init(_ catalog: any PackageCatalog, directory: URL? = nil) {
        self.directory = directory ?? URL(fileURLWithPath: catalog.location)
        self.location = catalog.location
        self.opened = .success(catalog)
        self.isFolder = directory != nil
    }

    /// Whether the catalog is a folder of documents (its path means something to an external program).
    public private(set) var isFolder = true

    /// The catalog, reading the folder on the first call.
    public func open() throws(CatalogError) -> any PackageCatalog {
        lock.lock()
        defer { lock.unlock() }
        if let opened { return try opened.get() }
        let result: Result<any PackageCatalog, CatalogError>
        do throws(CatalogError) { result = .success(try CatalogFolder(directory: directory)) } catch { result = .failure(error) }
        opened = result
        return try result.get()
    }
}

extension AnalyzerContext {
    /// Opens the run's catalog (`--catalog DIR`, or the store's imported one), or throws
    /// ``CatalogRequiredError`` saying how to give one.
    public func openCatalog(for analyzer: String) throws -> any PackageCatalog {
        guard let catalog else { throw CatalogRequiredError(analyzer: analyzer, step: stepID) }
        do { return try catalog.open() } catch {
            throw CatalogRequiredError(analyzer: analyzer, step: stepID, path: catalog.location, reason: "\(error)")
        }
    }

    /// The values of a `contributors`-style parameter (strings or `{value: ...}` objects),
    /// normalized when they are projects. Empty when the contributors step found no small set
    /// (a broad change); throws when the parameter is not a list.
    public func contributorValues(_ name: String, dimension: CasebookCore.Dimension) throws -> [String?] {
        guard let values = valueList(name) else {
            throw AnalyzerError(
                "`\(name)` of step `\(stepID)` must be a list of values (the contributors step's `values` or `contributors`), found \(parameters[name]?.jsonString ?? "nothing")"
            )
        }
        return values.map { v in dimension == .project ? v.map(ProjectName.normalize) : v }
    }
}

/// What a client reported about itself, as far as the store keeps it: enough to say which
/// wheels its pip accepts and how its requirement markers evaluate.
public struct ClientPlatform: Sendable, Hashable, Comparable {
    public var python: String
    public var cpu: String?
    public var system: String?
    public var implementation: String?

    /// From store values `[python, cpu, system, implementation]`; nil without a usable Python version.
    public init?(_ values: ArraySlice<String?>) {
        let v = Array(values)
        guard let p = v.first ?? nil, PythonVersion.minor(of: p) != nil else { return nil }
        python = p
        cpu = v.count > 1 ? v[1] : nil
        system = v.count > 2 ? v[2] : nil
        implementation = v.count > 3 ? v[3] : nil
    }

    public init(python: String, cpu: String?, system: String?, implementation: String?) {
        self.python = python
        self.cpu = cpu
        self.system = system
        self.implementation = implementation
    }

    /// The dimensions to query, in the order ``init(_:)`` reads them.
    public static let dimensions: [CasebookCore.Dimension] = [.python, .cpu, .system, .implementation]

    /// The client's environment. The store does not keep the C library version, so Linux
    /// clients are assumed to have `glibc` (nil: no manylinux wheels are accepted).
    public func environment(glibc: String?) -> ClientEnvironment {
        let sys = system ?? "Linux"
        return ClientEnvironment(
            python: python, cpu: cpu ?? "unknown", system: sys,
            implementation: implementation ?? "CPython",
            glibc: sys.lowercased() == "linux" ? glibc : nil)
    }

    /// `Python 2.7.16 armv7l`.
    public var label: String { "Python \(python) \(cpu ?? "unknown cpu")" }

    public static func < (a: ClientPlatform, b: ClientPlatform) -> Bool { a.label < b.label }
}

/// Downloads of the contributors in a window against the days before it, per file and per
/// client profile: the common ground of the catalog analyzers.
public struct ContributorTraffic: Sendable {
    /// One distribution file's downloads in the window and expected from the baseline.
    public struct File: Sendable {
        public var project: String
        public var version: String?
        public var filename: String?
        public var window: Double
        public var expected: Double
        public var excess: Double { window - expected }
        /// Window downloads per client platform (unknown Python left out).
        public var profiles: [ClientPlatform: Double] = [:]

        public init(
            project: String, version: String?, filename: String?, window: Double, expected: Double,
            profiles: [ClientPlatform: Double] = [:]
        ) {
            self.project = project
            self.version = version
            self.filename = filename
            self.window = window
            self.expected = expected
            self.profiles = profiles
        }
    }

    public var window: AnalysisWindow
    public var files: [File]

    public init(window: AnalysisWindow, files: [File]) {
        self.window = window
        self.files = files
    }

    /// The contributors' total positive excess (the sum over files that gained).
    public var excess: Double { files.reduce(0) { $0 + max(0, $1.excess) } }
    public var windowTotal: Double { files.reduce(0) { $0 + $1.window } }
    public var expectedTotal: Double { files.reduce(0) { $0 + $1.expected } }

    /// Per project: window, expected.
    public var projects: [String: (window: Double, expected: Double)] {
        var out: [String: (window: Double, expected: Double)] = [:]
        for f in files {
            out[f.project, default: (0, 0)].window += f.window
            out[f.project, default: (0, 0)].expected += f.expected
        }
        return out
    }

    /// Per project and version: window, expected, profiles.
    public var versions: [String: [String: (window: Double, expected: Double, profiles: [ClientPlatform: Double])]] {
        var out: [String: [String: (window: Double, expected: Double, profiles: [ClientPlatform: Double])]] = [:]
        for f in files {
            guard let v = f.version else { continue }
            var e = out[f.project, default: [:]][v] ?? (0, 0, [:])
            e.window += f.window
            e.expected += f.expected
            for (p, n) in f.profiles { e.profiles[p, default: 0] += n }
            out[f.project, default: [:]][v] = e
        }
        return out
    }

    /// Window downloads per client profile over all files.
    public var profiles: [ClientPlatform: Double] {
        var out: [ClientPlatform: Double] = [:]
        for f in files { for (p, n) in f.profiles { out[p, default: 0] += n } }
        return out
    }

    /// The filters that select the contributors' downloads.
    public static func filters(_ base: [DimensionFilter], dimension: CasebookCore.Dimension, values: [String?]) -> [DimensionFilter] {
        base + [DimensionFilter(dimension, .in, values)]
    }

    public static func load(
        _ context: AnalyzerContext, window: AnalysisWindow, filters: [DimensionFilter],
        baselineDays: Int64
    ) async throws -> ContributorTraffic {
        let profileRows = try await context.aggregate(
            AggregateQuery(
                dimensions: [.project, .version, .filename] + ClientPlatform.dimensions,
                filters: filters, range: TimeRange(from: window.start, to: window.end)))
        var byKey: [[String?]: File] = [:]
        let inWindow = try await context.aggregate(
            AggregateQuery(
                dimensions: [.project, .version, .filename], filters: filters,
                range: TimeRange(from: window.start, to: window.end)))
        let bStart = window.start - baselineDays * 86400
        let before = try await context.aggregate(
            AggregateQuery(
                dimensions: [.project, .version, .filename], filters: filters,
                range: TimeRange(from: bStart, to: window.start)))
        let scale = try await window.baselineScale(baseline: TimeRange(from: bStart, to: window.start), using: context.aggregate)
        for r in inWindow.rows {
            guard let p = r.values[0] else { continue }
            byKey[r.values, default: File(project: p, version: r.values[1], filename: r.values[2], window: 0, expected: 0)].window +=
                Double(r.downloads)
        }
        for r in before.rows {
            guard let p = r.values[0] else { continue }
            byKey[r.values, default: File(project: p, version: r.values[1], filename: r.values[2], window: 0, expected: 0)].expected +=
                Double(r.downloads) * scale
        }
        for r in profileRows.rows {
            let key = Array(r.values.prefix(3))
            guard byKey[key] != nil, let profile = ClientPlatform(r.values.dropFirst(3)) else { continue }
            byKey[key]!.profiles[profile, default: 0] += Double(r.downloads)
        }
        let files = byKey.values.sorted {
            $0.excess != $1.excess ? $0.excess > $1.excess : ($0.filename ?? "~") < ($1.filename ?? "~")
        }
        return ContributorTraffic(window: window, files: files)
    }
}

/// Downloads of any set of projects in a window against the days before it: did they move?
public struct ProjectMovement: Sendable {
    public var window: Double
    public var expected: Double

    public init(window: Double, expected: Double) {
        self.window = window
        self.expected = expected
    }
    public var excess: Double { window - expected }
    /// Window / expected; nil when the baseline has no downloads.
    public var ratio: Double? { expected > 0 ? window / expected : nil }

    /// Whether the project moved: a clear relative rise that is not a handful of downloads.
    public func moved(minRatio: Double, minExcess: Double) -> Bool {
        excess >= max(1, minExcess) && (ratio.map { $0 >= minRatio } ?? true)
    }

    public static func load(
        _ context: AnalyzerContext, projects: Set<String>, window: AnalysisWindow, filters: [DimensionFilter],
        baselineDays: Int64
    ) async throws -> [String: ProjectMovement] {
        guard !projects.isEmpty else { return [:] }
        let (_, byKey) = try await WindowComparison.make(
            context, window: window, dimensions: [.project],
            filters: filters + [DimensionFilter(.project, .in, projects.sorted())],
            baselineDays: baselineDays)
        var out: [String: ProjectMovement] = [:]
        for p in projects { out[p] = ProjectMovement(window: 0, expected: 0) }
        for (k, v) in byKey { if let p = k.first ?? nil { out[p] = ProjectMovement(window: v.window, expected: v.expected) } }
        return out
    }
}

extension Requirement {
    /// Whether the requirement applies to `client` (markers evaluated; undecidable markers and
    /// extras count as not applying).
    public func applies(to client: ClientEnvironment?) -> Bool {
        guard let marker else { return true }
        if marker.variables.contains("extra") { return false }
        guard let client else { return true }
        return (try? applies(in: client.markerEnvironment)) ?? false
    }
}

/// The finding of a per-contributor analysis when the contributors step found none.
public func noContributorsFinding(_ window: AnalysisWindow, what: String) -> Finding {
    Finding(
        title: "No contributors to examine",
        summary:
            "The contributors step named no values for \(window.label) (the change is broad, or the data holds no values of that dimension), so there are no contributing \(what) to examine.",
        confidence: .medium,
        openQuestions: ["Which client, installer or segment is behind the change (see the client-behaviour and segment steps)?"])
}

/// Rounds a share or score to three decimals for outputs and tables.
public func round3(_ x: Double) -> Double { x.isFinite ? (x * 1000).rounded() / 1000 : 0 }

/// A summary of client profiles by downloads: `Python 2.7.16 armv7l 58%, Python 2.7.13 armv6l 21%`.
public func describeProfiles(_ profiles: [ClientPlatform: Double], limit: Int = 3) -> String {
    let total = profiles.values.reduce(0, +)
    guard total > 0 else { return "unknown clients" }
    let ranked = profiles.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    var parts = ranked.prefix(limit).map { "\($0.key.label) \(Describe.percent($0.value / total))" }
    if ranked.count > limit { parts.append("\(ranked.count - limit) more") }
    return parts.joined(separator: ", ")
}

/// The profiles holding at least `minShare` of the downloads (always at least the largest).
public func mainProfiles(_ profiles: [ClientPlatform: Double], minShare: Double = 0.1) -> [ClientPlatform] {
    let total = profiles.values.reduce(0, +)
    let ranked = profiles.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    var out = ranked.filter { total > 0 && $0.value / total >= minShare }.map(\.key)
    if out.isEmpty, let first = ranked.first { out = [first.key] }
    return out
}
