import CasebookAnalysis
import Foundation

/// How a step's analyzer is run.
public enum ResolvedAnalyzer: Sendable {
    /// A Swift analyzer from the registry.
    case swift(any Analyzer.Type)
    /// A program speaking the JSON protocol (see ``ExternalAnalyzer``).
    case program(ExternalProgram)

    /// Its description, when known (an external program that could not describe itself has none).
    public var description: AnalyzerDescription? {
        switch self {
        case .swift(let t): t.description
        case .program(let p): p.description
        }
    }
}

/// A checked playbook, ready to run: parameters resolved (defaults and `--set`), analyzers found.
public struct PlaybookPlan: Sendable {
    public var playbook: Playbook
    /// Playbook parameters after `--set` overrides.
    public var params: [String: Value]
    public var steps: [PlannedStep]
    /// Problems that do not stop the run (an external program that could not describe itself).
    public var warnings: [PlaybookDiagnostic]
}

/// One step of a plan.
public struct PlannedStep: Sendable {
    public var step: Playbook.Step
    public var analyzer: ResolvedAnalyzer
    /// Each `with:` entry as a value or a template, by parameter name.
    public var inputs: [String: PlannedInput]
    public var condition: PlaybookExpression?
    /// Steps whose outputs the inputs use: when one of them did not succeed, this step is skipped.
    public var inputDependencies: [String]
}

/// A parameter value as written: literal, or containing `${{ }}` references (possibly nested in lists/objects).
public indirect enum PlannedInput: Sendable {
    case literal(Value)
    case template(Template)
    case array([PlannedInput])
    case object([String: PlannedInput])

    func evaluate(_ resolve: (PlaybookExpression.Target) throws -> Value?) throws -> Value {
        switch self {
        case .literal(let v): return v
        case .template(let t): return try t.evaluate(resolve)
        case .array(let a): return .array(try a.map { try $0.evaluate(resolve) })
        case .object(let o): return .object(try o.mapValues { try $0.evaluate(resolve) })
        }
    }

    var references: [[PlaybookExpression.PathComponent]] {
        switch self {
        case .literal: []
        case .template(let t):
            t.parts.flatMap { part -> [[PlaybookExpression.PathComponent]] in
                if case .expression(let e, _, _) = part { return e.references } else { return [] }
            }
        case .array(let a): a.flatMap(\.references)
        case .object(let o): o.values.flatMap(\.references)
        }
    }
}

/// Checks a playbook against the analyzers it names, before anything runs: unknown analyzers and
/// parameters, missing parameters, wrong types, references to steps and outputs that do not exist
/// or come later, cycles, and bad `--set` overrides. Every problem is reported at once.
public struct PlaybookValidator: Sendable {
    public var registry: AnalyzerRegistry
    /// Limits for asking external programs to describe themselves.
    public var limits: ExternalAnalyzerLimits
    /// `PATH` used to find `casebook-analyzer-NAME` programs.
    public var searchPath: String

    public init(
        registry: AnalyzerRegistry, limits: ExternalAnalyzerLimits = .init(),
        searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    ) {
        self.registry = registry
        self.limits = limits
        self.searchPath = searchPath
    }

    /// Validates, returning a plan or throwing ``PlaybookValidationError`` with every problem.
    /// `overrides` are `--set NAME=VALUE` pairs, in order.
    public func validate(_ playbook: Playbook, overrides: [(String, String)] = []) async throws -> PlaybookPlan {
        var diagnostics: [PlaybookDiagnostic] = []
        var warnings: [PlaybookDiagnostic] = []
        let file = playbook.file

        // Parameters and overrides.
        var params: [String: Value] = [:]
        var paramKinds: [String: ValueKind] = [:]
        for p in playbook.params {
            params[p.name] = p.defaultValue ?? .null
            paramKinds[p.name] = p.kind ?? p.defaultValue.flatMap(Self.inferKind) ?? .any
        }
        for (name, text) in overrides {
            let here = SourceLocation(file: "--set \(name)=\(text)", line: 0, column: 0)
            guard let kind = paramKinds[name] else {
                let names = playbook.params.map(\.name)
                diagnostics.append(
                    PlaybookDiagnostic(
                        here,
                        "the playbook \(file) has no parameter `\(name)`\(Suggest.didYouMean(name, among: names))\(names.isEmpty ? " (it has no parameters)" : " (parameters: \(names.joined(separator: ", ")))")"
                    ))
                continue
            }
            let v = kind.parse(commandLine: text)
            if let problem = kind.problem(with: v) ?? playbook.params.first(where: { $0.name == name })?.range?.problem(with: v) {
                diagnostics.append(PlaybookDiagnostic(here, "parameter `\(name)`: \(problem)"))
            } else {
                params[name] = v
            }
        }

        // Step ids.
        var firstIndex: [String: Int] = [:]
        for (i, s) in playbook.steps.enumerated() {
            if let j = firstIndex[s.id] {
                diagnostics.append(
                    PlaybookDiagnostic(
                        s.idLocation,
                        "duplicate step id `\(s.id)`; step \(j + 1) (line \(playbook.steps[j].idLocation.line)) already uses it\(s.idLocation == s.location ? " (ids default to the analyzer's name; give each step an `id`)" : "")"
                    ))
            } else {
                firstIndex[s.id] = i
            }
        }

        // Analyzers.
        var describeCache: [String: Result<ExternalProgram, ExternalAnalyzerError>] = [:]
        var resolved: [ResolvedAnalyzer?] = []
        for s in playbook.steps {
            resolved.append(await resolve(s, playbook: playbook, cache: &describeCache, diagnostics: &diagnostics, warnings: &warnings))
        }

        // Inputs, conditions and references.
        var parsedInputs: [[String: PlannedInput]] = []
        var conditions: [PlaybookExpression?] = []
        var referencedSteps: [[(String, SourceLocation)]] = []  // per step: step ids referenced
        for s in playbook.steps {
            var inputs: [String: PlannedInput] = [:]
            var refs: [(String, SourceLocation)] = []
            for input in s.inputs {
                do {
                    let planned = try Self.plan(input.value)
                    inputs[input.name] = planned
                    for path in planned.references {
                        if case .success((.stepOutput(let id, _), _)) = PlaybookExpression.target(of: path) {
                            refs.append((id, input.valueLocation))
                        }
                    }
                } catch {
                    diagnostics.append(PlaybookDiagnostic(input.valueLocation, "parameter `\(input.name)`: \(error.message)"))
                }
            }
            var condition: PlaybookExpression?
            if let c = s.condition, let loc = s.conditionLocation {
                var text = c.trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("${{"), text.hasSuffix("}}") { text = String(text.dropFirst(3).dropLast(2)) }
                do {
                    condition = try PlaybookExpression.parse(text)
                    for path in condition!.references {
                        if case .success((.stepOutput(let id, _), _)) = PlaybookExpression.target(of: path) { refs.append((id, loc)) }
                        if case .success((.stepStatus(let id), _)) = PlaybookExpression.target(of: path) { refs.append((id, loc)) }
                    }
                } catch {
                    diagnostics.append(
                        PlaybookDiagnostic(loc, "invalid condition `\(text)`: \(error.message) (at character \(error.offset + 1))"))
                }
            }
            if s.skipReasons.count > 1, let loc = s.skipReasonLocation {
                let parts = condition.map(PlaybookExpression.conjuncts)?.count ?? 0
                if s.condition == nil {
                    diagnostics.append(
                        PlaybookDiagnostic(loc, "`skip-reason` gives \(s.skipReasons.count) sentences, but the step has no `if`"))
                } else if condition != nil, parts != s.skipReasons.count {
                    diagnostics.append(
                        PlaybookDiagnostic(
                            loc,
                            "`skip-reason` gives \(s.skipReasons.count) sentences, but the `if` has \(parts) part\(parts == 1 ? "" : "s") joined by `&&`: give one sentence, or one per part"
                        ))
                }
            }
            parsedInputs.append(inputs)
            conditions.append(condition)
            referencedSteps.append(refs)
        }

        var planned: [PlannedStep] = []
        for (index, s) in playbook.steps.enumerated() {
            let description = resolved[index]?.description
            // Reference checks, shared by inputs and the condition.
            func check(_ path: [PlaybookExpression.PathComponent], at loc: SourceLocation, context: String) -> ValueKind? {
                switch PlaybookExpression.target(of: path) {
                case .failure(let e):
                    diagnostics.append(PlaybookDiagnostic(loc, "\(context): \(e.message)"))
                    return nil
                case .success(let (target, rest)):
                    switch target {
                    case .param(let name):
                        guard let kind = paramKinds[name] else {
                            let names = playbook.params.map(\.name)
                            diagnostics.append(
                                PlaybookDiagnostic(
                                    loc,
                                    "\(context): unknown parameter `params.\(name)`\(Suggest.didYouMean(name, among: names))\(names.isEmpty ? " (the playbook declares no `params`)" : " (params: \(names.joined(separator: ", ")))")"
                                ))
                            return nil
                        }
                        return rest.isEmpty ? kind : nil
                    case .stepStatus(let id), .stepOutput(let id, _):
                        guard let j = firstIndex[id] else {
                            diagnostics.append(
                                PlaybookDiagnostic(
                                    loc,
                                    "\(context): no step has id `\(id)`\(Suggest.didYouMean(id, among: playbook.steps.map(\.id))) (steps: \(playbook.steps.map(\.id).joined(separator: ", ")))"
                                ))
                            return nil
                        }
                        if j == index {
                            diagnostics.append(
                                PlaybookDiagnostic(
                                    loc,
                                    "\(context): step `\(id)` refers to its own outputs; a step can only use outputs of earlier steps (this is a cycle)"
                                ))
                            return nil
                        }
                        if j > index {
                            if let path = cyclePath(from: j, to: index, referencedSteps, firstIndex) {
                                let names = ([s.id] + path).map { "`\($0)`" }.joined(separator: " → ")
                                diagnostics.append(
                                    PlaybookDiagnostic(loc, "\(context): cycle between steps: \(names) (each uses the next one's outputs)"))
                            } else {
                                diagnostics.append(
                                    PlaybookDiagnostic(
                                        loc,
                                        "\(context): step `\(id)` runs later (step \(j + 1), line \(playbook.steps[j].location.line)); a step can only use outputs of earlier steps, so move `\(id)` before `\(s.id)`"
                                    ))
                            }
                            return nil
                        }
                        guard case .stepOutput(_, let output) = target else { return rest.isEmpty ? .string : nil }
                        if let other = resolved[j]?.description {
                            guard let spec = other.output(named: output) else {
                                let names = other.outputs.map(\.name)
                                diagnostics.append(
                                    PlaybookDiagnostic(
                                        loc,
                                        "\(context): analyzer `\(other.name)` (step `\(id)`) has no output `\(output)`\(Suggest.didYouMean(output, among: names))\(names.isEmpty ? " (it declares no outputs)" : " (outputs: \(names.joined(separator: ", ")))")"
                                    ))
                                return nil
                            }
                            return rest.isEmpty ? spec.kind : nil
                        }
                        return nil
                    }
                }
            }

            var inputs = parsedInputs[index]
            if let description {
                for input in s.inputs {
                    guard let spec = description.parameter(named: input.name) else {
                        let names = description.parameters.map(\.name)
                        diagnostics.append(
                            PlaybookDiagnostic(
                                input.keyLocation,
                                "unknown parameter `\(input.name)` for analyzer `\(description.name)`\(Suggest.didYouMean(input.name, among: names))\(names.isEmpty ? " (it takes no parameters)" : " (parameters: \(names.joined(separator: ", ")))")"
                            ))
                        inputs[input.name] = nil
                        continue
                    }
                    guard let plannedInput = inputs[input.name] else { continue }
                    switch plannedInput {
                    case .literal(let v):
                        if v == .null {
                            if !spec.acceptsNull {
                                diagnostics.append(
                                    PlaybookDiagnostic(
                                        input.valueLocation, "parameter `\(input.name)` cannot be null: expected \(spec.kind.name)"))
                            }
                        } else if let problem = spec.problem(with: v) {
                            diagnostics.append(PlaybookDiagnostic(input.valueLocation, "parameter `\(input.name)`: \(problem)"))
                        }
                    case .template(let t):
                        var kinds: [ValueKind?] = []
                        for part in t.parts {
                            if case .expression(let e, _, _) = part {
                                for path in e.references {
                                    kinds.append(check(path, at: input.valueLocation, context: "parameter `\(input.name)`"))
                                }
                            }
                        }
                        if let whole = t.wholeExpression, case .reference = whole, let k = kinds.first ?? nil {
                            if !Self.compatible(k, with: spec.kind) {
                                diagnostics.append(
                                    PlaybookDiagnostic(
                                        input.valueLocation,
                                        "parameter `\(input.name)`: expected \(spec.kind.name), but `\(Self.source(t))` is \(k.name)"))
                            } else if let range = spec.range {
                                // A playbook parameter's value (default or --set) is known now: check its range.
                                struct NotAParam: Error {}
                                let known = try? whole.evaluate { target in
                                    guard case .param(let n) = target else { throw NotAParam() }
                                    return params[n]
                                }
                                if let v = known, v != .null, let problem = range.problem(with: v) {
                                    diagnostics.append(
                                        PlaybookDiagnostic(
                                            input.valueLocation, "parameter `\(input.name)` (`\(Self.source(t))`): \(problem)"))
                                }
                            }
                        } else if t.wholeExpression == nil, !Self.compatible(.string, with: spec.kind) {
                            diagnostics.append(
                                PlaybookDiagnostic(
                                    input.valueLocation,
                                    "parameter `\(input.name)`: expected \(spec.kind.name), but text with `${{ }}` makes a string; write the reference alone, as `\"${{ ... }}\"`"
                                ))
                        }
                    case .array, .object:
                        for path in plannedInput.references {
                            _ = check(path, at: input.valueLocation, context: "parameter `\(input.name)`")
                        }
                        if case .array = plannedInput, !Self.compatible(.list(.any), with: spec.kind) {
                            diagnostics.append(
                                PlaybookDiagnostic(
                                    input.valueLocation, "parameter `\(input.name)`: expected \(spec.kind.name), found a list"))
                        }
                        if case .object = plannedInput, !Self.compatible(.object, with: spec.kind) {
                            diagnostics.append(
                                PlaybookDiagnostic(
                                    input.valueLocation, "parameter `\(input.name)`: expected \(spec.kind.name), found a mapping"))
                        }
                    }
                }
                for spec in description.parameters
                where spec.isRequired && inputs[spec.name] == nil
                    && !s.inputs.contains(where: { $0.name == spec.name })
                {
                    diagnostics.append(
                        PlaybookDiagnostic(
                            s.location,
                            "step `\(s.id)` is missing required parameter `\(spec.name)` of analyzer `\(description.name)` (\(spec.kind.name): \(spec.doc))"
                        ))
                }
            } else {
                for input in s.inputs {
                    for path in inputs[input.name]?.references ?? [] {
                        _ = check(path, at: input.valueLocation, context: "parameter `\(input.name)`")
                    }
                }
            }
            if let condition = conditions[index], let loc = s.conditionLocation {
                for path in condition.references { _ = check(path, at: loc, context: "condition") }
            }
            var deps: [String] = []
            for input in inputs.values {
                for path in input.references {
                    if case .success((.stepOutput(let id, _), _)) = PlaybookExpression.target(of: path), !deps.contains(id) {
                        deps.append(id)
                    }
                }
            }
            if let analyzer = resolved[index] {
                planned.append(
                    PlannedStep(step: s, analyzer: analyzer, inputs: inputs, condition: conditions[index], inputDependencies: deps))
            }
        }
        if !diagnostics.isEmpty { throw PlaybookValidationError(diagnostics) }
        return PlaybookPlan(playbook: playbook, params: params, steps: planned, warnings: warnings)
    }

    /// Finds `uses:`.
    private func resolve(
        _ s: Playbook.Step, playbook: Playbook, cache: inout [String: Result<ExternalProgram, ExternalAnalyzerError>],
        diagnostics: inout [PlaybookDiagnostic], warnings: inout [PlaybookDiagnostic]
    ) async -> ResolvedAnalyzer? {
        let uses = s.uses
        guard !uses.isEmpty else { return nil }
        var executable: URL?
        if uses.hasPrefix("./") || uses.hasPrefix("../") || uses.hasPrefix("/") {
            let url = uses.hasPrefix("/") ? URL(fileURLWithPath: uses) : playbook.directory.appendingPathComponent(uses).standardizedFileURL
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else {
                diagnostics.append(
                    PlaybookDiagnostic(
                        s.usesLocation, "program `\(uses)` not found (looked for \(url.path); paths are relative to the playbook's folder)")
                )
                return nil
            }
            executable = url
        } else if uses.hasPrefix("casebook-analyzer-") {
            let found = searchPath.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(uses) }
                .first { FileManager.default.isExecutableFile(atPath: $0.path) }
            guard let found else {
                diagnostics.append(PlaybookDiagnostic(s.usesLocation, "program `\(uses)` not found on PATH (\(searchPath))"))
                return nil
            }
            executable = found
        }
        if let executable {
            let key = executable.path
            if cache[key] == nil {
                cache[key] = await ExternalAnalyzer.describe(ExternalProgram(url: executable, displayName: uses), limits: limits)
            }
            switch cache[key]! {
            case .success(let program):
                return .program(program)
            case .failure(let error):
                warnings.append(
                    PlaybookDiagnostic(
                        s.usesLocation,
                        "could not ask `\(uses)` to describe itself (\(error.message)); its parameters and outputs are not checked before the run"
                    ))
                return .program(ExternalProgram(url: executable, displayName: uses))
            }
        }
        if let t = registry.analyzer(named: uses) { return .swift(t) }
        diagnostics.append(
            PlaybookDiagnostic(
                s.usesLocation,
                "unknown analyzer `\(uses)`\(Suggest.didYouMean(uses, among: registry.names)) (run `casebook analyzers` for the list; programs are written `./path/to/program` or `casebook-analyzer-NAME`)"
            ))
        return nil
    }

    static func plan(_ value: Value) throws(ExpressionError) -> PlannedInput {
        switch value {
        case .string(let s) where Template.containsReference(s): return .template(try Template.parse(s))
        case .array(let a):
            let items = try a.map { v throws(ExpressionError) in try plan(v) }
            if items.allSatisfy({ if case .literal = $0 { true } else { false } }) { return .literal(value) }
            return .array(items)
        case .object(let o):
            var out: [String: PlannedInput] = [:]
            var literal = true
            for (k, v) in o {
                let p = try plan(v)
                if case .literal = p {} else { literal = false }
                out[k] = p
            }
            return literal ? .literal(value) : .object(out)
        default: return .literal(value)
        }
    }

    static func source(_ t: Template) -> String {
        if case .expression(_, let source, _)? = t.parts.first { return source }
        return ""
    }

    /// The kind a parameter's default suggests.
    static func inferKind(_ v: Value) -> ValueKind? {
        switch v {
        case .null: nil
        case .bool: .bool
        case .int: .int
        case .double: .number
        case .string: .string
        case .array: .list(.any)
        case .object: .object
        }
    }

    /// Whether a value of kind `source` fits where `target` is expected (unknown shapes pass).
    static func compatible(_ source: ValueKind, with target: ValueKind) -> Bool {
        if source == target || source == .any || target == .any { return true }
        switch (source, target) {
        case (.int, .number), (.int, .duration), (.int, .date): return true
        case (.string, .dimension), (.string, .bucket), (.string, .duration), (.string, .date), (.string, .choice): return true
        case (.dimension, .string), (.bucket, .string), (.date, .string), (.duration, .string), (.choice, .string): return true
        case (.choice, .choice), (.choice, .dimension), (.choice, .bucket): return true
        case (.list(let a), .list(let b)): return compatible(a, with: b)
        default: return false
        }
    }
}

/// The steps, after `from`, whose references lead back to `to` (for cycle messages).
private func cyclePath(from: Int, to: Int, _ refs: [[(String, SourceLocation)]], _ index: [String: Int]) -> [String]? {
    var visited = Set<Int>()
    func dfs(_ i: Int, _ path: [Int]) -> [Int]? {
        if i == to { return path }
        guard visited.insert(i).inserted else { return nil }
        for (id, _) in refs[i] {
            if let j = index[id], let p = dfs(j, path + [j]) { return p }
        }
        return nil
    }
    guard let p = dfs(from, [from]) else { return nil }
    return p.map { i in index.first { $0.value == i }!.key }
}
