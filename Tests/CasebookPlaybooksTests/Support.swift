import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookPlaybooks
import Foundation
import Testing

/// A Swift analyzer defined outside the built-in registry: days above a threshold, as windows.
struct ThresholdWindows: Analyzer {
    static let description = AnalyzerDescription(
        name: "threshold-windows", summary: "Buckets of a series above a threshold.",
        parameters: [
            ParameterSpec("series", .list(.object), doc: "A series output ({start, downloads})."),
            ParameterSpec("threshold", .int, doc: "Downloads above which a bucket is unusual."),
            ParameterSpec("label", .string, default: "spike", doc: "Label for windows.")
        ],
        outputs: [
            OutputSpec("windows", .list(.object), doc: "{start, end, downloads, label} for each bucket above the threshold."),
            OutputSpec("count", .int, doc: "Number of windows.")
        ])
    func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        let threshold = try context.int("threshold")
        let label = try context.string("label")
        var windows: [Value] = []
        for point in try context.list("series") {
            guard let n = point["downloads"]?.intValue, n > threshold, let start = point["start"]?.stringValue,
                let t = UTCTime.parse(start)
            else { continue }
            windows.append(["start": .string(start), "end": .time(t + 86400), "downloads": .int(n), "label": .string(label)])
        }
        let finding = Finding(
            title: "\(windows.count) unusual days", summary: "Days above \(threshold).",
            evidence: [.count("threshold", threshold)], confidence: .medium,
            openQuestions: windows.isEmpty ? [] : ["What caused them?"])
        return AnalyzerResult(outputs: ["windows": .array(windows), "count": .int(Int64(windows.count))], findings: [finding])
    }
}

/// Returns its parameters as outputs (to see exactly what a step received).
struct Echo: Analyzer {
    static let description = AnalyzerDescription(
        name: "echo", summary: "Returns its parameters.",
        parameters: [
            ParameterSpec("value", .any, optional: true, doc: "Anything."),
            ParameterSpec("text", .string, optional: true, doc: "A text."),
            ParameterSpec("dimension", .dimension, default: "project", doc: "A dimension."),
            ParameterSpec("limit", .int, default: 10, doc: "A number.")
        ],
        outputs: [OutputSpec("params", .object, doc: "The parameters received.")])
    func run(_ context: AnalyzerContext) async throws -> AnalyzerResult {
        AnalyzerResult(outputs: ["params": .object(context.parameters)])
    }
}

/// Always throws.
struct Failing: Analyzer {
    static let description = AnalyzerDescription(name: "failing", summary: "Throws.", outputs: [OutputSpec("x", .int, doc: "never")])
    func run(_ context: AnalyzerContext) async throws -> AnalyzerResult { throw AnalyzerError("the data has no March") }
}

/// The step `id` of `report`, which must have run and succeeded: its outputs and findings are
/// then what its analyzer computed, never absent because the step was skipped or failed. The
/// failure names the step's status and reason.
@discardableResult
func succeeded(_ report: RunReport, _ id: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> RunReport.StepReport
{
    let step = try #require(
        report.step(id), "the report has no step `\(id)` (steps: \(report.steps.map(\.id)))", sourceLocation: sourceLocation)
    try #require(
        step.status == .succeeded, "step `\(id)` \(step.status.rawValue): \(step.reason ?? "(no reason given)")",
        sourceLocation: sourceLocation)
    return step
}

enum Support {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let registry = BuiltinAnalyzers.registry(adding: [ThresholdWindows.self, Echo.self, Failing.self])

    /// 28 days from Monday 2020-02-10: flask 100/day (50 on weekends), numpy 40/day, and a spike
    /// of 900 flask-login downloads on 2020-03-04 (Python 2).
    static let store: InMemoryEventStore = {
        var events: [DownloadEvent] = []
        let start = UTCTime.epoch(year: 2020, month: 2, day: 10)
        for d in 0..<28 {
            let t = start + Int64(d) * 86400 + 3600 * 12
            let weekend = d % 7 >= 5
            var e = DownloadEvent(timestamp: t, count: weekend ? 50 : 100)
            e.project = "flask"
            e.python = "3.7.3"
            events.append(e)
            var n = DownloadEvent(timestamp: t + 60, count: 40)
            n.project = "numpy"
            n.python = "3.7.3"
            events.append(n)
        }
        var spike = DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 4, hour: 9), count: 900)
        spike.project = "flask-login"
        spike.python = "2.7.16"
        events.append(spike)
        return InMemoryEventStore(events: events)
    }()

    static func parse(_ yaml: String, file: String = "test.yaml") throws -> Playbook {
        try Playbook.parse(yaml, file: file, directory: fixtures)
    }

    static func plan(_ yaml: String, overrides: [(String, String)] = [], limits: ExternalAnalyzerLimits = fast) async throws -> PlaybookPlan
    {
        try await PlaybookValidator(registry: registry, limits: limits).validate(try parse(yaml), overrides: overrides)
    }

    static let fast = ExternalAnalyzerLimits(timeout: 120, describeTimeout: 120, maxOutputBytes: 1 << 20)

    static func run(_ yaml: String, overrides: [(String, String)] = [], limits: ExternalAnalyzerLimits = fast) async throws -> RunReport {
        let plan = try await plan(yaml, overrides: overrides, limits: limits)
        return await PlaybookRunner(store: store, limits: limits).run(plan)
    }

    /// The diagnostics of a playbook that must not validate.
    static func errors(_ yaml: String, overrides: [(String, String)] = []) async -> [PlaybookDiagnostic] {
        do {
            _ = try await plan(yaml, overrides: overrides)
            Issue.record("expected validation errors")
            return []
        } catch let e as PlaybookValidationError {
            return e.diagnostics
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    /// The single diagnostic, checked for position and message fragments.
    static func expectError(
        _ yaml: String, at line: Int, _ column: Int, _ fragments: String..., overrides: [(String, String)] = [],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async {
        let diagnostics = await errors(yaml, overrides: overrides)
        guard let d = diagnostics.first(where: { $0.location.line == line && $0.location.column == column }) else {
            Issue.record(
                "no error at \(line):\(column); got:\n\(diagnostics.map(\.description).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
            return
        }
        for f in fragments {
            #expect(d.message.contains(f), "`\(d.message)` lacks `\(f)`", sourceLocation: sourceLocation)
        }
        #expect(d.description.hasPrefix("test.yaml:\(line):\(column): error: "), sourceLocation: sourceLocation)
    }
}
