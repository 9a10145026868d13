import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Testing

/// `series` reads its `filter` through the shared parser: project names are normalised as
/// ingest stores them (PEP 503), like every other analyzer's filters.
@Suite struct SeriesFilterTests {
    let events = TestEvents {
        $0.daily("Flask-Login", from: "2020-03-01", counts: [10, 20, 30])
        $0.daily("numpy", from: "2020-03-01", counts: [5, 5, 5])
    }

    @Test func projectNamesAreNormalised() async throws {
        for name in ["Flask_Login", "flask.login", "FLASK-LOGIN", "flask-login"] {
            let result = try await run(SeriesAnalyzer.self, with: ["filter": ["project": [.string(name)]]], store: events.store)
            #expect(result.outputs["total"] == .int(60), "\(name)")
            #expect(result.outputs["series"]?.arrayValue?.count == 3, "\(name)")
        }
    }

    @Test func aSingleValueIsAListOfOne() async throws {
        let result = try await run(SeriesAnalyzer.self, with: ["filter": ["project": "Flask_Login"]], store: events.store)
        #expect(result.outputs["total"] == .int(60))
    }

    @Test func otherDimensionsAreKeptAsWritten() async throws {
        let store = TestEvents {
            $0.daily("flask-login", from: "2020-03-01", counts: [7, 7], dimensions: [.system: "Linux"])
            $0.daily("flask-login", from: "2020-03-01", counts: [3, 3], dimensions: [.system: "Windows"])
        }.store
        let result = try await run(SeriesAnalyzer.self, with: ["filter": ["project": ["Flask_Login"], "system": ["Linux"]]], store: store)
        #expect(result.outputs["total"] == .int(14))
    }

    @Test func unknownDimensionsAreRefusedWithASuggestion() async throws {
        await #expect(throws: AnalyzerError.self) {
            try await run(SeriesAnalyzer.self, with: ["filter": ["projct": ["flask-login"]]], store: events.store)
        }
        do {
            _ = try await run(SeriesAnalyzer.self, with: ["filter": ["projct": ["flask-login"]]], store: events.store)
        } catch {
            #expect("\(error)".contains("did you mean `project`?"))
        }
    }
}
