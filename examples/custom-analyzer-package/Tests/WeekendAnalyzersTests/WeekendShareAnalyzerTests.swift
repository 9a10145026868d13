import CasebookCore
import CasebookAnalysis
import Testing
import WeekendAnalyzers

@Test func weekendShare() async throws {
    // Friday 2020-03-06: 3 downloads; Saturday 2020-03-07: 1.
    let events = [DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 6, hour: 10), count: 3),
                  DownloadEvent(timestamp: UTCTime.epoch(year: 2020, month: 3, day: 7, hour: 10), count: 1)]
    let context = AnalyzerContext(stepID: "w", parameters: [:], store: InMemoryEventStore(events: events))
    let result = try await WeekendShareAnalyzer().run(context)
    #expect(result.outputs["share"] == .double(0.25))
    #expect(result.outputs["weekendDownloads"] == .int(1))
}
