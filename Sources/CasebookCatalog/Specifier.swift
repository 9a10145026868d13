import Foundation

/// One PEP 440 version specifier clause: `>=1.0`, `!=3.0.*`, `~=2.2.0`, `===foobar`.
///
/// Matching follows PEP 440 as the `packaging` library (26.x) implements it, including the
/// exclusive-bound rules (`<2.0` does not admit `2.0a1`; `>1.0` does not admit `1.0.post1`
/// or `1.0+local`), wildcard prefix matching with zero padding (`==1.*` admits `1`), local
/// versions ignored unless the specifier has one, and `===` as a case-insensitive string match.
public struct Specifier: Sendable, Hashable, CustomStringConvertible {
    /// The comparison operators of PEP 440.
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case compatible = "~="
        case equal = "=="
        case notEqual = "!="
        case lessThanOrEqual = "<="
        case
            greaterThanOrEqual = ">="
        case lessThan = "<"
        case greaterThan = ">"
        case arbitrary = "==="
    }

    public let op: Operator
    /// The version text as written (whitespace trimmed, `.*` included for wildcards).
    public let versionText: String
    /// The parsed version (the prefix, for a wildcard); nil for `===` with a non-PEP 440 string.
    public let version: Version?
    /// `==1.0.*` or `!=3.0.*`.
    public let isWildcard: Bool

    /// Parses one clause; throws `PackagingSyntaxError` for anything `packaging` would reject.
    public init(_ text: String) throws(PackagingSyntaxError) {
        var s = VersionScanner(text)
        while s.i < s.end, VersionScanner.isSpace(s.b[s.i]) { s.i += 1 }
        while s.end > s.i, VersionScanner.isSpace(s.b[s.end - 1]) { s.end -= 1 }
        func err(_ at: Int, _ what: String) -> PackagingSyntaxError {
            PackagingSyntaxError(kind: "version specifier", input: text, position: at, expected: what)
        }
        guard let (op, opLen) = Specifier.matchOperator(s.b, s.i, s.end) else {
            throw err(s.i, "an operator (~=, ==, !=, <=, >=, <, >, ===)")
        }
        s.i += opLen
        while s.i < s.end, VersionScanner.isSpace(s.b[s.i]) { s.i += 1 }
        let versionStart = s.i
        self.op = op
        if op == .arbitrary {
            if let bad = s.b[s.i..<s.end].firstIndex(where: { VersionScanner.isSpace($0) || $0 == 59 || $0 == 41 }) {
                throw err(bad, "no whitespace, ';' or ')' in an arbitrary (===) version")
            }
            versionText = String(decoding: s.b[s.i..<s.end], as: UTF8.self)
            version = Version.parse(versionText)
            isWildcard = false
            return
        }
        let allowLocal = op == .equal || op == .notEqual
        guard let v = s.parseVersionBody(allowLocal: allowLocal) else {
            throw err(s.errorPosition, s.expected)
        }
        var wildcard = false
        if allowLocal, s.i + 2 == s.end, s.b[s.i] == 46, s.b[s.i + 1] == 42,
            v.pre == nil, v.post == nil, v.dev == nil, v.local == nil
        {
            wildcard = true
            s.i += 2
        }
        if s.i != s.end {
            if s.b[s.i] == 43 { throw err(s.i, "no local version (+...) except with == or !=") }
            if s.b[s.i] == 46, s.i + 1 < s.end, s.b[s.i + 1] == 42 {
                throw err(s.i, allowLocal ? "no .* after a pre, post, dev or local part" : "no .* suffix except with == or !=")
            }
            throw err(s.i, "end of specifier")
        }
        if op == .compatible, v.release.count < 2 {
            throw err(versionStart, "at least two release numbers after ~= (such as ~=2.2)")
        }
        version = v
        isWildcard = wildcard
        versionText = String(decoding: s.b[versionStart..<s.end], as: UTF8.self)
    }

    static func matchOperator(_ b: [UInt8], _ i: Int, _ end: Int) -> (Operator, Int)? {
        func at(_ k: Int) -> UInt8? { i + k < end ? b[i + k] : nil }
        if at(0) == 61, at(1) == 61, at(2) == 61 { return (.arbitrary, 3) }
        switch (at(0), at(1)) {
        case (126, 61): return (.compatible, 2)
        case (61, 61): return (.equal, 2)
        case (33, 61): return (.notEqual, 2)
        case (60, 61): return (.lessThanOrEqual, 2)
        case (62, 61): return (.greaterThanOrEqual, 2)
        case (60, _): return (.lessThan, 1)
        case (62, _): return (.greaterThan, 1)
        default: return nil
        }
    }

    /// `>=1.0` (operator and version text as written, without inner spaces).
    public var description: String { op.rawValue + versionText }

    /// Whether this clause by itself admits pre-releases (PEP 440: a specifier naming a
    /// pre-release does); nil when unknown (`===` on a non-version string).
    public var impliesPrereleases: Bool? {
        if op == .notEqual { return false }
        if op == .equal, isWildcard { return false }
        guard let version else { return nil }
        return version.isPrerelease
    }

    /// Whether `candidate` satisfies this clause (pre-release policy is the set's business).
    /// `rawText` is the candidate as written, used by `===`.
    public func matches(_ candidate: Version, rawText: String? = nil) -> Bool {
        if op == .arbitrary {
            return (rawText ?? candidate.description).lowercased() == versionText.lowercased()
        }
        guard let spec = version else { return false }
        switch op {
        case .compatible:
            return candidate.publicVersion >= spec
                && Specifier.prefixMatch(candidate, epoch: spec.epoch, prefix: Array(spec.release.dropLast()))
        case .equal: return equal(candidate, spec)
        case .notEqual: return !equal(candidate, spec)
        case .lessThanOrEqual: return candidate.publicVersion <= spec
        case .greaterThanOrEqual: return candidate.publicVersion >= spec
        case .lessThan:
            guard candidate < spec else { return false }
            if !spec.isPrerelease, candidate.isPrerelease,
                candidate >= Version(epoch: spec.epoch, release: spec.release, pre: spec.pre, post: spec.post, dev: 0)
            {
                return false
            }
            return true
        case .greaterThan:
            guard candidate > spec else { return false }
            if !spec.isPostrelease, candidate.isPostrelease,
                Version(epoch: candidate.epoch, release: candidate.release, pre: candidate.pre) == spec
            {
                return false
            }
            if candidate.local != nil, candidate.publicVersion == spec { return false }
            return true
        case .arbitrary: return false
        }
    }

    private func equal(_ candidate: Version, _ spec: Version) -> Bool {
        if isWildcard { return Specifier.prefixMatch(candidate, epoch: spec.epoch, prefix: spec.release) }
        if spec.local == nil { return candidate.publicVersion == spec }
        return candidate == spec
    }

    /// PEP 440 prefix matching: the candidate's release, zero-padded, starts with `prefix`.
    static func prefixMatch(_ candidate: Version, epoch: Int, prefix: [Int]) -> Bool {
        guard candidate.epoch == epoch else { return false }
        for (k, p) in prefix.enumerated() {
            let c = k < candidate.release.count ? candidate.release[k] : 0
            if c != p { return false }
        }
        return true
    }

    /// Equality as `packaging` defines it: same operator and the same canonical version
    /// (trailing zeros ignored except for `~=`).
    public static func == (a: Specifier, b: Specifier) -> Bool { a.canonicalKey == b.canonicalKey }
    public func hash(into h: inout Hasher) { h.combine(canonicalKey) }

    var canonicalKey: String {
        if op == .arbitrary || isWildcard { return description }
        guard let version else { return description }
        return op.rawValue + (op == .compatible ? version.description : version.canonicalDescription)
    }
}

/// A comma-separated set of version specifiers, all of which must match (`>=1.0,!=1.3.*,<2`).
///
/// An empty set admits every version. See `contains(_:prereleases:)` and
/// `filter(_:prereleases:)` for the pre-release policy.
public struct SpecifierSet: Sendable, Hashable, CustomStringConvertible {
    public let specifiers: [Specifier]

    public init(_ specifiers: [Specifier] = []) { self.specifiers = specifiers }

    /// Parses `">=1.0, <2"`; empty or blank text is the empty set.
    public init(_ text: String) throws(PackagingSyntaxError) {
        var out: [Specifier] = []
        var offset = 0
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var sub = part
            while let f = sub.first, f.isWhitespace { sub.removeFirst() }
            while let l = sub.last, l.isWhitespace { sub.removeLast() }
            let trimmed = String(sub)
            if !trimmed.isEmpty {
                do { out.append(try Specifier(trimmed)) } catch {
                    var e = error
                    e.input = text
                    let lead = part.prefix(while: { $0.isWhitespace }).count
                    e.position += offset + lead
                    e.kind = "version specifier set"
                    throw e
                }
            }
            offset += part.count + 1
        }
        specifiers = out
    }

    public var isEmpty: Bool { specifiers.isEmpty }

    /// Clauses sorted and deduplicated, joined with commas (as `packaging` prints them).
    public var description: String {
        var seen = Set<Specifier>()
        return specifiers.sorted { $0.description < $1.description }
            .filter { seen.insert($0).inserted }
            .map(\.description).joined(separator: ",")
    }

    /// True if any clause names a pre-release (then pre-releases are admitted by default).
    public var impliesPrereleases: Bool { specifiers.contains { $0.impliesPrereleases == true } }

    /// Whether one version satisfies every clause.
    ///
    /// `prereleases: false` rejects pre-releases; `true` or `nil` admits them if they match
    /// (with nothing to compare against, PEP 440 lets a lone pre-release through, as
    /// `packaging` 26 does). To pick versions from a list the PEP 440 way, use `filter`.
    public func contains(_ candidate: Version, prereleases: Bool? = nil) -> Bool {
        if prereleases == false, candidate.isPrerelease { return false }
        return specifiers.allSatisfy { $0.matches(candidate) }
    }

    /// Like `contains(_:prereleases:)` for a version as written: `===` compares this text,
    /// and text that is not a PEP 440 version can only match `===` clauses.
    public func contains(_ text: String, prereleases: Bool? = nil) -> Bool {
        guard let v = Version.parse(text) else {
            return specifiers.allSatisfy { $0.op == .arbitrary && $0.versionText.lowercased() == text.lowercased() }
        }
        if prereleases == false, v.isPrerelease { return false }
        return specifiers.allSatisfy { $0.matches(v, rawText: text) }
    }

    /// The versions that satisfy every clause, PEP 440 style: pre-releases are kept only if
    /// asked (`prereleases: true`), if a clause names one, or if no final release matches.
    public func filter(_ versions: [Version], prereleases: Bool? = nil) -> [Version] {
        let allow = prereleases ?? (impliesPrereleases ? true : nil)
        let matching = versions.filter { v in
            if allow == false, v.isPrerelease { return false }
            return specifiers.allSatisfy { $0.matches(v) }
        }
        if allow != nil { return matching }
        let finals = matching.filter { !$0.isPrerelease }
        return finals.isEmpty ? matching : finals
    }

    public static func == (a: SpecifierSet, b: SpecifierSet) -> Bool { Set(a.specifiers) == Set(b.specifiers) }
    public func hash(into h: inout Hasher) { h.combine(Set(specifiers)) }
}
