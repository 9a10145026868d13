// Part of a Swift port of PyPI's user-agent parser, linehaul
// (https://github.com/pypi/linehaul-cloud-function, `linehaul/ua/`), Apache License 2.0.
//
// linehaul is Python; matching it exactly means matching a few Python behaviours that Swift
// and ICU do differently: what counts as whitespace, what `$` and `.` match in a regex, how
// `json.loads` reads numbers and keys, and how `str()` prints a value. All work here is on
// Unicode scalars (Python's code points), never on Swift `Character`s, whose canonical
// equivalence would make `"pip/\u{301}"` fail `hasPrefix("pip/")` where Python's
// `startswith` succeeds.

import Foundation

// MARK: - Whitespace and splitting

enum PyText {
    /// Python's `str.isspace()`.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029,
            0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python's `s.startswith(prefix)`, on code points.
    static func hasPrefix(_ s: String, _ prefix: String) -> Bool {
        var it = s.unicodeScalars.makeIterator()
        for p in prefix.unicodeScalars {
            guard let c = it.next(), c == p else { return false }
        }
        return true
    }

    /// Python's `a == b`, on code points.
    static func equal(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.elementsEqual(b.unicodeScalars)
    }

    /// Python's `needle in haystack` for strings (a substring test on code points).
    static func contains(_ haystack: PyString, _ needle: String) -> Bool {
        let h = haystack.codes
        let n = needle.unicodeScalars.map(\.value)
        if n.isEmpty { return true }
        if n.count > h.count { return false }
        for start in 0...(h.count - n.count) where h[start] == n[0] {
            if h[start..<(start + n.count)].elementsEqual(n) { return true }
        }
        return false
    }

    /// The first token of Python's `s.split()` (nil when `s` is all whitespace).
    static func firstToken(_ s: String) -> Substring.UnicodeScalarView? {
        let v = s.unicodeScalars
        guard let start = v.firstIndex(where: { !isSpace($0) }) else { return nil }
        let end = v[start...].firstIndex(where: isSpace) ?? v.endIndex
        return v[start..<end]
    }

    /// Python's `s.split(maxsplit=1)[1]`: after the first token and the whitespace run that
    /// follows it, the rest as is (trailing whitespace kept). Nil when there is no second part.
    static func afterFirstToken(_ s: String) -> String? {
        let v = s.unicodeScalars
        guard let start = v.firstIndex(where: { !isSpace($0) }) else { return nil }
        guard let end = v[start...].firstIndex(where: isSpace) else { return nil }
        guard let rest = v[end...].firstIndex(where: { !isSpace($0) }) else { return nil }
        return String(String.UnicodeScalarView(v[rest...]))
    }
}

// MARK: - Regular expressions with Python `re` semantics

/// A regular expression compiled once, written with placeholders for the Python constructs
/// ICU reads differently: `⟨S⟩` and `⟨s⟩` (Python's `\S` and `\s`: ICU's `\s` misses
/// U+001C–U+001F, U+0085 and U+000B), `⟨.⟩` (Python's `.`: anything but `\n`; ICU's also
/// stops at `\r`, U+2028...) and `⟨$⟩` (Python's `$`: end, or before a final `\n`; ICU's
/// also before a final `\r`, U+2028...).
struct PyRegex: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as thread safe.
    let regex: NSRegularExpression
    let groupNames: [String]

    static let spaceSet = #"\t\n\x{0B}\f\r\x{1C}-\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"#

    init(_ pattern: String) {
        let translated =
            pattern
            .replacingOccurrences(of: "⟨S⟩", with: "[^\(Self.spaceSet)]")
            .replacingOccurrences(of: "⟨s⟩", with: "[\(Self.spaceSet)]")
            .replacingOccurrences(of: "⟨.⟩", with: #"[^\n]"#)
            .replacingOccurrences(of: "⟨$⟩", with: #"(?=\n?\z)"#)
        // The patterns are constants of this file; a typo is a programming error.
        regex = try! NSRegularExpression(pattern: translated, options: [])
        groupNames = Self.groupNames(translated)
    }

    /// Python's `pattern.search(s)`: named groups of the first match (a group that did not
    /// take part maps to nil), or nil when there is no match.
    func search(_ s: String) -> [String: String?]? {
        let ns = s as NSString
        guard let m = regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) else {
            return nil
        }
        var groups: [String: String?] = [:]
        for name in groupNames {
            let r = m.range(withName: name)
            groups[name] = r.location == NSNotFound ? .some(nil) : .some(ns.substring(with: r))
        }
        return groups
    }

    func matches(_ s: String) -> Bool {
        let ns = s as NSString
        return regex.firstMatch(in: s, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }

    private static func groupNames(_ pattern: String) -> [String] {
        var names: [String] = []
        var rest = pattern[...]
        while let r = rest.range(of: "(?<") {
            let after = rest[r.upperBound...]
            if let first = after.first, first != "=", first != "!",
                let close = after.firstIndex(of: ">")
            {
                names.append(String(after[..<close]))
            }
            rest = after
        }
        return names
    }

    /// Python's `re.IGNORECASE` for an ASCII literal: each letter becomes a class of the
    /// scalars Python folds to it (ICU would also let `ﬁ` match `fi`, Python does not).
    static func ignoringCase(_ literal: String) -> String {
        var out = ""
        for s in literal.unicodeScalars {
            let c = Character(s)
            guard c.isASCII, c.isLetter else {
                out.unicodeScalars.append(s)
                continue
            }
            let lower = c.lowercased()
            let upper = c.uppercased()
            var cls = "[" + lower + upper
            switch lower {
            case "i": cls += #"\x{130}\x{131}"#
            case "k": cls += #"\x{212A}"#
            case "s": cls += #"\x{17F}"#
            default: break
            }
            out += cls + "]"
        }
        return out
    }
}

// MARK: - JSON values as Python's json.loads returns them

/// A Python `str`: code points, which (unlike a Swift `String`) may include lone surrogates,
/// as `json.loads("\"\\ud800\"")` returns.
struct PyString: Hashable, Sendable {
    var codes: [UInt32]

    init(_ s: String) { codes = s.unicodeScalars.map(\.value) }
    init(codes: [UInt32]) { self.codes = codes }

    /// As Swift text; a lone surrogate becomes U+FFFD, the one place where a value can differ
    /// from linehaul's (whose result would then not even encode as UTF-8).
    var string: String {
        var out = String.UnicodeScalarView()
        for c in codes { out.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
        return String(out)
    }
}

/// A JSON value as Python's `json.loads` produces it: object keys keep their order (a repeated
/// key keeps its first position and its last value), integers keep every digit.
indirect enum PyValue: Sendable, Equatable {
    case string(PyString)
    /// Decimal digits with an optional leading `-` (never `-0`).
    case int(String)
    case float(Double)
    case bool(Bool)
    case null
    case array([PyValue])
    case object(keys: [PyString], values: [PyString: PyValue])

    static func str(_ s: String) -> PyValue { .string(PyString(s)) }

    static func dict(_ pairs: [(String, PyValue)]) -> PyValue {
        dict(pairs.map { (PyString($0.0), $0.1) })
    }

    static func dict(_ pairs: [(PyString, PyValue)]) -> PyValue {
        var keys: [PyString] = []
        var values: [PyString: PyValue] = [:]
        for (k, v) in pairs {
            if values[k] == nil { keys.append(k) }
            values[k] = v
        }
        return .object(keys: keys, values: values)
    }

    /// Python's `str(value)`.
    var pyStr: String {
        switch self {
        case .string(let s): s.string
        default: pyRepr
        }
    }

    /// Python's `repr(value)`.
    var pyRepr: String {
        switch self {
        case .string(let s): Self.reprString(s)
        case .int(let digits): digits
        case .float(let d): Self.reprFloat(d)
        case .bool(let b): b ? "True" : "False"
        case .null: "None"
        case .array(let items): "[" + items.map(\.pyRepr).joined(separator: ", ") + "]"
        case .object(let keys, let values):
            "{" + keys.map { Self.reprString($0) + ": " + values[$0]!.pyRepr }.joined(separator: ", ") + "}"
        }
    }

    /// Python's `bool(value)`.
    var pyTruth: Bool {
        switch self {
        case .string(let s): !s.codes.isEmpty
        case .int(let digits): digits != "0"
        case .float(let d): d != 0
        case .bool(let b): b
        case .null: false
        case .array(let items): !items.isEmpty
        case .object(let keys, _): !keys.isEmpty
        }
    }

    static func reprFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift prints the shortest round-tripping digits and switches to exponent form at
        // the same points as Python's repr (exponent < -4 or >= 16), e.g. 1e-05, 1e+16.
        return d.description
    }

    static func reprString(_ s: PyString) -> String {
        let quote: Unicode.Scalar = s.codes.contains(0x27) && !s.codes.contains(0x22) ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for code in s.codes {
            // A lone surrogate is not printable, so Python writes it as \udXXX.
            guard let c = Unicode.Scalar(code) else {
                out.append(contentsOf: hexEscape(code, "u", 4).unicodeScalars)
                continue
            }
            switch c {
            case quote, "\\":
                out.append("\\")
                out.append(c)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    out.append(contentsOf: hexEscape(c.value, "x", 2).unicodeScalars)
                } else if c.value < 0x7F || isPrintable(c) {
                    out.append(c)
                } else if c.value <= 0xFF {
                    out.append(contentsOf: hexEscape(c.value, "x", 2).unicodeScalars)
                } else if c.value <= 0xFFFF {
                    out.append(contentsOf: hexEscape(c.value, "u", 4).unicodeScalars)
                } else {
                    out.append(contentsOf: hexEscape(c.value, "U", 8).unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    private static func hexEscape(_ v: UInt32, _ letter: String, _ width: Int) -> String {
        let hex = String(v, radix: 16)
        return "\\" + letter + String(repeating: "0", count: max(0, width - hex.count)) + hex
    }

    /// Python's `str.isprintable()` for one non-ASCII scalar.
    private static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
            .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}

// MARK: - Python's json.loads

/// A port of CPython's C JSON scanner (`json.loads` with default settings): NaN, Infinity and
/// -Infinity are accepted; a BOM, trailing commas, leading zeros, raw control characters in
/// strings and an integer of more than 4300 digits are not. Foundation's JSONSerialization
/// differs on each of these and loses key order, so it cannot reproduce linehaul's results.
struct PythonJSON {
    /// How deep Python gets before `RecursionError`, which linehaul treats like bad JSON.
    /// The exact figure depends on the Python stack in use; linehaul fails between 986 and 990.
    static let maxDepth = 986
    /// Python's default limit on the digits of an integer read from text.
    static let maxIntDigits = 4300

    struct Failure: Error {}

    private let s: [Unicode.Scalar]
    private var i = 0
    private var depth = 0

    private init(_ text: String) { s = Array(text.unicodeScalars) }

    /// `json.loads(text)`, or nil where Python raises.
    static func loads(_ text: String) -> PyValue? {
        var p = PythonJSON(text)
        if p.s.first == "\u{FEFF}" { return nil }
        do {
            p.skipWS()
            let v = try p.value()
            p.skipWS()
            return p.i == p.s.count ? v : nil
        } catch {
            return nil
        }
    }

    private mutating func skipWS() {
        while i < s.count, s[i] == " " || s[i] == "\t" || s[i] == "\n" || s[i] == "\r" { i += 1 }
    }

    private func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }

    private mutating func literal(_ word: String) -> Bool {
        let w = Array(word.unicodeScalars)
        guard i + w.count <= s.count, Array(s[i..<(i + w.count)]) == w else { return false }
        i += w.count
        return true
    }

    private mutating func value() throws -> PyValue {
        guard let c = at(i) else { throw Failure() }
        switch c {
        case "\"":
            i += 1
            return .string(try string())
        case "{":
            depth += 1
            defer { depth -= 1 }
            if depth >= Self.maxDepth { throw Failure() }
            return try object()
        case "[":
            depth += 1
            defer { depth -= 1 }
            if depth >= Self.maxDepth { throw Failure() }
            return try array()
        case "n" where literal("null"): return .null
        case "t" where literal("true"): return .bool(true)
        case "f" where literal("false"): return .bool(false)
        case "N" where literal("NaN"): return .float(.nan)
        case "I" where literal("Infinity"): return .float(.infinity)
        case "-" where at(i + 1) == "I" && literal("-Infinity"): return .float(-.infinity)
        default: return try number()
        }
    }

    private static func isDigit(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return c.value >= 0x30 && c.value <= 0x39
    }

    private mutating func number() throws -> PyValue {
        let start = i
        var k = i
        if at(k) == "-" {
            k += 1
            if k >= s.count { throw Failure() }
        }
        if let c = at(k), c.value >= 0x31 && c.value <= 0x39 {
            k += 1
            while Self.isDigit(at(k)) { k += 1 }
        } else if at(k) == "0" {
            k += 1
        } else {
            throw Failure()
        }
        var isFloat = false
        if at(k) == "." && Self.isDigit(at(k + 1)) {
            isFloat = true
            k += 2
            while Self.isDigit(at(k)) { k += 1 }
        }
        if k < s.count - 1, at(k) == "e" || at(k) == "E" {
            let eStart = k
            k += 1
            if k < s.count - 1, at(k) == "-" || at(k) == "+" { k += 1 }
            while Self.isDigit(at(k)) { k += 1 }
            if Self.isDigit(at(k - 1)) { isFloat = true } else { k = eStart }
        }
        let text = String(String.UnicodeScalarView(s[start..<k]))
        i = k
        if isFloat {
            // Python's float(): correctly rounded; out of range gives ±inf.
            guard let d = Double(text) else { throw Failure() }
            return .float(d)
        }
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative { digits = digits.dropFirst() }
        if digits.count > Self.maxIntDigits { throw Failure() }  // ValueError in Python
        if digits == "0" { return .int("0") }
        return .int((negative ? "-" : "") + digits)
    }

    private mutating func hex4(at k: Int) throws -> UInt32 {
        guard k + 4 <= s.count else { throw Failure() }
        var v: UInt32 = 0
        for j in k..<(k + 4) {
            let c = s[j].value
            let d: UInt32
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw Failure()
            }
            v = v << 4 | d
        }
        return v
    }

    /// After the opening quote. Like Python, keeps a lone surrogate.
    private mutating func string() throws -> PyString {
        var out: [UInt32] = []
        while true {
            guard let c = at(i) else { throw Failure() }
            if c == "\"" {
                i += 1
                return PyString(codes: out)
            }
            if c == "\\" {
                i += 1
                guard let e = at(i) else { throw Failure() }
                if e != "u" {
                    switch e {
                    case "\"", "\\", "/": out.append(e.value)
                    case "b": out.append(0x08)
                    case "f": out.append(0x0C)
                    case "n": out.append(0x0A)
                    case "r": out.append(0x0D)
                    case "t": out.append(0x09)
                    default: throw Failure()
                    }
                    i += 1
                    continue
                }
                var code = try hex4(at: i + 1)
                i += 5
                if (0xD800...0xDBFF).contains(code), i + 6 < s.count, s[i] == "\\", s[i + 1] == "u" {
                    let low = try hex4(at: i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                out.append(code)
                continue
            }
            if c.value <= 0x1F { throw Failure() }
            out.append(c.value)
            i += 1
        }
    }

    private mutating func object() throws -> PyValue {
        i += 1
        var pairs: [(PyString, PyValue)] = []
        skipWS()
        if at(i) != "}" {
            while true {
                guard at(i) == "\"" else { throw Failure() }
                i += 1
                let key = try string()
                skipWS()
                guard at(i) == ":" else { throw Failure() }
                i += 1
                skipWS()
                pairs.append((key, try value()))
                skipWS()
                if at(i) == "}" { break }
                guard at(i) == "," else { throw Failure() }
                i += 1
                skipWS()
            }
        }
        i += 1
        return .dict(pairs)
    }

    private mutating func array() throws -> PyValue {
        i += 1
        var items: [PyValue] = []
        skipWS()
        if at(i) != "]" {
            while true {
                items.append(try value())
                skipWS()
                if at(i) == "]" { break }
                guard at(i) == "," else { throw Failure() }
                i += 1
                skipWS()
            }
        }
        i += 1
        return .array(items)
    }
}
