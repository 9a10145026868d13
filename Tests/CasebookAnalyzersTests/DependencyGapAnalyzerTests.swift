import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookPlaybooks
import CasebookTesting
import Foundation
import Testing

@Suite struct DependencyGapAnalyzerTests {
    /// `alpha` 1.0 requires `base` always, `legacy` on Python 2 only and `winonly` on Windows only.
    static func catalog() throws -> URL {
        var c = TestCatalog()
        c.add(
            "alpha",
            [
                .init(
                    "1.0", "2019-05-20T10:00:00Z",
                    requires: [
                        "base>=1.0", "legacy<2,>=1.5; python_version < \"3\"", "winonly; sys_platform == \"win32\"",
                        "extra-thing; extra == \"x\""
                    ],
                    files: ["alpha-1.0-py2.py3-none-any.whl"])
            ])
        c.add("base", [.init("1.1", "2019-01-01T00:00:00Z", files: ["base-1.1-py2.py3-none-any.whl"])])
        c.add("legacy", [.init("1.5", "2019-01-01T00:00:00Z", files: ["legacy-1.5-py2-none-any.whl"])])
        c.add("winonly", [.init("1.0", "2019-01-01T00:00:00Z", files: ["winonly-1.0-py3-none-any.whl"])])
        return try c.write()
    }

    static func events(dependenciesFollow: Bool) -> Events {
        var e = Events()
        let clients = piClients(200)
        e.add("alpha-1.0-py2.py3-none-any.whl", days: days("2020-02-19", 14), perDay: 2, clients: clients)
        e.add("alpha-1.0-py2.py3-none-any.whl", days: days("2020-03-04", 3), perDay: 300, clients: clients)
        for f in ["base-1.1-py2.py3-none-any.whl", "legacy-1.5-py2-none-any.whl"] {
            e.add(f, days: days("2020-02-19", 14), perDay: 16, clients: clients)
            e.add(f, days: days("2020-03-04", 3), perDay: dependenciesFollow ? 310 : 16, clients: clients)
        }
        e.add("filler-1.0.tar.gz", days: days("2020-02-19", 17), perDay: 100, clients: clients)
        return e
    }

    @Test func flatDependenciesAreAGap() async throws {
        let e = Self.events(dependenciesFollow: false)
        let result = try await run(
            DependencyGapAnalyzer.self, ["window": testWindow, "contributors": [["value": "alpha", "excess": 894]]],
            store: e.store, catalog: try Self.catalog())
        #expect(result.outputs["gap"] == true)
        #expect(result.outputs["contributorRatio"] == 150.0)
        let deps = result.outputs["dependencies"]!.objects
        #expect(
            Set(deps.compactMap { $0["dependency"]?.stringValue }) == ["base", "legacy"], "markers: no Windows-only or extra requirement")
        let base = try #require(deps.first { $0["dependency"] == "base" })
        #expect(base["project"] == "alpha")
        #expect(base["baseline"] == 48)
        #expect(base["window"] == 48)
        #expect(base["ratio"] == 1.0)
        let finding = try #require(result.findings.first)
        #expect(finding.title.contains("upgrades"))
        let graph = finding.evidence.compactMap { ev -> EvidenceChart? in if case .chart(let c) = ev, c.kind == .graph { c } else { nil } }
            .first
        #expect(graph?.nodes.map(\.id).sorted() == ["alpha", "base", "legacy"])
        #expect(graph?.edges.count == 2)
        #expect(graph?.nodes.first { $0.id == "base" }?.value == 48)
    }

    @Test func dependenciesMovingWithThemAreFreshInstalls() async throws {
        let e = Self.events(dependenciesFollow: true)
        let result = try await run(
            DependencyGapAnalyzer.self, ["window": testWindow, "contributors": ["alpha"]],
            store: e.store, catalog: try Self.catalog())
        #expect(result.outputs["gap"] == false)
        #expect((result.outputs["followShare"]?.doubleValue ?? 0) > 0.9)
        #expect(result.findings.first?.title.contains("fresh installs") == true)
    }

    @Test func unknownRequirementsAreSaid() async throws {
        var e = Events()
        e.add("mystery-1.0.tar.gz", days: days("2020-02-19", 14), perDay: 1, clients: piClients(10))
        e.add("mystery-1.0.tar.gz", days: days("2020-03-04", 3), perDay: 100, clients: piClients(10))
        let result = try await run(
            DependencyGapAnalyzer.self, ["window": testWindow, "contributors": ["mystery"]],
            store: e.store, catalog: try Self.catalog())
        #expect(result.outputs["gap"] == false)
        #expect(result.outputs["unknown"]?.arrayValue?.count == 1)
        #expect(result.findings.first?.title == "No dependencies to compare")
    }
}
