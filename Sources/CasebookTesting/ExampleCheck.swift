import CasebookAnalysis
import CasebookCore
import Foundation

extension TestEvents {
    /// The events of an example's data set: its counts, its downloads by client and its request lines.
    public init(_ data: ExampleData) {
        self.init()
        for c in data.counts {
            switch c.bucket {
            case .hour: hourly(c.project, from: c.from, counts: c.counts, dimensions: c.dimensions)
            case .day: daily(c.project, from: c.from, counts: c.counts, dimensions: c.dimensions)
            case .week:
                guard let start = UTCTime.parse(c.from) else { preconditionFailure("not a date: \(c.from)") }
                for (i, n) in c.counts.enumerated() {
                    guard let n, n > 0 else { continue }
                    add(count: Int64(n), at: start + Int64(i) * 7 * 86400, project: c.project, dimensions: c.dimensions)
                }
            }
        }
        for d in data.downloads {
            let like = Client(
                python: d.client.python, cpu: d.client.cpu, system: d.client.system, ci: d.client.ci,
                installer: d.client.installer, installerVersion: d.client.installerVersion)
            add(
                d.file, days: days(d.from, d.days), perDay: d.perDay,
                clients: Client.many(max(1, d.clients), like: like, prefix: d.keyPrefix))
        }
        for r in data.requests {
            guard let start = UTCTime.parse(r.from) else { preconditionFailure("not a time: \(r.from)") }
            for h in 0..<r.hours {
                logRequests(hour: UTCTime.isoString(start + Int64(h) * 3600), status: r.status, count: r.perHour)
            }
        }
    }
}

extension TestCatalog {
    /// The catalog of an example's data set.
    public init(_ projects: [ExampleData.CatalogProject]) {
        self.init()
        for p in projects {
            add(
                p.name,
                p.releases.map { .init($0.version, $0.released, requiresPython: $0.requiresPython, requires: $0.requires, files: $0.files) }
            )
        }
    }
}

/// Runs an analyzer's example the way a playbook step runs (``run(_:with:store:catalog:steps:stepID:)``)
/// on its data set, and says what differed from what the example expects: one sentence per
/// mismatch, empty when the example holds.
///
/// ```swift
/// for example in SeriesAnalyzer.description.examples {
///     #expect(try await checkExample(example, of: SeriesAnalyzer.self) == [])
/// }
/// ```
///
/// Errors of the analyzer (or of parameter validation) are thrown, not turned into mismatches.
public func checkExample(_ example: AnalyzerExample, of type: any Analyzer.Type) async throws -> [String] {
    let store = TestEvents(example.data).store
    var catalog: URL?
    if let projects = example.data.catalog { catalog = try TestCatalog(projects).write() }
    defer { if let catalog { try? FileManager.default.removeItem(at: catalog) } }
    let result = try await run(
        type, with: example.parameters, store: store, catalog: catalog, steps: example.data.steps,
        stepID: "example")
    return mismatches(of: result, against: example, analyzer: type.description)
}

/// The mismatches between a result and what an example expects, in words.
public func mismatches(of result: AnalyzerResult, against example: AnalyzerExample, analyzer: AnalyzerDescription) -> [String] {
    let name = "`\(analyzer.name)` example \"\(example.title)\""
    var out: [String] = []
    for (output, expected) in example.outputs.sorted(by: { $0.key < $1.key }) {
        guard analyzer.output(named: output) != nil || result.outputs[output] != nil else {
            out.append(
                "\(name): `\(output)` is not an output of `\(analyzer.name)` (it has \(analyzer.outputs.map { "`\($0.name)`" }.joined(separator: ", ")))"
            )
            continue
        }
        let actual = result.outputs[output] ?? .null
        if !expected.matches(actual) {
            out.append("\(name): output `\(output)` should be \(expected), but is \(actual.jsonString)")
        }
    }
    if let text = example.finding, !result.findings.contains(where: { $0.title.contains(text) }) {
        let titles = result.findings.map { "\"\($0.title)\"" }
        out.append(
            "\(name): no finding's title contains \"\(text)\" (titles: \(titles.isEmpty ? "no findings" : titles.joined(separator: ", ")))")
    }
    if example.outputs.isEmpty && example.finding == nil {
        out.append("\(name): expects nothing (give outputs to match or a finding's title)")
    }
    return out
}
