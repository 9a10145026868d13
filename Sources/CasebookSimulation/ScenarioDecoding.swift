import CasebookCore
import Foundation
import Yams

extension Scenario {
    /// Reads a scenario file.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ScenarioError(file: path, path: "", message: "cannot read the file (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, path: "", message: "the file is not UTF-8 text")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses a scenario from YAML text; `file` names it in error messages.
    public static func parse(yaml: String, file: String = "<scenario>") throws(ScenarioError) -> Scenario {
        let ctx = YAMLContext(file: file)
        let root = try Field(node: YAMLContext.compose(yaml, file: file), path: "", ctx: ctx).object()
        return try ScenarioDecoder.scenario(root)
    }
}

/// Builds the model from the YAML tree, checking every key.
enum ScenarioDecoder {
    static func scenario(_ o: Object) throws(ScenarioError) -> Scenario {
        try o.only(["name", "description", "seed", "start", "end", "index", "formats", "gzip", "baseline", "downstream", "incidents", "csv"]
        )
        let startDay = try o.required("start").day()
        let endField = try o.required("end")
        let endDay = try endField.day()
        guard endDay >= startDay else { throw endField.failing("a date on or after start") }
        guard endDay - startDay < 3660 else { throw endField.failing("a date less than ten years after start") }
        var formats: [LogFormat] = [.combined]
        if let f = o.optional("formats") {
            formats = []
            for (i, s) in try f.strings().enumerated() {
                guard let lf = LogFormat(rawValue: s) else {
                    throw Field(node: try f.list()[i].node, path: "\(f.path)[\(i)]", ctx: f.ctx).failing("combined, bigquery or csv")
                }
                if !formats.contains(lf) { formats.append(lf) }
            }
            guard !formats.isEmpty else { throw f.failing("at least one format (combined, bigquery, csv)") }
        }
        var csv: CountsCSV?
        if let c = o.optional("csv") {
            let m = try c.object()
            try m.only(["project", "shape"])
            var shape = CountsCSV.Shape.daily
            if let sf = m.optional("shape") {
                guard let v = CountsCSV.Shape(rawValue: try sf.string()) else {
                    throw sf.failing("daily (date,downloads) or overall (category,date,downloads)")
                }
                shape = v
            }
            csv = CountsCSV(project: try m.required("project").string(), shape: shape)
        }
        if formats.contains(.csv), csv == nil {
            throw o.field.ctx.error(
                try o.required("formats").node, "formats",
                "the csv format needs a 'csv' key naming the project (csv: {project: NAME})")
        }
        let seedField = try o.required("seed")
        let seedValue = try seedField.int()
        let baseline = try self.baseline(o.required("baseline").object())
        var downstream: [DownstreamProject] = []
        if let d = o.optional("downstream") {
            for f in try d.list() { downstream.append(try project(f.object())) }
        }
        var incidents: [Incident] = []
        if let l = o.optional("incidents") {
            for f in try l.list() { incidents.append(try incident(f.object(), startDay: startDay, endDay: endDay)) }
        }
        let s = Scenario(
            name: try o.optional("name")?.string() ?? "scenario",
            seed: UInt64(bitPattern: Int64(seedValue)), startDay: startDay, endDay: endDay,
            index: try o.optional("index")?.string() ?? "piwheels", formats: formats,
            gzip: try o.optional("gzip")?.bool() ?? false, baseline: baseline, downstream: downstream, incidents: incidents, csv: csv)
        try check(s, o)
        return s
    }

    /// Cross-references: incidents name packages and projects that exist.
    static func check(_ s: Scenario, _ o: Object) throws(ScenarioError) {
        if let c = s.csv, s.package(named: c.project) == nil, let f = o.optional("csv") {
            throw f.ctx.error(
                f.node, "csv.project", "unknown package '\(c.project)': the CSV counts one package listed under baseline.packages")
        }
        let list = (try? o.required("incidents").list()) ?? []
        for (i, inc) in s.incidents.enumerated() {
            let f = i < list.count ? list[i] : o.field
            switch inc {
            case .releaseUpgrade(let r):
                for (j, u) in r.upgrades.enumerated() {
                    guard let p = s.package(named: u.package) else {
                        throw f.ctx.error(
                            f.node, "\(f.path).upgrades[\(j)].package",
                            "unknown package '\(u.package)': list it under baseline.packages (known: \(s.baseline.packages.map(\.name).prefix(12).joined(separator: ", "))...)"
                        )
                    }
                    guard p.versions.contains(where: { $0.version == u.version }) else {
                        throw f.ctx.error(
                            f.node, "\(f.path).upgrades[\(j)].version",
                            "package '\(p.name)' has no version '\(u.version)' (known: \(p.versions.map(\.version).joined(separator: ", ")))"
                        )
                    }
                }
                if !s.downstream.contains(where: {
                    ProjectName.normalize($0.name) == ProjectName.normalize(r.project) && $0.releases.contains { $0.version == r.version }
                }) {
                    throw f.ctx.error(
                        f.node, "\(f.path).project",
                        "the downstream release '\(r.project) \(r.version)' is not listed under downstream (its catalog documents are the evidence the analyzers need)"
                    )
                }
            case .freshInstall(let fi):
                for name in fi.install {
                    let n = name.split(separator: "=").first.map(String.init) ?? name
                    guard s.package(named: n) != nil else {
                        throw f.ctx.error(f.node, "\(f.path).install", "unknown package '\(n)': list it under baseline.packages")
                    }
                }
                if let p = fi.project {
                    guard s.downstream.contains(where: { ProjectName.normalize($0.name) == ProjectName.normalize(p) }) else {
                        throw f.ctx.error(f.node, "\(f.path).project", "unknown downstream project '\(p)': list it under downstream")
                    }
                }
            case .mirror(let m):
                for name in m.packages where s.package(named: name) == nil {
                    throw f.ctx.error(f.node, "\(f.path).packages", "unknown package '\(name)': list it under baseline.packages")
                }
            case .clientStops(let c):
                for name in c.packages where s.package(named: name) == nil {
                    throw f.ctx.error(f.node, "\(f.path).packages", "unknown package '\(name)': list it under baseline.packages")
                }
            case .packageTraffic(let pt):
                guard let p = s.package(named: pt.package) else {
                    throw f.ctx.error(f.node, "\(f.path).package", "unknown package '\(pt.package)': list it under baseline.packages")
                }
                if let v = pt.version, !p.versions.contains(where: { $0.version == v }) {
                    throw f.ctx.error(
                        f.node, "\(f.path).version",
                        "package '\(p.name)' has no version '\(v)' (known: \(p.versions.map(\.version).joined(separator: ", ")))")
                }
            default: break
            }
        }
    }

    static func baseline(_ o: Object) throws(ScenarioError) -> Baseline {
        try o.only(["daily", "days", "weekly", "hourly", "traffic", "clients", "packages", "long_tail"])
        let daily = try o.required("daily").object()
        try daily.only(["start", "end", "noise", "min", "max"])
        let start = try daily.required("start").positive()
        let end = try daily.optional("end")?.positive() ?? start
        var fixed: [Int64: Int] = [:]
        if let d = o.optional("days") {
            let m = try d.object()
            for (k, kn, v) in m.pairs {
                let day = try Field(node: kn, path: m.child(k), ctx: d.ctx).day()
                fixed[day] = try Field(node: v, path: m.child(k), ctx: d.ctx).nonNegativeInt()
            }
        }
        var weekly = Baseline.defaultWeekly
        if let w = o.optional("weekly") {
            weekly = []
            for f in try w.list() { weekly.append(try f.positive()) }
            guard weekly.count == 7 else { throw w.failing("7 weights, Monday first") }
        }
        var hourly = Baseline.bell(peak: 14, width: 4.5, floor: 0.2)
        if let h = o.optional("hourly") {
            if case .sequence = h.node {
                hourly = []
                for f in try h.list() {
                    let v = try f.double()
                    guard v >= 0 else { throw f.failing("a weight >= 0") }
                    hourly.append(v)
                }
                guard hourly.count == 24, hourly.contains(where: { $0 > 0 }) else {
                    throw h.failing("24 weights (hours 0-23 UTC), not all zero")
                }
            } else if (try? h.string()) == "bell" {
                // the default
            } else {
                let b = try h.object()
                try b.only(["peak", "width", "floor"])
                hourly = Baseline.bell(
                    peak: try b.optional("peak")?.double() ?? 14, width: try b.optional("width")?.positive() ?? 4.5,
                    floor: try b.optional("floor")?.double() ?? 0.2)
            }
        }
        var traffic = OtherTraffic()
        if let t = o.optional("traffic") {
            let m = try t.object()
            try m.only(["index_pages", "project_pages", "not_found", "malformed"])
            traffic = OtherTraffic(
                indexPages: try m.optional("index_pages")?.double() ?? traffic.indexPages,
                projectPages: try m.optional("project_pages")?.double() ?? traffic.projectPages,
                notFound: try m.optional("not_found")?.double() ?? traffic.notFound,
                malformed: try m.optional("malformed")?.share() ?? traffic.malformed)
        }
        let clients = try self.clients(o.required("clients").object())
        var packages: [PackageSpec] = []
        let pl = try o.required("packages")
        var seen: Set<String> = []
        for f in try pl.list() {
            let p = try package(f.object())
            guard seen.insert(p.normalizedName).inserted else { throw f.failing("a package listed once ('\(p.name)' is listed twice)") }
            packages.append(p)
        }
        guard !packages.isEmpty else { throw pl.failing("at least one package") }
        if let t = o.optional("long_tail") {
            let m = try t.object()
            try m.only(["packages", "weight", "platform_share"])
            let tail = LongTail(
                packages: try m.required("packages").nonNegativeInt(), weight: try m.required("weight").double(),
                platformShare: try m.optional("platform_share")?.share() ?? 0.5)
            packages += tail.expand(avoiding: seen)
        }
        return Baseline(
            dailyStart: start, dailyEnd: end, noise: try daily.optional("noise")?.double() ?? 0.04,
            dailyMin: try daily.optional("min")?.nonNegativeInt(), dailyMax: try daily.optional("max")?.nonNegativeInt(),
            fixedDays: fixed, weekly: weekly, hourly: hourly, traffic: traffic, clients: clients, packages: packages)
    }

    static func weighted(_ f: Field, _ what: String) throws(ScenarioError) -> [Weighted] {
        if case .scalar = f.node { return [Weighted(try f.string(), 1)] }
        return try f.weights(what).map { Weighted($0.0, $0.1) }
    }

    static func clients(_ o: Object) throws(ScenarioError) -> ClientPopulation {
        try o.only(["count", "python", "pip", "cpu", "distro", "ci", "skew"])
        let count = try o.required("count").int()
        guard count > 0 else { throw try o.required("count").failing("a number of clients > 0") }
        let distros = try weighted(o.required("distro"), "distro")
        for (i, d) in distros.enumerated() where ClientFactory.parseDistro(d.value) == nil {
            throw try o.required("distro").failing(
                "distributions written like 'Raspbian GNU/Linux 10 (buster)' (entry \(i + 1): '\(d.value)')")
        }
        return ClientPopulation(
            count: count, python: try weighted(o.required("python"), "Python version"),
            pip: try weighted(o.required("pip"), "pip version"), cpu: try weighted(o.required("cpu"), "cpu"),
            distro: distros, ci: try o.optional("ci")?.share() ?? 0, skew: try o.optional("skew")?.positive() ?? 2)
    }

    static func referenceFiles(_ f: Field) throws(ScenarioError) -> [ReferenceFile] {
        var out: [ReferenceFile] = []
        for s in try f.strings() {
            guard let r = ReferenceFile(rawValue: s) else { throw f.failing("a list of wheel, sdist, manylinux") }
            out.append(r)
        }
        return out
    }

    static func package(_ o: Object) throws(ScenarioError) -> PackageSpec {
        try o.only(["name", "weight", "kind", "versions", "requires", "summary", "latest_share"])
        let name = try o.required("name").string()
        var kind = PackageKind.pure
        if let k = o.optional("kind") {
            guard let v = PackageKind(rawValue: try k.string()) else { throw k.failing("pure, platform or sdist") }
            kind = v
        }
        let vf = try o.required("versions")
        var versions: [VersionSpec] = []
        if case .scalar = vf.node {
            versions = [VersionSpec(version: try vf.string())]
        } else {
            for f in try vf.list() {
                if case .scalar = f.node {
                    versions.append(VersionSpec(version: try f.string()))
                    continue
                }
                let v = try f.object()
                try v.only(["version", "released", "requires_python", "requires", "pypi", "python"])
                versions.append(
                    VersionSpec(
                        version: try v.required("version").string(), released: try v.optional("released")?.time(),
                        requiresPython: try v.optional("requires_python")?.string(),
                        requires: try v.optional("requires")?.strings(),
                        reference: try v.optional("pypi").map { f throws(ScenarioError) in try referenceFiles(f) },
                        pythonTag: try v.optional("python")?.string()))
            }
        }
        guard !versions.isEmpty else { throw vf.failing("at least one version") }
        let weight = try o.required("weight").double()
        guard weight >= 0 else { throw try o.required("weight").failing("a weight >= 0") }
        return PackageSpec(
            name: name, weight: weight, kind: kind, versions: versions, requires: try o.optional("requires")?.strings() ?? [],
            summary: try o.optional("summary")?.string(), latestShare: try o.optional("latest_share")?.share() ?? 0.85)
    }

    static func project(_ o: Object) throws(ScenarioError) -> DownstreamProject {
        try o.only(["name", "summary", "decoy", "releases"])
        var releases: [DownstreamRelease] = []
        let rl = try o.required("releases")
        for f in try rl.list() {
            let r = try f.object()
            try r.only(["version", "released", "requires_python", "requires_dist", "files"])
            releases.append(
                DownstreamRelease(
                    version: try r.required("version").string(), released: try r.required("released").time(),
                    requiresPython: try r.optional("requires_python")?.string(),
                    requiresDist: try r.optional("requires_dist")?.strings() ?? [],
                    files: try r.optional("files").map { f throws(ScenarioError) in try referenceFiles(f) } ?? [.sdist, .wheel]))
        }
        guard !releases.isEmpty else { throw rl.failing("at least one release") }
        return DownstreamProject(
            name: try o.required("name").string(), summary: try o.optional("summary")?.string(),
            decoy: try o.optional("decoy")?.bool() ?? false, releases: releases.sorted { $0.released < $1.released })
    }

    static let incidentTypes = [
        "release-upgrade", "fresh-install", "ci-farm", "mirror", "outage", "holiday", "log-gap", "client-stops",
        "country-drop", "ramp", "package-spike"
    ]

    /// `days: {DATE: N, ...}` as extra downloads (or `{total: N}` targets when `totals` is allowed).
    static func incidentDays(_ d: Field, totals: Bool, inSpan: (Field, Int64) throws(ScenarioError) -> Void) throws(ScenarioError)
        -> [IncidentDay]
    {
        var days: [IncidentDay] = []
        let m = try d.object()
        for (k, kn, v) in m.pairs {
            let kf = Field(node: kn, path: m.child(k), ctx: d.ctx)
            let day = try kf.day()
            try inSpan(kf, day * 86400)
            let vf = Field(node: v, path: m.child(k), ctx: d.ctx)
            if case .scalar = v {
                days.append(IncidentDay(day: day, size: .downloads(try vf.nonNegativeInt())))
            } else if totals {
                let s = try vf.object()
                try s.only(["downloads", "total"])
                if let t = s.optional("total") {
                    days.append(IncidentDay(day: day, size: .total(try t.nonNegativeInt())))
                } else {
                    days.append(IncidentDay(day: day, size: .downloads(try s.required("downloads").nonNegativeInt())))
                }
            } else {
                throw vf.failing("a number of extra downloads")
            }
        }
        return days.sorted { $0.day < $1.day }
    }

    static func incident(_ o: Object, startDay: Int64, endDay: Int64) throws(ScenarioError) -> Incident {
        let tf = try o.required("type")
        let type = try tf.string()
        let name = try o.optional("name")?.string()
        func inSpan(_ f: Field, _ t: Int64) throws(ScenarioError) {
            guard t >= startDay * 86400, t < (endDay + 1) * 86400 else {
                throw f.failing(
                    "a time within the scenario (\(UTCTime.dateString(startDay * 86400)) to \(UTCTime.dateString(endDay * 86400)))")
            }
        }
        /// `start` and `end` times, start within the scenario, end after start.
        func window() throws(ScenarioError) -> (Int64, Int64) {
            let sf = try o.required("start")
            let start = try sf.time()
            try inSpan(sf, start)
            let ef = try o.required("end")
            let end = try ef.time()
            guard end > start else { throw ef.failing("a time after start") }
            return (start, end)
        }
        switch type {
        case "release-upgrade":
            try o.only([
                "type", "name", "project", "version", "python", "upgrades", "primary", "days", "downloads", "start", "over", "decay",
                "session_gap"
            ])
            var upgrades: [Upgrade] = []
            for f in try o.required("upgrades").list() {
                let u = try f.object()
                try u.only(["package", "version", "repeat"])
                let rep = try u.optional("repeat")?.int() ?? 1
                guard rep >= 1 else { throw try u.required("repeat").failing("a number of downloads per client >= 1") }
                upgrades.append(
                    Upgrade(package: try u.required("package").string(), version: try u.required("version").string(), repeatCount: rep))
            }
            var days: [IncidentDay] = []
            if let d = o.optional("days") {
                days = try incidentDays(d, totals: true, inSpan: inSpan)
            } else {
                let sf = try o.required("start")
                let start = try sf.day()
                try inSpan(sf, start * 86400)
                let over = try o.optional("over")?.int() ?? 3
                days = ReleaseUpgrade.decaying(
                    downloads: try o.required("downloads").nonNegativeInt(), start: start, count: max(1, over),
                    decay: try o.optional("decay")?.positive() ?? 0.6
                ).filter { $0.day <= endDay }
            }
            let project = try o.required("project").string()
            let version = try o.required("version").string()
            return .releaseUpgrade(
                ReleaseUpgrade(
                    name: name ?? "\(project) \(version) upgrades", project: project, version: version,
                    python: try o.optional("python")?.string(), upgrades: upgrades,
                    primary: try o.optional("primary")?.share() ?? 1, days: days,
                    sessionGap: try o.optional("session_gap")?.int() ?? 4))
        case "fresh-install", "ci-farm":
            try o.only([
                "type", "name", "clients", "ci", "python", "pip", "cpu", "distro", "start", "end", "installs", "install", "project",
                "version"
            ])
            let (start, end) = try window()
            let ci = try o.optional("ci")?.bool() ?? (type == "ci-farm")
            let distro = try o.optional("distro")?.string() ?? "Ubuntu 18.04 (bionic)"
            guard ClientFactory.parseDistro(distro) != nil else {
                throw try o.required("distro").failing("a distribution like 'Ubuntu 18.04 (bionic)'")
            }
            let install = try o.optional("install")?.strings() ?? []
            let project = try o.optional("project")?.string()
            guard !install.isEmpty || project != nil else {
                throw o.field.failing("'install' (package names) or 'project' and 'version' (a downstream release)")
            }
            return .freshInstall(
                FreshInstall(
                    name: name ?? type, ci: ci, clients: max(1, try o.optional("clients")?.int() ?? 3),
                    python: try o.optional("python")?.string() ?? "3.7.5", pip: try o.optional("pip")?.string() ?? "20.0.2",
                    cpus: try o.optional("cpu")?.strings() ?? ["x86_64"], distro: distro, start: start, end: end,
                    installs: try o.required("installs").nonNegativeInt(), install: install, project: project,
                    version: try o.optional("version")?.string()))
        case "mirror":
            try o.only(["type", "name", "start", "hours", "agent", "clients", "packages"])
            let sf = try o.required("start")
            let start = try sf.time()
            try inSpan(sf, start)
            let clients = try o.optional("clients")?.int() ?? 1
            guard clients >= 1 else { throw try o.required("clients").failing("a number of mirror clients >= 1") }
            return .mirror(
                Mirror(
                    name: name ?? "mirror", start: start, hours: try o.optional("hours")?.positive() ?? 6,
                    agent: try o.optional("agent")?.string() ?? "bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)",
                    clients: clients, packages: try o.optional("packages")?.strings() ?? []))
        case "outage":
            try o.only(["type", "name", "start", "end", "factor", "status", "retries"])
            let (start, end) = try window()
            var status: Int?
            if let st = o.optional("status") {
                let v = try st.int()
                guard (500...599).contains(v) || v == 429 else {
                    throw st.failing("an HTTP error status the server answers with (500-599, or 429)")
                }
                status = v
            }
            var retries = 0
            if let rf = o.optional("retries") {
                retries = try rf.int()
                guard (0...10).contains(retries) else { throw rf.failing("a number of retries from 0 to 10") }
                guard status != nil else {
                    throw rf.failing("no retries without a status (requests that never reach the server are not logged)")
                }
            }
            return .outage(
                Outage(
                    name: name ?? "outage", start: start, end: end, factor: try o.optional("factor")?.share() ?? 0.02, status: status,
                    retries: retries))
        case "log-gap":
            try o.only(["type", "name", "start", "end"])
            let (start, end) = try window()
            return .logGap(LogGap(name: name ?? "log gap", start: start, end: end))
        case "country-drop":
            try o.only(["type", "name", "country", "start", "end", "factor"])
            let cf = try o.required("country")
            let country = try cf.string().uppercased()
            guard ClientFactory.countries.contains(where: { $0.value == country }) else {
                throw cf.failing(
                    "a country code the simulated clients have (\(ClientFactory.countries.map(\.value).joined(separator: ", ")))")
            }
            let (start, end) = try window()
            return .countryDrop(
                CountryDrop(
                    name: name ?? "\(country) drop", country: country, start: start, end: end,
                    factor: try o.optional("factor")?.share() ?? 0))
        case "client-stops":
            try o.only(["type", "name", "client", "agent", "start", "stop", "daily", "at", "hours", "packages"])
            var kind = SteadyClient.Kind.mirror
            if let kf = o.optional("client") {
                guard let k = SteadyClient.Kind(rawValue: try kf.string()) else { throw kf.failing("mirror or ci") }
                kind = k
            }
            var start = startDay * 86400
            if let sf = o.optional("start") {
                start = try sf.time()
                try inSpan(sf, start)
            }
            let stf = try o.required("stop")
            let stop = try stf.time()
            try inSpan(stf, stop)
            guard stop > start else { throw stf.failing("a time after start") }
            let at = try o.optional("at")?.double() ?? 2
            guard at >= 0, at < 24 else { throw try o.required("at").failing("an hour of the day, 0 to 24 (UTC)") }
            let hours = try o.optional("hours")?.positive() ?? 3
            guard hours <= 24 else { throw try o.required("hours").failing("a duration of at most 24 hours") }
            let daily = try o.required("daily").nonNegativeInt()
            let packages = try o.optional("packages")?.strings() ?? []
            if kind == .ci, packages.isEmpty {
                throw o.field.failing("'packages': what the CI runner installs (a mirror defaults to every package)")
            }
            return .clientStops(
                SteadyClient(
                    name: name ?? "\(kind.rawValue) client stops", kind: kind,
                    agent: try o.optional("agent")?.string() ?? "bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)",
                    start: start, stop: stop, daily: daily, at: at, hours: hours,
                    packages: packages))
        case "ramp", "package-spike":
            let ramp = type == "ramp"
            var days: [IncidentDay]
            if ramp {
                try o.only(["type", "name", "package", "version", "python", "start", "days", "downloads", "end"])
                let sf = try o.required("start")
                let start = try sf.day()
                try inSpan(sf, start * 86400)
                var end = endDay
                if let ef = o.optional("end") {
                    end = try ef.day()
                    try inSpan(ef, end * 86400)
                    guard end >= start else { throw ef.failing("a date on or after start") }
                }
                let n = try o.optional("days")?.int() ?? 10
                guard n >= 1 else { throw try o.required("days").failing("a number of days >= 1") }
                days = PackageTraffic.rampDays(start: start, rampDays: n, downloads: try o.required("downloads").nonNegativeInt(), end: end)
            } else {
                try o.only(["type", "name", "package", "version", "python", "days", "start", "downloads", "over", "decay"])
                if let d = o.optional("days") {
                    days = try incidentDays(d, totals: false, inSpan: inSpan)
                } else {
                    let sf = try o.required("start")
                    let start = try sf.day()
                    try inSpan(sf, start * 86400)
                    days = ReleaseUpgrade.decaying(
                        downloads: try o.required("downloads").nonNegativeInt(), start: start,
                        count: max(1, try o.optional("over")?.int() ?? 3),
                        decay: try o.optional("decay")?.positive() ?? 0.6
                    ).filter { $0.day <= endDay }
                }
            }
            let package = try o.required("package").string()
            let version = try o.optional("version")?.string()
            return .packageTraffic(
                PackageTraffic(
                    name: name ?? "\(package)\(version.map { " " + $0 } ?? "") \(type)", ramp: ramp, package: package,
                    version: version, python: try o.optional("python")?.string(), days: days))
        case "holiday":
            try o.only(["type", "name", "date", "factor"])
            let df = try o.required("date")
            let day = try df.day()
            try inSpan(df, day * 86400)
            return .holiday(Holiday(name: name ?? "holiday", day: day, factor: try o.optional("factor")?.positive() ?? 0.8))
        default:
            throw tf.failing("an incident type: \(incidentTypes.joined(separator: ", "))")
        }
    }
}
