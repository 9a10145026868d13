import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct SeriesAnalyzerTests {
    static var store: TestStore {
        TestEvents {
            $0.daily("flask", from: "2020-02-01", counts: [100, 300, 200])
            $0.daily("numpy", from: "2020-02-01", counts: [40, 40, 40, 40])
        }.store
    }

    @Test func aFilteredSeriesHasItsTotalAndPeak() async throws {
        let r = try await run(SeriesAnalyzer.self, with: ["filter": ["project": ["flask"]]], store: Self.store)
        #expect(r.outputs["total"] == 600)
        #expect(r.outputs["peak"] == ["start": "2020-02-02T00:00:00Z", "downloads": 300])
        let series = try #require(r.outputs["series"]?.arrayValue)
        #expect(series.map { $0["downloads"] } == [100, 300, 200])
        #expect(series.first?["start"] == "2020-02-01T00:00:00Z")
        let finding = try #require(r.findings.first)
        #expect(finding.title == "Downloads per day")
        #expect(
            finding.summary
                == "600 downloads (project flask) over 3 days from 2020-02-01T00:00:00Z to 2020-02-03T00:00:00Z; peak 300 at 2020-02-02T00:00:00Z."
        )
    }

    @Test func everythingByWeekWithinARange() async throws {
        // Defaults: no filter; `to` is exclusive.
        let r = try await run(SeriesAnalyzer.self, with: ["bucket": "week", "from": "2020-02-02", "to": "2020-02-04"], store: Self.store)
        #expect(r.outputs["total"] == 580)
        #expect(r.findings.first?.title == "Downloads per week")
        #expect(r.findings.first?.summary.contains("(all downloads)") == true)
    }

    @Test func nothingMatchingIsSaid() async throws {
        let r = try await run(SeriesAnalyzer.self, with: ["filter": ["project": ["django"]]], store: Self.store)
        #expect(r.outputs["total"] == 0)
        #expect(r.outputs["series"] == .array([]))
        #expect(r.outputs["peak"] == .null)
        #expect(r.findings.first?.summary == "No downloads match (project django).")
    }

    @Test func anUnknownDimensionIsAClearError() async throws {
        do {
            _ = try await run(SeriesAnalyzer.self, with: ["filter": ["projet": ["flask"]]], store: Self.store)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("`projet` is not a dimension"))
        }
    }
}
