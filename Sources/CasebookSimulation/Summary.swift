import CasebookCore
import Foundation

/// What a simulation generated: for tests and README figures only. Analyzers never read it;
/// they must find all of this from the logs and the catalog.
public struct SimulationSummary: Sendable {
    /// One day's figures.
    public struct Day: Sendable, Hashable {
        /// `2020-03-05`.
        public var date: String
        /// Downloads (log lines that are downloads).
        public var downloads: Int
        /// Of which: baseline traffic.
        public var baseline: Int
        /// Of which: each incident's downloads, by incident name.
        public var incidents: [String: Int]
        /// Other requests (index pages, project pages, 404s) and truncated lines.
        public var otherRequests: Int
        public var malformed: Int
        /// Downloads per project (PEP 503 names).
        public var projects: [String: Int]
    }

    /// One incident's figures.
    public struct IncidentFigures: Sendable, Hashable {
        public var type: String
        public var name: String
        public var downloads: Int
        /// Distinct clients (upgrading installs, runners, the mirror).
        public var clients: Int
        /// Downloads by date and by project.
        public var days: [String: Int]
        public var projects: [String: Int]
        /// Downloads the incident kept out of the logs (an outage's, a country's, a log gap's, all dates).
        public var removed: Int = 0
        /// Requests logged with an error status instead of a download or page (an outage with `status`).
        public var errors: Int = 0
        /// What a careful investigation should conclude about it.
        public var expected: IncidentFacts
    }

    public var scenario: String
    public var seed: UInt64
    public var index: String
    public var days: [Day]
    public var incidents: [IncidentFigures]
    /// Log files written (relative to the output directory).
    public var files: [String]
    public var catalogDocuments: Int
    public var lines: Int
    /// Warnings (e.g. a target total below what the baseline already had).
    public var notes: [String]
    /// Wall-clock time of the run.
    public var seconds: Double = 0

    public var downloads: Int { days.reduce(0) { $0 + $1.downloads } }

    /// The figures for a date (`2020-03-05`).
    public func day(_ date: String) -> Day? { days.first { $0.date == date } }

    /// The summary as written to `scenario-summary.json` (without the timing, so it is deterministic).
    public func json() -> JSONValue {
        func counts(_ d: [String: Int]) -> JSONValue { .object(d.sorted { $0.key < $1.key }.map { ($0.key, .num($0.value)) }) }
        return .object([
            ("note", .string("What the simulator generated, for tests and README figures only: analyzers never read this file.")),
            ("scenario", .string(scenario)),
            ("seed", .int(Int64(bitPattern: seed))),
            ("index", .string(index)),
            ("downloads", .num(downloads)),
            ("lines", .num(lines)),
            ("catalogDocuments", .num(catalogDocuments)),
            ("files", .array(files.map { .string($0) })),
            ("notes", .array(notes.map { .string($0) })),
            (
                "incidents",
                .array(
                    incidents.map { i in
                        .object([
                            ("type", .string(i.type)), ("name", .string(i.name)), ("downloads", .num(i.downloads)),
                            ("clients", .num(i.clients)),
                            ("removed", .num(i.removed)), ("errors", .num(i.errors)),
                            ("days", counts(i.days)), ("projects", counts(i.projects)), ("expected", i.expected.json())
                        ])
                    })
            ),
            (
                "days",
                .array(
                    days.map { d in
                        .object([
                            ("date", .string(d.date)), ("downloads", .num(d.downloads)), ("baseline", .num(d.baseline)),
                            ("incidents", counts(d.incidents)), ("otherRequests", .num(d.otherRequests)), ("malformed", .num(d.malformed)),
                            ("projects", counts(d.projects))
                        ])
                    })
            )
        ])
    }
}

extension SimulationPlan {
    func summary(days: [DayResult], files: [String], catalogDocuments: Int) -> SimulationSummary {
        let s = scenario
        var incidents: [SimulationSummary.IncidentFigures] = s.incidents.map {
            SimulationSummary.IncidentFigures(
                type: $0.type, name: $0.name, downloads: 0, clients: 0, days: [:], projects: [:],
                expected: facts($0))
        }
        var out: [SimulationSummary.Day] = []
        var lines = 0
        var notes: [String] = []
        for d in days {
            let date = UTCTime.dateString(d.day * 86400)
            var byName: [String: Int] = [:]
            for (k, n) in d.incidentDownloads.enumerated() where n > 0 {
                byName[s.incidents[k].name, default: 0] += n
                incidents[k].downloads += n
                incidents[k].days[date] = n
                for (p, c) in d.incidentProjects[k] { incidents[k].projects[p, default: 0] += c }
            }
            for k in incidents.indices {
                incidents[k].removed += d.incidentRemoved[k]
                incidents[k].errors += d.incidentErrors[k]
            }
            for (k, c) in d.incidentClients.enumerated() {
                if case .freshInstall = s.incidents[k] { continue }
                if case .mirror = s.incidents[k] {
                    incidents[k].clients = max(incidents[k].clients, c)
                    continue
                }
                if case .clientStops = s.incidents[k] {
                    incidents[k].clients = max(incidents[k].clients, c)
                    continue
                }
                incidents[k].clients += c
            }
            lines += d.lines
            notes += d.notes.map { "\(date): \($0)" }
            out.append(
                .init(
                    date: date, downloads: d.downloads, baseline: d.baseline, incidents: byName, otherRequests: d.otherRequests,
                    malformed: d.malformed, projects: d.projects))
        }
        for (k, inc) in s.incidents.enumerated() {
            if case .freshInstall(let f) = inc {
                incidents[k].clients = min(
                    f.clients, Set(fixedEvents.flatMap { $0 }.filter { Int($0.incident) == k + 1 }.map(\.client)).count)
            }
        }
        return SimulationSummary(
            scenario: s.name, seed: s.seed, index: s.index, days: out, incidents: incidents, files: files,
            catalogDocuments: catalogDocuments, lines: lines, notes: notes)
    }
}

/// The truth about one incident, as a careful analyst should state it from the logs and the
/// catalog: when, which way, which packages and versions, which clients. Written into
/// `scenario-summary.json` as each incident's `expected`, for tests that compare an
/// investigation with it.
public struct IncidentFacts: Sendable, Hashable {
    /// The incident type (`release-upgrade`, `outage`, `log-gap`...).
    public var type: String
    /// When the effect starts and ends (epoch seconds UTC, end exclusive); for `client-stops`
    /// start is the stop time and end the end of the scenario.
    public var start: Int64?
    public var end: Int64?
    /// `up` (extra downloads), `down` (fewer downloads), `missing` (no data: the log is missing
    /// hours, traffic itself was normal).
    public var direction: String
    /// PEP 503 names of the packages that carry the change (empty: all traffic).
    public var packages: [String]
    /// Versions concerned (`package==version`), when the incident is about particular releases.
    public var versions: [String]
    /// Python of the clients behind it (a prefix: `3`, `2.7`).
    public var python: String?
    /// Who: `pip` (ordinary installs), `ci` (pip with ci: true), `mirror` (bandersnatch), `any`.
    public var clientKind: String
    /// Distinct clients behind it, when the scenario fixes them (runners, a mirror).
    public var clients: Int?
    /// The downstream release that causes it.
    public var project: String?
    public var version: String?
    /// A country (`country-drop`), an error status (`outage` with `status`) and how often clients retried.
    public var country: String?
    public var status: Int?
    public var retries: Int?
    /// The shape over time: `spike`, `ramp`, `step` (a lasting change), `gap`, `dip`.
    public var shape: String

    public func json() -> JSONValue {
        func time(_ t: Int64?) -> JSONValue { t.map { .string(UTCTime.isoString($0)) } ?? .null }
        return .object([
            ("type", .string(type)), ("start", time(start)), ("end", time(end)), ("direction", .string(direction)),
            ("shape", .string(shape)),
            ("packages", .array(packages.map { .string($0) })), ("versions", .array(versions.map { .string($0) })),
            ("python", .str(python)), ("clientKind", .string(clientKind)), ("clients", clients.map { .num($0) } ?? .null),
            ("project", .str(project)), ("version", .str(version)), ("country", .str(country)),
            ("status", status.map { .num($0) } ?? .null),
            ("retries", retries.map { .num($0) } ?? .null)
        ])
    }
}

extension Scenario {
    /// Each incident's expected facts (as `scenario-summary.json` writes them under `expected`),
    /// without simulating: for tests that compare an investigation with the truth.
    public func expectedFacts() throws -> [IncidentFacts] {
        let plan = try SimulationPlan(scenario: self)
        return incidents.map { plan.facts($0) }
    }
}

extension SimulationPlan {
    /// The expected facts of an incident, from the scenario (and the file table for what is fetched).
    func facts(_ inc: Incident) -> IncidentFacts {
        let s = scenario
        var f = IncidentFacts(
            type: inc.type, start: nil, end: nil, direction: "up", packages: [], versions: [], python: nil, clientKind: "pip",
            clients: nil, project: nil, version: nil, country: nil, status: nil, retries: nil, shape: "spike")
        func norm(_ n: String) -> String { ProjectName.normalize(n) }
        switch inc {
        case .releaseUpgrade(let r):
            let released = s.downstream.first { norm($0.name) == norm(r.project) }?.releases.first { $0.version == r.version }?.released
            let first = r.days.first.map { $0.day * 86400 }
            f.start = max(first ?? 0, released ?? 0)
            f.end = r.days.last.map { ($0.day + 1) * 86400 }
            f.packages = Array(Set(r.upgrades.map { norm($0.package) })).sorted()
            f.versions = r.upgrades.map { "\(norm($0.package))==\($0.version)" }.sorted()
            f.python = r.python
            f.project = r.project
            f.version = r.version
        case .freshInstall(let fi):
            f.start = fi.start
            f.end = fi.end
            f.clientKind = fi.ci ? "ci" : "pip"
            f.clients = fi.clients
            f.python = fi.python
            f.project = fi.project
            f.version = fi.version
            if let set = try? SimulationPlan.installSet(fi, scenario: s, table: table), let tpi = table.pythonIndex(fi.python) {
                // What the runners actually fetch here: packages with a file for one of their CPUs.
                let cpus = fi.cpus.compactMap { table.cpuIndex($0) }
                let fetched = set.filter { p, pin in
                    guard let v = pin ?? table.newestVersion(package: p, python: tpi, at: fi.end) else { return false }
                    return cpus.contains { table.file(package: p, version: v, python: tpi, cpu: $0) >= 0 }
                }
                f.packages = fetched.map { table.packages[$0.0].norm }.sorted()
                f.versions = fetched.compactMap { p, pin in
                    pin.map { "\(table.packages[p].norm)==\(table.packages[p].versions[$0].spec.version)" }
                }.sorted()
            }
        case .mirror(let m):
            f.start = m.start
            f.end = m.start + Int64(m.hours * 3600)
            f.clientKind = "mirror"
            f.clients = m.clients
            f.packages = m.packages.isEmpty ? table.packages.map(\.norm).sorted() : Set(m.packages.map(norm)).sorted()
        case .outage(let o):
            f.start = o.start
            f.end = o.end
            f.direction = "down"
            f.clientKind = "any"
            f.status = o.status
            f.retries = o.status == nil ? nil : o.retries
            f.shape = "dip"
        case .holiday(let h):
            f.start = h.day * 86400
            f.end = (h.day + 1) * 86400
            f.direction = "down"
            f.clientKind = "any"
            f.shape = "dip"
        case .logGap(let l):
            f.start = l.start
            f.end = l.end
            f.direction = "missing"
            f.clientKind = "any"
            f.shape = "gap"
        case .clientStops(let c):
            f.start = c.stop
            f.end = (s.endDay + 1) * 86400
            f.direction = "down"
            f.clientKind = c.kind == .mirror ? "mirror" : "ci"
            f.clients = 1
            f.packages = c.packages.isEmpty ? table.packages.map(\.norm).sorted() : Set(c.packages.map(norm)).sorted()
            f.shape = "step"
        case .countryDrop(let c):
            f.start = c.start
            f.end = c.end
            f.direction = "down"
            f.clientKind = "any"
            f.country = c.country
            f.shape = "dip"
        case .packageTraffic(let p):
            let active = p.days.filter { if case .downloads(let n) = $0.size { n > 0 } else { false } }
            f.start = active.first.map { $0.day * 86400 }
            f.end = active.last.map { ($0.day + 1) * 86400 }
            f.packages = [norm(p.package)]
            f.versions = p.version.map { ["\(norm(p.package))==\($0)"] } ?? []
            f.python = p.python
            f.shape = p.ramp ? "ramp" : "spike"
        }
        return f
    }
}
