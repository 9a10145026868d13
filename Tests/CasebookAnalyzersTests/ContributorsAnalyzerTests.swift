import CasebookAnalysis
import CasebookAnalyzers
import CasebookCore
import CasebookTesting
import Foundation
import Testing

@Suite struct ContributorsAnalyzerTests {
    static func events(spiking: [String: Int64], spread: Int = 0) -> TestStore {
        var e = TestEvents()
        for d in 0..<21 {
            for p in 0..<30 { e.add(day: day(d), project: "pkg-\(p)", count: 10 + Int64(p)) }
            if d >= 18 {
                for (name, n) in spiking { e.add(day: day(d), project: name, count: n) }
                for p in 0..<spread { e.add(day: day(d), project: "pkg-\(p)", count: 15) }
            }
        }
        return e.store
    }

    static let window = lateMarchWindow

    @Test func twoProjectsExplainTheSpikeAndTheRestIsNormal() async throws {
        let store = Self.events(spiking: ["alpha": 400, "pkg-3": 200])
        let r = try await run(ContributorsAnalyzer.self, with: ["window": Self.window], store: store)
        let contributors = try #require(r.outputs["contributors"]?.arrayValue)
        #expect(contributors.map { $0["value"]?.stringValue } == ["alpha", "pkg-3"])
        #expect(contributors[0]["excess"] == 1200)
        #expect(contributors[1]["excess"] == 600)
        #expect(r.outputs["totalExcess"] == 1800)
        #expect(r.outputs["residualNormal"] == true)
        #expect(r.outputs["broad"] == false)
        #expect(contributors[0]["share"]?.doubleValue == 0.667)
        // A list of windows works too (the first is used).
        let again = try await run(ContributorsAnalyzer.self, with: ["window": .array([Self.window])], store: store)
        #expect(again.outputs["totalExcess"] == 1800)
    }

    @Test func aBroadSpikeIsRecognised() async throws {
        let store = Self.events(spiking: [:], spread: 30)
        let r = try await run(ContributorsAnalyzer.self, with: ["window": Self.window], store: store)
        #expect(r.outputs["broad"] == true)
        #expect(r.findings.first?.title.contains("broad") == true || r.findings.first?.title.hasPrefix("No project") == true)
    }

    @Test func aMissingWindowIsAClearError() async throws {
        let store = TestEvents().store
        await #expect(throws: AnalyzerError.self) {
            _ = try await run(ContributorsAnalyzer.self, with: ["window": .array([])], store: store)
        }
    }

    @Test func aStoreOfOneProjectSaysThereIsNothingToSplitByProject() async throws {
        var e = TestEvents()
        for d in 0..<28 { e.add(day: day(d), project: "flask", count: d == 20 ? 900 : 300) }
        let window: Value = .object(["start": .string(UTCTime.isoString(day(20))), "end": .string(UTCTime.isoString(day(21)))])
        let r = try await run(ContributorsAnalyzer.self, with: ["window": window], store: e.store)
        #expect(r.findings.first?.title == "All downloads are of one project: flask")
        #expect(r.outputs["values"] == ["flask"])
        #expect(r.outputs["shape"] == "none")
    }

    @Test func aClosureOfTwentyFivePackagesRisingTogetherIsASetNotABroadChange() async throws {
        // 150 projects with steady traffic; a CI farm installs a closure of 25 of them, each
        // about 120 times more in the window (each package once per session).
        var e = TestEvents()
        for d in 0..<28 {
            for p in 0..<150 {
                let usual = Int64(20 + (p * 37) % 60)
                let extra: Int64 = d == 21 && p % 6 == 0 ? 110 + Int64(p % 5) * 5 : 0
                e.add(day: day(d), project: "pkg\(p)", count: usual + extra)
            }
        }
        let window: Value = .object(["start": .string(UTCTime.isoString(day(21))), "end": .string(UTCTime.isoString(day(22)))])
        let r = try await run(ContributorsAnalyzer.self, with: ["window": window], store: e.store)
        #expect(r.outputs["shape"] == "set")
        #expect(r.outputs["broad"] == false)
        #expect(
            Set(r.outputs["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                == Set((0..<150).filter { $0 % 6 == 0 }.map { "pkg\($0)" }))
        #expect(r.outputs["residualNormal"] == true)
        let finding = try #require(r.findings.first)
        #expect(finding.title == "A set of 25 project values rose together")
        #expect(finding.summary.contains("and 17 more"))
    }

    @Test func aChangeOverMostValuesIsBroad() async throws {
        // Every one of 60 projects rises by a third: no set explains it.
        var e = TestEvents()
        for d in 0..<28 {
            for p in 0..<60 { e.add(day: day(d), project: "pkg\(p)", count: d == 21 ? 80 : 60) }
        }
        let window: Value = .object(["start": .string(UTCTime.isoString(day(21))), "end": .string(UTCTime.isoString(day(22)))])
        let r = try await run(ContributorsAnalyzer.self, with: ["window": window], store: e.store)
        #expect(r.outputs["shape"] == "broad")
        #expect(r.findings.first?.title == "A broad change: no set of project values explains it")
    }
}
