import CasebookAnalysis
import CasebookYAML
import Foundation
import Yams

/// Playbook YAML, read through the shared defensive reader (``SafeYAML``): bounded size and
/// nesting, no anchors or aliases, no tabs in indentation, unique keys, and a line:column for
/// every problem.
enum YAMLDocument {
    /// Refused beyond this many bytes.
    static let maxBytes = 1 << 20
    /// Refused beyond this nesting depth (mappings and sequences).
    static let maxDepth = 64

    static let rules = SafeYAML.Rules(
        noun: "playbook", maxBytes: maxBytes, maxDepth: maxDepth,
        expected: "a mapping with `name` and `steps`",
        anchorHint: " (or use a playbook parameter)")

    /// Parses `text` into a node tree, or returns the diagnostic that stops it.
    static func compose(_ text: String, file: String) -> Result<Node, PlaybookValidationError> {
        do {
            return .success(try SafeYAML.compose(text, rules: rules))
        } catch {
            return .failure(
                PlaybookValidationError([
                    PlaybookDiagnostic(
                        SourceLocation(file: file, line: error.line ?? 1, column: error.column ?? 1), error.message)
                ]))
        }
    }
}

extension Node {
    /// This node's place in the file.
    func location(_ file: String) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// The node converted to a ``Value``: plain scalars become null, booleans and numbers;
    /// quoted and block scalars stay strings.
    var casebookValue: CasebookAnalysis.Value {
        switch self {
        case .scalar(let s):
            if s.style == .plain || s.style == .any {
                if self.null != nil { return .null }
                if let b = self.bool, ["true", "false", "True", "False", "TRUE", "FALSE"].contains(s.string) { return .bool(b) }
                if let i = self.int, Int64(exactly: i) != nil, !s.string.contains(".") { return .int(Int64(i)) }
                if let d = self.float, s.string.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) ?? false {
                    return .double(d)
                }
            }
            return .string(s.string)
        case .sequence(let seq): return .array(seq.map(\.casebookValue))
        case .mapping(let map):
            var o: [String: CasebookAnalysis.Value] = [:]
            for (k, v) in map { o[k.string ?? k.casebookValue.jsonString] = v.casebookValue }
            return .object(o)
        case .alias: return .null
        }
    }
}
