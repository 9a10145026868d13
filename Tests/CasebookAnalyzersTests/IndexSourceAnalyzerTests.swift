import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookPlaybooks
import CasebookTesting
import Foundation
import Testing

@Suite struct IndexSourceAnalyzerTests {
    /// `alpha` 1.0 has a universal wheel on the reference index; `beta` 0.4 has only an sdist
    /// there; `gamma` 2.0 has only x86-64 manylinux wheels there (this index built an armv7l one);
    /// `delta` 1.2 has a Python 3 only wheel there.
    static func catalog() throws -> URL {
        var c = TestCatalog()
        c.add("alpha", [.init("1.0", "2019-05-20T10:00:00Z", files: ["alpha-1.0-py2.py3-none-any.whl", "alpha-1.0.tar.gz"])])
        c.add(
            "beta",
            [
                .init("0.4", "2017-12-02T10:00:00Z", files: ["beta-0.4.tar.gz"]),
                .init("0.5", "2020-02-09T10:00:00Z", files: ["beta-0.5-py2.py3-none-any.whl", "beta-0.5.tar.gz"])
            ])
        c.add("gamma", [.init("2.0", "2019-08-01T10:00:00Z", files: ["gamma-2.0-cp27-cp27mu-manylinux1_x86_64.whl", "gamma-2.0.tar.gz"])])
        c.add("delta", [.init("1.2", "2019-08-01T10:00:00Z", files: ["delta-1.2-py3-none-any.whl", "delta-1.2.tar.gz"])])
        return try c.write()
    }

    /// Baseline: one download a day of each file; window: many, from Python 2.7 Raspberry Pis.
    static func events(window perDay: [String: Int]) -> Events {
        var e = Events()
        let files = [
            "alpha": "alpha-1.0-py2.py3-none-any.whl", "beta": "beta-0.4-py2.py3-none-any.whl",
            "gamma": "gamma-2.0-cp27-cp27mu-linux_armv7l.whl", "delta": "delta-1.2-py2-none-any.whl"
        ]
        let clients = piClients(300)
        for (p, f) in files.sorted(by: { $0.key < $1.key }) {
            e.add(f, days: days("2020-02-19", 14), perDay: 1, clients: clients)
            e.add(f, days: days("2020-03-04", 3), perDay: perDay[p] ?? 1, clients: clients)
        }
        e.add("filler-1.0.tar.gz", days: days("2020-02-19", 17), perDay: 50, clients: clients)
        return e
    }

    @Test func pureWheelsOnTheReferenceMeanPrimaryIndexClients() async throws {
        let e = Self.events(window: ["alpha": 300, "beta": 600, "gamma": 100])
        let result = try await run(
            IndexSourceAnalyzer.self, ["window": testWindow, "contributors": ["alpha", "beta", "gamma"]],
            store: e.store, catalog: try Self.catalog())
        #expect(result.outputs["primaryIndex"] == true)
        let share = try #require(result.outputs["primaryShare"]?.doubleValue)
        // alpha's excess: 3 × 300 − 3 = 897 of 897 + 1797 + 297 = 2991.
        #expect(abs(share - 897.0 / 2991.0) < 0.01)
        let files = result.outputs["files"]!.objects
        let alpha = try #require(files.first { $0["project"] == "alpha" })
        #expect(alpha["referenceWheel"] == "alpha-1.0-py2.py3-none-any.whl")
        #expect(alpha["kind"] == "universal")
        #expect(alpha["verdict"] == "primary-index")
        #expect(alpha["downloads"] == 900)
        #expect(alpha["clients"]?.stringValue?.contains("Python 2.7.16 armv7l") == true)
        // Flask-Login-like: the reference index had only an sdist of the fetched version.
        let beta = try #require(files.first { $0["project"] == "beta" })
        #expect(beta["referenceWheel"] == .null)
        #expect(beta["kind"] == "none")
        #expect(beta["verdict"] == "expected")
        // A platform wheel built here for armv7l: the reference's x86-64 wheels do not fit.
        let gamma = try #require(files.first { $0["project"] == "gamma" })
        #expect(gamma["verdict"] == "expected")
        let finding = try #require(result.findings.first)
        #expect(finding.title.contains("primary index"))
        #expect(finding.summary.contains("30%"))
        #expect(finding.summary.contains("beta-0.4-py2.py3-none-any.whl"))
        guard case .table(let table)? = finding.evidence.first else {
            Issue.record("no table")
            return
        }
        #expect(table.rows.count == 3)
    }

    @Test func noEquallyGoodWheelMeansTheDownloadIsExpected() async throws {
        // beta (sdist only there) and delta (a Python 3 wheel there, Python 2 clients here).
        let e = Self.events(window: ["beta": 500, "delta": 400])
        let result = try await run(
            IndexSourceAnalyzer.self, ["window": testWindow, "contributors": ["beta", "delta"]],
            store: e.store, catalog: try Self.catalog())
        #expect(result.outputs["primaryIndex"] == false)
        #expect(result.outputs["primaryShare"] == 0.0)
        #expect((result.outputs["expectedShare"]?.doubleValue ?? 0) > 0.99)
        let delta = try #require(result.outputs["files"]!.objects.first { $0["project"] == "delta" })
        #expect(delta["verdict"] == "expected")
        #expect(delta["referenceWheel"] == .null)
        #expect(result.findings.first?.title.contains("expected") == true)
    }

    @Test func modernPipDownloadsAreNotEvidence() async throws {
        // The same alpha downloads, but by pip 21 clients: no longer evidence of a primary index.
        var e = Events()
        let modern = (0..<50).map { Events.Client(python: "2.7.16", cpu: "armv7l", installerVersion: "21.0", key: "m-\($0)") }
        e.add("alpha-1.0-py2.py3-none-any.whl", days: days("2020-02-19", 14), perDay: 1, clients: modern)
        e.add("alpha-1.0-py2.py3-none-any.whl", days: days("2020-03-04", 3), perDay: 300, clients: modern)
        let result = try await run(
            IndexSourceAnalyzer.self, ["window": testWindow, "contributors": ["alpha"]],
            store: e.store, catalog: try Self.catalog())
        #expect(result.outputs["primaryIndex"] == false)
        #expect(result.outputs["files"]!.objects.first?["verdict"] == "unknown")
    }

    @Test func withoutACatalogTheStepSaysHowToGiveOne() async throws {
        let e = Self.events(window: ["alpha": 300])
        let none = await #expect(throws: (any Error).self) {
            _ = try await run(IndexSourceAnalyzer.self, ["window": testWindow, "contributors": ["alpha"]], store: e.store, catalog: nil)
        }
        let noneMessage = "\(try #require(none))"
        #expect(noneMessage.contains("--catalog DIR"), "\(noneMessage)")
        #expect(noneMessage.contains("none was given"), "\(noneMessage)")
        let missing = await #expect(throws: (any Error).self) {
            _ = try await run(
                IndexSourceAnalyzer.self, ["window": testWindow, "contributors": ["alpha"]], store: e.store,
                catalog: URL(fileURLWithPath: "/nonexistent/catalog"))
        }
        let missingMessage = "\(try #require(missing))"
        #expect(missingMessage.contains("/nonexistent/catalog"), "\(missingMessage)")
    }
}
