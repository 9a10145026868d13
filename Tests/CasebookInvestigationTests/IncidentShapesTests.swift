import CasebookCore
import CasebookAnalysis
import CasebookPlaybooks
import CasebookSimulation
import Foundation
import Testing

/// The unchanged `playbooks/downloads-spike.yaml` on the incident shapes of `examples/scenarios`
/// that it was not built around. Each test states the conclusion a careful analyst would write;
/// every report also goes through `reportProblems` (see `investigate`). Where the investigation
/// does not reach that conclusion yet, the expectation stands inside `withKnownIssue`, naming
/// what is missing: it fails loudly the day it is reached, and never passes by accident.
@Suite(.serialized) struct IncidentShapesTests {
    static func run(_ name: String, project: String? = nil) async throws -> RunReport {
        try await investigate(try Scenario.load(path: packageRoot.appendingPathComponent("examples/scenarios/\(name).yaml").path),
                              project: project)
    }

    static func window(_ r: RunReport) -> [String: Value]? { r.step("spike")?.outputs["window"]?.objectValue }

    static func text(_ r: RunReport) -> String {
        r.steps.flatMap(\.findings).map { $0.title + ". " + $0.summary }.joined(separator: "\n")
    }

    static func noStepFailed(_ r: RunReport) {
        for s in r.steps { #expect(s.status != .failed, "\(s.id): \(s.reason ?? "")") }
    }

    @Test func anOutageAnswered503IsAnOutageNotAFallInDemand() async throws {
        let r = try await Self.run("outage-5xx")
        Self.noStepFailed(r)
        let w = try #require(Self.window(r))
        #expect(w["start"] == "2020-02-19T00:00:00Z")
        #expect(w["direction"] == "down")
        let health = try #require(r.step("health"))
        #expect(health.outputs["verdict"] == "outage")
        let span = try #require(health.outputs["errorSpans"]?[0]?.objectValue)
        #expect(span["status"] == 503)
        #expect(span["start"] == "2020-02-19T10:00:00Z")
        #expect(span["end"] == "2020-02-19T15:00:00Z")
        // No traffic explanation of an outage.
        for id in ["contributors", "segments", "clients"] { #expect(r.step(id)?.status == .skipped) }
        #expect((r.step("ledger")?.outputs["explainedShare"]?.doubleValue ?? 0) >= 0.9)
    }

    @Test func hoursWithoutAnyLogLineAreMissingDataNeverAnOutage() async throws {
        let r = try await Self.run("log-gap")
        Self.noStepFailed(r)
        #expect(Self.window(r)?["start"] == "2020-02-20T00:00:00Z")
        let health = try #require(r.step("health"))
        #expect(health.outputs["verdict"] == "log-gap")
        let span = try #require(health.outputs["silentSpans"]?[0]?.objectValue)
        #expect(span["start"] == "2020-02-20T08:00:00Z")
        #expect(span["end"] == "2020-02-20T14:00:00Z")
        #expect(!Self.text(r).lowercased().contains("outage"))
        #expect(r.step("clients")?.status == .skipped)
    }

    @Test func aHolidayIsFewerDownloadsFromEveryoneNotOneClientGone() async throws {
        let r = try await Self.run("holiday-dip")
        Self.noStepFailed(r)
        let w = try #require(Self.window(r))
        #expect(w["start"] == "2020-05-01T00:00:00Z")
        #expect(w["direction"] == "down")
        #expect(r.step("health")?.outputs["verdict"] == "traffic")
        #expect(r.step("clients")?.outputs["concentration"] == "many-clients")
        #expect(r.step("clients")?.findings.first?.title == "The shortfall is spread over many clients")
        withKnownIssue("holidays are not in a calendar yet (issue 14): the day is reported as a drop, not as an expected holiday") {
            #expect(r.step("spike")?.findings.first?.title.lowercased().contains("holiday") == true)
        }
    }

    @Test func aTwentyFivePackageClosureInstalledByCIRunnersIsOneStory() async throws {
        let r = try await Self.run("ci-closure")
        Self.noStepFailed(r)
        #expect(Self.window(r)?["direction"] == "up")
        let contributors = try #require(r.step("contributors"))
        #expect(contributors.outputs["shape"] == "set")
        #expect(contributors.outputs["values"]?.arrayValue?.count == 25)
        #expect(contributors.outputs["broad"] == false)
        #expect(r.step("clients")?.outputs["concentration"] == "few-clients")
        #expect(r.step("attribution")?.outputs["top"]?["kind"] == "ci")
        let ledger = try #require(r.step("ledger")?.outputs["ledger"]?.objectValue)
        let first = try #require(ledger["explanations"]?[0]?.objectValue)
        #expect(first["pairs"]?["ci"] == "true")
        #expect(first["pairs"]?["project"]?.arrayValue?.count == 25)
        #expect((first["share"]?.doubleValue ?? 0) >= 0.8)
    }

    @Test func aReleaseThatUpgradesTwoPackagesOnPython3() async throws {
        let r = try await Self.run("python3-two-packages")
        Self.noStepFailed(r)
        let values = Set(r.step("contributors")?.outputs["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(values == ["requests", "jinja2"])
        let ranking = r.step("segments")?.outputs["ranking"]?.arrayValue ?? []
        #expect(ranking.contains { $0["dimension"] == "python_major" && $0["topValue"] == "3" && ($0["topExcessShare"]?.doubleValue ?? 0) >= 0.95 })
        let top = r.step("attribution")?.outputs["top"]
        #expect(top?["kind"] == "release")
        #expect(top?["project"] == "sensor-hub")
        #expect(top?["version"] == "3.0.0")
        #expect(r.step("dependency_gap")?.status == .succeeded)
        #expect(r.step("dependency_gap")?.outputs["gap"] == true)
        let pairs = r.step("ledger")?.outputs["ledger"]?["explanations"]?[0]?["pairs"]
        #expect(pairs?["python_major"] == "3")
    }

    @Test func twoOverlappingIncidentsAreNotForcedIntoOneCause() async throws {
        let r = try await Self.run("overlapping")
        Self.noStepFailed(r)
        #expect(Self.window(r)?["direction"] == "up")
        // The release is the best lead, but not a convincing cause on its own: no "most likely" claim.
        let attribution = try #require(r.step("attribution")?.findings.first)
        #expect(attribution.title.hasPrefix("No convincing cause; the best lead is release garden-pi 2.1.0"))
        #expect((r.step("ledger")?.outputs["explainedShare"]?.doubleValue ?? 1) < 0.9)
        withKnownIssue("the mirror sync under the release upgrade is not named (localisation, issue 15)") {
            #expect(Self.text(r).contains("bandersnatch"))
        }
    }

    @Test func aSpikeOfOnePinnedVersionClaimsNoCauseItCannotShow() async throws {
        let r = try await Self.run("one-version")
        Self.noStepFailed(r)
        let values = r.step("contributors")?.outputs["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(values.first == "werkzeug")
        #expect(r.step("dependency_gap")?.outputs["gap"] == false)
        #expect(r.step("attribution")?.findings.first?.title.hasPrefix("Most likely cause") != true)
        withKnownIssue("versions are not split within a contributor yet (localisation, issue 15): the explanation is not narrowed to Werkzeug 0.16.0") {
            #expect(r.step("ledger")?.outputs["ledger"]?["explanations"]?[0]?["pairs"]?["version"] == "0.16.0")
        }
    }

    @Test func aPreReleaseTriedByPython3Clients() async throws {
        let r = try await Self.run("prerelease")
        Self.noStepFailed(r)
        #expect(r.step("contributors")?.outputs["values"] == ["flask"])
        #expect(r.step("segments")?.outputs["ranking"]?.arrayValue?.contains { $0["dimension"] == "python_major" && $0["topValue"] == "3" } == true)
        #expect(r.step("attribution")?.findings.first?.title == "No hypothesis explains the excess")
        withKnownIssue("versions are not split within a contributor yet (localisation, issue 15): the explanation is not narrowed to the pre-release 2.0.0rc1") {
            #expect(r.step("ledger")?.outputs["ledger"]?["explanations"]?[0]?["pairs"]?["version"] == "2.0.0rc1")
        }
    }

    @Test func aMaintainersOnePackageCountsAreInvestigatedAsFarAsCountsGo() async throws {
        let r = try await Self.run("one-package-csv", project: "requests")
        Self.noStepFailed(r)
        let w = try #require(Self.window(r))
        #expect(w["start"] == "2020-02-25T00:00:00Z")
        #expect(w["direction"] == "up")
        #expect(r.step("health")?.outputs["verdict"] == "unknown")
        #expect(r.step("contributors")?.findings.first?.title == "All downloads are of one project: requests")
        #expect(r.step("clients")?.outputs["concentration"] == "unknown")
    }

    @Test func aPeakOfMirrorTrafficInAPypistatsSplitIsMirrorTraffic() async throws {
        let r = try await Self.run("one-package-mirror-split", project: "requests")
        Self.noStepFailed(r)
        #expect(Self.window(r)?["start"] == "2020-02-26T00:00:00Z")
        let segments = try #require(r.step("segments"))
        #expect(segments.outputs["top"]?["dimension"] == "installer")
        #expect(segments.outputs["top"]?["value"] == "bandersnatch")
        let summary = segments.findings.first?.summary ?? ""
        #expect(summary.contains("Everything else did not move"))
        #expect(summary.contains("the peak is mirror traffic"))
    }

    @Test func shapesDetectionDoesNotSeeYet() async throws {
        // A mirror that stops (a level shift), a slow ramp, a drop in one country: detection on
        // the daily total does not find them (issue 14: level shifts, ramps, per-segment series).
        // Nothing false is said meanwhile: no window, every later step says why it did not run.
        for name in ["mirror-stops", "ramp", "country-drop"] {
            let r = try await Self.run(name)
            Self.noStepFailed(r)
            withKnownIssue("\(name): not detected on the daily total yet (issue 14)") {
                #expect(Self.window(r) != nil, "\(name)")
            }
            if Self.window(r) == nil {
                #expect(r.steps.dropFirst().allSatisfy { $0.status == .skipped })
            }
        }
    }
}
