import CasebookCore
import Foundation

/// Why a simulation could not be written.
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Turns a ``Scenario`` into files: download logs in real formats, catalog documents in PyPI's
/// JSON API shape, and `scenario-summary.json` (what was generated, for tests and README figures
/// only: analyzers never read it).
///
/// Output is byte-for-byte the same for the same scenario and seed, whatever the number of
/// cores: each day draws from its own seeded stream. Days are generated in parallel and
/// written as one file per day and format:
///
/// ```
/// DIR/logs/access-2020-03-05.log[.gz]          combined log (formats: combined)
/// DIR/bigquery/file_downloads-2020-03-05.ndjson[.gz]   BigQuery rows (formats: bigquery)
/// DIR/catalog/pypi/NAME/json, DIR/catalog/pypi/NAME/VERSION/json
/// DIR/scenario-summary.json
/// ```
public struct Simulator: Sendable {
    public let scenario: Scenario

    public init(scenario: Scenario) { self.scenario = scenario }

    /// Writes everything under `directory` (created if needed) and returns the summary.
    @discardableResult
    public func run(to directory: String) throws -> SimulationSummary {
        let started = Date()
        let fm = FileManager.default
        let root = URL(fileURLWithPath: directory)
        if scenario.formats.contains(.csv), scenario.csv == nil {
            throw SimulationError("the csv format needs the scenario's 'csv' key naming the project (csv: {project: NAME})")
        }
        let plan = try SimulationPlan(scenario: scenario)
        var written: [String] = []
        for (format, folder) in [(LogFormat.combined, "logs"), (.bigquery, "bigquery"), (.csv, "csv")]
        where scenario.formats.contains(format) {
            do { try fm.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true) } catch {
                throw SimulationError(
                    "\(root.appendingPathComponent(folder).path): cannot create the directory (\(error.localizedDescription))")
            }
        }
        let box = ResultBox(count: scenario.dayCount)
        let dir = root.path
        DispatchQueue.concurrentPerform(iterations: scenario.dayCount) { i in
            do {
                let r = try plan.generateDay(i, directory: dir)
                box.set(i, .success(r))
            } catch {
                box.set(i, .failure(error))
            }
        }
        var days: [DayResult] = []
        for r in box.results {
            switch r {
            case .success(let d): days.append(d)
            case .failure(let e): throw e
            case nil: throw SimulationError("internal error: a day was not generated")
            }
        }
        for d in days { written.append(contentsOf: d.files) }
        if scenario.formats.contains(.csv), let csv = scenario.csv {
            let rel = "csv/\(ProjectName.normalize(csv.project)).csv"
            try LogWriter.write(Array(plan.countsCSV(csv, days: days).utf8), gzip: false, to: root.appendingPathComponent(rel).path)
            written.append(rel)
        }
        let catalog = CatalogWriter(scenario: scenario, table: plan.table)
        let docs = try catalog.write(to: root.appendingPathComponent("catalog").path)
        var summary = plan.summary(days: days, files: written, catalogDocuments: docs)
        summary.seconds = Date().timeIntervalSince(started)
        let summaryText = summary.json().serialized(indent: 2) + "\n"
        let summaryPath = root.appendingPathComponent("scenario-summary.json").path
        guard fm.createFile(atPath: summaryPath, contents: Data(summaryText.utf8)) else {
            throw SimulationError("\(summaryPath): cannot write the summary")
        }
        return summary
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var results: [Result<DayResult, any Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<DayResult, any Error>) {
        lock.lock()
        results[i] = r
        lock.unlock()
    }
}

/// One generated line before rendering.
struct Event {
    /// Seconds since the start of the day in the upper bits, a sequence number below (stable order).
    var key: UInt64
    /// Download: file id; page hits: package index.
    var file: Int32
    var client: Int32
    /// 0 baseline clients, 1 this day's incident clients, 2 the scenario's incident clients, 3 bots and browsers.
    var set: UInt8
    /// 0 download, 1 index page, 2 project page, 3 not found, 4 malformed; 5 a download, 6 an
    /// index page, 7 a project page answered with an outage's error status.
    var kind: UInt8
    /// 0 baseline, k: incident k - 1 (for kinds 5-7: the outage).
    var incident: UInt8

    var second: Int { Int(key >> 32) }
}

/// What one day produced.
struct DayResult: Sendable {
    var day: Int64
    var downloads: Int
    var baseline: Int
    var incidentDownloads: [Int]
    var incidentClients: [Int]
    var incidentProjects: [[String: Int]]
    /// Per incident: downloads it took out of the logs (an outage's, a country's, a log gap's),
    /// and requests logged with an error status instead (an outage with `status`).
    var incidentRemoved: [Int]
    var incidentErrors: [Int]
    /// The CSV project's downloads, and those of them made by mirror clients.
    var csvDownloads: Int
    var csvMirror: Int
    var otherRequests: Int
    var malformed: Int
    var lines: Int
    var projects: [String: Int]
    var files: [String]
    var notes: [String]
}

/// Everything decided before the days are generated: planned baseline totals, the client
/// population, the file table, and the incidents' pre-generated events.
struct SimulationPlan: Sendable {
    let scenario: Scenario
    let table: FileTable
    let pool: ClientPool
    /// Scenario-wide incident clients (CI runners, mirrors) and bots.
    let fixedClients: [Client]
    let bots: [Client]
    let baselinePlanned: [Int]
    let packagePicker: WeightedPicker
    /// Per package: a picker over Python indices (population shares, only Pythons with a usable version and clients).
    let pythonPickers: [WeightedPicker?]
    /// Per package and Python: baseline client indices that can fetch it.
    let eligible: [[[Int]]]
    let hourPicker: WeightedPicker
    /// Outages, log gaps and country drops with their incident index.
    let outages: [(Int, Outage)]
    let gaps: [(Int, LogGap)]
    let countryDrops: [(Int, CountryDrop)]
    /// Per package-traffic incident: its package, pinned version, and a picker over the pool's Pythons it allows.
    let trafficPlans: [Int: TrafficPlan]
    /// The CSV's package index.
    let csvPackage: Int?
    /// Events of incidents that do not depend on the day's baseline, by day.
    let fixedEvents: [[Event]]
    let cpuIndexOfPool: [Int]

    init(scenario s: Scenario) throws {
        scenario = s
        let b = s.baseline
        // Pythons and CPUs the file table must know.
        var pythons = b.clients.python.map(\.value)
        var cpus = ["armv7l", "armv6l"]
        for c in b.clients.cpu.map(\.value) where !cpus.contains(c) { cpus.append(c) }
        for inc in s.incidents {
            if case .freshInstall(let f) = inc {
                if !pythons.contains(f.python) { pythons.append(f.python) }
                for c in f.cpus where !cpus.contains(c) { cpus.append(c) }
            }
            if case .clientStops(let c) = inc, c.kind == .ci {
                if !pythons.contains(SimulationPlan.runnerTraits.python) { pythons.append(SimulationPlan.runnerTraits.python) }
                if !cpus.contains(SimulationPlan.runnerTraits.cpu) { cpus.append(SimulationPlan.runnerTraits.cpu) }
            }
        }
        let table = FileTable(scenario: s, pythons: pythons, cpus: cpus, seed: s.seed)
        self.table = table
        let pool = ClientPool(population: b.clients, seed: s.seed)
        self.pool = pool
        cpuIndexOfPool = pool.clients.map { table.cpuIndex($0.cpu) ?? 0 }
        packagePicker = WeightedPicker(b.packages.map(\.weight))
        var pickers: [WeightedPicker?] = []
        var eligible: [[[Int]]] = []
        for p in table.packages {
            var ws: [Double] = []
            var el: [[Int]] = []
            for (pi, _) in pool.pythons.enumerated() {
                let tpi = table.pythonIndex(pool.pythons[pi])!
                let usable = !p.compatible[tpi].isEmpty
                let members: [Int] = p.spec.kind == .platform ? pool.armIndices[pi] : (pool.armIndices[pi] + pool.otherIndices[pi]).sorted()
                el.append(usable ? members : [])
                ws.append(usable && !members.isEmpty ? pool.pythonWeights[pi] : 0)
            }
            let picker = WeightedPicker(ws)
            pickers.append(picker.isEmpty ? nil : picker)
            eligible.append(el)
        }
        pythonPickers = pickers
        self.eligible = eligible
        hourPicker = WeightedPicker(b.hourly)
        outages = s.incidents.enumerated().compactMap { if case .outage(let o) = $1 { ($0, o) } else { nil } }
        gaps = s.incidents.enumerated().compactMap { if case .logGap(let l) = $1 { ($0, l) } else { nil } }
        countryDrops = s.incidents.enumerated().compactMap { if case .countryDrop(let c) = $1 { ($0, c) } else { nil } }
        var traffic: [Int: TrafficPlan] = [:]
        for (k, inc) in s.incidents.enumerated() {
            guard case .packageTraffic(let pt) = inc,
                let p = table.packages.firstIndex(where: { $0.norm == ProjectName.normalize(pt.package) })
            else { continue }
            let v = pt.version.flatMap { pv in table.packages[p].versions.firstIndex { $0.spec.version == pv } }
            let ws: [Double] = pool.pythons.enumerated().map { pi, py in
                let tpi = table.pythonIndex(py)!
                if let want = pt.python, !(py == want || py.hasPrefix(want + ".")) { return 0 }
                let usable = v.map { table.usable(package: p, version: $0, python: tpi) } ?? !table.packages[p].compatible[tpi].isEmpty
                let members = table.packages[p].spec.kind == .platform ? pool.armIndices[pi] : pool.armIndices[pi] + pool.otherIndices[pi]
                return usable && !members.isEmpty ? pool.pythonWeights[pi] : 0
            }
            let picker = WeightedPicker(ws)
            if !picker.isEmpty { traffic[k] = TrafficPlan(package: p, version: v, pythons: picker) }
        }
        trafficPlans = traffic
        csvPackage = s.csv.flatMap { c in table.packages.firstIndex { $0.norm == ProjectName.normalize(c.project) } }

        // Planned baseline totals.
        var g = SeededGenerator(seed: s.seed, stream: 1)
        let weeklyMean = b.weekly.reduce(0, +) / 7
        var planned: [Int] = []
        for i in 0..<s.dayCount {
            let day = s.startDay + Int64(i)
            let frac = s.dayCount > 1 ? Double(i) / Double(s.dayCount - 1) : 0
            let trend = b.dailyStart + (b.dailyEnd - b.dailyStart) * frac
            let weekday = Int(((day + 3) % 7 + 7) % 7)  // 1970-01-01 was a Thursday; 0 = Monday
            var total = trend * b.weekly[weekday] / weeklyMean * (1 + b.noise * g.gaussian())
            for inc in s.incidents { if case .holiday(let h) = inc, h.day == day { total *= h.factor } }
            var n = Int(total.rounded())
            if let lo = b.dailyMin { n = max(lo, n) }
            if let hi = b.dailyMax { n = min(hi, n) }
            if let fixed = b.fixedDays[day] { n = fixed }
            planned.append(max(0, n))
        }
        baselinePlanned = planned

        // Scenario-wide incident clients and their events.
        var fixedClients: [Client] = []
        var fixed: [[Event]] = Array(repeating: [], count: s.dayCount)
        var seqs = Array(repeating: UInt64(1) << 31, count: s.dayCount)
        func place(_ t: Int64, file: Int32, client: Int, incident: Int) {
            let d = Int(dayFloor(t, 86400) - s.startDay)
            guard d >= 0, d < s.dayCount else { return }
            let sec = UInt64(t - dayFloor(t, 86400) * 86400)
            seqs[d] += 1
            fixed[d].append(
                Event(key: sec << 32 | seqs[d], file: file, client: Int32(client), set: 2, kind: 0, incident: UInt8(incident + 1)))
        }
        for (k, inc) in s.incidents.enumerated() {
            var ig = SeededGenerator(seed: s.seed, stream: 500 + UInt64(k))
            switch inc {
            case .freshInstall(let f):
                let set = try SimulationPlan.installSet(f, scenario: s, table: table)
                let first = fixedClients.count
                guard let tpi = table.pythonIndex(f.python) else { continue }
                for c in 0..<f.clients {
                    let cpu = f.cpus[c % f.cpus.count]
                    fixedClients.append(
                        ClientFactory.make(
                            namespace: 50 + UInt64(k), number: c,
                            traits: ClientTraits(python: f.python, pip: f.pip, cpu: cpu, distro: f.distro, ci: f.ci),
                            seed: s.seed))
                }
                var times = (0..<f.installs).map { _ in f.start + Int64(ig.unit() * Double(f.end - f.start)) }
                times = times.map { $0 + Int64(ig.below(3)) }
                times.sort()
                for t0 in times {
                    let c = first + ig.below(f.clients)
                    let cpuIndex = table.cpuIndex(fixedClients[c].cpu) ?? 0
                    var t = t0
                    for (p, pinned) in set {
                        let v = pinned ?? table.newestVersion(package: p, python: tpi, at: t)
                        guard let v else { continue }
                        let id = table.file(package: p, version: v, python: tpi, cpu: cpuIndex)
                        guard id >= 0 else { continue }
                        place(t, file: id, client: c, incident: k)
                        t += 1 + Int64(ig.below(3))
                    }
                }
            case .mirror(let m):
                let c = fixedClients.count
                let version = m.agent.split(separator: "/").dropFirst().first.map { String($0.prefix { $0 != " " }) } ?? ""
                let installer = String(m.agent.prefix { $0 != "/" })
                for n in 0..<m.clients {
                    var client = ClientFactory.makeTool(
                        namespace: 80 + UInt64(k), number: n, agent: m.agent, installer: installer,
                        installerVersion: version, seed: s.seed)
                    client.mirror = true
                    fixedClients.append(client)
                }
                let wanted = Set(m.packages.map(ProjectName.normalize))
                let order = table.packages.indices.filter { wanted.isEmpty || wanted.contains(table.packages[$0].norm) }
                    .sorted { table.packages[$0].norm < table.packages[$1].norm }
                let ids = order.flatMap { table.allFiles(package: $0) }
                let span = m.hours * 3600
                if m.clients == 1 {
                    for (j, id) in ids.enumerated() {
                        let t = m.start + Int64(span * (Double(j) + ig.unit()) / Double(max(1, ids.count)))
                        place(t, file: id, client: c, incident: k)
                    }
                } else {
                    // Several mirrors, each starting its sync at its own time in the window and fetching each file once.
                    for n in 0..<m.clients {
                        let begin = m.start + Int64(span * Double(n) / Double(m.clients) * 0.8 + ig.unit() * span * 0.1)
                        for (j, id) in ids.enumerated() {
                            place(begin + Int64(j) * 2 + Int64(ig.below(2)), file: id, client: c + n, incident: k)
                        }
                    }
                }
            case .clientStops(let sc):
                let c = fixedClients.count
                var ids: [Int32] = []
                let names = Set(sc.packages.isEmpty ? table.packages.map(\.norm) : sc.packages.map(ProjectName.normalize))
                let chosen = table.packages.indices.filter { names.contains(table.packages[$0].norm) }
                    .sorted { table.packages[$0].norm < table.packages[$1].norm }
                switch sc.kind {
                case .mirror:
                    let version = sc.agent.split(separator: "/").dropFirst().first.map { String($0.prefix { $0 != " " }) } ?? ""
                    var client = ClientFactory.makeTool(
                        namespace: 80 + UInt64(k), number: 0, agent: sc.agent,
                        installer: String(sc.agent.prefix { $0 != "/" }), installerVersion: version, seed: s.seed)
                    client.mirror = true
                    fixedClients.append(client)
                    ids = chosen.flatMap { table.allFiles(package: $0) }
                case .ci:
                    let t = SimulationPlan.runnerTraits
                    fixedClients.append(ClientFactory.make(namespace: 50 + UInt64(k), number: 0, traits: t, seed: s.seed))
                    let tpi = table.pythonIndex(t.python)!
                    let cpu = table.cpuIndex(t.cpu)!
                    // A fresh install of the packages, each at the newest version usable when the day starts.
                    for p in chosen {
                        guard let v = table.newestVersion(package: p, python: tpi, at: sc.start) else { continue }
                        let id = table.file(package: p, version: v, python: tpi, cpu: cpu)
                        if id >= 0 { ids.append(id) }
                    }
                }
                guard !ids.isEmpty else { break }
                var next = 0
                let span = sc.hours * 3600
                for d in 0..<s.dayCount {
                    let run = (s.startDay + Int64(d)) * 86400 + Int64(sc.at * 3600)
                    for j in 0..<sc.daily {
                        let t = run + Int64(span * (Double(j) + ig.unit()) / Double(max(1, sc.daily)))
                        guard t >= sc.start, t < sc.stop else { continue }
                        place(t, file: ids[next % ids.count], client: c, incident: k)
                        next += 1
                    }
                }
            default: break
            }
        }
        self.fixedClients = fixedClients
        fixedEvents = fixed
        let botAgents = [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Raspbian Chromium/78.0.3904.108 Chrome/78.0.3904.108 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:73.0) Gecko/20100101 Firefox/73.0",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
        ]
        bots = botAgents.enumerated().map { i, a in
            ClientFactory.makeTool(namespace: 90, number: i, agent: a, installer: "Browser", installerVersion: "", seed: s.seed)
        }
    }

    /// The (package, pinned version) list a fresh install fetches: the named packages or the
    /// downstream release's requirements, plus their dependencies among the index's packages.
    static func installSet(_ f: FreshInstall, scenario s: Scenario, table: FileTable) throws -> [(Int, Int?)] {
        var roots: [(String, String?)] = []
        for item in f.install {
            let parts = item.components(separatedBy: "==")
            roots.append(
                (parts[0].trimmingCharacters(in: .whitespaces), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : nil))
        }
        let py = ClientFactory.versionParts(f.python)
        if let project = f.project, let d = s.downstream.first(where: { ProjectName.normalize($0.name) == ProjectName.normalize(project) })
        {
            let release = d.releases.first { $0.version == f.version } ?? d.releases.last!
            if s.package(named: d.name) != nil { roots.append((d.name, release.version)) }
            for r in release.requiresDist where Requirements.applies(r, python: py) { roots.append((Requirements.name(r), nil)) }
        }
        var out: [(Int, Int?)] = []
        var seen = Set<Int>()
        var queue = roots
        while !queue.isEmpty {
            let (name, pin) = queue.removeFirst()
            guard let p = table.packages.firstIndex(where: { $0.norm == ProjectName.normalize(name) }), seen.insert(p).inserted else {
                continue
            }
            let v = pin.flatMap { pv in table.packages[p].versions.firstIndex { $0.spec.version == pv } }
            out.append((p, v))
            let spec =
                v.map { table.packages[p].versions[$0].spec.requires ?? table.packages[p].spec.requires } ?? table.packages[p].spec.requires
            for r in spec where Requirements.applies(r, python: py) { queue.append((Requirements.name(r), nil)) }
        }
        return out
    }

    /// The CI runner of a `client-stops` incident with `client: ci`.
    static let runnerTraits = ClientTraits(python: "3.7.5", pip: "20.0.2", cpu: "x86_64", distro: "Ubuntu 18.04 (bionic)", ci: true)

    struct TrafficPlan: Sendable {
        var package: Int
        var version: Int?
        var pythons: WeightedPicker
    }

    /// `csv/NAME.csv` as pypistats writes it: `date,downloads`, or `category,date,downloads` with
    /// `with_mirrors` and `without_mirrors` rows.
    func countsCSV(_ csv: CountsCSV, days: [DayResult]) -> String {
        switch csv.shape {
        case .daily:
            return "date,downloads\n" + days.map { "\(UTCTime.dateString($0.day * 86400)),\($0.csvDownloads)\n" }.joined()
        case .overall:
            return "category,date,downloads\n"
                + days.map { "with_mirrors,\(UTCTime.dateString($0.day * 86400)),\($0.csvDownloads)\n" }.joined()
                + days.map { "without_mirrors,\(UTCTime.dateString($0.day * 86400)),\($0.csvDownloads - $0.csvMirror)\n" }.joined()
        }
    }

    // MARK: - One day

    func hourSecond(_ g: inout SeededGenerator) -> Int {
        hourPicker.pick(&g) * 3600 + g.below(3600)
    }

    func generateDay(_ i: Int, directory: String) throws -> DayResult {
        let s = scenario
        let day = s.startDay + Int64(i)
        let dayStart = day * 86400
        var g = SeededGenerator(seed: s.seed, stream: 1000 + UInt64(i))
        var events: [Event] = []
        events.reserveCapacity(baselinePlanned[i] + fixedEvents[i].count + 4096)
        var seq: UInt64 = 0
        let dayOutages = outages.filter { $0.1.end > dayStart && $0.1.start < dayStart + 86400 }
        let dayDrops = countryDrops.filter { $0.1.end > dayStart && $0.1.start < dayStart + 86400 }
        let incidentCount = s.incidents.count
        var incRemoved = Array(repeating: 0, count: incidentCount)
        var incErrors = Array(repeating: 0, count: incidentCount)
        /// Requests answered with an outage's error status (kept apart: they are not downloads).
        var errorEvents: [Event] = []

        func baselineEvent(ignoringOutage: Bool) -> Event? {
            for _ in 0..<8 {
                let p = packagePicker.pick(&g)
                guard let pyPicker = pythonPickers[p] else { continue }
                let pi = pyPicker.pick(&g)
                let members = eligible[p][pi]
                let c = pool.pick(members, &g)
                let sec = hourSecond(&g)
                let t = dayStart + Int64(sec)
                var failing: (Int, Outage)?
                if !ignoringOutage, let o = dayOutages.first(where: { t >= $0.1.start && t < $0.1.end }), g.unit() >= o.1.factor {
                    guard o.1.status != nil else {
                        incRemoved[o.0] += 1
                        return nil
                    }
                    failing = o
                }
                if !ignoringOutage,
                    let d = dayDrops.first(where: { t >= $0.1.start && t < $0.1.end && pool.clients[c].country == $0.1.country }),
                    g.unit() >= d.1.factor
                {
                    incRemoved[d.0] += 1
                    return nil
                }
                let tpi = table.pythonIndex(pool.pythons[pi])!
                let pkg = table.packages[p]
                let compat = pkg.compatible[tpi]
                guard let newest = compat.lastIndex(where: { pkg.versions[$0].released <= t }) else { continue }
                var v = compat[newest]
                if newest > 0, g.unit() >= pkg.spec.latestShare { v = compat[g.below(newest)] }
                let id = table.file(package: p, version: v, python: tpi, cpu: cpuIndexOfPool[c])
                guard id >= 0 else { continue }
                seq += 1
                if let (k, o) = failing {
                    // The client asks (and asks again, backing off as pip does); the failing server answers with its error status.
                    var at = sec
                    for r in 0...o.retries {
                        if r > 1 { at += r == 2 ? g.below(2) : 1 << (r - 3) }
                        seq += 1
                        errorEvents.append(
                            Event(
                                key: UInt64(min(at, 86399)) << 32 | seq, file: id, client: Int32(c), set: 0, kind: 5,
                                incident: UInt8(k + 1)))
                    }
                    incRemoved[k] += 1
                    return nil
                }
                return Event(key: UInt64(sec) << 32 | seq, file: id, client: Int32(c), set: 0, kind: 0, incident: 0)
            }
            return nil
        }

        var baseline = 0
        for _ in 0..<baselinePlanned[i] {
            if let e = baselineEvent(ignoringOutage: false) {
                events.append(e)
                baseline += 1
            }
        }
        var incDownloads = Array(repeating: 0, count: incidentCount)
        var incClients = Array(repeating: 0, count: incidentCount)
        var incProjects = Array(repeating: [String: Int](), count: incidentCount)
        for e in fixedEvents[i] {
            events.append(e)
            incDownloads[Int(e.incident) - 1] += 1
            incProjects[Int(e.incident) - 1][table.files[Int(e.file)].project, default: 0] += 1
        }
        for (k, inc) in s.incidents.enumerated() {
            switch inc {
            case .freshInstall(let f):
                incClients[k] = Set(fixedEvents[i].filter { Int($0.incident) == k + 1 }.map(\.client)).count
                _ = f
            case .mirror, .clientStops: incClients[k] = Set(fixedEvents[i].filter { Int($0.incident) == k + 1 }.map(\.client)).count
            default: break
            }
        }

        // Release upgrades, sized per day (a target total takes what the rest of the day leaves).
        var localClients: [Client] = []
        var notes: [String] = []
        var remainder = 0
        for (k, inc) in s.incidents.enumerated() {
            guard case .releaseUpgrade(let r) = inc, let plan = r.days.first(where: { $0.day == day }) else { continue }
            var g2 = SeededGenerator(seed: s.seed, stream: 2000 + UInt64(k), UInt64(i))
            let soFar = events.count
            var n: Int
            switch plan.size {
            case .downloads(let d): n = d
            case .total(let total):
                n = total - soFar
                if n < 0 {
                    notes.append("\(r.name): the day already has \(soFar) downloads, more than the target total \(total); added none")
                    n = 0
                }
            }
            let up = upgradePlan(r)
            let perPrimary = up.reduce(0) { $0 + $1.repeatCount }
            let perExtra = up.reduce(0) { $0 + ($1.hereForExtra ? $1.repeatCount : 0) }
            // The largest number of clients whose downloads fit in n.
            func total(_ clients: Int) -> Int {
                let primary = Int((Double(clients) * r.primary).rounded())
                return primary * perPrimary + (clients - primary) * perExtra
            }
            var lo = 0
            var hi = max(1, n)
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if total(mid) <= n { lo = mid } else { hi = mid - 1 }
            }
            let clients = perPrimary == 0 ? 0 : lo
            remainder += n - total(clients)
            let primaryClients = Int((Double(clients) * r.primary).rounded())
            let release = s.downstream.first { ProjectName.normalize($0.name) == ProjectName.normalize(r.project) }?
                .releases.first { $0.version == r.version }
            let earliest = max(dayStart, release?.released ?? dayStart)
            let traits = upgradeTraits(r)
            for c in 0..<clients {
                let t = traits[g2.below(traits.count)]
                let client = ClientFactory.make(
                    namespace: 100 + UInt64(k) * 1000 + UInt64(i), number: c,
                    traits: ClientTraits(python: t.python, pip: t.pip, cpu: t.cpu, distro: t.distro, ci: false),
                    seed: s.seed)
                let localIndex = localClients.count
                localClients.append(client)
                let isPrimary = c < primaryClients
                let tpi = table.pythonIndex(client.python) ?? 0
                let cpuIndex = table.cpuIndex(client.cpu) ?? 0
                var sec = hourSecond(&g2)
                if dayStart + Int64(sec) < earliest {
                    sec = Int(earliest - dayStart) + g2.below(max(1, Int(dayStart + 86400 - earliest) - 120))
                }
                for u in up where isPrimary || u.hereForExtra {
                    let id = table.file(package: u.package, version: u.version, python: tpi, cpu: cpuIndex)
                    guard id >= 0 else { continue }
                    for _ in 0..<u.repeatCount {
                        seq += 1
                        events.append(
                            Event(
                                key: UInt64(min(sec, 86399)) << 32 | seq, file: id, client: Int32(localIndex), set: 1, kind: 0,
                                incident: UInt8(k + 1)))
                        incDownloads[k] += 1
                        incProjects[k][table.files[Int(id)].project, default: 0] += 1
                        sec += r.sessionGap / 2 + g2.below(max(1, r.sessionGap))
                    }
                }
            }
            incClients[k] += clients
        }
        // Extra downloads of one package (a ramp, a spike) by the population's clients.
        for (k, inc) in s.incidents.enumerated() {
            guard case .packageTraffic(let pt) = inc, let plan = pt.days.first(where: { $0.day == day }), let tp = trafficPlans[k],
                case .downloads(let n) = plan.size
            else { continue }
            var g3 = SeededGenerator(seed: s.seed, stream: 3000 + UInt64(k), UInt64(i))
            let pkg = table.packages[tp.package]
            var clients = Set<Int32>()
            var made = 0
            var attempts = 0
            while made < n, attempts < n * 8 + 16 {
                attempts += 1
                let pi = tp.pythons.pick(&g3)
                let members = pkg.spec.kind == .platform ? pool.armIndices[pi] : pool.armIndices[pi] + pool.otherIndices[pi]
                let c = pool.pick(members, &g3)
                let sec = hourSecond(&g3)
                let t = dayStart + Int64(sec)
                let tpi = table.pythonIndex(pool.pythons[pi])!
                let v: Int
                if let pinned = tp.version {
                    guard pkg.versions[pinned].released <= t else { continue }
                    v = pinned
                } else {
                    guard let newest = table.newestVersion(package: tp.package, python: tpi, at: t) else { continue }
                    v = newest
                }
                let id = table.file(package: tp.package, version: v, python: tpi, cpu: cpuIndexOfPool[c])
                guard id >= 0 else { continue }
                seq += 1
                events.append(Event(key: UInt64(sec) << 32 | seq, file: id, client: Int32(c), set: 0, kind: 0, incident: UInt8(k + 1)))
                incDownloads[k] += 1
                incProjects[k][pkg.norm, default: 0] += 1
                clients.insert(Int32(c))
                made += 1
            }
            if made < n { notes.append("\(pt.name): \(n - made) of \(n) downloads found no client and release that fit") }
            incClients[k] += clients.count
        }
        // Whatever did not divide into whole clients is ordinary traffic.
        var extra = 0
        while extra < remainder {
            if let e = baselineEvent(ignoringOutage: true) {
                events.append(e)
                baseline += 1
                extra += 1
            }
        }
        let downloads = events.count

        // Requests that are not downloads, and broken lines.
        let tr = s.baseline.traffic
        var other = 0
        var malformed = 0
        for (kind, share) in [(UInt8(1), tr.indexPages), (2, tr.projectPages), (3, tr.notFound), (4, tr.malformed)] where share > 0 {
            let count = g.poisson(Double(downloads) * share)
            for _ in 0..<count {
                let sec = hourSecond(&g)
                seq += 1
                let p = packagePicker.pick(&g)
                if kind == 4 {
                    // A truncated download line: a copy of a real one cut inside its user agent.
                    guard let e = baselineEvent(ignoringOutage: true) else { continue }
                    events.append(Event(key: UInt64(sec) << 32 | seq, file: e.file, client: e.client, set: 0, kind: 4, incident: 0))
                    malformed += 1
                } else if kind == 2 {
                    let failing = statusOutage(dayStart + Int64(sec), dayOutages)
                    events.append(
                        Event(
                            key: UInt64(sec) << 32 | seq, file: Int32(p), client: Int32(g.below(bots.count)), set: 3,
                            kind: failing == nil ? 2 : 7, incident: failing.map { UInt8($0 + 1) } ?? 0))
                    other += 1
                } else {
                    let failing = kind == 1 ? statusOutage(dayStart + Int64(sec), dayOutages) : nil
                    events.append(
                        Event(
                            key: UInt64(sec) << 32 | seq, file: Int32(p), client: Int32(g.below(pool.clients.count)), set: 0,
                            kind: failing == nil ? kind : 6, incident: failing.map { UInt8($0 + 1) } ?? 0))
                    other += 1
                }
            }
        }
        events += errorEvents
        events.sort { $0.key < $1.key }

        // A log gap: whatever happened in its hours left no line.
        let dayGaps = gaps.filter { $0.1.end > dayStart && $0.1.start < dayStart + 86400 }
        var downloadsLeft = downloads
        if !dayGaps.isEmpty {
            events.removeAll { e in
                let t = dayStart + Int64(e.second)
                guard let gap = dayGaps.first(where: { t >= $0.1.start && t < $0.1.end }) else { return false }
                switch e.kind {
                case 0:
                    downloadsLeft -= 1
                    incRemoved[gap.0] += 1
                    if e.incident == 0 {
                        baseline -= 1
                    } else {
                        incDownloads[Int(e.incident) - 1] -= 1
                        incProjects[Int(e.incident) - 1][table.files[Int(e.file)].project, default: 0] -= 1
                    }
                case 4: malformed -= 1
                case 5: break
                default: other -= 1
                }
                return true
            }
            for k in incProjects.indices { incProjects[k] = incProjects[k].filter { $0.value > 0 } }
        }
        // Requests answered with an error status: other requests, counted per outage.
        for e in events where e.kind >= 5 {
            incErrors[Int(e.incident) - 1] += 1
            if e.kind == 5 { other += 1 }
        }

        var projects: [String: Int] = [:]
        var perFile = [Int32: Int]()
        var csvDownloads = 0
        var csvMirror = 0
        for e in events where e.kind == 0 {
            perFile[e.file, default: 0] += 1
            if let cp = csvPackage, table.files[Int(e.file)].package == cp {
                csvDownloads += 1
                if e.set == 2, fixedClients[Int(e.client)].mirror { csvMirror += 1 }
            }
        }
        for (f, n) in perFile { projects[table.files[Int(f)].project, default: 0] += n }

        let writer = LogWriter(plan: self, localClients: localClients, day: day)
        var files: [String] = []
        let date = UTCTime.dateString(dayStart)
        for format in s.formats where format != .csv {
            let (folder, name) = format == .combined ? ("logs", "access-\(date).log") : ("bigquery", "file_downloads-\(date).ndjson")
            let bytes = format == .combined ? writer.combined(events) : writer.bigQuery(events)
            let rel = "\(folder)/\(name)\(s.gzip ? ".gz" : "")"
            try LogWriter.write(bytes, gzip: s.gzip, to: "\(directory)/\(rel)")
            files.append(rel)
        }
        return DayResult(
            day: day, downloads: downloadsLeft, baseline: baseline, incidentDownloads: incDownloads, incidentClients: incClients,
            incidentProjects: incProjects, incidentRemoved: incRemoved, incidentErrors: incErrors, csvDownloads: csvDownloads,
            csvMirror: csvMirror, otherRequests: other, malformed: malformed, lines: events.count, projects: projects,
            files: files, notes: notes)
    }

    /// The incident index of a status outage (a failing server) covering time `t`, if any.
    func statusOutage(_ t: Int64, _ dayOutages: [(Int, Outage)]) -> Int? {
        dayOutages.first { t >= $0.1.start && t < $0.1.end && $0.1.status != nil }?.0
    }

    struct UpgradeItem {
        var package: Int
        var version: Int
        var repeatCount: Int
        /// Whether a client using this index only as an extra index still fetches it here
        /// (the reference index has no equally good file).
        var hereForExtra: Bool
    }

    func upgradePlan(_ r: ReleaseUpgrade) -> [UpgradeItem] {
        r.upgrades.compactMap { u in
            guard let p = table.packages.firstIndex(where: { $0.norm == ProjectName.normalize(u.package) }),
                let v = table.packages[p].versions.firstIndex(where: { $0.spec.version == u.version })
            else { return nil }
            let pkg = table.packages[p]
            let ref = pkg.versions[v].spec.reference ?? CatalogWriter.defaultReference(pkg.spec.kind)
            let here: Bool
            switch pkg.spec.kind {
            case .pure: here = !ref.contains(.wheel)
            case .platform: here = true
            case .sdist: here = !ref.contains(.wheel) && !ref.contains(.sdist)
            }
            return UpgradeItem(package: p, version: v, repeatCount: u.repeatCount, hereForExtra: here)
        }
    }

    /// Traits of upgrading clients: the population's shares, restricted to the incident's Python (and to ARM when a file needs it).
    func upgradeTraits(_ r: ReleaseUpgrade) -> [ClientTraits] {
        let pop = scenario.baseline.clients
        let needsARM = upgradePlan(r).contains { table.packages[$0.package].spec.kind == .platform }
        let pys = pop.python.filter { r.python == nil || $0.value == r.python! || $0.value.hasPrefix(r.python! + ".") }
        let cpus = pop.cpu.filter { !needsARM || $0.value.hasPrefix("arm") }
        var g = SeededGenerator(seed: scenario.seed, stream: 77)
        let pyP = WeightedPicker((pys.isEmpty ? pop.python : pys).map(\.weight))
        let pipP = WeightedPicker(pop.pip.map(\.weight))
        let cpuP = WeightedPicker((cpus.isEmpty ? pop.cpu : cpus).map(\.weight))
        let dP = WeightedPicker(pop.distro.map(\.weight))
        return (0..<512).map { _ in
            ClientTraits(
                python: (pys.isEmpty ? pop.python : pys)[pyP.pick(&g)].value, pip: pop.pip[pipP.pick(&g)].value,
                cpu: (cpus.isEmpty ? pop.cpu : cpus)[cpuP.pick(&g)].value, distro: pop.distro[dP.pick(&g)].value, ci: false)
        }
    }
}

/// Reading PEP 508 requirement strings just enough to follow dependencies.
enum Requirements {
    /// The project name at the start of a requirement (`Flask-Login>=0.4.1,<0.5` → `Flask-Login`).
    static func name(_ r: String) -> String {
        String(r.trimmingCharacters(in: .whitespaces).prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
    }

    /// Whether a requirement's marker applies to a CPython on Linux (markers about `python_version`,
    /// `sys_platform` and extras; anything else is assumed true).
    static func applies(_ r: String, python: [Int]) -> Bool {
        guard let semi = r.firstIndex(of: ";") else { return true }
        let marker = r[r.index(after: semi)...].replacingOccurrences(of: "'", with: "\"")
        if marker.contains("extra ==") || marker.contains("extra==") { return false }
        if marker.contains("sys_platform") && !marker.contains("linux") && marker.contains("==") { return false }
        for clause in marker.components(separatedBy: " and ") where clause.contains("python_version") {
            let c = clause.replacingOccurrences(of: "python_version", with: "").replacingOccurrences(of: "\"", with: "")
                .trimmingCharacters(in: CharacterSet(charactersIn: " ()"))
            let spec = c.replacingOccurrences(of: " ", with: "")
            if !PythonSpecifier.allows(spec, python: Array(python.prefix(2))) { return false }
        }
        return true
    }
}
