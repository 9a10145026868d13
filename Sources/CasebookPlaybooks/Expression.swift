import CasebookAnalysis
import Foundation

/// An `if:` condition or the inside of a `${{ ... }}` reference.
///
/// Grammar (GitHub Actions' subset): references `steps.ID.outputs.NAME`, `steps.ID.status`,
/// `params.NAME`, followed by any `.field` or `[index]`; literals `'text'`, `"text"`, numbers,
/// `true`, `false`, `null`; operators `!`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||` and
/// parentheses; functions `length(x)` and `empty(x)`.
/// Truthiness: `null`, `false`, `0`, `''`, `[]` and `{}` are false.
public indirect enum PlaybookExpression: Sendable, Hashable {
    case literal(Value)
    /// `root.a.b[0]` as path components (`["steps", "spike", "outputs", "windows", 0]`).
    case reference([PathComponent])
    case not(PlaybookExpression)
    case binary(String, PlaybookExpression, PlaybookExpression)
    case call(String, [PlaybookExpression])

    public enum PathComponent: Sendable, Hashable {
        case name(String)
        case index(Int)
    }

    /// A reference to something the playbook defines.
    public enum Target: Sendable, Hashable {
        case param(String)
        case stepOutput(step: String, output: String)
        case stepStatus(String)
    }

    /// Parses an expression; the error message says what was expected where (column within the text).
    public static func parse(_ text: String) throws(ExpressionError) -> PlaybookExpression {
        var parser = ExpressionParser(text)
        let e = try parser.parseOr()
        if let t = parser.peek { throw parser.fail("unexpected `\(t.text)` after the end of the expression") }
        return e
    }

    /// Every reference in the expression, with the part after the target (fields) ignored.
    /// The parts of a condition written `A && B && C` (a single part otherwise).
    public static func conjuncts(_ e: PlaybookExpression) -> [PlaybookExpression] {
        if case .binary("&&", let a, let b) = e { return conjuncts(a) + conjuncts(b) }
        return [e]
    }

    public var references: [[PathComponent]] {
        switch self {
        case .literal: []
        case .reference(let p): [p]
        case .not(let e): e.references
        case .binary(_, let a, let b): a.references + b.references
        case .call(_, let args): args.flatMap(\.references)
        }
    }

    /// What a reference path designates, or a message saying what is wrong with it.
    public static func target(of path: [PathComponent]) -> Result<(Target, rest: [PathComponent]), ExpressionError> {
        guard case .name(let root)? = path.first else {
            return .failure(ExpressionError("a reference must start with `steps` or `params`"))
        }
        switch root {
        case "params":
            guard path.count >= 2, case .name(let n) = path[1] else {
                return .failure(ExpressionError("expected `params.NAME`"))
            }
            return .success((.param(n), Array(path.dropFirst(2))))
        case "steps":
            guard path.count >= 3, case .name(let step) = path[1], case .name(let what) = path[2] else {
                return .failure(ExpressionError("expected `steps.ID.outputs.NAME` or `steps.ID.status`"))
            }
            switch what {
            case "outputs":
                guard path.count >= 4, case .name(let out) = path[3] else {
                    return .failure(ExpressionError("expected `steps.\(step).outputs.NAME`"))
                }
                return .success((.stepOutput(step: step, output: out), Array(path.dropFirst(4))))
            case "status", "outcome", "conclusion":
                return .success((.stepStatus(step), Array(path.dropFirst(3))))
            default:
                return .failure(
                    ExpressionError(
                        "unknown step property `\(what)`\(Suggest.didYouMean(what, among: ["outputs", "status"])) (expected `steps.\(step).outputs.NAME` or `steps.\(step).status`)"
                    ))
            }
        default:
            return .failure(
                ExpressionError(
                    "unknown context `\(root)`\(Suggest.didYouMean(root, among: ["steps", "params"])) (references start with `steps.` or `params.`)"
                ))
        }
    }

    /// Evaluates with a function resolving the targets (`nil`: the value is null).
    public func evaluate(_ resolve: (Target) throws -> Value?) throws -> Value {
        switch self {
        case .literal(let v): return v
        case .reference(let path):
            let (target, rest) = try PlaybookExpression.target(of: path).get()
            var v = try resolve(target) ?? .null
            for c in rest {
                switch c {
                case .name(let n): v = v[n] ?? .null
                case .index(let i):
                    if let a = v.arrayValue, i >= 0, i < a.count { v = a[i] } else { v = .null }
                }
            }
            return v
        case .not(let e): return .bool(!(try e.evaluate(resolve).isTruthy))
        case .binary(let op, let a, let b):
            let l = try a.evaluate(resolve)
            switch op {
            case "&&": return l.isTruthy ? try b.evaluate(resolve) : l
            case "||": return l.isTruthy ? l : try b.evaluate(resolve)
            default: break
            }
            let r = try b.evaluate(resolve)
            switch op {
            case "==": return .bool(PlaybookExpression.equal(l, r))
            case "!=": return .bool(!PlaybookExpression.equal(l, r))
            default:
                let ordered: Bool
                if let x = l.doubleValue, let y = r.doubleValue {
                    ordered = op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y
                } else if let x = l.stringValue, let y = r.stringValue {
                    ordered = op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y
                } else {
                    return .bool(false)
                }
                return .bool(ordered)
            }
        case .call(let name, let args):
            let values = try args.map { try $0.evaluate(resolve) }
            switch name {
            case "length":
                switch values.first ?? .null {
                case .array(let a): return .int(Int64(a.count))
                case .object(let o): return .int(Int64(o.count))
                case .string(let s): return .int(Int64(s.count))
                default: return .int(0)
                }
            case "empty": return .bool(!(values.first ?? .null).isTruthy)
            default: throw ExpressionError("unknown function `\(name)`")
            }
        }
    }

    /// Equality with numbers compared by value and strings case-insensitively (as GitHub does).
    static func equal(_ a: Value, _ b: Value) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        if let x = a.stringValue, let y = b.stringValue { return x.lowercased() == y.lowercased() }
        return a == b
    }
}

/// A problem in an expression. `offset` is the 0-based character position within the expression text.
public struct ExpressionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public init(_ message: String, offset: Int = 0) {
        self.message = message
        self.offset = offset
    }
    public var description: String { message }
}

struct ExpressionParser {
    struct Token {
        var text: String
        var kind: Kind
        var offset: Int
        enum Kind { case name, number, string, op }
    }
    var tokens: [Token] = []
    var position = 0
    var lexError: ExpressionError?

    init(_ text: String) {
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isWhitespace {
                i += 1
                continue
            }
            let start = i
            if c.isLetter || c == "_" {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "-" { i += 1 }
                tokens.append(Token(text: String(chars[start..<i]), kind: .name, offset: start))
            } else if c.isNumber {
                while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
                tokens.append(Token(text: String(chars[start..<i]), kind: .number, offset: start))
            } else if c == "'" || c == "\"" {
                i += 1
                var s = ""
                var closed = false
                while i < chars.count {
                    if chars[i] == c {
                        if c == "'", i + 1 < chars.count, chars[i + 1] == "'" {
                            s.append("'")
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    s.append(chars[i])
                    i += 1
                }
                if !closed { lexError = lexError ?? ExpressionError("unterminated string starting here", offset: start) }
                tokens.append(Token(text: s, kind: .string, offset: start))
            } else {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                    tokens.append(Token(text: two, kind: .op, offset: start))
                    i += 2
                } else if "!<>().[],".contains(c) {
                    tokens.append(Token(text: String(c), kind: .op, offset: start))
                    i += 1
                } else {
                    lexError = lexError ?? ExpressionError("unexpected character `\(c)`", offset: start)
                    i += 1
                }
            }
        }
    }

    var peek: Token? { position < tokens.count ? tokens[position] : nil }
    func fail(_ message: String) -> ExpressionError {
        ExpressionError(message, offset: peek?.offset ?? tokens.last.map { $0.offset + $0.text.count } ?? 0)
    }
    mutating func take(_ op: String) -> Bool {
        if let t = peek, t.kind == .op, t.text == op {
            position += 1
            return true
        }
        return false
    }

    mutating func parseOr() throws(ExpressionError) -> PlaybookExpression {
        if let e = lexError { throw e }
        var e = try parseAnd()
        while take("||") { e = .binary("||", e, try parseAnd()) }
        return e
    }
    mutating func parseAnd() throws(ExpressionError) -> PlaybookExpression {
        var e = try parseComparison()
        while take("&&") { e = .binary("&&", e, try parseComparison()) }
        return e
    }
    mutating func parseComparison() throws(ExpressionError) -> PlaybookExpression {
        let e = try parseUnary()
        for op in ["==", "!=", "<=", ">=", "<", ">"] where take(op) {
            return .binary(op, e, try parseUnary())
        }
        return e
    }
    mutating func parseUnary() throws(ExpressionError) -> PlaybookExpression {
        if take("!") { return .not(try parseUnary()) }
        return try parsePrimary()
    }
    mutating func parsePrimary() throws(ExpressionError) -> PlaybookExpression {
        guard let t = peek else { throw fail("expected a value, a reference such as `steps.ID.outputs.NAME`, or `(`, found the end") }
        if take("(") {
            let e = try parseOr()
            guard take(")") else { throw fail("expected `)`") }
            return e
        }
        position += 1
        switch t.kind {
        case .string: return .literal(.string(t.text))
        case .number:
            if let i = Int64(t.text) { return .literal(.int(i)) }
            if let d = Double(t.text) { return .literal(.double(d)) }
            throw ExpressionError("invalid number `\(t.text)`", offset: t.offset)
        case .op: throw ExpressionError("unexpected `\(t.text)`", offset: t.offset)
        case .name:
            switch t.text {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            if take("(") {
                guard ["length", "empty"].contains(t.text) else {
                    throw ExpressionError(
                        "unknown function `\(t.text)`\(Suggest.didYouMean(t.text, among: ["length", "empty"]))", offset: t.offset)
                }
                var args: [PlaybookExpression] = []
                if !take(")") {
                    repeat { args.append(try parseOr()) } while take(",")
                    guard take(")") else { throw fail("expected `)` after the arguments of `\(t.text)`") }
                }
                return .call(t.text, args)
            }
            var path: [PlaybookExpression.PathComponent] = [.name(t.text)]
            while true {
                if take(".") {
                    guard let n = peek, n.kind == .name || n.kind == .number else { throw fail("expected a name after `.`") }
                    position += 1
                    path.append(.name(n.text))
                } else if take("[") {
                    guard let n = peek else { throw fail("expected an index or a quoted key in `[...]`") }
                    position += 1
                    if n.kind == .number, let i = Int(n.text) {
                        path.append(.index(i))
                    } else if n.kind == .string {
                        path.append(.name(n.text))
                    } else {
                        throw ExpressionError("expected an index or a quoted key in `[...]`", offset: n.offset)
                    }
                    guard take("]") else { throw fail("expected `]`") }
                } else {
                    break
                }
            }
            return .reference(path)
        }
    }
}

/// A string that may embed `${{ expression }}` references.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case text(String)
        case expression(PlaybookExpression, source: String, offset: Int)
    }
    public var parts: [Part]

    /// Whether the string holds any `${{`.
    public static func containsReference(_ s: String) -> Bool { s.contains("${{") }

    /// Splits a string into text and expressions. Offsets are character positions in `s`.
    public static func parse(_ s: String) throws(ExpressionError) -> Template {
        var parts: [Part] = []
        var rest = Substring(s)
        while let open = rest.range(of: "${{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            let offset = s.distance(from: s.startIndex, to: open.lowerBound)
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw ExpressionError("`${{` is not closed by `}}`", offset: offset)
            }
            let source = String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)
            do {
                parts.append(.expression(try PlaybookExpression.parse(source), source: source, offset: offset))
            } catch {
                throw ExpressionError("in `${{ \(source) }}`: \(error.message)", offset: offset)
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return Template(parts: parts)
    }

    /// The single expression when the whole string is one `${{ }}` (its value keeps its type).
    public var wholeExpression: PlaybookExpression? {
        if parts.count == 1, case .expression(let e, _, _) = parts[0] { return e }
        return nil
    }

    public func evaluate(_ resolve: (PlaybookExpression.Target) throws -> Value?) throws -> Value {
        if let e = wholeExpression { return try e.evaluate(resolve) }
        var out = ""
        for p in parts {
            switch p {
            case .text(let t): out += t
            case .expression(let e, _, _): out += try e.evaluate(resolve).interpolated
            }
        }
        return .string(out)
    }
}
