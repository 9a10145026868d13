import CasebookCore
import Foundation
import Yams

/// Why a scenario could not be read: the file, the position, the key path, what was expected
/// and what was found.
public struct ScenarioError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The scenario file (or `<string>`).
    public var file: String
    /// 1-based line and column of the offending node, when known.
    public var line: Int?
    public var column: Int?
    /// Where in the document (`incidents[0].upgrades[1].version`).
    public var path: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, path: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let column { s += ":\(column)" }
        s += ": error: "
        if !path.isEmpty { s += "\(path): " }
        return s + message
    }
}

/// Context shared by the readers of one document.
struct YAMLContext {
    let file: String

    func error(_ node: Node?, _ path: String, _ message: String) -> ScenarioError {
        ScenarioError(file: file, line: node?.mark?.line, column: node?.mark?.column, path: path, message: message)
    }

    /// Composes a document, refusing anchors and aliases and oversized input (alias expansion
    /// can make a small file enormous).
    static func compose(_ text: String, file: String) throws(ScenarioError) -> Node {
        guard text.utf8.count <= 4 << 20 else {
            throw ScenarioError(
                file: file, path: "", message: "the scenario is larger than 4 MiB; scenarios describe traffic, they do not list it")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            var e = ScenarioError(file: file, path: "", message: "not valid YAML: \(error)")
            if let y = error as? YamlError, case .scanner(_, let problem, let mark, _) = y {
                e.line = mark.line
                e.column = mark.column
                e.message = "not valid YAML: \(problem)"
            } else if let y = error as? YamlError, case .parser(_, let problem, let mark, _) = y {
                e.line = mark.line
                e.column = mark.column
                e.message = "not valid YAML: \(problem)"
            }
            throw e
        }
        guard let root else {
            throw ScenarioError(
                file: file, path: "", message: "the scenario is empty (expected a mapping with seed, start, end, baseline, ...)")
        }
        var budget = 200_000
        // An alias is the anchored node itself, so it shows up twice with the same position.
        var seen = Set<Int>()
        func walk(_ n: Node, _ depth: Int) throws(ScenarioError) {
            budget -= 1
            let kind: Int
            switch n {
            case .scalar: kind = 0
            case .mapping: kind = 1
            case .sequence: kind = 2
            case .alias: kind = 3
            }
            if kind == 3 || n.mark.map({ !seen.insert($0.line << 24 | $0.column << 2 | kind).inserted }) == true {
                throw ScenarioError(
                    file: file, line: n.mark?.line, column: n.mark?.column, path: "",
                    message: "YAML anchors and aliases (&name, *name) are not supported in scenarios; write the values out")
            }
            guard budget > 0, depth < 64 else {
                throw ScenarioError(
                    file: file, line: n.mark?.line, column: n.mark?.column, path: "",
                    message: "the document is too large or too deeply nested")
            }
            switch n {
            case .mapping(let m):
                for (k, v) in m {
                    try walk(k, depth + 1)
                    try walk(v, depth + 1)
                }
            case .sequence(let s): for v in s { try walk(v, depth + 1) }
            default: break
            }
        }
        try walk(root, 0)
        return root
    }
}

/// One value of the document, with its key path.
struct Field {
    let node: Node
    let path: String
    let ctx: YAMLContext

    func fail(_ expected: String) -> ScenarioError {
        ctx.error(node, path, "expected \(expected), found \(Field.describe(node))")
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string.isEmpty ? "an empty value" : "'\(s.string.prefix(60))'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    var isNull: Bool {
        if case .scalar(let s) = node { return s.string.isEmpty || s.string == "~" || s.string == "null" }
        return false
    }

    func string() throws(ScenarioError) -> String {
        guard case .scalar(let s) = node else { throw fail("a text value") }
        return s.string
    }

    func int() throws(ScenarioError) -> Int {
        guard case .scalar(let s) = node else { throw fail("a whole number") }
        let t = s.string.replacingOccurrences(of: "_", with: "")
        if let v = Int(t) { return v }
        if let d = Double(t), d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw fail("a whole number")
    }

    func nonNegativeInt() throws(ScenarioError) -> Int {
        let v = try int()
        guard v >= 0 else { throw fail("a number >= 0") }
        return v
    }

    func double() throws(ScenarioError) -> Double {
        guard case .scalar(let s) = node else { throw fail("a number") }
        let t = s.string.replacingOccurrences(of: "_", with: "")
        if t.hasSuffix("%"), let v = Double(t.dropLast()) { return v / 100 }
        guard let v = Double(t), v.isFinite else { throw fail("a number") }
        return v
    }

    func share() throws(ScenarioError) -> Double {
        let v = try double()
        guard v >= 0, v <= 1 else { throw fail("a share between 0 and 1 (or a percentage like 25%)") }
        return v
    }

    func positive() throws(ScenarioError) -> Double {
        let v = try double()
        guard v > 0 else { throw fail("a number > 0") }
        return v
    }

    func bool() throws(ScenarioError) -> Bool {
        guard case .scalar(let s) = node else { throw fail("true or false") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail("true or false")
        }
    }

    /// A date (`2020-03-05`) as days since 1970.
    func day() throws(ScenarioError) -> Int64 {
        let s = try string()
        guard s.count == 10, let t = UTCTime.parse(s) else { throw fail("a date like 2020-03-05") }
        return t / 86400
    }

    /// A time (`2020-03-03T15:28:00Z`, `2020-03-03 16:28 +0100`, or a date: midnight UTC) as epoch seconds.
    func time() throws(ScenarioError) -> Int64 {
        let s = try string()
        if let t = UTCTime.parse(s) { return t }
        // `2020-03-03 16:28 +0100`: a space before the zone.
        let parts = s.split(separator: " ")
        if parts.count == 3, let t = UTCTime.parse("\(parts[0])T\(parts[1])\(parts[2])") { return t }
        throw fail("a time like 2020-03-03T15:28:00Z or 2020-03-03T16:28:00+01:00")
    }

    func list() throws(ScenarioError) -> [Field] {
        guard case .sequence(let s) = node else { throw fail("a list") }
        return s.enumerated().map { Field(node: $0.element, path: "\(path)[\($0.offset)]", ctx: ctx) }
    }

    /// A list of strings; a single string is a list of one.
    func strings() throws(ScenarioError) -> [String] {
        if case .scalar = node { return isNull ? [] : [try string()] }
        var out: [String] = []
        for f in try list() { out.append(try f.string()) }
        return out
    }

    func object() throws(ScenarioError) -> Object {
        guard case .mapping(let m) = node else { throw fail("a mapping (key: value lines)") }
        var pairs: [(String, Node, Node)] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else { throw ctx.error(k, path, "expected a text key, found \(Field.describe(k))") }
            pairs.append((ks.string, k, v))
        }
        return Object(field: self, pairs: pairs)
    }

    /// A mapping of names to non-negative weights, in document order.
    func weights(_ what: String) throws(ScenarioError) -> [(String, Double)] {
        let o = try object()
        var out: [(String, Double)] = []
        for (k, _, _) in o.pairs {
            let w = try o.required(k).double()
            guard w >= 0 else { throw try o.required(k).failing("a weight >= 0 for \(what) '\(k)'") }
            out.append((k, w))
        }
        guard out.contains(where: { $0.1 > 0 }) else { throw fail("at least one \(what) with a weight > 0") }
        return out
    }

    func failing(_ expected: String) -> ScenarioError { fail(expected) }
}

/// A mapping of the document, with unknown-key checks.
struct Object {
    let field: Field
    let pairs: [(String, Node, Node)]

    var path: String { field.path }
    var keys: [String] { pairs.map(\.0) }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func optional(_ key: String) -> Field? {
        guard let p = pairs.first(where: { $0.0 == key }) else { return nil }
        let f = Field(node: p.2, path: child(key), ctx: field.ctx)
        return f.isNull ? nil : f
    }

    func required(_ key: String) throws(ScenarioError) -> Field {
        guard let f = optional(key) else {
            throw field.ctx.error(field.node, path.isEmpty ? key : child(key), "this key is required but missing")
        }
        return f
    }

    /// Refuses keys that are not in `allowed`, suggesting the closest one (a typo would otherwise be ignored silently).
    func only(_ allowed: [String]) throws(ScenarioError) {
        for (k, kn, _) in pairs where !allowed.contains(k) {
            var msg = "unknown key '\(k)'"
            if let close = EditDistance.closest(to: k, among: allowed) { msg += "; did you mean '\(close)'?" }
            msg += " (expected one of: \(allowed.joined(separator: ", ")))"
            throw field.ctx.error(kn, child(k), msg)
        }
    }
}
