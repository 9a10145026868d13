import CasebookAnalyzers
import CasebookCore
import CasebookAnalysis
import CasebookPlaybooks
import Foundation
import Testing

/// Hand-made series: 8 weeks of a weekly pattern with slow growth.
func weeklySeries(days: Int = 56, base: Double = 1000, weekend: Double = 0.6, growth: Double = 0.004,
                  extra: [Int: Double] = [:]) -> [DownloadEvent] {
    var b = EventBuilder()
    for d in 0..<days {
        let t = UTCTime.epoch(year: 2020, month: 1, day: 6) + Int64(d) * 86400  // Monday 6 January
        let weekday = d % 7
        var v = base * (1 + growth * Double(d)) * (weekday >= 5 ? weekend : 1)
        v *= 1 + 0.02 * sin(Double(d) * 1.7)  // deterministic noise
        v += extra[d] ?? 0
        b.add(day: t, project: "steady", count: Int64(v.rounded()))
    }
    return b.events
}

@Suite struct SpikeDetectionTests {
    @Test func aThreeDaySpikeIsOneWindow() async throws {
        let store = InMemoryEventStore(events: weeklySeries(extra: [44: 800, 45: 900, 46: 700]))
        let r = try await runAnalyzer(SpikeDetectionAnalyzer.self, store: store, [:])
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
        let store = InMemoryEventStore(events: weeklySeries(weekend: 0.4, growth: 0.01))
        let r = try await runAnalyzer(SpikeDetectionAnalyzer.self, store: store, [:])
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        #expect(r.outputs["window"] == .null)
        #expect(r.findings.first?.title == "No unusual days")
    }

    @Test func aHolidayIsAtMostAMildDropRankedBelowARealIncident() async throws {
        let store = InMemoryEventStore(events: weeklySeries(extra: [22: -180, 44: 800, 45: 900]))  // day 22 is a Tuesday
        let r = try await runAnalyzer(SpikeDetectionAnalyzer.self, store: store, [:])
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.first?["direction"]?.stringValue == "up")
        for w in windows.dropFirst() {
            #expect(w["severity"]?.stringValue == "mild")
            #expect(w["direction"]?.stringValue == "down")
        }
    }

    @Test func anOutageOnAnHourlySeriesIsADrop() async throws {
        var b = EventBuilder()
        for d in 0..<21 {
            for h in 0..<24 {
                let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
                if d == 15 && (8..<14).contains(h) { continue }  // six silent hours
                let bell = 20 + 80 * exp(-pow(Double(h) - 13, 2) / 18)
                b.add(day: t, hour: h, project: "steady", count: Int64(bell.rounded()))
            }
        }
        let store = InMemoryEventStore(events: b.events)
        let r = try await runAnalyzer(SpikeDetectionAnalyzer.self, store: store, ["bucket": "hour"])
        let w = try #require(r.outputs["window"]?.objectValue)
        #expect(w["direction"]?.stringValue == "down")
        #expect(w["outage"]?.boolValue == true)
        #expect(w["start"]?.stringValue == "2020-02-18T08:00:00Z")
        #expect(w["end"]?.stringValue == "2020-02-18T14:00:00Z")
    }

    @Test func tooLittleDataSaysSo() async throws {
        let store = InMemoryEventStore(events: weeklySeries(days: 5))
        let r = try await runAnalyzer(SpikeDetectionAnalyzer.self, store: store, [:])
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        #expect(r.findings.first?.title == "Too little data for a baseline")
    }
}

@Suite struct ContributorsTests {
    static func events(spiking: [String: Int64], spread: Int = 0) -> [DownloadEvent] {
        var b = EventBuilder()
        for d in 0..<21 {
            for p in 0..<30 { b.add(day: day(d), project: "pkg-\(p)", count: 10 + Int64(p)) }
            if d >= 18 {
                for (name, n) in spiking { b.add(day: day(d), project: name, count: n) }
                for p in 0..<spread { b.add(day: day(d), project: "pkg-\(p)", count: 15) }
            }
        }
        return b.events
    }

    static let window: Value = ["start": "2020-03-19T00:00:00Z", "end": "2020-03-22T00:00:00Z", "direction": "up"]

    @Test func twoProjectsExplainTheSpikeAndTheRestIsNormal() async throws {
        let store = InMemoryEventStore(events: Self.events(spiking: ["alpha": 400, "pkg-3": 200]))
        let r = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": Self.window])
        let contributors = try #require(r.outputs["contributors"]?.arrayValue)
        #expect(contributors.map { $0["value"]?.stringValue } == ["alpha", "pkg-3"])
        #expect(contributors[0]["excess"] == 1200)
        #expect(contributors[1]["excess"] == 600)
        #expect(r.outputs["totalExcess"] == 1800)
        #expect(r.outputs["residualNormal"] == true)
        #expect(r.outputs["broad"] == false)
        #expect(contributors[0]["share"]?.doubleValue == 0.667)
        // A list of windows works too (the first is used).
        let again = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": .array([Self.window])])
        #expect(again.outputs["totalExcess"] == 1800)
    }

    @Test func aBroadSpikeIsRecognised() async throws {
        let store = InMemoryEventStore(events: Self.events(spiking: [:], spread: 30))
        let r = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": Self.window])
        #expect(r.outputs["broad"] == true)
        #expect(r.findings.first?.title.contains("broad") == true || r.findings.first?.title.hasPrefix("No project") == true)
    }

    @Test func aMissingWindowIsAClearError() async throws {
        let store = InMemoryEventStore(events: [])
        await #expect(throws: AnalyzerError.self) {
            _ = try await runAnalyzer(ContributorsAnalyzer.self, store: store, ["window": .array([])])
        }
    }
}

@Suite struct SegmentSplitTests {
    @Test func theExcessComesFromPython2() async throws {
        var b = EventBuilder()
        for d in 0..<21 {
            b.add(day: day(d), project: "lib", count: 60, python: "3.7.3")
            b.add(day: day(d), project: "lib", count: 40, python: "2.7.16")
            if d >= 18 { b.add(day: day(d), project: "lib", count: 300, python: "2.7.16") }
        }
        let store = InMemoryEventStore(events: b.events)
        let r = try await runAnalyzer(SegmentSplitAnalyzer.self, store: store,
                                      ["window": ContributorsTests.window, "dimensions": ["cpu", "python_major"]])
        let top = try #require(r.outputs["top"]?.objectValue)
        #expect(top["dimension"] == "python_major")
        #expect(top["value"] == "2")
        #expect(top["excessShare"] == 1.0)
        #expect(top["baselineShare"] == 0.4)
        let ranking = try #require(r.outputs["ranking"]?.arrayValue)
        #expect(ranking.first?["dimension"] == "python_major")
        #expect(ranking.last?["surprise"] == 0.0)  // one cpu for everyone: nothing surprising
    }
}

@Suite struct ClientBehaviourTests {
    @Test func oneClientIsAMirrorLikeConcentration() async throws {
        var b = EventBuilder()
        for d in 0..<21 {
            for c in 0..<50 { b.add(day: day(d), project: "p\(c % 5)", client: "c-\(c)") }
            if d >= 18 { for p in 0..<40 { b.add(day: day(d), project: "q\(p)", client: "c-mirror") } }
        }
        let store = InMemoryEventStore(events: b.events)
        let r = try await runAnalyzer(ClientBehaviourAnalyzer.self, store: store, ["window": ContributorsTests.window])
        #expect(r.outputs["concentration"] == "single-client")
        #expect((r.outputs["topClientShare"]?.doubleValue ?? 0) > 0.9)
        #expect(r.outputs["topClients"]?[0]?["client"] == "client-1")
        // Keys never appear: only pseudonyms.
        #expect(!String(describing: r).contains("c-mirror"))
    }

    @Test func aValueFetchedTwicePerClientIsARepeat() async throws {
        var b = EventBuilder()
        for d in 0..<21 { b.add(day: day(d), project: "base", client: "c-base") }
        for c in 0..<200 {
            let t = day(18 + c % 3)
            b.add(day: t, project: "twice", count: 2, client: "c-\(c)")
            b.add(day: t, project: "once-a", client: "c-\(c)")
            b.add(day: t, project: "once-b", client: "c-\(c)")
        }
        let store = InMemoryEventStore(events: b.events)
        let r = try await runAnalyzer(ClientBehaviourAnalyzer.self, store: store,
                                      ["window": ContributorsTests.window, "values": ["twice", "once-a", "once-b"]])
        #expect(r.outputs["concentration"] == "many-clients")
        let repeated = try #require(r.outputs["repeated"]?.arrayValue)
        #expect(repeated.map { $0["value"] } == ["twice"])
        #expect(repeated.first?["perClient"] == 2.0)
        #expect(r.outputs["coFetchShare"] == 1.0)
        #expect(r.outputs["clients"] == 200)
    }

    @Test func noClientKeysIsSaidPlainly() async throws {
        var b = EventBuilder()
        for d in 0..<21 { b.add(day: day(d), project: "x", count: 10) }
        let r = try await runAnalyzer(ClientBehaviourAnalyzer.self, store: InMemoryEventStore(events: b.events), ["window": ContributorsTests.window])
        #expect(r.outputs["concentration"] == "unknown")
        #expect(r.findings.first?.title == "No client information")
    }
}
