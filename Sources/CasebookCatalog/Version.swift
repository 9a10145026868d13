/// A PEP 440 version: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`.
///
/// Parsing accepts every spelling PEP 440 normalizes (`v1.0`, `1.0-alpha.1`, `1.0-1`,
/// `1.0.POST`, `1.0_dev3`, surrounding whitespace) and `description` is the normalized form
/// (`1.0a1`, `1.0.post1`, `1.0.dev3`). Equality, hashing and ordering follow PEP 440 (and the
/// `packaging` library): trailing zeros of the release do not matter (`1.0 == 1.0.0`),
/// `1.0.dev1 < 1.0a1 < 1.0b1 < 1.0rc1 < 1.0 < 1.0.post1`, a local version sorts after its
/// public version, and in local labels numbers sort after strings.
public struct Version: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// A pre-release marker: alpha, beta or release candidate.
    public enum PreReleaseKind: String, Sendable, Hashable, Comparable {
        case alpha = "a"
        case beta = "b"
        case releaseCandidate = "rc"
        var rank: Int { self == .alpha ? 0 : self == .beta ? 1 : 2 }
        public static func < (l: Self, r: Self) -> Bool { l.rank < r.rank }
    }
    /// One part of a local version label (`ubuntu.1` is `[.string("ubuntu"), .number(1)]`).
    public enum LocalSegment: Sendable, Hashable, CustomStringConvertible {
        case number(Int)
        case string(String)
        public var description: String {
            switch self {
            case .number(let n): return String(n)
            case .string(let s): return s
            }
        }
    }

    public let epoch: Int
    /// The release numbers as written (`1.0.0` keeps three components).
    public let release: [Int]
    public let pre: (kind: PreReleaseKind, number: Int)?
    public let post: Int?
    public let dev: Int?
    public let local: [LocalSegment]?

    /// Builds a version from its parts (used for derived versions such as `1.0.dev0`).
    public init(
        epoch: Int = 0, release: [Int], pre: (kind: PreReleaseKind, number: Int)? = nil,
        post: Int? = nil, dev: Int? = nil, local: [LocalSegment]? = nil
    ) {
        precondition(!release.isEmpty, "a version needs at least one release number")
        self.epoch = epoch
        self.release = release
        self.pre = pre
        self.post = post
        self.dev = dev
        self.local = local
    }

    /// Parses any PEP 440 spelling; throws `PackagingSyntaxError` with the position of the problem.
    public init(_ text: String) throws(PackagingSyntaxError) {
        var p = VersionScanner(text)
        guard let v = p.parseFullVersion() else {
            throw PackagingSyntaxError(
                kind: "version", input: text, position: p.errorPosition,
                expected: p.expected)
        }
        self = v
    }

    /// Parses, returning nil for text that is not a PEP 440 version.
    public static func parse(_ text: String) -> Version? { try? Version(text) }

    public var isPrerelease: Bool { pre != nil || dev != nil }
    public var isPostrelease: Bool { post != nil }
    public var isDevrelease: Bool { dev != nil }

    /// The version without its local label (`1.0+ubuntu1` → `1.0`).
    public var publicVersion: Version {
        local == nil ? self : Version(epoch: epoch, release: release, pre: pre, post: post, dev: dev)
    }
    /// Epoch and release only (`1!2.0rc1.post3` → `1!2.0`).
    public var baseVersion: Version { Version(epoch: epoch, release: release) }

    /// Normalized text: `1!2.0rc1.post3.dev4+local.7`.
    public var description: String {
        var s = epoch != 0 ? "\(epoch)!" : ""
        s += release.map(String.init).joined(separator: ".")
        if let pre { s += "\(pre.kind.rawValue)\(pre.number)" }
        if let post { s += ".post\(post)" }
        if let dev { s += ".dev\(dev)" }
        if let local { s += "+" + local.map(\.description).joined(separator: ".") }
        return s
    }

    /// Normalized text with trailing zeros of the release removed (`1.0.0` → `1`), as
    /// `packaging.utils.canonicalize_version` writes it.
    public var canonicalDescription: String {
        var r = release
        while r.count > 1, r.last == 0 { r.removeLast() }
        return Version(epoch: epoch, release: r, pre: pre, post: post, dev: dev, local: local).description
    }

    /// The release without trailing zeros (`1.0.0` → `[1]`, `0.0` → `[]`): the comparison key.
    var trimmedRelease: [Int] {
        var r = release
        while r.last == 0 { r.removeLast() }
        return r
    }

    // MARK: ordering

    private var suffixKey: [Int] {
        let preRank: Int
        let preN: Int
        if pre == nil, post == nil, dev != nil {
            preRank = -1
            preN = 0
        } else if let pre {
            preRank = pre.kind.rank
            preN = pre.number
        } else {
            preRank = 3
            preN = 0
        }
        return [preRank, preN, post == nil ? 0 : 1, post ?? 0, dev == nil ? 1 : 0, dev ?? 0]
    }

    private static func compareLocal(_ a: [LocalSegment]?, _ b: [LocalSegment]?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let a?, let b?):
            for (x, y) in zip(a, b) {
                switch (x, y) {
                case (.number(let m), .number(let n)): if m != n { return m < n ? -1 : 1 }
                case (.string(let m), .string(let n)): if m != n { return m < n ? -1 : 1 }
                case (.string, .number): return -1
                case (.number, .string): return 1
                }
            }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }
    }

    private static func compareInts(_ a: [Int], _ b: [Int]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// -1, 0 or 1 by PEP 440 ordering.
    public static func compare(_ a: Version, _ b: Version) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let r = compareInts(a.trimmedRelease, b.trimmedRelease)
        if r != 0 { return r }
        let s = compareInts(a.suffixKey, b.suffixKey)
        if s != 0 { return s }
        return compareLocal(a.local, b.local)
    }

    public static func < (a: Version, b: Version) -> Bool { compare(a, b) < 0 }
    public static func == (a: Version, b: Version) -> Bool { compare(a, b) == 0 }
    public func hash(into h: inout Hasher) {
        h.combine(epoch)
        h.combine(trimmedRelease)
        h.combine(suffixKey)
        h.combine(local)
    }
}

/// Byte scanner for the PEP 440 grammar as `packaging` 26 implements it (possessive groups).
struct VersionScanner {
    let b: [UInt8]
    var i = 0
    var end: Int
    var errorPosition = 0
    var expected = "a version such as 1.0, 2!1.0rc1.post2.dev3 or 1.0+local.1"

    init(_ text: String) {
        b = Array(text.utf8)
        end = b.count
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20 >= 97 && c | 0x20 <= 122) }
    static func isSep(_ c: UInt8) -> Bool { c == 46 || c == 45 || c == 95 }

    func peek(_ k: Int = 0) -> UInt8? { i + k < end ? b[i + k] : nil }

    /// Reads ASCII digits as an Int; nil if none (or on overflow, which is treated as invalid).
    mutating func digits() -> Int?? {
        let start = i
        var v = 0
        var overflow = false
        while let c = peek(), Self.isDigit(c) {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - 48))
            if o1 || o2 { overflow = true }
            v = a
            i += 1
        }
        if i == start { return .none }
        return overflow ? .some(nil) : .some(v)
    }

    /// Matches a case-insensitive word at the cursor.
    mutating func word(_ w: String) -> Bool {
        let u = Array(w.utf8)
        guard i + u.count <= end else { return false }
        for (k, c) in u.enumerated() where b[i + k] | 0x20 != c { return false }
        i += u.count
        return true
    }

    mutating func fail(_ what: String) -> Version? {
        errorPosition = i
        expected = what
        return nil
    }

    mutating func parseFullVersion() -> Version? {
        while i < end, Self.isSpace(b[i]) { i += 1 }
        while end > i, Self.isSpace(b[end - 1]) { end -= 1 }
        guard let v = parseVersionBody(allowLocal: true) else { return nil }
        if i != end {
            return fail(
                i < end && b[i] == 43
                    ? "a local label after '+' ([a-z0-9] parts separated by . _ -)" : "end of version (pre, post, dev or +local part)")
        }
        return v
    }

    /// Release, then optional pre, post, dev and (if allowed) local parts. Leaves the cursor after them.
    mutating func parseVersionBody(allowLocal: Bool) -> Version? {
        if let c = peek(), c | 0x20 == 118 { i += 1 }  // v
        // epoch
        var epoch = 0
        let save = i
        let epochDigits = digits()
        if case .some(let n) = epochDigits, peek() == 33 {
            guard let n else { return fail("an epoch that fits in 64 bits") }
            epoch = n
            i += 1
        } else {
            i = save
        }
        var release: [Int] = []
        switch digits() {
        case .none: return fail("a release number (digits)")
        case .some(nil): return fail("a release number that fits in 64 bits")
        case .some(let n?): release.append(n)
        }
        while peek() == 46, let c = peek(1), Self.isDigit(c) {
            i += 1
            guard case .some(let n?) = digits() else { return fail("a release number that fits in 64 bits") }
            release.append(n)
        }
        // pre
        var pre: (kind: Version.PreReleaseKind, number: Int)?
        do {
            let save = i
            if let c = peek(), Self.isSep(c) { i += 1 }
            var kind: Version.PreReleaseKind?
            for (w, k) in [
                ("alpha", Version.PreReleaseKind.alpha), ("a", .alpha), ("beta", .beta), ("b", .beta),
                ("preview", .releaseCandidate), ("pre", .releaseCandidate), ("c", .releaseCandidate),
                ("rc", .releaseCandidate)
            ] where word(w) {
                kind = k
                break
            }
            if let kind {
                if let c = peek(), Self.isSep(c) { i += 1 }
                var n = 0
                if case .some(let d) = digits() {
                    guard let d else { return fail("a pre-release number that fits in 64 bits") }
                    n = d
                }
                pre = (kind, n)
            } else {
                i = save
            }
        }
        // post
        var post: Int?
        do {
            let save = i
            if peek() == 45, let c = peek(1), Self.isDigit(c) {
                i += 1
                guard case .some(let n?) = digits() else { return fail("a post-release number that fits in 64 bits") }
                post = n
            } else {
                if let c = peek(), Self.isSep(c) { i += 1 }
                if word("post") || word("rev") || word("r") {
                    if let c = peek(), Self.isSep(c) { i += 1 }
                    var n = 0
                    if case .some(let d) = digits() {
                        guard let d else { return fail("a post-release number that fits in 64 bits") }
                        n = d
                    }
                    post = n
                } else {
                    i = save
                }
            }
        }
        // dev
        var dev: Int?
        do {
            let save = i
            if let c = peek(), Self.isSep(c) { i += 1 }
            if word("dev") {
                if let c = peek(), Self.isSep(c) { i += 1 }
                var n = 0
                if case .some(let d) = digits() {
                    guard let d else { return fail("a dev-release number that fits in 64 bits") }
                    n = d
                }
                dev = n
            } else {
                i = save
            }
        }
        // local
        var local: [Version.LocalSegment]?
        if allowLocal, peek() == 43 {
            let save = i
            i += 1
            var parts: [Version.LocalSegment] = []
            var ok = true
            while true {
                let start = i
                while let c = peek(), Self.isAlnum(c) { i += 1 }
                if i == start {
                    ok = false
                    break
                }
                let text = String(decoding: b[start..<i], as: UTF8.self).lowercased()
                if text.utf8.allSatisfy(Self.isDigit), let n = Int(text) { parts.append(.number(n)) } else { parts.append(.string(text)) }
                if let c = peek(), Self.isSep(c), let d = peek(1), Self.isAlnum(d) { i += 1 } else { break }
            }
            if ok { local = parts } else { i = save }
        }
        return Version(epoch: epoch, release: release, pre: pre, post: post, dev: dev, local: local)
    }
}
