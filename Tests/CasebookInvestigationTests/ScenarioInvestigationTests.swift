import CasebookAnalysis
import CasebookCore
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

    /// The unusual windows `spike` found (it must have succeeded and given its list, maybe empty).
    static func windows(_ report: RunReport, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [[String: Value]] {
        let spike = try succeeded(report, "spike", sourceLocation: sourceLocation)
        let windows = try #require(
            spike.outputs["windows"]?.arrayValue, "spike gave no list of windows: \(spike.outputs)",
            sourceLocation: sourceLocation)
        return windows.compactMap(\.objectValue)
    }

    static func overlaps(_ w: [String: Value], _ start: Int64?, _ end: Int64?) -> Bool {
        guard let s = w["start"]?.stringValue.flatMap({ UTCTime.parse($0) }), let e = w["end"]?.stringValue.flatMap({ UTCTime.parse($0) }),
            let start, let end
        else { return false }
        return s < end && start < e
    }

    @Test func aQuietMonthWithWeekendsAndAHolidayHasNoSpike() async throws {
        let report = try await investigate(try Self.base("quiet"))
        let windows = try Self.windows(report)
        for w in windows {
            #expect(w["severity"] == "mild", "only mild day-level dips are allowed: \(w)")
            #expect(w["direction"] == "down")
        }
        if windows.isEmpty {
            #expect(try skipped(report, "contributors") == SkipReason.noWindow)
        } else {
            // A holiday dip falls alike everywhere: no combination of values is its cause (not
            // even pip 18.1 and 20.0.2, 70% of the traffic and, by chance, 75% of the dip).
            #expect(try succeeded(report, "localise").outputs["causes"] == .array([]))
            #expect(try succeeded(report, "ledger").outputs["explainedShare"] == 0.0)
        }
    }

    @Test(arguments: [UInt64(11), 12, 13])
    func aDownstreamReleaseIsExplainedByItsPackagesAndPython(seed: UInt64) async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .releaseUpgrade, seed: seed)
        let report = try await investigate(r.scenario)
        let top = try #require(try Self.windows(report).first)
        #expect(top["direction"] == "up")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end), "window \(top) vs expected \(r.expected)")
        let contributors = try succeeded(report, "contributors")
        let values = Set(try #require(contributors.outputs["values"]?.arrayValue).compactMap(\.stringValue))
        #expect(values == Set(r.expected.packages), "contributors \(values) vs \(r.expected.packages)")
        #expect(contributors.outputs["residualNormal"] == true)
        let segment = try #require(try succeeded(report, "segments").outputs["top"]?.objectValue)
        #expect(segment["dimension"] == "python_major" || segment["dimension"] == "python_minor")
        let pythonMajor = try #require(r.expected.pythonMajor)
        #expect(segment["value"]?.stringValue?.hasPrefix(pythonMajor) == true)
        #expect(try succeeded(report, "clients").outputs["concentration"] == "many-clients")
        // Part 2: the release that asked for these packages ranks first; the dependencies stayed flat.
        let first = try #require(try succeeded(report, "attribution").outputs["hypotheses"]?[0]?.objectValue)
        #expect(first["kind"] == "release")
        #expect(first["project"]?.stringValue == r.expected.project)
        #expect(first["version"]?.stringValue == r.expected.version)
        // (When every dependency was itself upgraded, the step says it cannot tell.)
        let gap = try succeeded(report, "dependency_gap")
        let dependencies = try #require(gap.outputs["dependencies"]?.arrayValue)
        let independent = dependencies.filter { $0["contributor"] != true }
        if independent.isEmpty {
            #expect(gap.outputs["gap"] == false)
            let title = gap.findings.first?.title
            #expect(
                title == "Every dependency is itself a contributor" || title == "No dependencies to compare",
                "\(gap.outputs) \(gap.findings.map(\.summary))")
        } else {
            #expect(gap.outputs["gap"] == true, "\(gap.outputs) \(gap.findings.map(\.summary))")
        }
    }

    @Test func aCIFarmIsAFewClientsDoingFreshInstalls() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .ciFarm, seed: 21)
        let report = try await investigate(r.scenario)
        let top = try #require(try Self.windows(report).first)
        #expect(top["direction"] == "up")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end))
        let values = Set(try #require(try succeeded(report, "contributors").outputs["values"]?.arrayValue).compactMap(\.stringValue))
        #expect(!values.isEmpty && values.isSubset(of: Set(r.expected.packages)), "contributors \(values) vs \(r.expected.packages)")
        let clients = try succeeded(report, "clients").outputs
        #expect(clients["concentration"] == "few-clients" || clients["concentration"] == "single-client")
        let ciShare = try #require(clients["ciShare"]?.doubleValue)
        #expect(ciShare > 0.5)
        // Part 2: CI runners or fresh installs first, and no dependency gap (they install everything).
        let first = try succeeded(report, "attribution").outputs["hypotheses"]?[0]?["kind"]?.stringValue
        #expect(first == "ci" || first == "fresh-install")
        #expect(try succeeded(report, "dependency_gap").outputs["gap"] == false)
    }

    @Test func aMirrorIsOneClientDownloadingEverything() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .mirror, seed: 31)
        let report = try await investigate(r.scenario)
        let top = try #require(try Self.windows(report).first)
        #expect(top["direction"] == "up")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end))
        let clients = try succeeded(report, "clients").outputs
        #expect(clients["concentration"] == "single-client")
        let topClientShare = try #require(clients["topClientShare"]?.doubleValue)
        #expect(topClientShare >= 0.5)
        #expect(try succeeded(report, "attribution").outputs["hypotheses"]?[0]?["kind"] == "mirror")
    }

    @Test func anOutageIsADrop() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .outage, seed: 41)
        let report = try await investigate(r.scenario)
        let top = try #require(try Self.windows(report).first)
        #expect(top["direction"] == "down")
        #expect(Self.overlaps(top, r.expected.start, r.expected.end))
        // Nothing to attribute for a drop: the package steps are skipped, with the reason.
        for id in ["index_source", "dependency_gap", "attribution"] {
            #expect(try skipped(report, id) == SkipReason.drop, "\(id)")
        }
    }

    @Test func noIncidentNoSpike() async throws {
        let r = ScenarioFactory.randomized(base: try Self.base("quiet"), kind: .none, seed: 51)
        let report = try await investigate(r.scenario)
        let windows = try Self.windows(report)
        #expect(windows.allSatisfy { $0["severity"] == "mild" }, "\(windows)")
        #expect(!windows.contains { $0["direction"] == "up" }, "\(windows)")
    }
}
