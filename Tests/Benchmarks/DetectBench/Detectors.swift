import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookIngest
import CasebookPlaybooks
import CasebookSQLite
import Foundation

/// A detected window: its time span and kind (Casebook's `kind`; "window" for the peers).
struct Detected {
    var span: Range<Int64>
    var kind: String
    /// Casebook's figures for `--show-windows`: relative change, surprise.
    var figures = ""
    /// A peer's size of the window (the sum of |x − expected| over its flagged buckets): a capped
    /// list keeps the largest.
    var magnitude = 0.0
}

/// Casebook as a user runs it: the series written as a counts CSV (`timestamp,count`), ingested
/// into a temporary SQLite store like `casebook ingest --project series`, then the shipped
/// playbook's `spike` step (`spike-detection` with the playbook's parameters and defaults), with
/// `bucket=hour` on hourly series and the `--set` overrides given. The other steps explain a
/// window; they do not detect, and are not run.
struct CasebookDetector {
    var playbook: URL
    var overrides: [(String, String)]
    var workDirectory: URL
    /// Sets the spike step's `max_windows` (not a playbook parameter) when given.
    var maxWindows: Int? = nil

    func detect(_ series: Series) async throws -> [Detected] {
        let dir = workDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var csv = "timestamp,count\n"
        for (i, v) in series.values.enumerated() {
            guard let v else { continue }
            csv += "\(UTCTime.isoString(series.start + Int64(i) * series.bucket.seconds)),\(Int64(v))\n"
        }
        let csvURL = dir.appendingPathComponent("series.csv")
        try csv.write(to: csvURL, atomically: true, encoding: .utf8)
        let store = try SQLiteEventStore(path: dir.appendingPathComponent("bench.sqlite").path)
        let ingestor = try Ingestor(target: store, options: IngestOptions(format: .csv, project: "series"))
        _ = try ingestor.ingest(path: csvURL.path)

        var book = try Playbook.load(from: playbook, displayPath: playbook.lastPathComponent)
        if let maxWindows, let i = book.steps.firstIndex(where: { $0.id == "spike" }), var input = book.steps[i].inputs.first {
            book.steps[i].inputs.removeAll { $0.name == "max_windows" }
            input.name = "max_windows"
            input.value = .int(Int64(maxWindows))
            book.steps[i].inputs.append(input)
        }
        var sets = overrides
        if series.bucket == .hour && !sets.contains(where: { $0.0 == "bucket" }) { sets.insert(("bucket", "hour"), at: 0) }
        var plan = try await PlaybookValidator(registry: BuiltinAnalyzers.registry()).validate(book, overrides: sets)
        plan.steps = plan.steps.filter { $0.step.id == "spike" }
        let report = await PlaybookRunner(store: store).run(plan)
        guard let step = report.steps.first, step.status == .succeeded else {
            throw DataError("spike step \(report.steps.first?.status.rawValue ?? "missing"): \(report.steps.first?.reason ?? "")")
        }
        return (step.outputs["windows"]?.arrayValue ?? []).compactMap { w in
            guard let a = w["start"]?.stringValue.flatMap(UTCTime.parse), let b = w["end"]?.stringValue.flatMap(UTCTime.parse) else {
                return nil
            }
            let relative = w["relative"]?.doubleValue ?? 0
            let surprise = w["surprise"]?.doubleValue ?? 0
            return Detected(
                span: a..<b, kind: w["kind"]?.stringValue ?? "?",
                figures: String(format: " %+.0f%% s%.0f", relative * 100, surprise))
        }
    }
}

/// The published detectors of `Tests/Benchmarks/detect_peers.py`, run by Python on every series
/// at once.
struct Peers {
    var python: String
    var script: URL
    var workDirectory: URL

    /// Windows per detector name, then per series id; the detectors in the script's order.
    func detect(_ series: [Series]) throws -> (names: [String], windows: [String: [String: [Detected]]]) {
        let request: [String: Any] = [
            "series": series.map { s in
                [
                    "id": s.id, "bucket": s.bucket.rawValue,
                    "values": s.values.map { v -> Any in v.map { $0 as Any } ?? NSNull() }
                ] as [String: Any]
            },
            "merge_gap": ["hour": 6, "day": 1]
        ]
        let input = workDirectory.appendingPathComponent("peers-in.json")
        let output = workDirectory.appendingPathComponent("peers-out.json")
        try JSONSerialization.data(withJSONObject: request).write(to: input)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script.path, input.path, output.path]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let data = try? Data(contentsOf: output),
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let names = json["detectors"] as? [String], let windows = json["windows"] as? [String: [String: [[Double]]]]
        else {
            throw DataError("\(script.lastPathComponent) failed (exit \(p.terminationStatus)); it needs numpy, scipy and statsmodels")
        }
        let byID = Dictionary(series.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [String: [String: [Detected]]] = [:]
        for (name, perSeries) in windows {
            for (id, list) in perSeries {
                guard let s = byID[id] else { continue }
                out[name, default: [:]][id] = list.map {
                    Detected(span: s.span(Int($0[0]), Int($0[1])), kind: "window", magnitude: $0.count > 2 ? $0[2] : 0)
                }
            }
        }
        return (names, out)
    }
}
