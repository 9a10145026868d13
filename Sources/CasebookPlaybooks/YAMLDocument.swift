import CasebookAnalysis
import Foundation
import Yams

/// Reads YAML defensively: bounded size and nesting, no anchors or aliases, no tabs in
/// indentation, unique keys, and a line:column for every problem.
enum YAMLDocument {
    /// Refused beyond this many bytes.
    static let maxBytes = 1 << 20
    /// Refused beyond this nesting depth (mappings and sequences).
    static let maxDepth = 64

    /// Parses `text` into a node tree, or returns the diagnostics that stop it.
    static func compose(_ text: String, file: String) -> Result<Node, PlaybookValidationError> {
        func fail(_ line: Int, _ column: Int, _ message: String) -> Result<Node, PlaybookValidationError> {
            .failure(PlaybookValidationError([PlaybookDiagnostic(SourceLocation(file: file, line: line, column: column), message)]))
        }
        if text.utf8.count > maxBytes {
            return fail(1, 1, "the playbook is \(text.utf8.count) bytes; playbooks are limited to \(maxBytes) bytes")
        }
        if let problem = prescan(text) { return fail(problem.line, problem.column, problem.message) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return .failure(PlaybookValidationError([diagnostic(for: error, text: text, file: file)]))
        } catch {
            return fail(1, 1, "cannot read YAML: \(error)")
        }
        guard let root else { return fail(1, 1, "the playbook is empty; expected a mapping with `name` and `steps`") }
        if let problem = walk(root, depth: 0) { return fail(problem.line, problem.column, problem.message) }
        return .success(root)
    }

    struct Problem { var line: Int; var column: Int; var message: String }

    /// Cheap checks before libyaml sees the text: tabs in indentation, flow nesting, anchors and aliases.
    static func prescan(_ text: String) -> Problem? {
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Array(rawLine.unicodeScalars)
            // Indentation (including "- " sequence markers) must be spaces.
            var i = 0
            while i < line.count, line[i] == " " || line[i] == "\t" || (line[i] == "-" && i + 1 < line.count && (line[i + 1] == " " || line[i + 1] == "\t")) {
                if line[i] == "\t" {
                    return Problem(line: lineNumber, column: i + 1,
                                   message: "found a tab in indentation; YAML indentation must use spaces")
                }
                i += 1
            }
            if i > 256 {
                return Problem(line: lineNumber, column: i + 1, message: "indentation deeper than 256 columns; playbooks are limited to \(maxDepth) levels of nesting")
            }
            // Flow nesting, anchors and aliases, outside quotes and comments.
            var depth = 0
            var quote: Unicode.Scalar?
            var previousSignificant: Unicode.Scalar? = nil
            var j = 0
            while j < line.count {
                let c = line[j]
                if let q = quote {
                    if c == q { quote = nil }
                    else if c == "\\" && q == "\"" { j += 1 }
                    j += 1
                    continue
                }
                switch c {
                case "#" where j == 0 || line[j - 1] == " ": j = line.count; continue
                case "\"", "'":
                    if previousSignificant == nil || ":-[{,?".unicodeScalars.contains(previousSignificant!) { quote = c }
                case "[", "{":
                    depth += 1
                    if depth > maxDepth {
                        return Problem(line: lineNumber, column: j + 1, message: "nesting deeper than \(maxDepth) levels; a playbook does not need that much")
                    }
                case "]", "}": depth = max(0, depth - 1)
                case "&", "*":
                    let atNodeStart = previousSignificant == nil || ":-[{,?".unicodeScalars.contains(previousSignificant!)
                    let next = j + 1 < line.count ? line[j + 1] : " "
                    let nameStart = !(next == " " || next == "," || next == "]" || next == "}")
                    if atNodeStart && nameStart && (j == 0 || line[j - 1] == " " || "[{,".unicodeScalars.contains(line[j - 1])) {
                        return Problem(line: lineNumber, column: j + 1, message: anchorMessage)
                    }
                default: break
                }
                if c != " " { previousSignificant = c }
                j += 1
            }
        }
        return nil
    }

    static let anchorMessage = "YAML anchors and aliases (`&name`, `*name`) are not allowed in playbooks; write the value out (or use a playbook parameter)"

    /// Depth limit and anchors on the composed tree (a second line of defence).
    static func walk(_ node: Node, depth: Int) -> Problem? {
        let mark = node.mark
        if depth > maxDepth {
            return Problem(line: mark?.line ?? 1, column: mark?.column ?? 1, message: "nesting deeper than \(maxDepth) levels; a playbook does not need that much")
        }
        if node.anchor != nil {
            return Problem(line: mark?.line ?? 1, column: mark?.column ?? 1, message: anchorMessage)
        }
        switch node {
        case .scalar: return nil
        case .alias: return Problem(line: mark?.line ?? 1, column: mark?.column ?? 1, message: anchorMessage)
        case .sequence(let seq):
            for child in seq { if let p = walk(child, depth: depth + 1) { return p } }
        case .mapping(let map):
            for (k, v) in map {
                if let p = walk(k, depth: depth + 1) ?? walk(v, depth: depth + 1) { return p }
            }
        }
        return nil
    }

    static func diagnostic(for error: YamlError, text: String, file: String) -> PlaybookDiagnostic {
        func at(_ mark: Mark, _ message: String) -> PlaybookDiagnostic {
            PlaybookDiagnostic(SourceLocation(file: file, line: mark.line, column: mark.column), message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            if problem.contains("mapping values are not allowed") || problem.contains("did not find expected key")
                || problem.contains("did not find expected '-' indicator") {
                message += "; check the indentation of this line and the one before"
            }
            return at(mark, message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let second = secondOccurrence(of: key, after: context.mark, in: text) ?? (context.mark.line, context.mark.column)
            return PlaybookDiagnostic(SourceLocation(file: file, line: second.0, column: second.1), "duplicate key `\(key)`; it is already defined at line \(context.mark.line), column \(context.mark.column)")
        case .reader(let problem, let offset, _, _):
            return PlaybookDiagnostic(SourceLocation(file: file, line: 1, column: 1),
                                      "cannot read the file as UTF-8 text: \(problem)\(offset.map { " at character \($0)" } ?? "")")
        default:
            return PlaybookDiagnostic(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    /// Where a duplicated key appears again, at the same column, after its first occurrence.
    static func secondOccurrence(of key: String, after first: Mark, in text: String) -> (Int, Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1 else { return nil }
        for n in first.line..<lines.count {
            let line = Array(lines[n])
            let col = first.column - 1
            guard col < line.count else { continue }
            let rest = String(line[col...])
            for form in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(form + ":") {
                let before = line[..<col]
                if before.allSatisfy({ $0 == " " || $0 == "-" }) { return (n + 1, first.column) }
            }
        }
        return nil
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
                if let _ = self.null { return .null }
                if let b = self.bool, ["true", "false", "True", "False", "TRUE", "FALSE"].contains(s.string) { return .bool(b) }
                if let i = self.int, Int64(exactly: i) != nil, !s.string.contains(".") { return .int(Int64(i)) }
                if let d = self.float, s.string.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) ?? false { return .double(d) }
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
