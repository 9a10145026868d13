import CasebookAnalysis
import CasebookCore
import Foundation

/// Runs a validated plan step by step. A step that fails does not stop the others; a step whose
/// inputs come from a failed or skipped step is skipped, and the report says why.
public struct PlaybookRunner: Sendable {
    public var store: any EventStore
    /// The run's catalog, shared by its steps.
    public var catalog: RunCatalog?
    public var limits: ExternalAnalyzerLimits
    /// Progress lines (the CLI prints them on stderr).
    public var progress: @Sendable (String) -> Void

    public init(
        store: any EventStore, catalogDirectory: URL? = nil, catalog: RunCatalog? = nil,
        limits: ExternalAnalyzerLimits = .init(),
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.store = store
        self.catalog = catalog ?? catalogDirectory.map { RunCatalog(directory: $0) }
        self.limits = limits
        self.progress = progress
    }

    public func run(_ plan: PlaybookPlan) async -> RunReport {
        var reports: [RunReport.StepReport] = []
        var outputs: [String: [String: Value]] = [:]
        var statuses: [String: StepStatus] = [:]
        let total = plan.steps.count
        for (index, planned) in plan.steps.enumerated() {
            let s = planned.step
            let started = Date()
            progress("[\(index + 1)/\(total)] \(s.id) (\(s.uses))...")
            let echo = StepEcho(stepID: s.id, progress: progress)
            func resolve(_ target: PlaybookExpression.Target) throws -> Value? {
                switch target {
                case .param(let n): return plan.params[n]
                case .stepOutput(let step, let out): return outputs[step]?[out]
                case .stepStatus(let step): return statuses[step].map { .string($0.rawValue) }
                }
            }
            var report = RunReport.StepReport(
                id: s.id, name: s.name, uses: s.uses, status: .succeeded, reason: nil,
                outputs: [:], findings: [], seconds: 0)
            do {
                // The condition first: its reason says more than "an input did not run".
                if let condition = planned.condition, !(try condition.evaluate(resolve)).isTruthy {
                    report.status = .skipped
                    report.reason =
                        Self.skipReason(s, condition, resolve)
                        ?? ("its condition does not hold" + explain(condition, resolve) + ".")
                } else if let dep = planned.inputDependencies.first(where: { statuses[$0] != .succeeded }) {
                    report.status = .skipped
                    report.reason =
                        "step `\(dep)` \(statuses[dep].map { $0 == .failed ? "failed" : "did not run" } ?? "did not run"), and this step uses its outputs."
                } else {
                    let result = try await runStep(planned, plan: plan, outputs: outputs, resolve: resolve, echo: echo)
                    report.outputs = result.outputs
                    report.findings = result.findings
                }
            } catch let skip as any StepSkippingError {
                report.status = .skipped
                report.reason = "\(skip)"
            } catch {
                report.status = .failed
                report.reason = "\(error)"
            }
            report.seconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
            statuses[s.id] = report.status
            if report.status == .succeeded { outputs[s.id] = report.outputs }
            echo.finish()
            progress(
                "[\(index + 1)/\(total)] \(s.id): \(report.status.rawValue)\(report.reason.map { " (\(StepEcho.reason($0)))" } ?? "") in \(String(format: "%.2f", report.seconds)) s"
            )
            reports.append(report)
        }
        return RunReport(
            playbook: .init(
                name: plan.playbook.name, file: plan.playbook.file,
                description: plan.playbook.description, params: plan.params),
            steps: reports)
    }

    /// The playbook's own sentence for a false condition: the only one, or the one for the
    /// first `&&` part that does not hold.
    static func skipReason(
        _ step: Playbook.Step, _ condition: PlaybookExpression,
        _ resolve: (PlaybookExpression.Target) throws -> Value?
    ) -> String? {
        let reasons = step.skipReasons
        guard !reasons.isEmpty else { return nil }
        var chosen = reasons[0]
        if reasons.count > 1 {
            let parts = PlaybookExpression.conjuncts(condition)
            if parts.count == reasons.count,
                let i = parts.firstIndex(where: { !((try? $0.evaluate(resolve))?.isTruthy ?? false) })
            {
                chosen = reasons[i]
            }
        }
        return ".!?".contains(chosen.last ?? ".") ? chosen : chosen + "."
    }

    /// Says in words why a condition is false: the parts of it that do not hold, each with the
    /// value it found, described briefly (never a whole list or object).
    private func explain(_ condition: PlaybookExpression, _ resolve: (PlaybookExpression.Target) throws -> Value?) -> String {
        let parts = Self.whyFalse(condition, resolve)
        return parts.isEmpty ? "" : ": " + parts.joined(separator: ", and ")
    }

    static func whyFalse(_ e: PlaybookExpression, _ resolve: (PlaybookExpression.Target) throws -> Value?) -> [String] {
        func value(_ x: PlaybookExpression) -> Value { (try? x.evaluate(resolve)) ?? .null }
        switch e {
        case .binary("&&", let a, let b):
            return value(a).isTruthy ? whyFalse(b, resolve) : whyFalse(a, resolve)
        case .binary("||", let a, let b):
            return whyFalse(a, resolve) + whyFalse(b, resolve)
        case .binary(let op, let a, let b) where ["==", "!=", "<", "<=", ">", ">="].contains(op):
            if op == "!=" { return ["\(text(a)) is \(brief(value(a)))"] }
            let words = ["==": "", "<": "below ", "<=": "at most ", ">": "above ", ">=": "at least "][op] ?? ""
            return ["\(text(a)) is \(brief(value(a))), not \(words)\(brief(value(b)))"]
        case .reference:
            return ["\(text(e)) is \(brief(value(e)))"]
        case .not(let x):
            return ["\(text(x)) is \(brief(value(x)))"]
        default:
            return []
        }
    }

    /// A reference as written (`steps.spike.outputs.windows`), or a short form of an expression.
    static func text(_ e: PlaybookExpression) -> String {
        switch e {
        case .reference(let path):
            return "`"
                + path.map { c -> String in
                    switch c {
                    case .name(let n): ".\(n)"
                    case .index(let i): "[\(i)]"
                    }
                }.joined().dropFirst() + "`"
        case .literal(let v): return brief(v)
        default: return "the expression"
        }
    }

    /// A value described in a few words: `"down"`, `null`, `an empty list`, `a list of 3 items`.
    static func brief(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let d): return String(d)
        case .string(let s): return s.isEmpty ? "empty" : "\"" + (s.count > 40 ? String(s.prefix(40)) + "…" : s) + "\""
        case .array(let a): return a.isEmpty ? "an empty list" : "a list of \(a.count) item\(a.count == 1 ? "" : "s")"
        case .object(let o): return o.isEmpty ? "an empty object" : "an object"
        }
    }

    private func runStep(
        _ planned: PlannedStep, plan: PlaybookPlan, outputs: [String: [String: Value]],
        resolve: (PlaybookExpression.Target) throws -> Value?, echo: StepEcho
    ) async throws -> AnalyzerResult {
        let s = planned.step
        var params: [String: Value] = [:]
        for (name, input) in planned.inputs { params[name] = try input.evaluate(resolve) }
        let description = planned.analyzer.description
        if let description { params = try description.validatedParameters(params) }
        let context = AnalyzerContext(
            stepID: s.id, parameters: params, store: store, steps: outputs,
            catalog: catalog, playbookDirectory: plan.playbook.directory,
            log: { echo.log($0) })
        var result: AnalyzerResult
        switch planned.analyzer {
        case .swift(let type):
            result = try await type.init().run(context)
        case .program(let program):
            var limits = self.limits
            if let t = s.timeoutSeconds { limits.timeout = t }
            result = try await ExternalAnalyzer.run(program, context: context, analyzerName: description?.name ?? s.uses, limits: limits)
        }
        if let description { try description.checkOutputs(of: &result, uses: s.uses) }
        return result
    }
}
