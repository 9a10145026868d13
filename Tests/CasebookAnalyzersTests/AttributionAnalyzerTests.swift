import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookPlaybooks
import CasebookTesting
import Foundation
import Testing

@Suite struct AttributionAnalyzerTests {
    /// Four contributors (`alpha` 0.4.1, `beta` 3.1.1, `gamma` 0.13.2, `delta` 2.8.4), the
    /// release `appx` 1.1 that pins exactly them (and `web`, `newdep`, which did not move), and
    /// decoys: `decoy-partial` 2.0 (only `delta`), `decoy-late` 3.0 (all four, three weeks
    /// early) and `decoy-py3` 0.9 (`alpha` and `beta`, Python 3 only).
    static func releaseCatalog(more: (inout TestCatalog) -> Void = { _ in }) throws -> URL {
        var c = TestCatalog()
        more(&c)
        c.add(
            "alpha",
            [
                .init("0.2.0", "2016-01-01T00:00:00Z", files: ["alpha-0.2.0.tar.gz"]),
                .init("0.4.1", "2017-12-02T00:00:00Z", files: ["alpha-0.4.1.tar.gz"]),
                .init("0.5.0", "2020-02-09T00:00:00Z", files: ["alpha-0.5.0-py2.py3-none-any.whl"])
            ])
        c.add(
            "beta",
            [
                .init("3.0.0", "2018-09-01T00:00:00Z", files: ["beta-3.0.0-py2.py3-none-any.whl"]),
                .init("3.1.1", "2019-05-20T00:00:00Z", files: ["beta-3.1.1-py2.py3-none-any.whl"]),
                .init("3.2", "2020-02-06T00:00:00Z", requiresPython: ">=3.5", files: ["beta-3.2-py3-none-any.whl"])
            ])
        c.add(
            "gamma",
            [
                .init("0.7.7", "2019-03-01T00:00:00Z", files: ["gamma-0.7.7-py2.py3-none-any.whl"]),
                .init("0.13.2", "2019-11-07T00:00:00Z", files: ["gamma-0.13.2-py2.py3-none-any.whl"])
            ])
        c.add(
            "delta",
            [
                .init("2.6.0", "2018-01-01T00:00:00Z", files: ["delta-2.6.0-py2.py3-none-any.whl"]),
                .init("2.8.4", "2019-12-21T00:00:00Z", files: ["delta-2.8.4-py2.py3-none-any.whl"])
            ])
        c.add(
            "web",
            [
                .init("0.10.1", "2015-01-01T00:00:00Z", files: ["web-0.10.1-py2.py3-none-any.whl"]),
                .init("0.12.5", "2020-02-10T00:00:00Z", files: ["web-0.12.5-py2.py3-none-any.whl"])
            ])
        c.add("newdep", [.init("1.4.0", "2015-01-01T00:00:00Z", files: ["newdep-1.4.0-py2.py3-none-any.whl"])])
        c.add("other", [.init("2.0", "2019-01-01T00:00:00Z", files: ["other-2.0-py2.py3-none-any.whl"])])
        c.add(
            "appx",
            [
                .init(
                    "1.0", "2019-10-22T13:48:00Z", requiresPython: ">=2.7.9,<3",
                    requires: ["alpha<0.3,>=0.2", "beta<3.1,>=3.0", "gamma==0.7.7", "delta<2.7,>=2.6", "web<0.11,>=0.10"],
                    files: ["appx-1.0.tar.gz"]),
                .init(
                    "1.1", "2020-03-03T15:28:00Z", requiresPython: ">=2.7.9, !=3.0.*, !=3.1.*, <4",
                    requires: [
                        "alpha<0.5,>=0.4.1", "beta<3.2,>=3.1", "gamma==0.13.2", "delta<2.9,>=2.8", "web<0.13,>=0.12",
                        "newdep<1.5,>=1.4", "legacy-only<2; python_version < \"3\"", "mac-only; sys_platform == \"darwin\""
                    ],
                    files: ["appx-1.1.tar.gz"])
            ])
        c.add(
            "decoy-partial",
            [
                .init("1.9", "2019-06-01T00:00:00Z", requires: ["delta<2.8,>=2.6", "other>=1"], files: ["decoy_partial-1.9.tar.gz"]),
                .init("2.0", "2020-03-02T00:00:00Z", requires: ["delta<2.9,>=2.8", "other>=2"], files: ["decoy_partial-2.0.tar.gz"])
            ])
        c.add(
            "decoy-late",
            [
                .init(
                    "2.9", "2019-01-01T00:00:00Z", requires: ["alpha==0.2.0", "beta==3.0.0", "gamma==0.7.7", "delta==2.6.0"],
                    files: ["decoy_late-2.9.tar.gz"]),
                .init(
                    "3.0", "2020-02-10T00:00:00Z", requires: ["alpha==0.4.1", "beta>=3.1", "gamma==0.13.2", "delta>=2.8"],
                    files: ["decoy_late-3.0.tar.gz"])
            ])
        c.add(
            "decoy-py3",
            [
                .init(
                    "0.8", "2019-06-01T00:00:00Z", requiresPython: ">=3.6", requires: ["alpha>=0.2", "beta>=3.0"],
                    files: ["decoy_py3-0.8.tar.gz"]),
                .init(
                    "0.9", "2020-03-04T06:00:00Z", requiresPython: ">=3.6", requires: ["alpha<0.5,>=0.4.1", "beta<3.2,>=3.1"],
                    files: ["decoy_py3-0.9.tar.gz"])
            ])
        return try c.write()
    }

    static func releaseEvents() -> Events {
        var e = Events()
        let clients = piClients(400)
        let contributors = [
            "alpha-0.4.1-py2.py3-none-any.whl": 400, "beta-3.1.1-py2.py3-none-any.whl": 200,
            "gamma-0.13.2-py2.py3-none-any.whl": 200, "delta-2.8.4-py2.py3-none-any.whl": 200
        ]
        for (f, n) in contributors.sorted(by: { $0.key < $1.key }) {
            e.add(f, days: days("2020-02-19", 14), perDay: 2, clients: clients)
            e.add(f, days: days("2020-03-04", 3), perDay: n, clients: clients)
        }
        for (f, n) in [("web-0.12.5-py2.py3-none-any.whl", 10), ("other-2.0-py2.py3-none-any.whl", 5), ("filler-1.0.tar.gz", 1000)] {
            e.add(f, days: days("2020-02-19", 17), perDay: n, clients: clients)
        }
        return e
    }

    /// On a whole index's catalog a contributor has hundreds of dependents: only those with a
    /// release in the lookback or the window are read, the answer is the same, and the report
    /// says how many projects require the contributors.
    @Test func manyDependentsAreNarrowedToTheirRecentReleases() async throws {
        let catalog = try Self.releaseCatalog { c in
            for i in 0..<250 {
                c.add(
                    "old-dependent-\(i)",
                    [.init("1.0", "2017-05-01T00:00:00Z", requires: ["alpha>=0.2"], files: ["old_dependent_\(i)-1.0.tar.gz"])])
            }
        }
        let result = try await run(
            AttributionAnalyzer.self,
            [
                "window": testWindow, "contributors": ["alpha", "beta", "gamma", "delta"],
                "top_client_share": 0.003, "concentration": "many-clients", "ci_share": 0.0
            ], store: Self.releaseEvents().store, catalog: catalog)
        let hypotheses = result.outputs["hypotheses"]!.objects
        #expect(hypotheses.first?["project"] == "appx" && hypotheses.first?["version"] == "1.1")
        #expect(!hypotheses.contains { $0["project"]?.stringValue?.hasPrefix("old-dependent") == true })
        // 250 old dependents and the four projects requiring the contributors.
        #expect(result.outputs["candidates"] == 254)
    }

    @Test func theReleaseThatPinsTheContributorsRanksFirst() async throws {
        let result = try await run(
            AttributionAnalyzer.self,
            [
                "window": testWindow, "contributors": ["alpha", "beta", "gamma", "delta"],
                "top_client_share": 0.003, "concentration": "many-clients", "ci_share": 0.0
            ], store: Self.releaseEvents().store, catalog: try Self.releaseCatalog())
        let hypotheses = result.outputs["hypotheses"]!.objects
        let top = try #require(hypotheses.first)
        #expect(top["kind"] == "release")
        #expect(top["project"] == "appx")
        #expect(top["version"] == "1.1")
        #expect(top["released"] == "2020-03-03T15:28:00Z")
        let score = try #require(top["score"]?.doubleValue)
        #expect(score > 0.7)
        let matched = top["matched"]!.arrayValue!.compactMap(\.stringValue)
        #expect(matched.count == 4)
        #expect(matched.contains { $0.hasPrefix("alpha 0.4.1") && $0.contains("forces this version") })
        #expect(
            top["missing"]!.arrayValue!.compactMap(\.stringValue).contains {
                $0.contains("did not move") && $0.contains("web") && $0.contains("newdep")
            })
        #expect(result.outputs["candidates"] == 4)

        func hypothesis(_ kind: String, _ project: String) -> [String: Value]? {
            hypotheses.first { $0["kind"]?.stringValue == kind && $0["project"]?.stringValue == project }
        }
        // Each decoy ranks below, for its own reason.
        for (decoy, reason) in [("decoy-partial", "partial overlap"), ("decoy-late", "wrong time"), ("decoy-py3", "wrong Python")] {
            let h = try #require(hypothesis("release", decoy), "\(decoy) is a candidate")
            #expect((h["score"]?.doubleValue ?? 1) < score / 2, "\(decoy) scores far below")
            let rejected = try #require(result.findings.first { $0.title == "Rejected hypotheses" })
            #expect(rejected.summary.contains("release \(decoy)"))
            #expect(rejected.summary.contains(reason), "\(decoy): \(reason)")
        }
        // Upgrades, not fresh installs: the release's full requirement set did not move.
        let fresh = try #require(hypothesis("fresh-install", "appx"))
        #expect((fresh["score"]?.doubleValue ?? 1) < 0.5)
        let finding = try #require(result.findings.first)
        #expect(finding.title == "Most likely cause: release appx 1.1")
        guard case .table(let table)? = finding.evidence.first else {
            Issue.record("no table")
            return
        }
        #expect(table.columns.contains("score") && table.columns.contains("matched") && table.columns.contains("missing"))
    }

    @Test func aCIFarmDoingFreshInstallsRanksCIOrFreshInstallFirst() async throws {
        var c = TestCatalog()
        c.add("lib-a", [.init("1.0", "2019-01-01T00:00:00Z", requires: ["lib-c"], files: ["lib_a-1.0-py3-none-any.whl"])])
        c.add(
            "lib-b",
            [
                .init("1.0", "2019-01-01T00:00:00Z", files: ["lib_b-1.0-py3-none-any.whl"]),
                .init("2.0", "2020-01-01T00:00:00Z", files: ["lib_b-2.0-py3-none-any.whl"])
            ])
        c.add("lib-c", [.init("0.3", "2019-01-01T00:00:00Z", files: ["lib_c-0.3-py3-none-any.whl"])])
        c.add(
            "homey",
            [
                .init(
                    "1.0", "2019-12-01T10:00:00Z", requiresPython: ">=3.6", requires: ["lib-a>=1", "lib-b>=1"], files: ["homey-1.0.tar.gz"]),
                .init(
                    "1.1", "2020-03-04T02:00:00Z", requiresPython: ">=3.6", requires: ["lib-a>=1", "lib-b>=2"], files: ["homey-1.1.tar.gz"])
            ])
        var e = Events()
        let runners = (0..<3).map { Events.Client(python: "3.7.5", cpu: "x86_64", ci: true, installerVersion: "20.0.2", key: "ci-\($0)") }
        let crowd = piClients(200, python: "3.7.3")
        for f in ["lib_a-1.0-py3-none-any.whl", "lib_b-2.0-py3-none-any.whl", "lib_c-0.3-py3-none-any.whl"] {
            e.add(f, days: days("2020-02-19", 17), perDay: 5, clients: crowd)
            e.add(f, days: days("2020-03-04", 3), perDay: 300, clients: runners)
        }
        e.add("filler-1.0.tar.gz", days: days("2020-02-19", 17), perDay: 300, clients: crowd)
        let catalog = try c.write()
        let result = try await run(
            AttributionAnalyzer.self,
            [
                "window": testWindow, "contributors": ["lib-a", "lib-b", "lib-c"],
                "top_client_share": 0.33, "concentration": "few-clients", "ci_share": 0.98
            ], store: e.store, catalog: catalog)
        let hypotheses = result.outputs["hypotheses"]!.objects
        let kinds = hypotheses.compactMap { $0["kind"]?.stringValue }
        #expect(["ci", "fresh-install"].contains(kinds.first ?? ""), "\(kinds)")
        #expect(Array(kinds.prefix(2)).sorted() == ["ci", "fresh-install"], "\(kinds)")
        let fresh = try #require(hypotheses.first { $0["kind"] == "fresh-install" })
        #expect(fresh["project"] == "homey")
        #expect((fresh["score"]?.doubleValue ?? 0) > 0.8)
        let release = try #require(hypotheses.first { $0["kind"] == "release" })
        #expect((release["score"]?.doubleValue ?? 1) < 0.5)

        // The same downloads: the dependency of lib-a (lib-c) moved with it, so there is no gap.
        let gap = try await run(
            DependencyGapAnalyzer.self, ["window": testWindow, "contributors": ["lib-a", "lib-b"]],
            store: e.store, catalog: catalog)
        #expect(gap.outputs["gap"] == false)
    }

    @Test func freshInstallsAreDoubtedWhenTheReleaseItselfStayedFlatHere() async throws {
        // The same closure rises, but homey itself is served here and did not move: fresh installs
        // of homey would have fetched it too, so they are not a convincing cause.
        var c = TestCatalog()
        c.add("lib-a", [.init("1.0", "2019-01-01T00:00:00Z", files: ["lib_a-1.0-py3-none-any.whl"])])
        c.add("lib-b", [.init("2.0", "2019-01-01T00:00:00Z", files: ["lib_b-2.0-py3-none-any.whl"])])
        c.add(
            "homey",
            [
                .init("1.0", "2019-12-01T10:00:00Z", requires: ["lib-a>=1"], files: ["homey-1.0-py3-none-any.whl"]),
                .init("1.1", "2020-03-04T02:00:00Z", requires: ["lib-a>=1", "lib-b>=2"], files: ["homey-1.1-py3-none-any.whl"])
            ])
        var e = Events()
        let runners = (0..<3).map { Events.Client(python: "3.7.5", cpu: "x86_64", ci: true, installerVersion: "20.0.2", key: "ci-\($0)") }
        let crowd = piClients(200, python: "3.7.3")
        for f in ["lib_a-1.0-py3-none-any.whl", "lib_b-2.0-py3-none-any.whl"] {
            e.add(f, days: days("2020-02-19", 17), perDay: 5, clients: crowd)
            e.add(f, days: days("2020-03-04", 3), perDay: 300, clients: runners)
        }
        e.add("homey-1.1-py3-none-any.whl", days: days("2020-02-19", 17), perDay: 40, clients: crowd)
        e.add("filler-1.0.tar.gz", days: days("2020-02-19", 17), perDay: 300, clients: crowd)
        let result = try await run(
            AttributionAnalyzer.self,
            [
                "window": testWindow, "contributors": ["lib-a", "lib-b"], "top_client_share": 0.33, "concentration": "few-clients",
                "ci_share": 0.98
            ],
            store: e.store, catalog: try c.write())
        let hypotheses = result.outputs["hypotheses"]!.objects
        let fresh = try #require(hypotheses.first { $0["kind"] == "fresh-install" && $0["project"] == "homey" })
        #expect((fresh["score"]?.doubleValue ?? 1) < 0.5, "\(fresh)")
        let missing = fresh["missing"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(missing.contains { $0.contains("homey itself did not rise here") }, "\(missing)")
        #expect(hypotheses.first?["kind"] == "ci", "\(hypotheses.map { $0["kind"] ?? .null })")
    }

    @Test func aDropOrNoExcessHasNothingToAttribute() async throws {
        var window = testWindow.objectValue!
        window["direction"] = "down"
        let result = try await run(
            AttributionAnalyzer.self, ["window": .object(window), "contributors": ["alpha"]],
            store: Self.releaseEvents().store, catalog: try Self.releaseCatalog())
        #expect(result.outputs["hypotheses"] == .array([]))
        #expect(result.findings.first?.title == "Nothing to attribute")
    }

    @Test func withoutACatalogTheStepSaysSo() async throws {
        do {
            _ = try await run(
                AttributionAnalyzer.self, ["window": testWindow, "contributors": ["alpha"]],
                store: Self.releaseEvents().store, catalog: nil)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("needs the package-metadata catalog"))
        }
    }

    @Test func analyzersAreRegistered() {
        let names = BuiltinAnalyzers.registry().names
        #expect(names.contains("index-source") && names.contains("dependency-gap") && names.contains("attribution"))
    }
}

@Suite struct AttributionAnalyzerClientTests {
    @Test func aMirrorSyncingEverythingRanksMirrorFirst() async throws {
        var c = TestCatalog()
        c.add("pkg-0", [.init("1.0", "2019-01-01T00:00:00Z", files: ["pkg_0-1.0-py3-none-any.whl"])])
        var e = Events()
        let crowd = piClients(100)
        let mirror = [Events.Client(python: "3.7.5", cpu: "x86_64", installer: "bandersnatch", installerVersion: "3.6.0", key: "mirror")]
        for i in 0..<60 {
            e.add("pkg_\(i)-1.0-py3-none-any.whl", days: days("2020-02-19", 17), perDay: 2, clients: crowd)
            e.add("pkg_\(i)-1.0-py3-none-any.whl", days: ["2020-03-04"], perDay: 20, clients: mirror)
        }
        let result = try await run(
            AttributionAnalyzer.self,
            [
                "window": testWindow, "contributors": .array([]), "broad": true,
                "top_client_share": 0.97, "concentration": "single-client", "ci_share": 0.0
            ], store: e.store, catalog: try c.write())
        let kinds = result.outputs["hypotheses"]!.objects.compactMap { $0["kind"]?.stringValue }
        #expect(kinds.first == "mirror", "\(kinds)")
        #expect(result.findings.first?.title == "Most likely cause: a mirror")
        #expect(result.findings.first { $0.title == "Rejected hypotheses" }?.summary.contains("mirroring tool") == true)

        // The per-contributor steps say there is nothing to examine instead of failing.
        let index = try await run(
            IndexSourceAnalyzer.self, ["window": testWindow, "contributors": .array([])], store: e.store, catalog: try c.write())
        #expect(index.findings.first?.title == "No contributors to examine")
        let gap = try await run(
            DependencyGapAnalyzer.self, ["window": testWindow, "contributors": .array([])], store: e.store, catalog: try c.write())
        #expect(gap.outputs["gap"] == false)
    }

    @Test func aDominantClientIsNotAlsoCalledMinor() async throws {
        // One plain client (no mirroring tool) made 98% of the excess: the client hypothesis
        // says so once, never "made only 98%" or "no dominant client" beside it.
        var c = TestCatalog()
        c.add("pkg-0", [.init("1.0", "2019-01-01T00:00:00Z", files: ["pkg_0-1.0-py3-none-any.whl"])])
        var e = Events()
        let crowd = piClients(100)
        let script = [Events.Client(python: "3.7.5", cpu: "x86_64", installerVersion: "20.0.2", key: "script")]
        e.add("pkg_0-1.0-py3-none-any.whl", days: days("2020-02-19", 17), perDay: 20, clients: crowd)
        e.add("pkg_0-1.0-py3-none-any.whl", days: days("2020-03-04", 3), perDay: 500, clients: script)
        let result = try await run(
            AttributionAnalyzer.self,
            ["window": testWindow, "contributors": ["pkg-0"], "top_client_share": 0.98, "concentration": "single-client", "ci_share": 0.0],
            store: e.store, catalog: try c.write())
        let client = try #require(result.outputs["hypotheses"]!.objects.first { $0["kind"] == "client" })
        let missing = client["missing"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let matched = client["matched"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(matched.contains("one client made 98% of the excess"), "\(matched)")
        #expect(!missing.contains { $0.contains("only") }, "\(missing)")
        let text = result.findings.map { $0.title + " " + $0.summary }.joined(separator: " ")
        #expect(!text.contains("no dominant client"), "\(text)")
    }
}
