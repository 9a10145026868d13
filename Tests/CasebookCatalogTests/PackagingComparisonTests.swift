import Foundation
import Testing

@testable import CasebookCatalog

/// Checks CasebookCatalog against every case that `packaging` (the reference implementation)
/// answered in Fixtures/packaging-cases.json (made by packaging/generate_cases.py).
@Suite struct PackagingComparisonTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    /// Cases where CasebookCatalog deliberately differs from packaging 26.2, with the reason.
    /// (Empty means full agreement.)
    static let documentedDifferences: [String: String] = [:]

    final class Tally: @unchecked Sendable {
        var total = 0
        var agree = 0
        var perCategory: [String: (Int, Int)] = [:]
        var mismatches: [String] = []
        func check(_ category: String, _ ok: Bool, _ what: @autoclosure () -> String) {
            total += 1
            var c = perCategory[category] ?? (0, 0)
            c.1 += 1
            if ok {
                agree += 1
                c.0 += 1
            } else {
                mismatches.append("[\(category)] \(what())")
            }
            perCategory[category] = c
        }
    }

    static func opt(_ v: Any?) -> Any? { v is NSNull ? nil : v }

    @Test func agreesWithPackagingOnEveryGeneratedCase() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("packaging-cases.json"))
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let t = Tally()

        for c in doc["versions"] as! [[String: Any]] {
            let input = c["input"] as! String
            let v = Version.parse(input)
            if c["valid"] as! Bool {
                guard let v else {
                    t.check("version", false, "'\(input)' should parse")
                    continue
                }
                let ok =
                    v.description == c["normalized"] as! String
                    && v.publicVersion.description == c["public"] as! String
                    && v.baseVersion.description == c["base"] as! String
                    && v.isPrerelease == c["is_prerelease"] as! Bool
                    && v.isPostrelease == c["is_postrelease"] as! Bool
                    && v.isDevrelease == c["is_devrelease"] as! Bool
                    && v.epoch == c["epoch"] as! Int && v.release == c["release"] as! [Int]
                t.check("version", ok, "'\(input)' → \(v) expected \(c["normalized"]!)")
            } else {
                t.check("version", v == nil, "'\(input)' should be invalid, parsed as \(v.map(\.description) ?? "")")
            }
        }
        for c in doc["comparisons"] as! [[String: Any]] {
            let a = try Version(c["a"] as! String)
            let b = try Version(c["b"] as! String)
            let got = Version.compare(a, b)
            t.check(
                "ordering", got == c["cmp"] as! Int && (a == b) == (got == 0) && (got != 0 || a.hashValue == b.hashValue),
                "\(a) vs \(b): \(got), expected \(c["cmp"]!)")
        }
        let pool = doc["sorted"] as! [String]
        let sorted = pool.map { try! Version($0) }.enumerated().sorted { ($0.1, pool[$0.0]) < ($1.1, pool[$1.0]) }.map { pool[$0.0] }
        t.check("ordering", sorted == pool, "sorting the pool: \(sorted) vs \(pool)")

        for c in doc["specifier_sets"] as! [[String: Any]] {
            let input = c["input"] as! String
            let s = try? SpecifierSet(input)
            if c["valid"] as! Bool {
                t.check(
                    "specifier", s?.description == c["normalized"] as? String && s?.impliesPrereleases == c["prereleases"] as? Bool,
                    "'\(input)' → \(s?.description ?? "invalid") expected \(c["normalized"]!)")
            } else {
                t.check("specifier", s == nil, "'\(input)' should be invalid")
            }
        }
        for c in doc["contains"] as! [[String: Any]] {
            let spec = try SpecifierSet(c["spec"] as! String)
            let pre = Self.opt(c["prereleases"]) as? Bool
            let got = spec.contains(c["version"] as! String, prereleases: pre)
            t.check(
                "contains", got == c["result"] as! Bool,
                "'\(spec)'.contains('\(c["version"]!)', prereleases: \(pre.map(String.init) ?? "nil")) = \(got)")
        }
        for c in doc["filters"] as! [[String: Any]] {
            let spec = try SpecifierSet(c["spec"] as! String)
            let vs = (c["versions"] as! [String]).map { try! Version($0) }
            let got = spec.filter(vs).map(\.description)
            let want = (c["result"] as! [String]).map { try! Version($0).description }
            t.check("filter", got == want, "'\(spec)'.filter(\(vs)) = \(got), expected \(want)")
        }
        for c in doc["requirements"] as! [[String: Any]] {
            let input = c["input"] as! String
            let r = try? Requirement(input)
            if c["valid"] as! Bool {
                guard let r else {
                    t.check("requirement", false, "'\(input)' should parse")
                    continue
                }
                let ok =
                    r.name == c["name"] as! String && r.extras == c["extras"] as! [String]
                    && r.specifier.description == c["specifier"] as! String && r.url == Self.opt(c["url"]) as? String
                    && r.marker?.description == Self.opt(c["marker"]) as? String && r.description == c["str"] as! String
                t.check("requirement", ok, "'\(input)' → '\(r)' expected '\(c["str"]!)'")
            } else {
                t.check("requirement", r == nil, "'\(input)' should be invalid, parsed as '\(r!)'")
            }
        }
        let envs = doc["environments"] as! [[String: String]]
        for c in doc["markers"] as! [[String: Any]] {
            let input = c["input"] as! String
            let m = try? Marker(input)
            guard c["valid"] as! Bool else {
                t.check("marker", m == nil, "'\(input)' should be invalid")
                continue
            }
            guard let m else {
                t.check("marker", false, "'\(input)' should parse")
                continue
            }
            t.check("marker", m.description == c["str"] as! String, "'\(input)' prints '\(m)' expected '\(c["str"]!)'")
            for r in c["results"] as! [[String: Any]] {
                var env = envs[r["env"] as! Int]
                if let e = Self.opt(r["extra"]) as? String { env["extra"] = e }
                let want = Self.opt(r["result"]) as? Bool
                let got = try? m.evaluate(env)
                t.check(
                    "marker evaluation", got == want,
                    "'\(m)' in \(env["python_full_version"]!)/\(env["sys_platform"]!) extra=\(env["extra"] ?? "-") = \(String(describing: got)), expected \(String(describing: want))"
                )
            }
        }
        for c in doc["wheels"] as! [[String: Any]] {
            let input = c["input"] as! String
            let w = try? WheelFilename(input)
            if c["valid"] as! Bool {
                guard let w else {
                    t.check("wheel filename", false, "'\(input)' should parse")
                    continue
                }
                let build = Self.opt(c["build"]) as? [Any]
                let ok =
                    w.name == c["name"] as! String && w.version.description == c["version"] as! String
                    && w.tags.map(\.description).sorted() == c["tags"] as! [String]
                    && (build == nil ? w.build == nil : (w.build?.number == build?[0] as? Int && w.build?.suffix == build?[1] as? String))
                t.check("wheel filename", ok, "'\(input)' → \(w.name) \(w.version) \(w.tags.map(\.description).sorted())")
            } else {
                t.check("wheel filename", w == nil, "'\(input)' should be invalid")
            }
        }
        for c in doc["supported_tags"] as! [[String: Any]] {
            let got = ClientEnvironment.supportedTags(
                implementation: c["implementation"] as! String, pythonVersion: c["python"] as! [Int],
                abis: c["abis"] as! [String], platforms: c["platforms"] as! [String]
            ).map(\.description)
            t.check(
                "supported tags", got == c["tags"] as! [String],
                "\(c["python"]!) \(c["platforms"]!): \(got.prefix(6))... vs \((c["tags"] as! [String]).prefix(6))")
        }
        for c in doc["manylinux"] as! [[String: Any]] {
            let g = c["glibc"] as! [Int]
            let got = ClientEnvironment.manylinuxTags(archs: c["archs"] as! [String], glibc: (g[0], g[1]))
            t.check(
                "manylinux tags", got == c["tags"] as! [String],
                "\(c["archs"]!) glibc \(g): \(got.prefix(4)) vs \((c["tags"] as! [String]).prefix(4))")
        }
        for c in doc["mac_platforms"] as! [[String: Any]] {
            let v = c["version"] as! [Int]
            let got = ClientEnvironment.macPlatforms(version: (v[0], v[1]), arch: c["arch"] as! String)
            t.check(
                "mac platforms", got == c["tags"] as! [String],
                "\(v) \(c["arch"]!): \(got.prefix(4)) vs \((c["tags"] as! [String]).prefix(4))")
        }

        let lines = t.perCategory.keys.sorted().map { "  \($0): \(t.perCategory[$0]!.0)/\(t.perCategory[$0]!.1)" }
        print("packaging \(doc["packaging_version"]!) comparison: \(t.agree)/\(t.total) cases agree\n" + lines.joined(separator: "\n"))
        for m in t.mismatches.prefix(60) { print("MISMATCH " + m) }
        let unexplained = t.mismatches.filter { m in !Self.documentedDifferences.keys.contains { m.contains($0) } }
        #expect(unexplained.isEmpty, "\(unexplained.count) cases disagree with packaging: \(unexplained.prefix(10))")
        #expect(t.total > 1000)
    }
}
