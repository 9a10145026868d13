import CasebookAnalysis
import Foundation
import Yams

/// A playbook as written: name, description, parameters and ordered steps, each piece with its
/// place in the file. Load one with ``Playbook/load(from:)``; check it with ``PlaybookValidator``.
///
/// ```yaml
/// name: Downloads spike
/// description: Why did downloads jump?
/// params:
///   bucket: {default: day, type: bucket, description: Series resolution.}
/// steps:
///   - id: spike
///     uses: spike-detection
///     with: {bucket: "${{ params.bucket }}"}
///   - id: who
///     uses: contributors
///     if: steps.spike.outputs.windows
///     with: {windows: "${{ steps.spike.outputs.windows }}"}
/// ```
public struct Playbook: Sendable {
    /// The file as given (used in messages).
    public var file: String
    /// The folder relative paths in the playbook are resolved against.
    public var directory: URL
    public var name: String
    public var description: String
    public var params: [Param]
    public var steps: [Step]

    /// A playbook-level parameter (`params:`), overridable with `--set NAME=VALUE`.
    public struct Param: Sendable {
        public var name: String
        /// Declared with `type:`; `nil` means "any" (inferred from the default when there is one).
        public var kind: ValueKind?
        public var defaultValue: Value?
        public var description: String
        public var location: SourceLocation
        /// Declared with `minimum:` / `maximum:` (numbers only).
        public var range: ValueRange? = nil
    }

    /// One `with:` entry of a step.
    public struct Input: Sendable {
        public var name: String
        /// The value as written; strings may hold `${{ ... }}` references.
        public var value: Value
        public var keyLocation: SourceLocation
        public var valueLocation: SourceLocation
    }

    /// One step.
    public struct Step: Sendable {
        public var id: String
        /// Display name (`name:`), optional.
        public var name: String?
        /// A built-in analyzer name, `./relative/program`, or `casebook-analyzer-NAME`.
        public var uses: String
        public var inputs: [Input]
        /// The `if:` condition, without `${{ }}`.
        public var condition: String?
        /// Limit for an external program, in seconds (`timeout-seconds:`).
        public var timeoutSeconds: Double?
        /// Why the step does not run when its condition is false, as sentences for the report
        /// (`skip-reason:`, e.g. "the window is a drop, and release attribution applies to rises"):
        /// one for the whole condition, or one per part of a condition written `A && B && C`, the
        /// report giving the first part that does not hold.
        public var skipReasons: [String] = []
        public var skipReasonLocation: SourceLocation? = nil
        public var location: SourceLocation
        public var idLocation: SourceLocation
        public var usesLocation: SourceLocation
        public var conditionLocation: SourceLocation?
    }

    /// Reads and parses a playbook file. Throws ``PlaybookValidationError`` with every problem found.
    public static func load(from url: URL, displayPath: String? = nil) throws -> Playbook {
        let file = displayPath ?? url.path
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            if let size = attributes[.size] as? Int, size > YAMLDocument.maxBytes {
                throw PlaybookValidationError([
                    PlaybookDiagnostic(
                        SourceLocation(file: file, line: 1, column: 1),
                        "the playbook is \(size) bytes; playbooks are limited to \(YAMLDocument.maxBytes) bytes")
                ])
            }
            data = try Data(contentsOf: url)
        } catch let e as PlaybookValidationError {
            throw e
        } catch {
            throw PlaybookValidationError([
                PlaybookDiagnostic(
                    SourceLocation(file: file, line: 0, column: 0),
                    "cannot read the playbook: \(error.localizedDescription)")
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PlaybookValidationError([
                PlaybookDiagnostic(
                    SourceLocation(file: file, line: 1, column: 1),
                    "the playbook is not UTF-8 text")
            ])
        }
        return try parse(text, file: file, directory: url.deletingLastPathComponent())
    }

    /// Parses playbook YAML text. `file` is used in messages; `directory` resolves relative paths.
    public static func parse(_ text: String, file: String, directory: URL) throws -> Playbook {
        let root: Node
        switch YAMLDocument.compose(text, file: file) {
        case .success(let node): root = node
        case .failure(let error): throw error
        }
        var diagnostics: [PlaybookDiagnostic] = []
        func error(_ node: Node, _ message: String) { diagnostics.append(PlaybookDiagnostic(node.location(file), message)) }

        guard case .mapping(let top) = root else {
            throw PlaybookValidationError([
                PlaybookDiagnostic(
                    root.location(file),
                    "expected a mapping with `name`, `description`, `params` and `steps`, found \(kindName(root))")
            ])
        }
        var playbook = Playbook(file: file, directory: directory, name: "", description: "", params: [], steps: [])
        var sawName = false
        var sawSteps = false
        let topKeys = ["name", "description", "params", "steps"]
        for (keyNode, valueNode) in top {
            guard let key = keyNode.string else {
                error(keyNode, "expected a text key")
                continue
            }
            switch key {
            case "name":
                sawName = true
                if let s = scalarString(valueNode) {
                    playbook.name = s
                } else {
                    error(valueNode, "expected the playbook's name as text, found \(kindName(valueNode))")
                }
            case "description":
                if let s = scalarString(valueNode) {
                    playbook.description = s
                } else {
                    error(valueNode, "expected a description as text, found \(kindName(valueNode))")
                }
            case "params":
                guard case .mapping(let params) = valueNode else {
                    if valueNode.null == nil {
                        error(
                            valueNode,
                            "expected `params` to be a mapping of NAME: {default:, type:, description:}, found \(kindName(valueNode))")
                    }
                    continue
                }
                for (pk, pv) in params {
                    guard let name = pk.string else {
                        error(pk, "expected a parameter name")
                        continue
                    }
                    var param = Param(name: name, kind: nil, defaultValue: nil, description: "", location: pk.location(file))
                    if case .mapping(let spec) = pv {
                        for (sk, sv) in spec {
                            switch sk.string ?? "" {
                            case "default": param.defaultValue = sv.casebookValue
                            case "description": param.description = scalarString(sv) ?? ""
                            case "type":
                                let t = scalarString(sv) ?? ""
                                if let kind = ValueKind(name: t) {
                                    param.kind = kind
                                } else {
                                    error(
                                        sv,
                                        "unknown type `\(t)`\(Suggest.didYouMean(t, among: ValueKind.names)) (types: \(ValueKind.names.joined(separator: ", ")))"
                                    )
                                }
                            case "minimum", "maximum":
                                let bound: Double?
                                switch sv.casebookValue {
                                case .int(let i): bound = Double(i)
                                case .double(let d) where d.isFinite: bound = d
                                default: bound = nil
                                }
                                guard let bound else {
                                    error(sv, "expected a number for `\(sk.string ?? "")` of parameter `\(name)`, found \(kindName(sv))")
                                    continue
                                }
                                var r = param.range ?? ValueRange()
                                if sk.string == "minimum" { r.minimum = bound } else { r.maximum = bound }
                                param.range = r
                            default:
                                let k = sk.string ?? ""
                                error(
                                    sk,
                                    "unknown key `\(k)` in parameter `\(name)`\(Suggest.didYouMean(k, among: ["default", "type", "description", "minimum", "maximum"])) (expected default, type, description, minimum, maximum)"
                                )
                            }
                        }
                        if let r = param.range, let lo = r.minimum, let hi = r.maximum, lo > hi {
                            error(pv, "parameter `\(name)`: minimum \(ValueRange.text(lo)) is above maximum \(ValueRange.text(hi))")
                        }
                        if param.range != nil, let kind = param.kind, kind != .int, kind != .number {
                            error(
                                pv, "parameter `\(name)`: `minimum` and `maximum` apply to numbers (type int or number), not \(kind.name)")
                        }
                    } else {
                        param.defaultValue = pv.casebookValue  // `NAME: value` shorthand
                    }
                    if let d = param.defaultValue, d != .null, let p = param.kind?.problem(with: d) ?? param.range?.problem(with: d) {
                        error(pv, "default of parameter `\(name)`: \(p)")
                    }
                    playbook.params.append(param)
                }
            case "steps":
                sawSteps = true
                guard case .sequence(let steps) = valueNode else {
                    error(valueNode, "expected `steps` to be a list of steps (`- id: ...`), found \(kindName(valueNode))")
                    continue
                }
                if steps.isEmpty { error(valueNode, "a playbook needs at least one step") }
                for (index, stepNode) in steps.enumerated() {
                    if let step = parseStep(stepNode, index: index, file: file, into: &diagnostics) { playbook.steps.append(step) }
                }
            default:
                error(
                    keyNode,
                    "unknown key `\(key)`\(Suggest.didYouMean(key, among: topKeys)) (a playbook has \(topKeys.joined(separator: ", ")))")
            }
        }
        if !sawName { error(root, "missing `name`: every playbook needs a name") }
        if !sawSteps { error(root, "missing `steps`: every playbook needs a list of steps") }
        if !diagnostics.isEmpty { throw PlaybookValidationError(diagnostics) }
        return playbook
    }

    static let stepKeys = ["id", "name", "uses", "with", "if", "skip-reason", "timeout-seconds"]

    private static func parseStep(_ node: Node, index: Int, file: String, into diagnostics: inout [PlaybookDiagnostic]) -> Step? {
        func error(_ node: Node, _ message: String) { diagnostics.append(PlaybookDiagnostic(node.location(file), message)) }
        guard case .mapping(let map) = node else {
            error(node, "expected step \(index + 1) to be a mapping with `id`, `uses` and `with`, found \(kindName(node))")
            return nil
        }
        var step = Step(
            id: "", name: nil, uses: "", inputs: [], condition: nil, timeoutSeconds: nil,
            location: node.location(file), idLocation: node.location(file),
            usesLocation: node.location(file), conditionLocation: nil)
        var hasUses = false
        var hasID = false
        for (k, v) in map {
            guard let key = k.string else {
                error(k, "expected a text key")
                continue
            }
            switch key {
            case "id":
                hasID = true
                step.idLocation = v.location(file)
                guard let id = scalarString(v), !id.isEmpty else {
                    error(v, "expected a step id as text, found \(kindName(v))")
                    continue
                }
                if id.first!.isLetter || id.first == "_",
                    id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }), id.unicodeScalars.allSatisfy(\.isASCII)
                {
                    step.id = id
                } else {
                    error(v, "invalid step id `\(id)`: use letters, digits, `_` and `-`, starting with a letter")
                }
            case "name": step.name = scalarString(v)
            case "uses":
                hasUses = true
                step.usesLocation = v.location(file)
                if let u = scalarString(v), !u.isEmpty {
                    step.uses = u
                } else {
                    error(v, "expected an analyzer name or a program path, found \(kindName(v))")
                }
            case "if":
                step.conditionLocation = v.location(file)
                if let c = scalarString(v) {
                    step.condition = c
                } else if let b = v.bool {
                    step.condition = b ? "true" : "false"
                } else {
                    error(v, "expected a condition as text (e.g. `steps.spike.outputs.windows`), found \(kindName(v))")
                }
            case "skip-reason":
                step.skipReasonLocation = v.location(file)
                if let r = scalarString(v), !r.trimmingCharacters(in: .whitespaces).isEmpty {
                    step.skipReasons = [r]
                } else if case .sequence(let items) = v, !items.isEmpty,
                    case let texts = items.compactMap(scalarString), texts.count == items.count,
                    texts.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty })
                {
                    step.skipReasons = texts
                } else {
                    error(
                        v,
                        "expected a sentence (or a list of sentences, one per `&&` part of the `if`) saying why the step does not run, found \(kindName(v))"
                    )
                }
            case "timeout-seconds":
                if let d = v.float, d > 0 { step.timeoutSeconds = d } else { error(v, "expected a positive number of seconds") }
            case "with":
                guard case .mapping(let with) = v else {
                    if v.null == nil { error(v, "expected `with` to be a mapping of parameter names to values, found \(kindName(v))") }
                    continue
                }
                for (wk, wv) in with {
                    guard let name = wk.string else {
                        error(wk, "expected a parameter name")
                        continue
                    }
                    step.inputs.append(
                        Input(name: name, value: wv.casebookValue, keyLocation: wk.location(file), valueLocation: wv.location(file)))
                }
            default:
                error(
                    k,
                    "unknown key `\(key)` in a step\(Suggest.didYouMean(key, among: stepKeys)) (a step has \(stepKeys.joined(separator: ", ")))"
                )
            }
        }
        if !hasUses {
            error(node, "step \(index + 1) has no `uses`: name a built-in analyzer, `./path/to/program` or `casebook-analyzer-NAME`")
        }
        if !hasID {
            // Like GitHub Actions, the id may be left out; derive it from `uses`.
            let base = step.uses.split(separator: "/").last.map(String.init) ?? "step"
            let stem = base.split(separator: ".").first.map(String.init) ?? base
            step.id = stem.isEmpty ? "step\(index + 1)" : stem
        }
        return step
    }

    static func scalarString(_ node: Node) -> String? {
        if case .scalar(let s) = node { return s.string }
        return nil
    }

    static func kindName(_ node: Node) -> String {
        switch node {
        case .scalar(let s): s.string.isEmpty ? "nothing" : "`\(s.string.count > 40 ? String(s.string.prefix(37)) + "..." : s.string)`"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
