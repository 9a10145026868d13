import BenchmarkSupport
import CasebookAnalysis
import CasebookCore
import CasebookIngest
import CasebookSQLite
import CasebookSimulation
import Foundation

// Family (f): cases built from the simulator's real-format logs. Each is a scenario of
// `examples/` (its combined access logs, or BigQuery rows, ingested into a fresh SQLite store as
// `casebook ingest` would), the window its incident covers (whole UTC days, as an analyst picks
// it by eye for `casebook explain`), the 14 days before it as the baseline, and the cause the
// scenario injected, written as dimension values.
//
// Real logs have several true statements of one cause: the founding case's clients are
// `python_major = 2` and `python_minor = 2.7` alike; a CI farm's downloads are `ci = true`, its
// three clients, or its Python and distro together. So a returned cause matches an injected one
// when the two select the same downloads: their Jaccard index over the downloads of the window
// (of the baseline, for a drop, where the lost downloads are), asked of the store, is at least
// 0.9. Each injected cause is matched at most once.
//
// Casebook's `Localiser` asks the store (every dimension, as `casebook explain` does; its time
// includes its queries). The peers read a cube of leaves built from the store: every dimension
// but `client` (thousands of pseudonymous values), grouped over the window and over the
// baseline (two queries; their time is printed apart), the baseline's counts scaled to the
// window's length as each leaf's forecast.

struct LogCase: Sendable {
    var name: String
    /// The scenario file, relative to the package root.
    var scenario: String
    /// The window, whole UTC days: from (inclusive) and to (exclusive).
    var from: String
    var to: String
    var direction: Cube.Direction
    /// The injected causes, each a list of `dimension = value(s)` pairs.
    var truth: [[(CubeDimension, [String])]]
}

let logCases: [LogCase] = [
    LogCase(
        name: "founding case (OctoPrint 1.4.0 pins, Python 2)", scenario: "examples/piwheels-2020-03/scenario.yaml",
        from: "2020-03-04", to: "2020-03-07", direction: .rise,
        truth: [[(.project, ["flask-login", "markdown", "semantic-version", "sentry-sdk"]), (.pythonMajor, ["2"])]]),
    LogCase(
        name: "CI farm (3 runners)", scenario: "examples/scenarios/ci-farm.yaml", from: "2020-02-17", to: "2020-02-20",
        direction: .rise, truth: [[(.ci, ["true"])]]),
    LogCase(
        name: "CI closure (12 runners, 20 packages)", scenario: "examples/scenarios/ci-closure.yaml", from: "2020-02-18",
        to: "2020-02-22", direction: .rise, truth: [[(.ci, ["true"])]]),
    LogCase(
        name: "mirror sync", scenario: "examples/scenarios/mirror.yaml", from: "2020-02-12", to: "2020-02-13", direction: .rise,
        truth: [[(.installer, ["bandersnatch"])]]),
    LogCase(
        name: "mirror stops (drop)", scenario: "examples/scenarios/mirror-stops.yaml", from: "2020-02-24", to: "2020-03-02",
        direction: .drop, truth: [[(.installer, ["bandersnatch"])]]),
    LogCase(
        name: "no downloads from one country (drop)", scenario: "examples/scenarios/country-drop.yaml", from: "2020-02-20",
        to: "2020-02-24", direction: .drop, truth: [[(.country, ["DE"])]]),
    LogCase(
        name: "one pinned version", scenario: "examples/scenarios/one-version.yaml", from: "2020-02-24", to: "2020-02-27",
        direction: .rise, truth: [[(.project, ["werkzeug"]), (.version, ["0.16.0"])]]),
    LogCase(
        name: "a pre-release tried", scenario: "examples/scenarios/prerelease.yaml", from: "2020-02-25", to: "2020-02-28",
        direction: .rise, truth: [[(.project, ["flask"]), (.version, ["2.0.0rc1"])]]),
    LogCase(
        name: "two packages, Python 3", scenario: "examples/scenarios/python3-two-packages.yaml", from: "2020-02-25",
        to: "2020-02-28", direction: .rise, truth: [[(.project, ["jinja2", "requests"]), (.pythonMajor, ["3"])]]),
    LogCase(
        name: "mirror sync and pins at once", scenario: "examples/scenarios/overlapping.yaml", from: "2020-02-26",
        to: "2020-02-28", direction: .rise,
        truth: [[(.installer, ["bandersnatch"])], [(.project, ["paho-mqtt", "pyserial"]), (.pythonMajor, ["2"])]])
]

/// A log case ready to run: its store, ranges, the peers' cube and the truth.
struct LoadedLogCase {
    var spec: LogCase
    var index: Int
    var store: SQLiteEventStore
    var window: TimeRange
    var baseline: TimeRange
    var cube: Cube
    var events: Int64
    var cubeMilliseconds: Double
}

func milliseconds(since t0: ContinuousClock.Instant) -> Double {
    let e = ContinuousClock.now - t0
    return Double(e.components.seconds) * 1000 + Double(e.components.attoseconds) / 1e15
}

/// Simulates the case's scenario into `dir`, ingests what it wrote into a store there, and
/// builds the peers' cube.
func loadLogCase(_ spec: LogCase, index: Int, in dir: URL) async throws -> LoadedLogCase {
    let scenario = try Scenario.load(path: packageRoot().appendingPathComponent(spec.scenario).path)
    _ = try Simulator(scenario: scenario).run(to: dir.path)
    let path = dir.appendingPathComponent("store.sqlite").path
    do {
        let writer = try SQLiteEventStore(path: path)
        for (folder, format) in [("logs", InputFormat.combined), ("bigquery", .bigquery)] {
            let url = dir.appendingPathComponent(folder)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let ingestor = try Ingestor(target: writer, options: IngestOptions(format: format, index: scenario.index))
            for f in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() {
                _ = try ingestor.ingest(path: url.appendingPathComponent(f).path)
            }
        }
    }
    // Read as `casebook explain` would after `casebook ingest`: a store opened afresh, read-only.
    let store = try SQLiteEventStore(path: path, readOnly: true)
    guard let from = UTCTime.parse(spec.from), let to = UTCTime.parse(spec.to) else {
        throw BenchError("\(spec.name): cannot read the window \(spec.from)..\(spec.to)")
    }
    let window = TimeRange(from: from, to: to)
    let baseline = TimeRange(from: from - 14 * 86_400, to: from)
    let events = try await store.aggregate(AggregateQuery(bucket: nil, dimensions: [], filters: [], range: TimeRange())).total

    // The peers' cube: every dimension but `client`, one group-by per range.
    let t0 = ContinuousClock.now
    let dims = CubeDimension.allCases.filter { $0 != .client }
    let w = try await store.aggregate(AggregateQuery(bucket: nil, dimensions: dims, filters: [], range: window))
    let b = try await store.aggregate(AggregateQuery(bucket: nil, dimensions: dims, filters: [], range: baseline))
    let scale = Double(to - from) / Double(14 * 86_400)
    var leafIndex: [[String?]: Int] = [:]
    var windowCounts: [Double] = []
    var baselineCounts: [Double] = []
    for (rows, isWindow) in [(w.rows, true), (b.rows, false)] {
        for row in rows {
            let i: Int
            if let j = leafIndex[row.values] {
                i = j
            } else {
                i = windowCounts.count
                leafIndex[row.values] = i
                windowCounts.append(0)
                baselineCounts.append(0)
            }
            if isWindow { windowCounts[i] += Double(row.downloads) } else { baselineCounts[i] += Double(row.downloads) * scale }
        }
    }
    var values: [[String]] = Array(repeating: [], count: dims.count)
    var valueIndex: [[String: Int32]] = Array(repeating: [:], count: dims.count)
    var coords: [[Int32]] = Array(repeating: Array(repeating: 0, count: windowCounts.count), count: dims.count)
    for (key, leaf) in leafIndex {
        for d in dims.indices {
            let v = key[d] ?? unknownValue
            if let k = valueIndex[d][v] {
                coords[d][leaf] = k
            } else {
                let k = Int32(values[d].count)
                values[d].append(v)
                valueIndex[d][v] = k
                coords[d][leaf] = k
            }
        }
    }
    let cube = Cube(
        family: .logs, index: index, dimensions: dims, values: values, coords: coords, baseline: baselineCounts,
        window: windowCounts, truth: spec.truth.map(CauseKey.init), direction: spec.direction)
    return LoadedLogCase(
        spec: spec, index: index, store: store, window: window, baseline: baseline, cube: cube, events: events,
        cubeMilliseconds: milliseconds(since: t0))
}

/// How a leaf's missing value is named in a cube, and in the causes every method returns.
let unknownValue = "(unknown)"

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Scores `returned` against the case's injected causes by the downloads each selects (see the
/// top of this file): true positives are injected causes matched one to one by a returned cause
/// with a Jaccard index of at least 0.9.
func scoreLogCase(_ returned: [CauseKey], _ c: LoadedLogCase) async throws -> (matched: Int, returned: Int) {
    let range = c.spec.direction == .rise ? c.window : c.baseline
    func filters(_ k: CauseKey) -> [DimensionFilter] {
        k.pairs.map { DimensionFilter($0.dimension, .in, $0.values.map { $0 == unknownValue ? nil : $0 }) }
    }
    func count(_ f: [DimensionFilter]) async throws -> Double {
        Double(try await c.store.aggregate(AggregateQuery(bucket: nil, dimensions: [], filters: f, range: range)).total)
    }
    let causes = Array(normalise(returned))
    var used = Set<Int>()
    var matched = 0
    for t in c.cube.truth {
        let nt = try await count(filters(t))
        for (i, r) in causes.enumerated() where !used.contains(i) {
            let nr = try await count(filters(r))
            let both = try await count(filters(t) + filters(r))
            let union = nt + nr - both
            if union > 0 && both / union >= 0.9 {
                used.insert(i)
                matched += 1
                break
            }
        }
    }
    return (matched, causes.count)
}

/// Casebook's method on a log case: the `Localiser` over every dimension, asking the store.
func casebookOnStore(_ c: LoadedLogCase) async throws -> [CauseKey] {
    let localiser = Localiser(dimensions: CubeDimension.allCases, window: c.window, baseline: c.baseline)
    let result = try await localiser.localise(using: { try await c.store.aggregate($0) })
    return result.causes.map { cause in
        CauseKey(cause.pairs.map { pair in (pair.dimension, pair.values.map { $0 ?? unknownValue }) })
    }
}
