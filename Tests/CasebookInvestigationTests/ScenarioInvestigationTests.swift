import CasebookCore
import CasebookAnalysis
import CasebookPlaybooks
import CasebookSimulation
import Foundation
import Testing

/// The unchanged `playbooks/downloads-spike.yaml` on scenarios other than the founding case,
/// with incident parameters (which packages, when, how big) drawn from a seeded generator.
/// The analyzers see only logs and catalog documents; `ExpectedOutcome` is for the checks here.
@Suite(.serialized) struct ScenarioInvestigationTests {
    static func base(_ name: String) throws -> Scenario {
        try Scenario.load(path: packageRoot.appendingPathComponent("examples/scenarios/\(name).yaml").path)
    }

    static func windows(_ report: RunReport) -> [[String: Value]] {
        report.step("spike")?.outputs["windows"]?.arrayValue?.compactMap(\.objectValue) ?? []
    }

    static func overlaps(_ w: [String: Value], _ start: Int64?, _ end: Int64?) -> Bool {
        guard let s = w["start"]?.stringValue.flatMap({ UTCTime.parse($0) }), let e = w["end"]?.stringValue.flatMap({ UTCTime.parse($0) }),
              let start, let end else { return false }
        return s < end && start < e
    }

    @Test func aQuietMonthWithWeekendsAndAHolidayHasNoSpike() async throws {
        let report = try await investigate(try Self.base("quiet"))
        let windows = Self.windows(report)
        for w in windows {
            #expect(w["severity"] == "mild", "only mild day-level dips are allowed: \(w)")
            #expect(w["direction"] == "down")
        }
        #expect(report.step("spike")?.status == .succeeded)
        if windows.isEmpty {
            #expect(report.step("contributors")?.status == .skipped)
        }
    }

    @Test(arguments: [UInt64(11), 12, 13])
    func aDownstreamReleaseIsExplainedByItsPackagesAndPython(seed: UInt64) async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .releaseUpgrade, seed: seed)
        let report = try await investigate(r.scenario)
        let top = try #require(Self.windows(report).first)
        #expect(top["direction"] == "up")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end), "window \(top) vs expected \(r.expected)")
        let values = Set(report.step("contributors")?.outputs["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(values == Set(r.expected.packages), "contributors \(values) vs \(r.expected.packages)")
        #expect(report.step("contributors")?.outputs["residualNormal"] == true)
        let segment = report.step("segments")?.outputs["top"]
        #expect(segment?["dimension"] == "python_major" || segment?["dimension"] == "python_minor")
        #expect(segment?["value"]?.stringValue?.hasPrefix(r.expected.pythonMajor ?? "?") == true)
        #expect(report.step("clients")?.outputs["concentration"] == "many-clients")
        // Part 2: the release that asked for these packages ranks first; the dependencies stayed flat.
        let first = report.step("attribution")?.outputs["hypotheses"]?[0]
        #expect(first?["kind"] == "release")
        #expect(first?["project"]?.stringValue == r.expected.project)
        #expect(first?["version"]?.stringValue == r.expected.version)
        // (When every dependency was itself upgraded, the step says it cannot tell.)
        let gap = report.step("dependency_gap")
        let independent = gap?.outputs["dependencies"]?.arrayValue?.filter { $0["contributor"] != true } ?? []
        #expect(gap?.outputs["gap"] == true || independent.isEmpty, "\(gap?.outputs ?? [:]) \(gap?.findings.map(\.summary) ?? [])")
    }

    @Test func aCIFarmIsAFewClientsDoingFreshInstalls() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .ciFarm, seed: 21)
        let report = try await investigate(r.scenario)
        let top = try #require(Self.windows(report).first)
        #expect(top["direction"] == "up")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end))
        let values = Set(report.step("contributors")?.outputs["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(!values.isEmpty && values.isSubset(of: Set(r.expected.packages)), "contributors \(values) vs \(r.expected.packages)")
        let clients = try #require(report.step("clients")?.outputs)
        #expect(clients["concentration"] == "few-clients" || clients["concentration"] == "single-client")
        #expect((clients["ciShare"]?.doubleValue ?? 0) > 0.5)
        // Part 2: CI runners or fresh installs first, and no dependency gap (they install everything).
        let first = report.step("attribution")?.outputs["hypotheses"]?[0]?["kind"]?.stringValue
        #expect(first == "ci" || first == "fresh-install")
        #expect(report.step("dependency_gap")?.outputs["gap"] != true)
    }

    @Test func aMirrorIsOneClientDownloadingEverything() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .mirror, seed: 31)
        let report = try await investigate(r.scenario)
        let top = try #require(Self.windows(report).first)
        #expect(top["direction"] == "up")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end))
        #expect(report.step("clients")?.outputs["concentration"] == "single-client")
        #expect((report.step("clients")?.outputs["topClientShare"]?.doubleValue ?? 0) >= 0.5)
        #expect(report.step("attribution")?.outputs["hypotheses"]?[0]?["kind"] == "mirror")
    }

    @Test func anOutageIsADrop() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .outage, seed: 41)
        let report = try await investigate(r.scenario)
        let top = try #require(Self.windows(report).first)
        #expect(top["direction"] == "down")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end))
        // Nothing to attribute for a drop: the package steps are skipped, with the reason.
        #expect(report.step("attribution")?.status == .skipped)
    }

    @Test func noIncidentNoSpike() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .none, seed: 51)
        let report = try await investigate(r.scenario)
        #expect(Self.windows(report).allSatisfy { $0["severity"] == "mild" })
        #expect(!Self.windows(report).contains { $0["direction"] == "up" })
    }
}
