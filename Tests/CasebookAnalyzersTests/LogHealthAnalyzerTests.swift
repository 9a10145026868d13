import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct LogHealthAnalyzerTests {
    /// Tuesday 18 February 2020, after two weeks of baseline.
    static let window: Value = ["start": "2020-02-18T00:00:00Z", "end": "2020-02-19T00:00:00Z", "direction": "down"]

    /// Fifteen days from 4 February: 100 downloads and 120 request lines an hour; `change` gives
    /// the window day's hours (9:00–14:00 by default) their downloads and their lines' status.
    static func log(windowHours: Range<Int> = 9..<14, downloads: Int, status: Int) -> TestStore {
        var e = TestEvents()
        let start = UTCTime.epoch(year: 2020, month: 2, day: 4)
        var counts: [Int?] = []
        for h in 0..<(15 * 24) {
            let t = start + Int64(h) * 3600
            let changed = h >= 14 * 24 && windowHours.contains(h % 24)
            counts.append(changed ? downloads : 100)
            e.logRequests(hour: UTCTime.isoString(t), status: changed ? status : 200, count: 120)
        }
        e.hourly("numpy", from: "2020-02-04T00:00", counts: counts)
        return e.store
    }

    @Test func hoursAnswered503AreAnOutage() async throws {
        let r = try await run(LogHealthAnalyzer.self, with: ["window": Self.window], store: Self.log(downloads: 0, status: 503))
        #expect(r.outputs["verdict"] == "outage")
        #expect(r.outputs["serverErrors"] == 600)
        #expect(r.outputs["missingDownloads"] == 500)
        #expect(r.outputs["explainedShare"] == 1.0)
        let span = try #require(r.outputs["errorSpans"]?[0]?.objectValue)
        #expect(span["start"] == "2020-02-18T09:00:00Z")
        #expect(span["end"] == "2020-02-18T14:00:00Z")
        #expect(span["status"] == 503)
        let finding = try #require(r.findings.first)
        #expect(finding.title == "An outage: the server answered 600 requests with errors")
        #expect(finding.summary.contains("The server answered 503 to 600 requests in 2020-02-18 09:00–14:00 UTC"))
        #expect(finding.summary.contains("an outage, not a fall in demand"))
    }

    @Test func fewerDownloadsWithANormalLogAreTraffic() async throws {
        // The same hours have half their downloads, but every request was answered.
        let r = try await run(LogHealthAnalyzer.self, with: ["window": Self.window], store: Self.log(downloads: 50, status: 200))
        #expect(r.outputs["verdict"] == "traffic")
        #expect(r.outputs["serverErrors"] == 0)
        #expect(r.outputs["errorSpans"] == .array([]))
        #expect(r.outputs["silentSpans"] == .array([]))
        let finding = try #require(r.findings.first)
        #expect(finding.title == "The server and the log were normal")
        #expect(finding.summary.contains("the change is in what clients asked for"))
    }

    @Test func aStoreWithoutAccessLogsSaysItCannotTell() async throws {
        let store = weeklySeries()
        let r = try await run(LogHealthAnalyzer.self, with: ["window": Self.window], store: store)
        #expect(r.outputs["verdict"] == "unknown")
        #expect(r.findings.first?.summary.contains("cannot be told") == true)
    }
}
