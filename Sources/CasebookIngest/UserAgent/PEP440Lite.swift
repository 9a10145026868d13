// Part of a Swift port of PyPI's user-agent parser, linehaul
// (https://github.com/pypi/linehaul-cloud-function, `linehaul/ua/`), Apache License 2.0.

import Foundation

/// Just enough of PEP 440 (as the `packaging` library implements it) for linehaul's checks
/// `pip >= 6`, `1.4 <= pip < 6` and `uv >= 0.1.22`, all with pre-releases allowed.
///
/// Kept private to the user-agent parser: CasebookIngest does not depend on the catalog
/// module's full PEP 440 implementation.
struct PEP440Lite: Sendable {
    enum Phase: Int, Comparable {
        case a = 0
        case b, rc
        static func < (l: Phase, r: Phase) -> Bool { l.rawValue < r.rawValue }
    }

    enum LocalPart: Equatable {
        case number(String)
        case text(String)
    }

    var epoch: String
    var release: [String]
    var pre: (Phase, String)?
    var post: String?
    var dev: String?
    var local: [LocalPart]?

    var isPrerelease: Bool { pre != nil || dev != nil }

    // packaging's VERSION_PATTERN (whose letters match ASCII only, ignoring case).
    private static let pattern = PyRegex(
        #"\A[vV]?(?:(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\.[0-9]+)*)"#
            + #"(?<pre>[._-]?(?<prel>(?i:alpha|a|beta|b|preview|pre|c|rc))[._-]?(?<pren>[0-9]+)?)?"#
            + #"(?<post>(?:-(?<postn1>[0-9]+))|(?:[._-]?(?<postl>(?i:post|rev|r))[._-]?(?<postn2>[0-9]+)?))?"#
            + #"(?<dev>[._-]?(?<devl>(?i:dev))[._-]?(?<devn>[0-9]+)?)?)"#
            + #"(?:\+(?<local>(?i:[a-z0-9]+(?:[._-][a-z0-9]+)*)))?\z"#
    )

    /// `packaging.version.Version(text)`, or nil where it raises (including Python's
    /// `ValueError` for a number of more than 4300 digits).
    init?(_ text: String) {
        // The pattern's letters are ASCII-only; anything else cannot match. Checking first
        // also keeps ICU's wider case folding out of the picture.
        guard text.unicodeScalars.allSatisfy(\.isASCII),
            let g = Self.pattern.search(text)
        else { return nil }
        func num(_ s: String?) -> String? {
            guard let s else { return nil }
            let trimmed = s.drop(while: { $0 == "0" })
            return trimmed.isEmpty ? "0" : String(trimmed)
        }
        func group(_ name: String) -> String? { g[name] ?? nil }
        let parts = [group("epoch")] + (group("release") ?? "").split(separator: ".").map { String($0) }
        if parts.contains(where: { ($0?.count ?? 0) > PythonJSON.maxIntDigits }) { return nil }
        epoch = num(group("epoch")) ?? "0"
        release = (group("release") ?? "0").split(separator: ".").map { num(String($0))! }
        if let l = group("prel")?.lowercased() {
            let phase: Phase =
                switch l {
                case "a", "alpha": .a
                case "b", "beta": .b
                default: .rc
                }
            pre = (phase, num(group("pren")) ?? "0")
        }
        if group("post") != nil {
            post = num(group("postn1") ?? group("postn2")) ?? "0"
        }
        if group("dev") != nil {
            dev = num(group("devn")) ?? "0"
        }
        if let l = group("local") {
            local = l.lowercased().split(whereSeparator: { "._-".contains($0) }).map {
                $0.allSatisfy(\.isNumber) ? .number(num(String($0))!) : .text(String($0))
            }
        }
        if [pre?.1, post, dev].contains(where: { ($0?.count ?? 0) > PythonJSON.maxIntDigits }) { return nil }
    }

    private init(release: [String]) {
        epoch = "0"
        self.release = release
    }

    /// Compares two non-negative decimal numbers without leading zeros.
    private static func cmp(_ a: String, _ b: String) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        return a == b ? 0 : (a < b ? -1 : 1)
    }

    private var trimmedRelease: [String] {
        var r = release
        while r.count > 1, r.last == "0" { r.removeLast() }
        return r
    }

    /// packaging's sort key, compared part by part (local labels left out).
    private static func comparePublic(_ x: PEP440Lite, _ y: PEP440Lite) -> Int {
        if case let c = cmp(x.epoch, y.epoch), c != 0 { return c }
        let rx = x.trimmedRelease
        let ry = y.trimmedRelease
        for (a, b) in zip(rx, ry) where cmp(a, b) != 0 { return cmp(a, b) }
        if rx.count != ry.count { return rx.count < ry.count ? -1 : 1 }
        // Pre-release: a dev release without pre or post sorts before any pre-release.
        func preKey(_ v: PEP440Lite) -> (Int, Phase, String) {
            if let p = v.pre { return (1, p.0, p.1) }
            if v.post == nil && v.dev != nil { return (0, .a, "0") }
            return (2, .a, "0")
        }
        let px = preKey(x)
        let py = preKey(y)
        if px.0 != py.0 { return px.0 < py.0 ? -1 : 1 }
        if px.1 != py.1 { return px.1 < py.1 ? -1 : 1 }
        if case let c = cmp(px.2, py.2), c != 0 { return c }
        // Post: none sorts first.
        switch (x.post, y.post) {
        case (nil, nil): break
        case (nil, _): return -1
        case (_, nil): return 1
        case (let a?, let b?): if case let c = cmp(a, b), c != 0 { return c }
        }
        // Dev: none sorts last.
        switch (x.dev, y.dev) {
        case (nil, nil): return 0
        case (nil, _): return 1
        case (_, nil): return -1
        case (let a?, let b?): return cmp(a, b)
        }
    }

    /// `version in SpecifierSet(">=<spec>", prereleases=True)`.
    func isAtLeast(_ spec: PEP440Lite) -> Bool {
        Self.comparePublic(self, spec) >= 0
    }

    /// `version in SpecifierSet("<<spec>", prereleases=True)` for a final release `spec`:
    /// nothing that shares the spec's epoch and release (its pre-, dev- or post-releases,
    /// or a local variant) is below it.
    func isBelow(_ spec: PEP440Lite) -> Bool {
        if Self.cmp(epoch, spec.epoch) == 0 && trimmedRelease == spec.trimmedRelease { return false }
        return Self.comparePublic(self, spec) < 0
    }

    static let six = PEP440Lite(release: ["6"])
    static let onePointFour = PEP440Lite(release: ["1", "4"])
    static let uvJSON = PEP440Lite(release: ["0", "1", "22"])
}
