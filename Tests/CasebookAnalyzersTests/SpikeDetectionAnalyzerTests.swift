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

    @Test func windowsBeyondTheCapAreCountedAndTheLargestOfThemNamed() async throws {
        // Eight one-day spikes of growing size, ten days apart: the six largest are listed, the
        // two smallest counted, and the larger of those (day 30, 2020-02-05) named.
        var extra: [Int: Double] = [:]
        for k in 0..<8 { extra[20 + 10 * k] = 500 + 50 * Double(k) }
        let store = weeklySeries(days: 112, extra: extra)
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.count == 6)
        #expect(r.outputs["unlisted"]?.intValue == 2)
        let starts = Set(windows.compactMap { $0["start"]?.stringValue })
        for k in 2..<8 {
            let day = UTCTime.isoString(UTCTime.epoch(year: 2020, month: 1, day: 6) + Int64(20 + 10 * k) * 86400)
            #expect(starts.contains(day), "the spike of day \(20 + 10 * k) is listed")
        }
        let note = try #require(r.findings.first { $0.title == "2 more unusual windows not listed" })
        #expect(note.summary.contains("2 more unusual windows are not listed: the step lists at most 6"))
        #expect(note.summary.contains("The largest of them: 2020-02-05"))
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
        // The server logged its answers: in the six hours it answered 503 and served nothing.
        var e = TestEvents()
        for d in 0..<21 {
            for h in 0..<24 {
                let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
                let hour = UTCTime.isoString(t + Int64(h) * 3600)
                if d == 15 && (8..<14).contains(h) {
                    e.logRequests(hour: hour, status: 503, count: 60)
                    continue
                }
                let bell = 20 + 80 * exp(-pow(Double(h) - 13, 2) / 18)
                e.add(day: t, hour: h, project: "steady", count: Int64(bell.rounded()))
                e.logRequests(hour: hour, status: 200, count: Int64(bell.rounded()) + 5)
            }
        }
        let r = try await run(SpikeDetectionAnalyzer.self, with: ["bucket": "hour"], store: e.store)
        let w = try #require(r.outputs["window"]?.objectValue)
        #expect(w["direction"]?.stringValue == "down")
        #expect(w["outage"]?.boolValue == true)
        #expect(w["start"]?.stringValue == "2020-02-18T08:00:00Z")
        #expect(w["end"]?.stringValue == "2020-02-18T14:00:00Z")
        #expect(r.outputs["gaps"]?.arrayValue?.isEmpty == true)
    }

    /// Hourly downloads with a bell-shaped day, and request lines for every hour the log has.
    static func hourlyLog(days: Int = 21, silent: (day: Int, hours: Range<Int>)? = nil) -> TestStore {
        var e = TestEvents()
        for d in 0..<days {
            for h in 0..<24 {
                let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
                if let silent, d == silent.day, silent.hours.contains(h) { continue }  // no line at all
                let bell = 20 + 80 * exp(-pow(Double(h) - 13, 2) / 18)
                e.add(day: t, hour: h, project: "steady", count: Int64(bell.rounded()))
                e.logRequests(hour: UTCTime.isoString(t + Int64(h) * 3600), status: 200, count: Int64(bell.rounded()) + 5)
            }
        }
        return e.store
    }

    @Test func sixHoursWithoutAnyLogLineAreAGapNotAnOutage() async throws {
        let store = Self.hourlyLog(silent: (15, 8..<14))
        let r = try await run(SpikeDetectionAnalyzer.self, with: ["bucket": "hour"], store: store)
        let gaps = try #require(r.outputs["gaps"]?.arrayValue)
        #expect(gaps.count == 1)
        #expect(gaps.first?["start"]?.stringValue == "2020-02-18T08:00:00Z")
        #expect(gaps.first?["end"]?.stringValue == "2020-02-18T14:00:00Z")
        #expect(gaps.first?["buckets"]?.intValue == 6)
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        let text = r.findings.map { $0.title + " " + $0.summary }.joined(separator: "\n")
        #expect(!text.lowercased().contains("outage"))
        #expect(r.findings.contains { $0.title == "No data for 6 hours" })
        #expect(text.contains("2020-02-18 08:00–14:00 UTC"))
        let series = try #require(r.outputs["series"]?.arrayValue)
        #expect(series.filter { $0["gap"]?.boolValue == true }.count == 6)

        // At daily resolution the day is not a gap (it has 18 hours of data), but its window says
        // which hours the log is missing and never calls it an outage.
        let daily = try await run(SpikeDetectionAnalyzer.self, with: ["bucket": "day"], store: store)
        if let w = daily.outputs["window"]?.objectValue {
            #expect(w["missingHours"]?.intValue == 6)
            #expect(w["outage"]?.boolValue == false)
            #expect(daily.findings.first?.summary.contains("no line at all for 6 hours") == true)
        }
        #expect(!daily.findings.contains { $0.title.lowercased().contains("outage") })
    }

    @Test func daysMissingFromACountsFileAreGapsLeftOutOfTheBaseline() async throws {
        var counts: [Int?] = (0..<42).map { (d: Int) -> Int? in
            let weekend = d % 7 >= 5 ? -400 : 0
            let noise = Int(20 * sin(Double(d) * 1.7))
            return 1000 + weekend + noise
        }
        for d in [10, 11, 12, 30] { counts[d] = nil }
        var e = TestEvents()
        e.daily("flask", from: "2020-02-03", counts: counts)
        let r = try await run(SpikeDetectionAnalyzer.self, store: e.store)
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        let gaps = try #require(r.outputs["gaps"]?.arrayValue)
        #expect(gaps.map { $0["start"]?.stringValue } == ["2020-02-13T00:00:00Z", "2020-03-04T00:00:00Z"])
        #expect(gaps.map { $0["buckets"]?.intValue } == [3, 1])
        #expect(r.findings.contains { $0.title == "No data for 4 days" })
        #expect(r.findings.first?.title == "No unusual days")
        // A filtered series keeps real zeros: another project's rows show the day had data.
        var f = TestEvents()
        f.daily("flask", from: "2020-02-03", counts: (0..<42).map { $0 == 20 ? nil : 1000 })
        f.daily("other", from: "2020-02-03", counts: Array(repeating: 500, count: 42))
        let filtered = try await run(SpikeDetectionAnalyzer.self, with: ["filter": ["project": ["flask"]]], store: f.store)
        #expect(filtered.outputs["gaps"]?.arrayValue?.isEmpty == true)
        #expect(filtered.outputs["window"]?["outage"]?.boolValue == true)
    }

    /// A seeded Poisson sample (Knuth's method over a linear congruential generator).
    static func poissonSeries(_ rates: [Double], seed: UInt64) -> [Int?] {
        var state = seed
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        return rates.map { rate in
            let limit = exp(-rate)
            var k = 0
            var p = uniform()
            while p > limit {
                k += 1
                p *= uniform()
            }
            return k
        }
    }

    @Test func lowCountsAreJudgedBySignificanceNotSize() async throws {
        // 1 to 20 downloads a day, Poisson noise around a slowly varying rate: no spike.
        for seed in [1, 2, 3, 4, 5] as [UInt64] {
            let rates = (0..<120).map { 1 + 19 * (0.5 + 0.5 * sin(Double($0) / 19)) }
            var e = TestEvents()
            e.daily("tiny", from: "2020-01-06", counts: Self.poissonSeries(rates, seed: seed))
            let r = try await run(SpikeDetectionAnalyzer.self, store: e.store)
            #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true, "seed \(seed): \(r.findings.map(\.title))")
        }
        // One download a day, and one day with 3: not a "+200% spike".
        var e = TestEvents()
        e.daily("tiny", from: "2020-01-06", counts: (0..<60).map { $0 == 40 ? 3 : 1 })
        let r = try await run(SpikeDetectionAnalyzer.self, store: e.store)
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true, "\(r.findings.map(\.title))")
        // A real jump at low counts is still found: 40 where 2 are usual.
        var j = TestEvents()
        j.daily("tiny", from: "2020-01-06", counts: (0..<60).map { $0 == 40 ? 40 : 2 })
        let jump = try await run(SpikeDetectionAnalyzer.self, store: j.store)
        #expect(jump.outputs["window"]?["start"]?.stringValue == "2020-02-15T00:00:00Z")
        #expect(jump.outputs["window"]?["kind"]?.stringValue == "spike")
    }

    /// Daily downloads from Monday 2 December 2019 for `days` days: weekends at 60%, slight
    /// deterministic noise, and `factor` on some days.
    static func winterSeries(days: Int = 70, factor: [String: Double] = [:]) -> TestStore {
        var e = TestEvents()
        for d in 0..<days {
            let t = UTCTime.epoch(year: 2019, month: 12, day: 2) + Int64(d) * 86400
            var v = 2000 * (UTCTime.isWeekend(t) ? 0.6 : 1) * (1 + 0.02 * sin(Double(d) * 1.7))
            v *= factor[UTCTime.dateString(t)] ?? 1
            e.add(day: t, project: "steady", count: Int64(v.rounded()))
        }
        return e.store
    }

    @Test func aHolidayOfHolidaySizeIsExpectedNotAnIncident() async throws {
        let store = Self.winterSeries(factor: ["2019-12-24": 0.8, "2019-12-25": 0.7, "2019-12-26": 0.8, "2020-01-01": 0.85])
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        let newYear = try #require(windows.first { $0["start"]?.stringValue == "2020-01-01T00:00:00Z" })
        #expect(newYear["kind"]?.stringValue == "holiday")
        #expect(newYear["holiday"]?.stringValue == "New Year's Day")
        #expect(newYear["direction"]?.stringValue == "down")
        for w in windows { #expect(w["kind"]?.stringValue == "holiday", "\(w)") }
        let finding = try #require(r.findings.first { $0.title.hasPrefix("New Year's Day") })
        #expect(finding.title.hasSuffix("a public holiday"))
        let relative = try #require(newYear["relative"]?.doubleValue)
        #expect(relative > -0.18 && relative < -0.1)
        #expect(finding.title.contains(": \(Describe.signedPercent(relative)), a public holiday"), "\(finding.title)")
        #expect(finding.summary.contains("expected, not an incident"))
        #expect(finding.summary.contains("As on earlier holidays in the data: Christmas Eve (2019-12-24)"), "\(finding.summary)")

        // Far beyond a holiday's size, it is an incident on a holiday.
        let outage = try await run(SpikeDetectionAnalyzer.self, store: Self.winterSeries(factor: ["2020-01-01": 0.05]))
        let w = try #require(outage.outputs["window"]?.objectValue)
        #expect(w["kind"]?.stringValue == "drop")
        #expect(w["holiday"]?.stringValue == "New Year's Day")
        #expect(outage.findings.first?.summary.contains("far beyond a holiday's usual size") == true)

        // Without a calendar, the same dip is a drop, and no earlier holiday is claimed.
        let none = try await run(
            SpikeDetectionAnalyzer.self, with: ["calendar": "none"], store: Self.winterSeries(factor: ["2020-01-01": 0.85]))
        #expect(none.outputs["window"]?["kind"]?.stringValue == "drop")
        #expect(none.outputs["window"]?["holiday"] == nil)
    }

    @Test func aCalendarFileReplacesTheBuiltInOne() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-calendar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("holidays.csv")
        try "date,name\n2020-01-22,Founders' Day\n".write(to: file, atomically: true, encoding: .utf8)
        let store = Self.winterSeries(factor: ["2020-01-22": 0.8, "2020-01-01": 0.85])
        let r = try await run(SpikeDetectionAnalyzer.self, with: ["calendar": .string(file.path)], store: store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        let founders = try #require(windows.first { $0["start"]?.stringValue == "2020-01-22T00:00:00Z" })
        #expect(founders["kind"]?.stringValue == "holiday")
        #expect(founders["holiday"]?.stringValue == "Founders' Day")
        // New Year's Day is not in this calendar: its dip is a drop.
        #expect(windows.first { $0["start"]?.stringValue == "2020-01-01T00:00:00Z" }?["kind"]?.stringValue == "drop")
        try "2020-01-22;Founders' Day\n".write(to: file, atomically: true, encoding: .utf8)
        await #expect(throws: (any Error).self) {
            _ = try await run(SpikeDetectionAnalyzer.self, with: ["calendar": .string(file.path)], store: store)
        }
    }

    @Test func easterHolidaysFollowTheComputus() async throws {
        // Easter 2020 was on 12 April: Good Friday on the 10th, Easter Monday on the 13th.
        var e = TestEvents()
        for d in 0..<70 {
            let t = UTCTime.epoch(year: 2020, month: 3, day: 2) + Int64(d) * 86400
            var v = 2000 * (UTCTime.isWeekend(t) ? 0.6 : 1) * (1 + 0.02 * sin(Double(d) * 1.7))
            if ["2020-04-10", "2020-04-13"].contains(UTCTime.dateString(t)) { v *= 0.8 }
            e.add(day: t, project: "steady", count: Int64(v.rounded()))
        }
        let r = try await run(SpikeDetectionAnalyzer.self, store: e.store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.map { $0["holiday"]?.stringValue } == ["Good Friday", "Easter Monday"])
        #expect(windows.allSatisfy { $0["kind"]?.stringValue == "holiday" })
    }

    /// Daily downloads from Monday 3 February 2020 with weekends at 60%, growth, noise, and
    /// `level(d)` multiplying day `d`.
    static func stepSeries(days: Int = 63, level: (Int) -> Double) -> TestStore {
        var e = TestEvents()
        for d in 0..<days {
            let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
            let v = 4000 * (1 + 0.003 * Double(d)) * (UTCTime.isWeekend(t) ? 0.6 : 1) * (1 + 0.03 * sin(Double(d) * 1.7)) * level(d)
            e.add(day: t, project: "steady", count: Int64(v.rounded()))
        }
        return e.store
    }

    @Test func aStepThatStaysIsOneLevelShiftAtItsStart() async throws {
        for factor in [0.8, 1.25] {
            let r = try await run(SpikeDetectionAnalyzer.self, store: Self.stepSeries { $0 >= 35 ? factor : 1 })
            let windows = try #require(r.outputs["windows"]?.arrayValue)
            #expect(windows.count == 1, "\(factor): \(r.findings.map(\.title))")
            let w = try #require(windows.first?.objectValue)
            #expect(w["kind"]?.stringValue == "level-shift")
            #expect(w["start"]?.stringValue == "2020-03-09T00:00:00Z")
            #expect(w["direction"]?.stringValue == (factor > 1 ? "up" : "down"))
            let before = try #require(w["levelBefore"]?.doubleValue)
            let after = try #require(w["levelAfter"]?.doubleValue)
            #expect(abs(after / before - factor) < 0.06, "\(before) → \(after)")
            let title = try #require(r.findings.first?.title)
            #expect(title.hasPrefix("A level shift \(factor > 1 ? "up" : "down") from 2020-03-09 on"), "\(title)")
        }
        // Steady growth alone is no level shift.
        let growth = try await run(SpikeDetectionAnalyzer.self, store: Self.stepSeries { _ in 1 })
        #expect(growth.outputs["windows"]?.arrayValue?.isEmpty == true)
        // A week-long spike that returns is a spike, not a level shift.
        let spike = try await run(SpikeDetectionAnalyzer.self, store: Self.stepSeries { (30..<37).contains($0) ? 1.6 : 1 })
        #expect(spike.outputs["window"]?["kind"]?.stringValue == "spike")
    }

    @Test func aSlowRampOverTenDaysIsARamp() async throws {
        let r = try await run(SpikeDetectionAnalyzer.self, store: Self.stepSeries { d in 1 + 0.2 * min(1, max(0, Double(d - 27) / 10)) })
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.count == 1, "\(r.findings.map(\.title))")
        let w = try #require(windows.first?.objectValue)
        #expect(w["kind"]?.stringValue == "ramp")
        #expect(w["direction"]?.stringValue == "up")
        let start = try #require(w["start"]?.stringValue.flatMap(UTCTime.parse))
        let end = try #require(w["end"]?.stringValue.flatMap(UTCTime.parse))
        let rampStart = UTCTime.epoch(year: 2020, month: 3, day: 1)
        #expect(abs(start - rampStart) <= 3 * 86400, "\(UTCTime.dateString(start))")
        #expect((end - start) / 86400 >= 6 && (end - start) / 86400 <= 14)
        #expect(r.findings.first?.title.hasPrefix("A ramp up over") == true)
    }

    @Test func aNormalEveningPeakIsNotASpikeButAnUnusualEveningIs() async throws {
        // Four weeks of hours: a sharp evening peak every day, larger on weekdays.
        func store(extra: (Int, Int) -> Double) -> TestStore {
            var e = TestEvents()
            for d in 0..<28 {
                let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
                for h in 0..<24 {
                    let peak = (UTCTime.isWeekend(t) ? 150 : 400) * exp(-pow(Double(h) - 20, 2) / 2)
                    let v = (30 + peak) * (1 + 0.03 * sin(Double(d * 24 + h) * 1.3)) + extra(d, h)
                    e.add(day: t, hour: h, project: "steady", count: Int64(v.rounded()))
                }
            }
            return e.store
        }
        let normal = try await run(SpikeDetectionAnalyzer.self, with: ["bucket": "hour"], store: store { _, _ in 0 })
        #expect(normal.outputs["windows"]?.arrayValue?.isEmpty == true, "\(normal.findings.map(\.title))")
        // A Saturday evening at a weekday's height is unusual for a Saturday.
        let saturday = try await run(
            SpikeDetectionAnalyzer.self, with: ["bucket": "hour"],
            store: store { d, h in d == 19 ? 250 * exp(-pow(Double(h) - 20, 2) / 2) : 0 })
        let w = try #require(saturday.outputs["window"]?.objectValue)
        #expect(w["direction"]?.stringValue == "up")
        #expect(w["start"]?.stringValue?.hasPrefix("2020-02-22T") == true)
    }

    @Test func aFlaggedWindowIsLeftOutOfTheNextBaseline() async throws {
        // Two spikes a week apart: the first does not lift the baseline the second is judged by.
        let store = weeklySeries(extra: [30: 1500, 31: 1500, 32: 1500, 37: 300])
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        let windows = try #require(r.outputs["windows"]?.arrayValue)
        #expect(windows.count == 2, "\(r.findings.map(\.title))")
        #expect(windows.map { $0["start"]?.stringValue } == ["2020-02-05T00:00:00Z", "2020-02-12T00:00:00Z"])
    }

    @Test func aDirectDownloadSurgeUnderMirrorNoiseIsFoundPerSegment() async throws {
        // A mirror syncs 2,000–8,000 files a day; pip clients download about 1,000 a day, and
        // 1,500 on three days: lost in the total, plain in the pip series.
        var e = TestEvents()
        let mirror = (0..<49).map { d in 5000 + 3000 * sin(Double(d) * 2.3) }
        let direct = (0..<49).map { d in (1000 + 30 * sin(Double(d) * 1.7)) * ((35..<38).contains(d) ? 1.5 : 1) }
        for d in 0..<49 {
            let t = UTCTime.epoch(year: 2020, month: 2, day: 3) + Int64(d) * 86400
            e.add(count: Int64(mirror[d].rounded()), at: t, project: "numpy", dimensions: [.installer: "bandersnatch"])
            e.add(count: Int64(direct[d].rounded()), at: t, project: "numpy", dimensions: [.installer: "pip"])
        }
        let total = try await run(SpikeDetectionAnalyzer.self, store: e.store)
        #expect(total.outputs["windows"]?.arrayValue?.isEmpty == true)
        #expect(total.outputs["segmentWindows"]?.arrayValue?.isEmpty == true)
        let r = try await run(SpikeDetectionAnalyzer.self, with: ["segments": "installer"], store: e.store)
        let first = try #require(r.outputs["segmentWindows"]?[0]?.objectValue)
        #expect(first["dimension"]?.stringValue == "installer")
        #expect(first["value"]?.stringValue == "pip")
        #expect(first["direction"]?.stringValue == "up")
        #expect(first["start"]?.stringValue == "2020-03-09T00:00:00Z")
        #expect(first["end"]?.stringValue == "2020-03-12T00:00:00Z")
        #expect(
            r.findings.contains { $0.title.hasPrefix("In installer pip: a ") && $0.title.contains(" spike, 2020-03-09") },
            "\(r.findings.map(\.title))")
    }

    @Test func tooLittleDataSaysSo() async throws {
        let store = weeklySeries(days: 5)
        let r = try await run(SpikeDetectionAnalyzer.self, store: store)
        #expect(r.outputs["windows"]?.arrayValue?.isEmpty == true)
        #expect(r.findings.first?.title == "Too little data for a baseline")
    }
}
