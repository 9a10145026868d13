import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct SpikeDetectionAnalyzerTests {
    @Test func aThreeDaySpikeIsOneWindow() async throws {
        let store = weeklySeries(extra: [44: 800, 45: 900, 46: 700])
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.count == 1)
        #expect(windows[0]["start"]?.stringValue == "2020-02-19T00:00:00Z")
        #expect(windows[0]["end"]?.stringValue == "2020-02-22T00:00:00Z")
        #expect(windows[0]["direction"]?.stringValue == "up")
        let excess = try #require(windows[0]["excess"]?.intValue)
        #expect(abs(excess - 2400) < 150)
        #expect(windows[0]["severity"]?.stringValue == "major")
    }

    @Test func weekendsAndGrowthAreNotSpikes() async throws {
        let store = weeklySeries(weekend: 0.4, growth: 0.01)
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        #expect(r.outputs["window"] == .null)
        #expect(r.findings.first?.title == "No unusual days")
    }

    @Test func aHolidayIsAtMostAMildDropRankedBelowARealIncident() async throws {
        let store = weeklySeries(extra: [22: -180, 44: 800, 45: 900])  // day 22 is a Tuesday
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.first?["direction"]?.stringValue == "up")
        for w in windows.dropFirst() {
            #expect(w["severity"]?.stringValue == "mild")
            #expect(w["direction"]?.stringValue == "down")
        }
    }

    @Test func anOutageOnAnHourlySeriesIsADrop() async throws {
        var e = TestEvents()
        for d in 0..<21 {
            for h in 0..<24 {
                let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
                if d == 15 && (8..<14).contains(h) { continue }  // six silent hours
                let bell = 20 + 80 * exp(-pow(Double(h) - 13, 2) / 18)
                e.add(day: t, hour: h, project: "steady", count: Int64(bell.rounded()))
            }
        }
        let r = try await run(SpikeDetectionAnalyzer.self, with: ["bucket": "hour"], store: e.store)
        let w = try #require(r.outputs["window"]?.objectValue)
        #expect(w["direction"]?.stringValue == "down")
        #expect(w["outage"]?.boolValue == true)
        #expect(w["start"]?.stringValue == "2020-02-18T08:00:00Z")
        #expect(w["end"]?.stringValue == "2020-02-18T14:00:00Z")
    }

    @Test func tooLittleDataSaysSo() async throws {
        let store = weeklySeries(days: 5)
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        #expect(r.findings.first?.title == "Too little data for a baseline")
    }
}
