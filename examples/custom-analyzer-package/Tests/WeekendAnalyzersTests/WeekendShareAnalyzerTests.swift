import CasebookAnalysis
import CasebookTesting
import Testing
import WeekendAnalyzers

/// Friday 6 March 2020: 3 downloads of flask-login; Saturday 7 March: 1 (numpy both days).
let store = TestEvents {
    $0.daily("flask-login", from: "2020-03-06", counts: [3, 1])
    $0.daily("numpy", from: "2020-03-06", counts: [10, 10])
}.store

@Test func weekendShareOfOneProject() async throws {
    // Any spelling of the name finds the project (PEP 503).
    let result = try await run(WeekendShareAnalyzer.self, with: ["project": "Flask_Login"], store: store)
    #expect(result.outputs["share"] == .double(0.25))
    #expect(result.outputs["weekendDownloads"] == .int(1))
    #expect(result.findings.first?.summary == "25.0% of 4 downloads (project flask-login) were made on Saturdays and Sundays.")
}

@Test func noDownloadsNoShare() async throws {
    let result = try await run(WeekendShareAnalyzer.self, with: ["project": "django"], store: store)
    #expect(result.outputs["share"] == .double(0))
    #expect(result.outputs["weekendDownloads"] == .int(0))
    #expect(result.findings.first?.summary == "No downloads (project django).")
}

@Test func aMistypedFilterIsAnError() async throws {
    await #expect(throws: AnalyzerError.self) {
        _ = try await run(WeekendShareAnalyzer.self, with: ["filter": ["projet": ["flask"]]], store: store)
    }
}
