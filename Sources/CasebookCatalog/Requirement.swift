import CasebookCore

/// A PEP 508 dependency specifier: `name[extra1,extra2] (>=1.0,<2) ; marker` or
/// `name @ https://host/file.whl ; marker`.
///
/// Old-style parenthesised specifiers (`aiohttp (==3.7.2)`), as found in `requires_dist`,
/// are accepted. `description` prints the requirement the way `packaging` does.
public struct Requirement: Sendable, Hashable, CustomStringConvertible {
    /// The project name as written.
    public var name: String
    /// Extras as written, sorted and deduplicated.
    public var extras: [String]
    public var specifier: SpecifierSet
    /// The URL of a direct reference (`name @ url`), else nil.
    public var url: String?
    public var marker: Marker?

    /// The PEP 503 normalized project name.
    public var normalizedName: String { ProjectName.normalize(name) }

    public init(name: String, extras: [String] = [], specifier: SpecifierSet = SpecifierSet(), url: String? = nil, marker: Marker? = nil) {
        self.name = name
        self.extras = Array(Set(extras)).sorted()
        self.specifier = specifier
        self.url = url
        self.marker = marker
    }

    /// Parses a requirement string; throws `PackagingSyntaxError` with the position.
    public init(_ text: String) throws(PackagingSyntaxError) {
        var t = RequirementTokenizer(text, kind: "requirement")
        t.skipWS()
        guard let name = t.identifier() else { throw t.error("package name at the start of dependency specifier") }
        t.skipWS()
        var extras: [String] = []
        if t.peek("[") {
            let open = t.pos
            t.pos += 1
            t.skipWS()
            if let first = t.identifier() {
                extras.append(first)
                while true {
                    t.skipWS()
                    if t.identifier(peekOnly: true) != nil { throw t.error("comma between extra names") }
                    guard t.peek(",") else { break }
                    t.pos += 1
                    t.skipWS()
                    guard let e = t.identifier() else { throw t.error("extra name after comma") }
                    extras.append(e)
                }
            }
            t.skipWS()
            guard t.peek("]") else { throw t.error("matching ']' for '[' after extras", at: open) }
            t.pos += 1
        }
        t.skipWS()
        var url: String?
        var specText = ""
        var marker: Marker?
        if t.peek("@") {
            t.pos += 1
            t.skipWS()
            let start = t.pos
            while t.pos < t.s.count, t.s[t.pos] != " ", t.s[t.pos] != "\t" { t.pos += 1 }
            guard t.pos > start else { throw t.error("URL after @") }
            url = String(t.s[start..<t.pos])
            if !t.atEnd {
                guard t.peek(" ") || t.peek("\t") else { throw t.error("whitespace after URL") }
                t.skipWS()
                if !t.atEnd {
                    guard t.peek(";") else { throw t.error("semicolon (after URL and whitespace) or end", at: start) }
                    t.pos += 1
                    marker = try t.parseMarker()
                    t.skipWS()
                }
            }
        } else {
            let specStart = t.pos
            var open: Int?
            if t.peek("(") {
                open = t.pos
                t.pos += 1
            }
            t.skipWS()
            while let (len, tokenText) = t.specifierToken() {
                let tokStart = t.pos
                t.pos += len
                specText += tokenText
                if t.peek("."), t.pos + 1 < t.s.count, t.s[t.pos + 1] == "*" {
                    throw t.error(".* suffix only with `==` or `!=` operators", at: tokStart)
                }
                if t.peek("+"), t.pos + 1 < t.s.count, t.s[t.pos + 1].isASCII,
                    t.s[t.pos + 1].isLowercase || t.s[t.pos + 1].isNumber
                {
                    throw t.error("local version label only with `==` or `!=` operators", at: tokStart)
                }
                t.skipWS()
                guard t.peek(",") else { break }
                t.pos += 1
                specText += ","
                t.skipWS()
            }
            t.skipWS()
            if let open {
                guard t.peek(")") else { throw t.error("matching ')' for '(' after version specifier", at: open) }
                t.pos += 1
            }
            t.skipWS()
            if !t.atEnd {
                guard t.peek(";") else {
                    throw t.error(
                        specText.isEmpty
                            ? "semicolon (after name with no version specifier) or end"
                            : "comma (within version specifier), semicolon (after version specifier) or end",
                        at: specStart)
                }
                t.pos += 1
                marker = try t.parseMarker()
                t.skipWS()
            }
        }
        guard t.atEnd else { throw t.error("end of dependency specifier") }
        let set: SpecifierSet
        do { set = try SpecifierSet(specText) } catch {
            throw PackagingSyntaxError(kind: "requirement", input: text, position: 0, expected: error.description)
        }
        self.init(name: name, extras: extras, specifier: set, url: url, marker: marker)
    }

    /// `name[extras]specifiers @ url ; marker`, as `packaging` prints it.
    public var description: String {
        var s = name
        if !extras.isEmpty { s += "[" + extras.joined(separator: ",") + "]" }
        if !specifier.isEmpty { s += specifier.description }
        if let url {
            s += " @ " + url
            if marker != nil { s += " " }
        }
        if let marker { s += "; " + marker.description }
        return s
    }

    /// Whether the requirement applies in an environment: true without a marker; with
    /// `extras`, the marker is true for no extra or for one of them.
    public func applies(in environment: [String: String], extras requested: Set<String> = []) throws(MarkerEvaluationError) -> Bool {
        guard let marker else { return true }
        var env = environment
        env["extra"] = ""
        if try marker.evaluate(env) { return true }
        for e in requested.sorted() {
            env["extra"] = e
            if try marker.evaluate(env) { return true }
        }
        return false
    }
}

extension RequirementTokenizer {
    /// `\b[a-zA-Z0-9][a-zA-Z0-9._-]*\b`, shortened to end at a word boundary.
    mutating func identifier(peekOnly: Bool = false) -> String? {
        func ok(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        guard pos < s.count, ok(s[pos]), boundary(pos) else { return nil }
        var e = pos + 1
        while e < s.count, ok(s[e]) || s[e] == "." || s[e] == "_" || s[e] == "-" { e += 1 }
        while e > pos + 1, !boundary(e) { e -= 1 }
        guard boundary(e) else { return nil }
        let id = String(s[pos..<e])
        if !peekOnly { pos = e }
        return id
    }

    /// The longest prefix at `pos` that `packaging`'s SPECIFIER token regex matches.
    func specifierToken() -> (Int, String)? {
        let rest = String(s[pos...])
        var b = Array(rest.utf8)
        // Work on the ASCII prefix only; anything else ends the token.
        if let k = b.firstIndex(where: { $0 >= 128 }) { b = Array(b[..<k]) }
        guard let (op, opLen) = Specifier.matchOperator(b, 0, b.count) else { return nil }
        var i = opLen
        while i < b.count, VersionScanner.isSpace(b[i]) { i += 1 }
        if op == .arbitrary {
            while i < b.count, !VersionScanner.isSpace(b[i]), b[i] != 59, b[i] != 41 { i += 1 }
        } else {
            var sc = VersionScanner(String(decoding: b, as: UTF8.self))
            sc.i = i
            let allowLocal = op == .equal || op == .notEqual
            guard let v = sc.parseVersionBody(allowLocal: allowLocal) else { return nil }
            if op == .compatible, v.release.count < 2 { return nil }
            if allowLocal, v.pre == nil, v.post == nil, v.dev == nil, v.local == nil,
                sc.i + 1 < b.count, b[sc.i] == 46, b[sc.i + 1] == 42
            {
                sc.i += 2
            }
            i = sc.i
        }
        let token = String(decoding: b[0..<i], as: UTF8.self)
        return (token.count, token)
    }
}
