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
            ("incidents", .array(incidents.map { i in
                .object([("type", .string(i.type)), ("name", .string(i.name)), ("downloads", .num(i.downloads)), ("clients", .num(i.clients)),
                         ("days", counts(i.days)), ("projects", counts(i.projects))])
            })),
            ("days", .array(days.map { d in
                .object([("date", .string(d.date)), ("downloads", .num(d.downloads)), ("baseline", .num(d.baseline)),
                         ("incidents", counts(d.incidents)), ("otherRequests", .num(d.otherRequests)), ("malformed", .num(d.malformed)),
                         ("projects", counts(d.projects))])
            })),
        ])
    }
}

extension SimulationPlan {
    func summary(days: [DayResult], files: [String], catalogDocuments: Int) -> SimulationSummary {
        let s = scenario
        var incidents: [SimulationSummary.IncidentFigures] = s.incidents.map {
            SimulationSummary.IncidentFigures(type: $0.type, name: $0.name, downloads: 0, clients: 0, days: [:], projects: [:])
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
            for (k, c) in d.incidentClients.enumerated() {
                if case .freshInstall = s.incidents[k] { continue }
                if case .mirror = s.incidents[k] { incidents[k].clients = max(incidents[k].clients, c); continue }
                incidents[k].clients += c
            }
            lines += d.lines
            notes += d.notes.map { "\(date): \($0)" }
            out.append(.init(date: date, downloads: d.downloads, baseline: d.baseline, incidents: byName, otherRequests: d.otherRequests,
                             malformed: d.malformed, projects: d.projects))
        }
        for (k, inc) in s.incidents.enumerated() {
            if case .freshInstall(let f) = inc { incidents[k].clients = min(f.clients, Set(fixedEvents.flatMap { $0 }.filter { Int($0.incident) == k + 1 }.map(\.client)).count) }
        }
        return SimulationSummary(scenario: s.name, seed: s.seed, index: s.index, days: out, incidents: incidents, files: files,
                                 catalogDocuments: catalogDocuments, lines: lines, notes: notes)
    }
}
