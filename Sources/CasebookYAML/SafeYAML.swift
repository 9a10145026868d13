import Yams

/// A problem that stops a YAML document from being read, at a 1-based line and column (`nil`
/// when it concerns the whole document, such as its size).
public struct YAMLProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(line: Int? = nil, column: Int? = nil, _ message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        guard let line else { return message }
        return "\(line):\(column ?? 1): \(message)"
    }
}

/// Reads YAML defensively, for Casebook's documents (playbooks, scenarios): bounded size,
/// nesting and node count, no anchors or aliases (alias expansion can make a small file
/// enormous), no tabs in indentation, unique keys, and a line and column for every problem.
public enum SafeYAML {
    /// What a kind of document allows, and the words its messages use.
    public struct Rules: Sendable {
        /// The document's name in messages: `playbook`, `scenario`.
        public var noun: String
        /// Refused beyond this many bytes.
        public var maxBytes: Int
        /// Said after the size limit (`; scenarios describe traffic, they do not list it`).
        public var sizeHint: String
        /// Refused beyond this nesting depth (mappings and sequences).
        public var maxDepth: Int
        /// Refused beyond this many nodes.
        public var maxNodes: Int?
        /// What the document should hold, said when it is empty.
        public var expected: String
        /// Said after the refusal of anchors (`(or use a playbook parameter)`).
        public var anchorHint: String

        public init(
            noun: String, maxBytes: Int, sizeHint: String = "", maxDepth: Int = 64, maxNodes: Int? = nil,
            expected: String, anchorHint: String = ""
        ) {
            self.noun = noun
            self.maxBytes = maxBytes
            self.sizeHint = sizeHint
            self.maxDepth = maxDepth
            self.maxNodes = maxNodes
            self.expected = expected
            self.anchorHint = anchorHint
        }

        var anchorMessage: String {
            "YAML anchors and aliases (`&name`, `*name`) are not allowed in \(noun)s; write the value out\(anchorHint)"
        }
        var depthMessage: String { "nesting deeper than \(maxDepth) levels; a \(noun) does not need that much" }
    }

    /// Parses `text` into a node tree, or throws the first problem that stops it.
    public static func compose(_ text: String, rules: Rules) throws(YAMLProblem) -> Node {
        let size = text.utf8.count
        if size > rules.maxBytes {
            throw YAMLProblem("the \(rules.noun) is \(size) bytes; \(rules.noun)s are limited to \(rules.maxBytes) bytes\(rules.sizeHint)")
        }
        if let problem = prescan(text, rules: rules) { throw problem }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw problem(for: error, text: text)
        } catch {
            throw YAMLProblem("cannot read YAML: \(error)")
        }
        guard let root else { throw YAMLProblem("the \(rules.noun) is empty; expected \(rules.expected)") }
        var budget = rules.maxNodes ?? Int.max
        if let problem = walk(root, depth: 0, budget: &budget, rules: rules) { throw problem }
        return root
    }

    /// Cheap checks before libyaml sees the text: tabs in indentation, flow nesting, anchors and aliases.
    static func prescan(_ text: String, rules: Rules) -> YAMLProblem? {
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Array(rawLine.unicodeScalars)
            // Indentation (including "- " sequence markers) must be spaces.
            var i = 0
            while i < line.count,
                line[i] == " " || line[i] == "\t" || (line[i] == "-" && i + 1 < line.count && (line[i + 1] == " " || line[i + 1] == "\t"))
            {
                if line[i] == "\t" {
                    return YAMLProblem(line: lineNumber, column: i + 1, "found a tab in indentation; YAML indentation must use spaces")
                }
                i += 1
            }
            if i > 256 {
                return YAMLProblem(
                    line: lineNumber, column: i + 1,
                    "indentation deeper than 256 columns; \(rules.noun)s are limited to \(rules.maxDepth) levels of nesting")
            }
            // Flow nesting, anchors and aliases, outside quotes and comments.
            var depth = 0
            var quote: Unicode.Scalar?
            var previousSignificant: Unicode.Scalar? = nil
            var j = 0
            while j < line.count {
                let c = line[j]
                if let q = quote {
                    if c == q { quote = nil } else if c == "\\" && q == "\"" { j += 1 }
                    j += 1
                    continue
                }
                switch c {
                case "#" where j == 0 || line[j - 1] == " ":
                    j = line.count
                    continue
                case "\"", "'":
                    if previousSignificant == nil || ":-[{,?".unicodeScalars.contains(previousSignificant!) { quote = c }
                case "[", "{":
                    depth += 1
                    if depth > rules.maxDepth {
                        return YAMLProblem(line: lineNumber, column: j + 1, rules.depthMessage)
                    }
                case "]", "}": depth = max(0, depth - 1)
                case "&", "*":
                    let atNodeStart = previousSignificant == nil || ":-[{,?".unicodeScalars.contains(previousSignificant!)
                    let next = j + 1 < line.count ? line[j + 1] : " "
                    let nameStart = !(next == " " || next == "," || next == "]" || next == "}")
                    if atNodeStart && nameStart && (j == 0 || line[j - 1] == " " || "[{,".unicodeScalars.contains(line[j - 1])) {
                        return YAMLProblem(line: lineNumber, column: j + 1, rules.anchorMessage)
                    }
                default: break
                }
                if c != " " { previousSignificant = c }
                j += 1
            }
        }
        return nil
    }

    /// Depth, size and anchors on the composed tree (a second line of defence).
    static func walk(_ node: Node, depth: Int, budget: inout Int, rules: Rules) -> YAMLProblem? {
        let (line, column) = (node.mark?.line ?? 1, node.mark?.column ?? 1)
        if depth > rules.maxDepth { return YAMLProblem(line: line, column: column, rules.depthMessage) }
        if node.anchor != nil { return YAMLProblem(line: line, column: column, rules.anchorMessage) }
        budget -= 1
        if budget < 0 {
            return YAMLProblem(line: line, column: column, "the \(rules.noun) has more than \(rules.maxNodes ?? 0) values; it is too large")
        }
        switch node {
        case .scalar: return nil
        case .alias: return YAMLProblem(line: line, column: column, rules.anchorMessage)
        case .sequence(let seq):
            for child in seq { if let p = walk(child, depth: depth + 1, budget: &budget, rules: rules) { return p } }
        case .mapping(let map):
            for (k, v) in map {
                if let p = walk(k, depth: depth + 1, budget: &budget, rules: rules)
                    ?? walk(v, depth: depth + 1, budget: &budget, rules: rules)
                {
                    return p
                }
            }
        }
        return nil
    }

    /// Yams' error in words, at its place in the text.
    static func problem(for error: YamlError, text: String) -> YAMLProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            if problem.contains("mapping values are not allowed") || problem.contains("did not find expected key")
                || problem.contains("did not find expected '-' indicator")
            {
                message += "; check the indentation of this line and the one before"
            }
            return YAMLProblem(line: mark.line, column: mark.column, message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let second = secondOccurrence(of: key, after: context.mark, in: text) ?? (context.mark.line, context.mark.column)
            return YAMLProblem(
                line: second.0, column: second.1,
                "duplicate key `\(key)`; it is already defined at line \(context.mark.line), column \(context.mark.column)")
        case .reader(let problem, let offset, _, _):
            return YAMLProblem("cannot read the file as UTF-8 text: \(problem)\(offset.map { " at character \($0)" } ?? "")")
        default:
            return YAMLProblem("invalid YAML: \(error)")
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
