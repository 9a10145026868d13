import CasebookCore

/// A PEP 508 environment marker: `python_version < "3" and sys_platform != "win32"`.
///
/// The tree keeps the shape of the text (a group is atoms joined by `and`/`or`, `and` binding
/// tighter) so `description` prints it back the way `packaging` does. Evaluate it with
/// `evaluate(_:)` against a dictionary of marker variables, such as
/// `ClientEnvironment.markerEnvironment`.
public indirect enum Marker: Sendable, Hashable, CustomStringConvertible {
    /// One side of a comparison: a marker variable (`python_version`) or a quoted string.
    public enum Operand: Sendable, Hashable, CustomStringConvertible {
        case variable(String)
        case value(String)
        public var description: String {
            switch self {
            case .variable(let v): return v
            case .value(let s): return "\"\(s)\""
            }
        }
    }
    /// `and` or `or`.
    public enum Connective: String, Sendable, Hashable { case and, or }

    /// `lhs op rhs`, where `op` is one of `< <= != == >= > ~= === in not in`.
    case comparison(Operand, String, Operand)
    /// `atoms[0] connectives[0] atoms[1] ...` (one more atom than connectives).
    case group([Marker], [Connective])

    /// Parses a marker expression; throws `PackagingSyntaxError` with the position.
    public init(_ text: String) throws(PackagingSyntaxError) {
        var t = RequirementTokenizer(text, kind: "marker")
        let m = try t.parseMarker()
        guard t.atEnd else { throw t.error("end of marker expression (or 'and' / 'or')") }
        self = m
    }

    /// The marker printed as `packaging` prints it: values double-quoted, redundant
    /// parentheses dropped, `os.name` spelled `os_name`.
    public var description: String { format(first: true) }

    private func format(first: Bool) -> String {
        switch self {
        case .comparison(let l, let op, let r): return "\(l) \(op) \(r)"
        case .group(let atoms, let conns):
            if atoms.count == 1 { return atoms[0].format(first: true) }
            var parts: [String] = []
            for (k, a) in atoms.enumerated() {
                if k > 0 { parts.append(conns[k - 1].rawValue) }
                parts.append(a.format(first: false))
            }
            let s = parts.joined(separator: " ")
            return first ? s : "(\(s))"
        }
    }

    /// The marker variables whose values are PEP 440 versions (compared as versions).
    public static let versionVariables: Set<String> = [
        "implementation_version", "platform_release", "python_full_version", "python_version"
    ]

    /// Evaluates the marker. `environment` maps marker variables (`python_version`,
    /// `sys_platform`, ...) to their values; `extra` defaults to "" (no extra requested).
    ///
    /// Version variables are compared as PEP 440 versions when the other side is a valid
    /// specifier version, else as strings (`in`/`not in` are substring tests; `<` and `>`
    /// on strings are false, `<=`/`>=` are equality), exactly as `packaging` does.
    /// Throws `MarkerEvaluationError` for an unknown variable or an undefined comparison.
    public func evaluate(_ environment: [String: String]) throws(MarkerEvaluationError) -> Bool {
        var env = environment
        env["extra"] = ProjectName.normalize(environment["extra"] ?? "")
        if let full = env["python_full_version"], full.hasSuffix("+") { env["python_full_version"] = full + "local" }
        return try evaluate(env: env)
    }

    private func evaluate(env: [String: String]) throws(MarkerEvaluationError) -> Bool {
        switch self {
        case .comparison(let l, let op, let r):
            let key: String
            let lhs: String
            let rhs: String
            switch (l, r) {
            case (.variable(let name), .value(let v)):
                guard let e = env[name] else { throw .undefinedVariable(name) }
                key = name
                lhs = e
                rhs = v
            case (.value(let v), .variable(let name)):
                guard let e = env[name] else { throw .undefinedVariable(name) }
                key = name
                lhs = v
                rhs = e
            case (.variable(let a), .variable(let b)):
                guard let x = env[a] else { throw .undefinedVariable(a) }
                guard let y = env[b] else { throw .undefinedVariable(b) }
                key = b
                lhs = x
                rhs = y
            case (.value(let a), .value(let b)):
                key = ""
                lhs = a
                rhs = b
            }
            return try Marker.compare(lhs, op, rhs, key: key)
        case .group(let atoms, let conns):
            // any(all(...)) over `or`-separated runs; every atom is evaluated, as packaging does.
            var results: [[Bool]] = [[]]
            for (k, a) in atoms.enumerated() {
                if k > 0, conns[k - 1] == .or { results.append([]) }
                results[results.count - 1].append(try a.evaluate(env: env))
            }
            return results.contains { $0.allSatisfy { $0 } }
        }
    }

    static func compare(_ lhs: String, _ op: String, _ rhs: String, key: String) throws(MarkerEvaluationError) -> Bool {
        if versionVariables.contains(key), let spec = try? Specifier(op + rhs) {
            return SpecifierSet([spec]).contains(lhs, prereleases: true)
        }
        switch op {
        case "in": return rhs.contains(lhs) || lhs.isEmpty
        case "not in": return !(rhs.contains(lhs) || lhs.isEmpty)
        case "<", ">": return false
        case "<=", "==", ">=": return lhs == rhs
        case "!=": return lhs != rhs
        default: throw .undefinedComparison(lhs: lhs, op: op, rhs: rhs)
        }
    }

    /// Every variable the marker mentions.
    public var variables: Set<String> {
        switch self {
        case .comparison(let l, _, let r):
            var s = Set<String>()
            if case .variable(let v) = l { s.insert(v) }
            if case .variable(let v) = r { s.insert(v) }
            return s
        case .group(let atoms, _): return atoms.reduce(into: []) { $0.formUnion($1.variables) }
        }
    }
}

/// Why a marker could not be evaluated.
public enum MarkerEvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    case undefinedVariable(String)
    case undefinedComparison(lhs: String, op: String, rhs: String)
    public var description: String {
        switch self {
        case .undefinedVariable(let v):
            return "marker variable '\(v)' has no value in the environment (give it in the client environment)"
        case .undefinedComparison(let l, let op, let r):
            return "undefined marker comparison '\(l)' \(op) '\(r)': use ==, != or in on non-version values"
        }
    }
}

/// A context-sensitive tokenizer and recursive-descent parser for PEP 508, following
/// `packaging._parser` token by token (so the same strings are accepted and rejected).
struct RequirementTokenizer {
    let s: [Character]
    let text: String
    let kind: String
    var pos = 0

    init(_ text: String, kind: String) {
        self.text = text
        self.s = Array(text)
        self.kind = kind
    }

    func error(_ expected: String, at: Int? = nil) -> PackagingSyntaxError {
        PackagingSyntaxError(kind: kind, input: text, position: at ?? pos, expected: expected)
    }

    var atEnd: Bool { pos == s.count || (pos == s.count - 1 && s[pos] == "\n") }

    static func isWord(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
    func boundary(_ at: Int) -> Bool {
        let before = at > 0 ? RequirementTokenizer.isWord(s[at - 1]) : false
        let after = at < s.count ? RequirementTokenizer.isWord(s[at]) : false
        return before != after
    }

    mutating func skipWS() { while pos < s.count, s[pos] == " " || s[pos] == "\t" { pos += 1 } }
    func peek(_ c: Character) -> Bool { pos < s.count && s[pos] == c }

    /// Matches `word` at pos with word boundaries on both sides (no consumption).
    func keyword(_ word: String) -> Int? {
        let w = Array(word)
        guard pos + w.count <= s.count, Array(s[pos..<(pos + w.count)]) == w,
            boundary(pos), boundary(pos + w.count)
        else { return nil }
        return w.count
    }

    static let variableNames: [String] = [
        "python_version", "python_full_version", "os_name", "os.name", "sys_platform", "sys.platform",
        "platform_release", "platform_system", "platform_version", "platform.version",
        "platform_machine", "platform.machine", "platform_python_implementation",
        "platform.python_implementation", "python_implementation", "implementation_name",
        "implementation_version", "extras", "extra", "dependency_groups"
    ]

    mutating func parseMarker() throws(PackagingSyntaxError) -> Marker {
        var atoms = [try parseAtom()]
        var conns: [Marker.Connective] = []
        while true {
            if let n = keyword("or") {
                pos += n
                conns.append(.or)
            } else if let n = keyword("and") {
                pos += n
                conns.append(.and)
            } else {
                break
            }
            atoms.append(try parseAtom())
        }
        return .group(atoms, conns)
    }

    mutating func parseAtom() throws(PackagingSyntaxError) -> Marker {
        skipWS()
        let m: Marker
        if peek("(") {
            let open = pos
            pos += 1
            skipWS()
            m = try parseMarker()
            skipWS()
            guard peek(")") else { throw error("matching ')' for '(' after marker expression", at: open) }
            pos += 1
        } else {
            m = try parseItem()
        }
        skipWS()
        return m
    }

    mutating func parseItem() throws(PackagingSyntaxError) -> Marker {
        skipWS()
        let l = try parseOperand()
        skipWS()
        let op = try parseOp()
        skipWS()
        let r = try parseOperand()
        skipWS()
        // PEP 685: extra names compare normalized.
        switch (l, r) {
        case (.variable("extra"), .value(let v)): return .comparison(l, op, .value(ProjectName.normalize(v)))
        case (.value(let v), .variable("extra")): return .comparison(.value(ProjectName.normalize(v)), op, r)
        default: return .comparison(l, op, r)
        }
    }

    mutating func parseOperand() throws(PackagingSyntaxError) -> Marker.Operand {
        if boundary(pos) || pos == 0 {
            for name in RequirementTokenizer.variableNames {
                if let n = keyword(name) {
                    pos += n
                    var v = String(name.map { $0 == "." ? "_" : $0 })
                    if v == "python_implementation" { v = "platform_python_implementation" }
                    return .variable(v)
                }
            }
        }
        if pos < s.count, s[pos] == "'" || s[pos] == "\"" {
            let q = s[pos]
            if let close = s[(pos + 1)...].firstIndex(of: q) {
                let v = String(s[(pos + 1)..<close])
                pos = close + 1
                return .value(v)
            }
        }
        throw error("a marker variable or quoted string")
    }

    mutating func parseOp() throws(PackagingSyntaxError) -> String {
        if let n = keyword("in") {
            pos += n
            return "in"
        }
        if let n = keyword("not") {
            pos += n
            guard peek(" ") || peek("\t") else { throw error("whitespace after 'not'") }
            skipWS()
            guard let m = keyword("in") else { throw error("'in' after 'not'") }
            pos += m
            return "not in"
        }
        for op in ["===", "==", "~=", "!=", "<=", ">=", "<", ">"] {
            let o = Array(op)
            if pos + o.count <= s.count, Array(s[pos..<(pos + o.count)]) == o {
                pos += o.count
                return op
            }
        }
        throw error("marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in")
    }
}
