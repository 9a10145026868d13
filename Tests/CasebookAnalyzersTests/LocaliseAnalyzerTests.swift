import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

/// Hand-made cubes with known causes: 21 days from 1 March 2020, the window 19–21 March
/// (`lateMarchWindow`), its baseline the 14 days before.
@Suite struct LocaliseAnalyzerTests {
    typealias Leaf = [CasebookCore.Dimension: String]

    /// Every combination of `values`, `base(leaf)` downloads a day (with a little deterministic
    /// noise), plus `extra(leaf)` on each window day.
    static func cube(
        _ values: [(CasebookCore.Dimension, [String])], base: (Leaf) -> Int = { _ in 40 }, extra: (Leaf) -> Int
    ) -> TestStore {
        var leaves: [Leaf] = [[:]]
        for (d, vs) in values {
            leaves = leaves.flatMap { leaf in
                vs.map { v in
                    var l = leaf
                    l[d] = v
                    return l
                }
            }
        }
        var e = TestEvents()
        for (i, leaf) in leaves.enumerated() {
            var dims = leaf
            let project = dims.removeValue(forKey: .project)
            for d in 0..<21 {
                var n = Double(base(leaf)) * (1 + 0.03 * sin(Double(i * 7 + d) * 1.3))
                if d >= 18 { n += Double(extra(leaf)) }
                let count = Int64(n.rounded())
                if count > 0 { e.add(count: count, at: day(d) + 12 * 3600, project: project, dimensions: dims) }
            }
        }
        return e.store
    }

    static let shape: [(CasebookCore.Dimension, [String])] = [
        (.project, ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]),
        (.python, ["2.7.16", "3.7.3", "3.8.2"]),
        (.cpu, ["x86_64", "aarch64", "armv7l"]),
        (.country, ["DE", "FR", "US"])
    ]

    func causes(_ r: AnalyzerResult) -> [[String: Value]] { r.outputs["causes"]?.objects ?? [] }

    @Test func onePair() async throws {
        let store = Self.cube(Self.shape) { $0[.project] == "gamma" ? 30 : 0 }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: store)
        let c = causes(r)
        #expect(c.count == 1)
        #expect(c.first?["pairs"] == ["project": "gamma"])
        #expect(c.first?["excess"]?.doubleValue.map { abs($0 - 27 * 90) < 60 } == true)
        #expect(r.outputs["backToNormal"] == true)
        #expect(r.outputs["projects"] == ["gamma"])
        #expect(r.findings.first?.title.hasPrefix("1 cause explains") == true)
    }

    @Test func aTwoPairCombination() async throws {
        // CPython 3.8 on arm64, in every project and country.
        let store = Self.cube(Self.shape) { $0[.python] == "3.8.2" && $0[.cpu] == "aarch64" ? 40 : 0 }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: store)
        let c = causes(r)
        #expect(c.count == 1)
        let pairs = try #require(c.first?["pairs"]?.objectValue)
        #expect(pairs.count == 2)
        #expect(pairs["cpu"] == "aarch64")
        #expect(pairs["python"] == "3.8.2" || pairs["python_minor"] == "3.8")
        #expect(c.first?["share"]?.doubleValue.map { $0 > 0.95 } == true)
    }

    @Test func twoCausesAtOnce() async throws {
        // Project beta rises everywhere; separately, France rises in every project.
        let store = Self.cube(Self.shape) { leaf in (leaf[.project] == "beta" ? 40 : 0) + (leaf[.country] == "FR" ? 25 : 0) }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: store)
        let pairs = causes(r).map { $0["pairs"] }
        #expect(pairs.count == 2)
        #expect(pairs.contains(["project": "beta"]))
        #expect(pairs.contains(["country": "FR"]))
        #expect(r.outputs["backToNormal"] == true)
        #expect(r.findings.first?.title.hasPrefix("2 causes explain") == true)
    }

    /// A CI farm appears: its downloads are one Python version, one distribution, all `ci = true`.
    /// Whichever of these the cause is stated as, the others are given as what its downloads all
    /// have; what every download has (`installer = pip`) and what the cause's own pairs fix
    /// (`python_minor` of a `python` cause) are not.
    @Test func aCauseSaysWhatItsDownloadsAllHave() async throws {
        var e = TestEvents()
        let projects = ["alpha", "beta", "gamma", "delta"]
        for d in 0..<21 {
            var i = 0
            for project in projects {
                for python in ["3.7.3", "3.8.2"] {
                    for distro in ["Raspbian GNU/Linux", "Debian GNU/Linux"] {
                        i += 1
                        let n = Int64((40 * (1 + 0.03 * sin(Double(i * 7 + d) * 1.3))).rounded())
                        e.add(
                            count: n, at: day(d) + 12 * 3600, project: project,
                            dimensions: [.python: python, .distro: distro, .ci: "false", .installer: "pip"])
                    }
                }
                if d >= 18 {
                    e.add(
                        count: 150, at: day(d) + 13 * 3600, project: project,
                        dimensions: [.python: "3.7.5", .distro: "Ubuntu", .ci: "true", .installer: "pip"])
                }
            }
        }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: e.store)
        let c = try #require(causes(r).first)
        let pairs = try #require(c["pairs"]?.objectValue)
        let signature: [String: Value] = ["python": "3.7.5", "distro": "Ubuntu", "ci": "true"]
        #expect(pairs.count == 1 && pairs.allSatisfy { signature[$0.key] == $0.value }, "\(pairs)")
        let shared = try #require(c["sharedBy"]?.objectValue)
        for (d, v) in signature where pairs[d] == nil { #expect(shared[d] == v, "\(shared)") }
        #expect(shared["installer"] == nil && shared["python_minor"] == nil && shared["python_major"] == nil)
        #expect(r.findings.first?.summary.contains("its downloads in the window all have") == true)
    }

    @Test func aDrop() async throws {
        // Project delta stops on Windows... here: on armv7l, where every download of it stops.
        let store = Self.cube(Self.shape) { $0[.project] == "delta" && $0[.cpu] == "armv7l" ? -1000 : 0 }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: store)
        let c = causes(r)
        #expect(c.count == 1)
        #expect(c.first?["pairs"] == ["project": "delta", "cpu": "armv7l"])
        let excess = try #require(c.first?["excess"]?.doubleValue)
        #expect(excess < 0)
        #expect((r.outputs["change"]?.doubleValue ?? 0) < 0)
        let finding = try #require(r.findings.first)
        #expect(finding.title.contains("of the shortfall"))
        for text in r.findings.flatMap({ [$0.title, $0.summary] }) {
            #expect(!text.contains("excess") && !text.contains(" made "), "\(text)")
        }
    }

    @Test func aCauseHiddenInALargeDimension() async throws {
        // 400 clients fetch the six projects in turn; one of them fetches beta 600 times a day in the window.
        var e = TestEvents()
        let projects = Self.shape[0].1
        for d in 0..<21 {
            for c in 0..<400 {
                e.add(
                    count: 2, at: day(d) + 3600, project: projects[(c + d) % projects.count],
                    dimensions: [.client: "k-\(c)", .python: c % 3 == 0 ? "2.7.16" : "3.8.2"])
            }
            if d >= 18 { e.add(count: 600, at: day(d) + 7200, project: "beta", dimensions: [.client: "k-123", .python: "3.8.2"]) }
        }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: e.store)
        let c = causes(r)
        #expect(c.count == 1)
        let pairs = try #require(c.first?["pairs"]?.objectValue)
        #expect(pairs["client"] == "k-123")
        #expect(c.first?["share"]?.doubleValue.map { $0 > 0.9 } == true)
    }

    @Test func noSmallSetWhenEverythingGrowsAlike() async throws {
        let store = Self.cube(Self.shape, extra: { _ in 20 })
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: store)
        #expect(causes(r).isEmpty)
        #expect((r.outputs["change"]?.doubleValue ?? 0) > 0)
        #expect(r.outputs["backToNormal"] == .null)
        #expect(r.findings.first?.title == "No small set of combinations explains the excess")
        // The side-by-side table is still there.
        #expect(r.findings.contains { $0.title == "What is different in the window" })
    }

    @Test func fourValuesThatMovedAlikeAreOnePair() async throws {
        // The founding case in small: Python 2 clients fetch four of the projects.
        let store = Self.cube(Self.shape) { leaf in
            ["alpha", "gamma", "delta", "zeta"].contains(leaf[.project]!) && leaf[.python] == "2.7.16" ? 50 : 0
        }
        let r = try await run(LocaliseAnalyzer.self, with: ["window": lateMarchWindow], store: store)
        let c = causes(r)
        #expect(c.count == 1)
        #expect(c.first?["pairs"] == ["project": ["alpha", "delta", "gamma", "zeta"], "python_major": "2"])
        #expect(r.outputs["projects"] == ["alpha", "delta", "gamma", "zeta"])
        let queries = try #require(r.outputs["queries"]?.intValue)
        #expect(queries < 150)
    }
}
