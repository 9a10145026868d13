import CasebookCore
import Foundation

/// The kinds of incident ``ScenarioFactory`` can draw.
public enum IncidentKind: String, Sendable, Hashable, CaseIterable {
    /// No incident (a quiet period; the right conclusion is "no spike").
    case none
    case releaseUpgrade = "release-upgrade"
    case ciFarm = "ci-farm"
    case mirror
    case outage
    case holiday
}

/// What a drawn incident is, for a test to check an investigation's conclusion against.
public struct ExpectedOutcome: Sendable, Hashable {
    public var kind: IncidentKind
    /// First day of the incident and the day after its last (UTC epoch seconds, day-aligned).
    public var start: Int64?
    public var end: Int64?
    /// `up` for extra downloads, `down` for an outage or holiday, nil for none.
    public var direction: String?
    /// PEP 503 names of the packages that carry the excess (release upgrades and CI farms).
    public var packages: [String]
    /// The Python major version of the clients behind it (release upgrades).
    public var pythonMajor: String?
    /// The downstream release that caused it (release upgrades and fresh installs).
    public var project: String?
    public var version: String?
}

/// A scenario with one drawn incident, and what it is.
public struct RandomizedScenario: Sendable {
    public var scenario: Scenario
    public var expected: ExpectedOutcome
}

/// Draws incident parameters (which packages, when, how big) from a seeded generator, on top of
/// a base scenario's baseline, for tests that check an investigation on many cases.
public enum ScenarioFactory {
    /// `base` with its incidents replaced by one of `kind`, drawn from `seed`.
    public static func randomized(base: Scenario, kind: IncidentKind, seed: UInt64) -> RandomizedScenario {
        var g = SeededGenerator(seed: seed, stream: 0xFAC7)
        var s = base
        s.seed = seed
        s.incidents = []
        s.downstream = []
        let span = s.dayCount
        // Somewhere after the first 40% of the span (a baseline to compare with) and before its end.
        let firstDay = s.startDay + Int64(max(1, span * 2 / 5)) + Int64(g.below(max(1, span * 2 / 5)))
        let meanDaily = (s.baseline.dailyStart + s.baseline.dailyEnd) / 2
        var expected = ExpectedOutcome(
            kind: kind, start: nil, end: nil, direction: nil, packages: [], pythonMajor: nil, project: nil, version: nil)
        let pure = s.baseline.packages.filter { $0.kind == .pure && $0.inCatalog }
        func pickDistinct(_ n: Int, from list: [PackageSpec]) -> [PackageSpec] {
            var pool = list
            var out: [PackageSpec] = []
            while out.count < n, !pool.isEmpty { out.append(pool.remove(at: g.below(pool.count))) }
            return out.sorted { $0.normalizedName < $1.normalizedName }
        }
        func name(_ prefix: String) -> String { "\(prefix)-\(String(g.next() % 0xFFFF, radix: 16))" }

        switch kind {
        case .none:
            break
        case .holiday:
            let day = firstDay
            let factor = 0.75 + 0.1 * g.unit()
            s.incidents = [.holiday(Holiday(name: "holiday", day: day, factor: factor))]
            expected.start = day * 86400
            expected.end = (day + 1) * 86400
            expected.direction = "down"
        case .outage:
            let start = firstDay * 86400 + Int64(8 + g.below(6)) * 3600
            let hours = Int64(2 + g.below(5))
            s.incidents = [.outage(Outage(name: "outage", start: start, end: start + hours * 3600, factor: 0.01))]
            expected.start = start
            expected.end = start + hours * 3600
            expected.direction = "down"
        case .mirror:
            let start = firstDay * 86400 + Int64(g.below(12)) * 3600
            let hours = 2.0 + Double(g.below(4))
            s.incidents = [.mirror(Mirror(name: "mirror sync", start: start, hours: hours))]
            expected.start = start
            expected.end = start + Int64(hours * 3600)
            expected.direction = "up"
            expected.packages = s.baseline.packages.map(\.normalizedName).sorted()
        case .releaseUpgrade:
            // Which Python: one the population has.
            let majors = Set(s.baseline.clients.python.filter { $0.weight > 0 }.map { String($0.value.prefix(1)) }).sorted()
            let major = majors[g.below(majors.count)]
            let py = ClientFactory.versionParts(s.baseline.clients.python.first { $0.value.hasPrefix(major) }!.value)
            let candidates = pure.filter { p in p.versions.contains { PythonSpecifier.allows($0.requiresPython, python: py) } }
            let chosen = pickDistinct(2 + g.below(3), from: candidates)
            var upgrades: [Upgrade] = []
            for p in chosen {
                let usable = p.versions.filter { PythonSpecifier.allows($0.requiresPython, python: py) }
                upgrades.append(Upgrade(package: p.name, version: usable[g.below(usable.count)].version, repeatCount: 1))
            }
            let project = name("downstream")
            let released = (firstDay - 1) * 86400 + Int64(12 + g.below(8)) * 3600
            let requiresPython = major == "2" ? ">=2.7,<3" : ">=3.5"
            let others = pickDistinct(2, from: s.baseline.packages.filter { p in p.inCatalog && !chosen.contains { $0.name == p.name } })
            let after = upgrades.map { "\($0.package)==\($0.version)" } + others.map { "\($0.name)>=0" }
            let before = chosen.map { "\($0.name)<\($0.versions.first!.version)" } + others.map { "\($0.name)>=0" }
            s.downstream.append(
                DownstreamProject(
                    name: project,
                    releases: [
                        DownstreamRelease(
                            version: "1.0.0", released: released - 120 * 86400, requiresPython: requiresPython, requiresDist: before),
                        DownstreamRelease(version: "2.0.0", released: released, requiresPython: requiresPython, requiresDist: after)
                    ]))
            // Decoys: one with the same packages released long before, one released in the window for the other Python.
            s.downstream.append(
                DownstreamProject(
                    name: name("decoy-early"), decoy: true,
                    releases: [
                        DownstreamRelease(
                            version: "0.5.0", released: s.startDay * 86400 + 3600, requiresPython: requiresPython,
                            requiresDist: upgrades.prefix(2).map { "\($0.package)==\($0.version)" })
                    ]))
            s.downstream.append(
                DownstreamProject(
                    name: name("decoy-other-python"), decoy: true,
                    releases: [
                        DownstreamRelease(
                            version: "3.1.0", released: released + 3600, requiresPython: major == "2" ? ">=3.6" : ">=2.7,<3",
                            requiresDist: [upgrades[0].package + ">=0"])
                    ]))
            let days = 1 + g.below(3)
            let excess = Int(meanDaily * (0.5 + 0.7 * g.unit())) * days
            s.incidents = [
                .releaseUpgrade(
                    ReleaseUpgrade(
                        name: "\(project) 2.0.0 upgrades", project: project, version: "2.0.0", python: major,
                        upgrades: upgrades, primary: 1,
                        days: ReleaseUpgrade.decaying(downloads: excess, start: firstDay, count: days, decay: 0.7)
                            .filter { $0.day <= s.endDay }))
            ]
            expected.start = firstDay * 86400
            expected.end = min(firstDay + Int64(days), s.endDay + 1) * 86400
            expected.direction = "up"
            expected.packages = chosen.map(\.normalizedName)
            expected.pythonMajor = major
            expected.project = project
            expected.version = "2.0.0"
        case .ciFarm:
            // A project whose requirements are pure packages (CI runners are not ARM: platform wheels come from elsewhere).
            let chosen = pickDistinct(3 + g.below(3), from: pure)
            let project = name("app")
            let released = (firstDay - 2) * 86400 + 9 * 3600
            s.downstream.append(
                DownstreamProject(
                    name: project,
                    releases: [
                        DownstreamRelease(
                            version: "1.0.0", released: released, requiresPython: ">=3.6", requiresDist: chosen.map { "\($0.name)>=0" })
                    ]))
            let days = 1 + g.below(3)
            let closure =
                (try? SimulationPlan.installSet(
                    FreshInstall(
                        name: "", ci: true, clients: 1, python: "3.7.5", pip: "20.0.2", cpus: ["x86_64"], distro: "Ubuntu 18.04 (bionic)",
                        start: 0, end: 1, installs: 0, install: [], project: project, version: "1.0.0"),
                    scenario: s, table: FileTable(scenario: s, pythons: ["3.7.5"], cpus: ["x86_64"], seed: seed))) ?? []
            let perInstall = max(1, closure.count)
            let installs = Int(meanDaily * (0.4 + 0.6 * g.unit())) * days / perInstall
            let start = firstDay * 86400
            s.incidents = [
                .freshInstall(
                    FreshInstall(
                        name: "\(project) CI", ci: true, clients: 2 + g.below(3), python: "3.7.5", pip: "20.0.2",
                        cpus: ["x86_64", "aarch64"], distro: "Ubuntu 18.04 (bionic)", start: start,
                        end: min(start + Int64(days) * 86400, (s.endDay + 1) * 86400), installs: installs,
                        install: [], project: project, version: "1.0.0"))
            ]
            expected.start = start
            expected.end = min(start + Int64(days) * 86400, (s.endDay + 1) * 86400)
            expected.direction = "up"
            let table = FileTable(scenario: s, pythons: ["3.7.5"], cpus: ["x86_64"], seed: seed)
            // Only what this index serves the runners (no x86-64 or aarch64 platform wheels here).
            expected.packages = closure.filter { p, _ in
                table.packages[p].spec.kind != .platform
            }.map { table.packages[$0.0].norm }.sorted()
            expected.project = project
            expected.version = "1.0.0"
        }
        return RandomizedScenario(scenario: s, expected: expected)
    }
}

extension Scenario {
    /// `base` with one incident of a kind drawn from `seed` (never `none`), and what it is.
    public static func randomized(base: Scenario, seed: UInt64) -> RandomizedScenario {
        var g = SeededGenerator(seed: seed, stream: 0xB1D)
        let kinds = IncidentKind.allCases.filter { $0 != .none }
        return ScenarioFactory.randomized(base: base, kind: kinds[g.below(kinds.count)], seed: seed)
    }
}
