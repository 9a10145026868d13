import CasebookAnalysis
import CasebookAnalyzers
import CasebookCatalog
import CasebookCore
import CasebookPlaybooks
import CasebookTesting
import Foundation
import Testing

/// The kit's builders, under the names these tests use.
typealias Events = TestEvents

/// Many distinct Python 2.7 Raspberry Pi clients.
func piClients(_ n: Int, python: String = "2.7.16", prefix: String = "pi") -> [Events.Client] {
    (0..<n).map { Events.Client(python: python, cpu: $0 % 5 == 0 ? "armv6l" : "armv7l", key: "\(prefix)-\($0)") }
}

/// The window used by the tests: 4–6 March 2020.
let testWindow: Value = ["start": "2020-03-04T00:00:00Z", "end": "2020-03-07T00:00:00Z", "direction": "up"]

/// Runs an analyzer through the kit (the runner's parameter validation and output checks).
func run(_ type: any Analyzer.Type, _ parameters: [String: Value], store: TestStore, catalog: URL?) async throws -> AnalyzerResult {
    try await CasebookTesting.run(type, with: parameters, store: store, catalog: catalog)
}

extension Value {
    /// The objects of a list output.
    var objects: [[String: Value]] { (arrayValue ?? []).compactMap(\.objectValue) }
}

/// Sunday 1 March 2020, the first day of the hand-made series.
let march1: Int64 = UTCTime.epoch(year: 2020, month: 3, day: 1)
func day(_ n: Int) -> Int64 { march1 + Int64(n) * 86400 }

/// The window 19–21 March 2020 (days 18 to 20 of the hand-made series).
let lateMarchWindow: Value = ["start": "2020-03-19T00:00:00Z", "end": "2020-03-22T00:00:00Z", "direction": "up"]

extension TestEvents {
    /// `count` downloads of `project` 1.0 (a universal wheel, no tags parsed) at `hour` of `day`,
    /// by a pip client: one event of the hand-made series.
    mutating func add(
        day: Int64, hour: Int = 12, project: String, count: Int64 = 1, python: String = "3.7.3",
        client: String? = nil, cpu: String = "armv7l", ci: Bool? = nil
    ) {
        var e = DownloadEvent(timestamp: day + Int64(hour) * 3600, count: count)
        e.project = project
        e.version = "1.0"
        e.filename = "\(project)-1.0-py2.py3-none-any.whl"
        e.fileType = "bdist_wheel"
        e.python = python
        e.cpu = cpu
        e.installer = "pip"
        e.client = client
        e.ci = ci
        events.append(e)
    }
}

/// Eight weeks of one project's daily downloads from Monday 6 January 2020: a weekly pattern
/// (weekends at `weekend` of weekdays), slow growth, deterministic noise and `extra` on some days.
func weeklySeries(
    days: Int = 56, base: Double = 1000, weekend: Double = 0.6, growth: Double = 0.004,
    extra: [Int: Double] = [:]
) -> TestStore {
    var e = TestEvents()
    for d in 0..<days {
        let t = UTCTime.epoch(year: 2020, month: 1, day: 6) + Int64(d) * 86400  // Monday 6 January
        var v = base * (1 + growth * Double(d)) * (UTCTime.isWeekend(t) ? weekend : 1)
        v *= 1 + 0.02 * sin(Double(d) * 1.7)  // deterministic noise
        v += extra[d] ?? 0
        e.add(day: t, project: "steady", count: Int64(v.rounded()))
    }
    return e.store
}

extension Value {
    /// The element at `index` of a list value, or `nil`.
    subscript(index: Int) -> Value? { arrayValue.flatMap { index < $0.count ? $0[index] : nil } }
}
