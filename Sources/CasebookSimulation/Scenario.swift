import CasebookCore
import Foundation
import Yams

/// A declarative description of a package index's traffic, from which ``Simulator`` writes
/// realistic logs and catalog documents, deterministically for a seed.
///
/// A scenario has *baseline* traffic (daily volume with growth and noise, weekly and hourly
/// shape, package popularity, a client population) and *incidents* layered on top
/// (downstream releases whose installs upgrade some packages, CI farms, mirrors, outages,
/// holidays). `downstream` lists the projects that depend on the index's packages: their
/// releases become catalog documents (the cause of a release-upgrade incident, and decoys).
///
/// The YAML form (see `examples/README.md` for every key):
///
/// ```yaml
/// name: piwheels, March 2020
/// seed: 2020
/// start: 2020-01-01
/// end: 2020-03-10            # inclusive
/// index: piwheels
/// formats: [combined]        # and/or bigquery
/// gzip: false
/// baseline:
///   daily: {start: 24000, end: 37000, noise: 0.04}
///   days: {2020-03-02: 39153}          # fixed totals for single days
///   weekly: [1.03, 1.03, 1.02, 1.01, 1.0, 0.95, 0.96]   # Monday first
///   hourly: {peak: 14, width: 4.5, floor: 0.2}          # a bell curve, or 24 weights
///   traffic: {index_pages: 0.02, project_pages: 0.005, not_found: 0.01, malformed: 0.0002}
///   clients:
///     count: 30000
///     python: {"2.7.16": 0.3, "3.7.3": 0.3, "2.7.13": 0.2, "3.5.3": 0.2}
///     pip: {"18.1": 0.5, "20.0.2": 0.5}
///     cpu: {armv7l: 0.85, armv6l: 0.12, aarch64: 0.03}
///     distro: {"Raspbian GNU/Linux 10 (buster)": 0.7, "Raspbian GNU/Linux 9 (stretch)": 0.3}
///   packages:
///     - {name: numpy, weight: 896, kind: platform, versions: ["1.16.6", "1.18.1"]}
///     - name: Markdown
///       weight: 40
///       requires: ["setuptools>=36"]
///       versions:
///         - {version: "3.1.1", released: 2019-05-20}
///         - {version: "3.2", released: 2020-02-06, requires_python: ">=3.5"}
/// downstream:
///   - name: OctoPrint
///     releases:
///       - {version: 1.4.0, released: "2020-03-03T16:28:00+01:00", requires_dist: [...]}
/// incidents:
///   - type: release-upgrade
///     project: OctoPrint
///     version: 1.4.0
///     python: "2.7"
///     upgrades: [{package: Flask-Login, version: 0.4.1, repeat: 2}, ...]
///     days: {2020-03-04: {total: 56225}, 2020-03-05: {total: 60324}}
/// ```
public struct Scenario: Sendable, Hashable {
    public var name: String
    public var seed: UInt64
    /// First and last day (inclusive), as days since 1970-01-01 (UTC).
    public var startDay: Int64
    public var endDay: Int64
    /// The index the logs belong to (`piwheels`); also the host name in URLs.
    public var index: String
    public var formats: [LogFormat]
    public var gzip: Bool
    public var baseline: Baseline
    public var downstream: [DownstreamProject]
    public var incidents: [Incident]
    /// What `formats: [csv]` writes: one project's daily counts as pypistats gives them.
    public var csv: CountsCSV?

    public init(
        name: String, seed: UInt64, startDay: Int64, endDay: Int64, index: String, formats: [LogFormat] = [.combined],
        gzip: Bool = false, baseline: Baseline, downstream: [DownstreamProject] = [], incidents: [Incident] = [],
        csv: CountsCSV? = nil
    ) {
        self.csv = csv
        self.name = name
        self.seed = seed
        self.startDay = startDay
        self.endDay = endDay
        self.index = index
        self.formats = formats
        self.gzip = gzip
        self.baseline = baseline
        self.downstream = downstream
        self.incidents = incidents
    }

    /// Number of days covered.
    public var dayCount: Int { Int(endDay - startDay + 1) }

    /// The package spec for a name (any spelling), if the baseline lists it.
    public func package(named name: String) -> PackageSpec? {
        let n = ProjectName.normalize(name)
        return baseline.packages.first { ProjectName.normalize($0.name) == n }
    }
}

/// Output formats for download logs.
public enum LogFormat: String, Sendable, Hashable, CaseIterable {
    /// Apache combined access log (`logs/access-YYYY-MM-DD.log`), pip user agents escaped as Apache does.
    case combined
    /// PyPI BigQuery `file_downloads` rows as NDJSON (`logs/bigquery-YYYY-MM-DD.ndjson`), downloads only.
    case bigquery
    /// One project's downloads per day as pypistats writes them (`csv/NAME.csv`), see ``CountsCSV``.
    case csv
}

/// A single project's daily download counts, as pypistats exports them.
public struct CountsCSV: Sendable, Hashable {
    public enum Shape: String, Sendable, Hashable {
        /// `date,downloads`: one row per day, every download.
        case daily
        /// pypistats `overall`: `category,date,downloads`, a `with_mirrors` row (every download) and a
        /// `without_mirrors` row (downloads not made by mirror clients such as bandersnatch) per day.
        case overall
    }
    /// The project (any spelling; must be a baseline package).
    public var project: String
    public var shape: Shape

    public init(project: String, shape: Shape = .daily) {
        self.project = project
        self.shape = shape
    }
}

/// Everyday traffic.
public struct Baseline: Sendable, Hashable {
    /// Downloads per day on the first and last day (linear growth between), before weekly shape and noise.
    public var dailyStart: Double
    public var dailyEnd: Double
    /// Relative standard deviation of the daily total (0.04 = 4%).
    public var noise: Double
    /// Optional clamps on the noisy daily total.
    public var dailyMin: Int?
    public var dailyMax: Int?
    /// Exact baseline totals for single days (a record day), day → downloads.
    public var fixedDays: [Int64: Int]
    /// Seven weights, Monday first (normalized to mean 1).
    public var weekly: [Double]
    /// Twenty-four weights for the hours of a UTC day.
    public var hourly: [Double]
    public var traffic: OtherTraffic
    public var clients: ClientPopulation
    public var packages: [PackageSpec]

    public init(
        dailyStart: Double, dailyEnd: Double, noise: Double = 0.04, dailyMin: Int? = nil, dailyMax: Int? = nil,
        fixedDays: [Int64: Int] = [:], weekly: [Double] = Baseline.defaultWeekly,
        hourly: [Double] = Baseline.bell(peak: 14, width: 4.5, floor: 0.2), traffic: OtherTraffic = OtherTraffic(),
        clients: ClientPopulation, packages: [PackageSpec]
    ) {
        self.dailyStart = dailyStart
        self.dailyEnd = dailyEnd
        self.noise = noise
        self.dailyMin = dailyMin
        self.dailyMax = dailyMax
        self.fixedDays = fixedDays
        self.weekly = weekly
        self.hourly = hourly
        self.traffic = traffic
        self.clients = clients
        self.packages = packages
    }

    /// A slightly quieter weekend.
    public static let defaultWeekly: [Double] = [1.03, 1.03, 1.02, 1.01, 1.0, 0.95, 0.96]

    /// A bell curve over the 24 hours of a day: `floor + exp(-(h - peak)² / 2·width²)`, wrapping around midnight.
    public static func bell(peak: Double, width: Double, floor: Double) -> [Double] {
        (0..<24).map { h in
            var d = abs(Double(h) + 0.5 - peak)
            d = min(d, 24 - d)
            return floor + exp(-d * d / (2 * width * width))
        }
    }
}

/// Requests that are not downloads, and broken lines, as fractions of the day's downloads.
public struct OtherTraffic: Sendable, Hashable {
    /// `GET /simple/NAME/` by pip.
    public var indexPages: Double
    /// `GET /project/NAME/` by browsers and bots.
    public var projectPages: Double
    /// `404` answers for unknown projects.
    public var notFound: Double
    /// Truncated lines that no reader can parse.
    public var malformed: Double

    public init(indexPages: Double = 0.02, projectPages: Double = 0.005, notFound: Double = 0.01, malformed: Double = 0.0002) {
        self.indexPages = indexPages
        self.projectPages = projectPages
        self.notFound = notFound
        self.malformed = malformed
    }
}

/// Who downloads: the baseline's clients, drawn with these shares.
public struct ClientPopulation: Sendable, Hashable {
    public var count: Int
    /// Full Python versions and their shares (`2.7.16: 0.3`).
    public var python: [Weighted]
    /// pip versions and shares.
    public var pip: [Weighted]
    /// CPU (`armv7l`, `armv6l`, `aarch64`, `x86_64`) and shares.
    public var cpu: [Weighted]
    /// Distributions written `NAME VERSION (ID)` (`Raspbian GNU/Linux 10 (buster)`) and shares.
    public var distro: [Weighted]
    /// Share of clients whose pip reports `ci: true`.
    public var ci: Double
    /// How unevenly downloads spread over clients (1 = evenly; 2 = a few busy clients).
    public var skew: Double

    public init(count: Int, python: [Weighted], pip: [Weighted], cpu: [Weighted], distro: [Weighted], ci: Double = 0, skew: Double = 2) {
        self.count = count
        self.python = python
        self.pip = pip
        self.cpu = cpu
        self.distro = distro
        self.ci = ci
        self.skew = skew
    }
}

/// A value with a weight.
public struct Weighted: Sendable, Hashable {
    public var value: String
    public var weight: Double
    public init(_ value: String, _ weight: Double) {
        self.value = value
        self.weight = weight
    }
}

/// What files this index serves for a package.
public enum PackageKind: String, Sendable, Hashable {
    /// A pure-Python wheel (`py2.py3-none-any`, `py3-none-any`).
    case pure
    /// A platform wheel per Python version and CPU (`cp37-cp37m-linux_armv7l`); only ARM clients fetch it.
    case platform
    /// Only a source distribution (`.tar.gz`).
    case sdist
}

/// A file kind on the reference index (PyPI), for the catalog.
public enum ReferenceFile: String, Sendable, Hashable {
    /// A pure wheel (`py2.py3-none-any` or `py3-none-any` depending on the Python support).
    case wheel
    /// A source distribution.
    case sdist
    /// `manylinux1_x86_64` wheels for each supported CPython (no ARM wheels, as on PyPI in 2020).
    case manylinux
}

/// A package of the index.
public struct PackageSpec: Sendable, Hashable {
    /// The project's name as it writes it (`Flask-Login`).
    public var name: String
    /// Relative popularity; written as downloads per day at the scenario's typical volume.
    public var weight: Double
    public var kind: PackageKind
    /// Oldest first; the last is the newest.
    public var versions: [VersionSpec]
    /// Requirements (PEP 508) of every version that does not give its own.
    public var requires: [String]
    public var summary: String?
    /// Share of downloads that take the newest version a client can use (the rest spread over older ones).
    public var latestShare: Double
    /// Whether the catalog gets documents for it (the long tail's generated packages get none).
    public var inCatalog: Bool

    public init(
        name: String, weight: Double, kind: PackageKind = .pure, versions: [VersionSpec], requires: [String] = [],
        summary: String? = nil, latestShare: Double = 0.85, inCatalog: Bool = true
    ) {
        self.inCatalog = inCatalog
        self.name = name
        self.weight = weight
        self.kind = kind
        self.versions = versions
        self.requires = requires
        self.summary = summary
        self.latestShare = latestShare
    }

    public var normalizedName: String { ProjectName.normalize(name) }
}

/// Many small packages with generated names (`rpi-bme280`, `pyservo`), so the listed packages
/// keep realistic shares of the traffic without listing thousands. Not in the catalog.
public struct LongTail: Sendable, Hashable {
    public var packages: Int
    /// Their combined weight (in the same unit as package weights).
    public var weight: Double
    /// Share of them that are platform wheels (the rest are pure).
    public var platformShare: Double

    public init(packages: Int, weight: Double, platformShare: Double = 0.5) {
        self.packages = packages
        self.weight = weight
        self.platformShare = platformShare
    }

    static let prefixes = [
        "", "py", "rpi-", "adafruit-circuitpython-", "python-", "pi-", "micro", "flask-", "django-", "home-", "open", "smart-"
    ]
    static let words = [
        "sensor", "bme280", "ds18b20", "mqtt", "gpio", "led", "lcd", "servo", "camera", "stepper", "weather", "ble", "zigbee",
        "modbus", "can", "i2c", "spi", "oled", "neopixel", "dht", "hx711", "ads1x15", "mpu6050", "relay", "lora", "gps",
        "thermostat", "pwm", "sonar", "buzzer", "joystick", "keypad", "rfid", "nfc", "epaper", "inky", "unicorn", "scroll",
        "envirophat", "sensehat", "tinkerforge", "hue", "sonos", "kodi", "octo", "printer", "telegram", "discord", "slack",
        "influx", "grafana", "prometheus", "exporter", "logger", "scheduler", "cron", "backup", "sync", "vision", "speech",
        "audio", "midi", "radio", "tv", "display", "touch", "robot", "motor", "drone", "rover", "car", "boat", "garden"
    ]

    /// The generated packages, deterministic (names do not depend on the seed).
    public func expand(avoiding taken: Set<String>) -> [PackageSpec] {
        var out: [PackageSpec] = []
        var used = taken
        var i = 0
        let harmonic = (0..<packages).reduce(0.0) { $0 + 1 / Double($1 + 40) }
        while out.count < packages, i < packages * 20 {
            let w = LongTail.words[i % LongTail.words.count]
            let p = LongTail.prefixes[(i / LongTail.words.count + i * 7) % LongTail.prefixes.count]
            var name = p + w
            if i >= LongTail.words.count * LongTail.prefixes.count { name += "\(i / (LongTail.words.count * LongTail.prefixes.count) + 1)" }
            i += 1
            guard used.insert(ProjectName.normalize(name)).inserted else { continue }
            let k = out.count
            let platform = Double((k * 37) % 100) / 100 < platformShare
            let major = k % 3
            let minor = (k * 7) % 10
            out.append(
                PackageSpec(
                    name: name, weight: weight * (1 / Double(k + 40)) / harmonic, kind: platform ? .platform : .pure,
                    versions: [VersionSpec(version: "\(major).\(minor).0"), VersionSpec(version: "\(major).\(minor).\(1 + k % 4)")],
                    latestShare: 0.8, inCatalog: false))
        }
        return out
    }
}

/// One release of a package.
public struct VersionSpec: Sendable, Hashable {
    public var version: String
    /// Upload time (epoch seconds UTC); downloads start after it.
    public var released: Int64?
    public var requiresPython: String?
    /// Its own requirements, when they differ from the package's.
    public var requires: [String]?
    /// Files PyPI (the reference index) has for it; nil: the usual ones for the package kind.
    public var reference: [ReferenceFile]?
    /// The wheel's Python tag for pure wheels (`py2.py3`, `py3`); nil: from `requires_python`.
    public var pythonTag: String?

    public init(
        version: String, released: Int64? = nil, requiresPython: String? = nil, requires: [String]? = nil,
        reference: [ReferenceFile]? = nil, pythonTag: String? = nil
    ) {
        self.version = version
        self.released = released
        self.requiresPython = requiresPython
        self.requires = requires
        self.reference = reference
        self.pythonTag = pythonTag
    }
}

/// A project that depends on the index's packages (only in the catalog: its releases and requirements).
public struct DownstreamProject: Sendable, Hashable {
    public var name: String
    public var summary: String?
    /// A decoy: documented as such in the summary; the simulator treats it like any other.
    public var decoy: Bool
    public var releases: [DownstreamRelease]

    public init(name: String, summary: String? = nil, decoy: Bool = false, releases: [DownstreamRelease]) {
        self.name = name
        self.summary = summary
        self.decoy = decoy
        self.releases = releases
    }
}

/// One release of a downstream project.
public struct DownstreamRelease: Sendable, Hashable {
    public var version: String
    public var released: Int64
    public var requiresPython: String?
    public var requiresDist: [String]
    /// Files on the reference index (default: sdist and wheel).
    public var files: [ReferenceFile]

    public init(
        version: String, released: Int64, requiresPython: String? = nil, requiresDist: [String], files: [ReferenceFile] = [.sdist, .wheel]
    ) {
        self.version = version
        self.released = released
        self.requiresPython = requiresPython
        self.requiresDist = requiresDist
        self.files = files
    }
}

/// Something that happens on top of the baseline.
public enum Incident: Sendable, Hashable {
    case releaseUpgrade(ReleaseUpgrade)
    case freshInstall(FreshInstall)
    case mirror(Mirror)
    case outage(Outage)
    case holiday(Holiday)
    case logGap(LogGap)
    case clientStops(SteadyClient)
    case countryDrop(CountryDrop)
    case packageTraffic(PackageTraffic)

    /// The `type` written in YAML.
    public var type: String {
        switch self {
        case .releaseUpgrade: "release-upgrade"
        case .freshInstall(let f): f.ci ? "ci-farm" : "fresh-install"
        case .mirror: "mirror"
        case .outage: "outage"
        case .holiday: "holiday"
        case .logGap: "log-gap"
        case .clientStops: "client-stops"
        case .countryDrop: "country-drop"
        case .packageTraffic(let p): p.ramp ? "ramp" : "package-spike"
        }
    }

    public var name: String {
        switch self {
        case .releaseUpgrade(let r): r.name
        case .freshInstall(let f): f.name
        case .mirror(let m): m.name
        case .outage(let o): o.name
        case .holiday(let h): h.name
        case .logGap(let l): l.name
        case .clientStops(let c): c.name
        case .countryDrop(let c): c.name
        case .packageTraffic(let p): p.name
        }
    }
}

/// How many downloads (or what day total) an incident adds on one day.
public enum DaySize: Sendable, Hashable {
    /// The incident adds this many downloads.
    case downloads(Int)
    /// The incident adds what makes the day's total downloads this number (the baseline and other incidents included).
    case total(Int)
}

/// One day of an incident and its size.
public struct IncidentDay: Sendable, Hashable {
    public var day: Int64
    public var size: DaySize
    public init(day: Int64, size: DaySize) {
        self.day = day
        self.size = size
    }
}

/// Existing installs of a downstream project upgrade some packages after its release: each
/// upgrading client fetches the listed packages (not their dependencies, already satisfied).
public struct ReleaseUpgrade: Sendable, Hashable {
    public var name: String
    /// The downstream project and the release that triggers the upgrades.
    public var project: String
    public var version: String
    /// Clients whose Python starts with this (`2.7`, `3`); nil: any.
    public var python: String?
    /// What each upgrading client fetches.
    public var upgrades: [Upgrade]
    /// Share of upgrading clients that use this index as their *primary* index. Clients that
    /// use it as an extra index fetch a file here only when the reference index has no
    /// equally good wheel (see ``VersionSpec/reference``).
    public var primary: Double
    /// Size per day, in day order.
    public var days: [IncidentDay]
    /// Seconds between two downloads of one client's session.
    public var sessionGap: Int

    public init(
        name: String, project: String, version: String, python: String?, upgrades: [Upgrade], primary: Double = 1,
        days: [IncidentDay], sessionGap: Int = 4
    ) {
        self.name = name
        self.project = project
        self.version = version
        self.python = python
        self.upgrades = upgrades
        self.primary = primary
        self.days = days
        self.sessionGap = sessionGap
    }

    /// Spreads `downloads` over `count` days from `start`, each day `decay` times the previous.
    public static func decaying(downloads: Int, start: Int64, count: Int, decay: Double) -> [IncidentDay] {
        let ws = (0..<count).map { pow(decay, Double($0)) }
        let total = ws.reduce(0, +)
        var left = downloads
        return ws.enumerated().map { i, w in
            let n = i == count - 1 ? left : Int((Double(downloads) * w / total).rounded())
            left -= n
            return IncidentDay(day: start + Int64(i), size: .downloads(n))
        }
    }
}

/// One package an upgrading client fetches.
public struct Upgrade: Sendable, Hashable {
    public var package: String
    public var version: String
    /// Downloads of this file per client and session (2: fetched twice).
    public var repeatCount: Int

    public init(package: String, version: String, repeatCount: Int = 1) {
        self.package = package
        self.version = version
        self.repeatCount = repeatCount
    }
}

/// A few clients (CI runners, or fresh installs) installing a full requirement set again and again.
public struct FreshInstall: Sendable, Hashable {
    public var name: String
    /// Whether pip reports `ci: true` (a CI farm).
    public var ci: Bool
    public var clients: Int
    public var python: String
    public var pip: String
    /// CPUs of the runners, cycled over clients.
    public var cpus: [String]
    public var distro: String
    public var start: Int64
    public var end: Int64
    /// Install sessions in total.
    public var installs: Int
    /// Packages installed (name or `name==version`); their dependencies among the index's packages are added.
    public var install: [String]
    /// Or a downstream release whose requirements are installed.
    public var project: String?
    public var version: String?

    public init(
        name: String, ci: Bool, clients: Int, python: String, pip: String, cpus: [String], distro: String,
        start: Int64, end: Int64, installs: Int, install: [String], project: String? = nil, version: String? = nil
    ) {
        self.name = name
        self.ci = ci
        self.clients = clients
        self.python = python
        self.pip = pip
        self.cpus = cpus
        self.distro = distro
        self.start = start
        self.end = end
        self.installs = installs
        self.install = install
        self.project = project
        self.version = version
    }
}

/// A mirror client downloading every file of every package once (or of the listed packages;
/// several clients: several mirrors, each fetching them once).
public struct Mirror: Sendable, Hashable {
    public var name: String
    public var start: Int64
    /// How long the sync takes, in hours.
    public var hours: Double
    /// The user agent (`bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)`).
    public var agent: String
    /// Mirror clients (each its own address), each fetching every file once.
    public var clients: Int
    /// The packages synced (names); empty: all.
    public var packages: [String]

    public init(
        name: String, start: Int64, hours: Double, agent: String = "bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)",
        clients: Int = 1, packages: [String] = []
    ) {
        self.name = name
        self.start = start
        self.hours = hours
        self.agent = agent
        self.clients = clients
        self.packages = packages
    }
}

/// Traffic near zero between two times.
public struct Outage: Sendable, Hashable {
    public var name: String
    public var start: Int64
    public var end: Int64
    /// Share of traffic that still gets through (0.02).
    public var factor: Double
    /// nil: the requests that do not get through never reach the log (the server or network is
    /// down). A status (503): the server is up but failing; every request that does not get
    /// through is still logged, answered with this status and a small error page.
    public var status: Int?
    /// With a status: how many times a client asks again after an error answer (pip retries a 503
    /// five times by default, waiting 0, 0.5, 1, 2 and 4 seconds); each retry is another logged line.
    public var retries: Int

    public init(name: String, start: Int64, end: Int64, factor: Double = 0.02, status: Int? = nil, retries: Int = 0) {
        self.retries = retries
        self.name = name
        self.start = start
        self.end = end
        self.factor = factor
        self.status = status
    }
}

/// Hours missing from the logs: traffic was normal, but no line was written (or the file
/// part was lost). Every format loses them.
public struct LogGap: Sendable, Hashable {
    public var name: String
    public var start: Int64
    public var end: Int64

    public init(name: String, start: Int64, end: Int64) {
        self.name = name
        self.start = start
        self.end = end
    }
}

/// One busy non-human client that works every day during the baseline (a mirror syncing many
/// projects, or a CI runner) and stops from a time on: the incident is its absence.
public struct SteadyClient: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// A mirror tool (bandersnatch user agent), fetching files of many projects.
        case mirror
        /// A CI runner (pip, `ci: true`, x86-64), fresh-installing the listed packages.
        case ci
    }
    public var name: String
    public var kind: Kind
    /// The mirror's user agent (mirror kind).
    public var agent: String
    /// When it starts working (epoch seconds) and when it stops (no download from then on).
    public var start: Int64
    public var stop: Int64
    /// Downloads per day while it works.
    public var daily: Int
    /// Hour (UTC) its daily run begins, and how long it lasts.
    public var at: Double
    public var hours: Double
    /// Packages it fetches (names; empty: every catalog package of the baseline).
    public var packages: [String]

    public init(
        name: String, kind: Kind = .mirror, agent: String = "bandersnatch/3.6.0 (cpython 3.7.3-final0, Linux x86_64)",
        start: Int64, stop: Int64, daily: Int, at: Double = 2, hours: Double = 3, packages: [String] = []
    ) {
        self.name = name
        self.kind = kind
        self.agent = agent
        self.start = start
        self.stop = stop
        self.daily = daily
        self.at = at
        self.hours = hours
        self.packages = packages
    }
}

/// Baseline clients of one country stop downloading for a while (a national network problem, a
/// block). Only BigQuery rows carry a country; in a combined log their addresses just vanish.
public struct CountryDrop: Sendable, Hashable {
    public var name: String
    /// ISO 3166 code as BigQuery writes it (`DE`).
    public var country: String
    public var start: Int64
    public var end: Int64
    /// Share of that country's downloads that still happen.
    public var factor: Double

    public init(name: String, country: String, start: Int64, end: Int64, factor: Double = 0) {
        self.name = name
        self.country = country
        self.start = start
        self.end = end
        self.factor = factor
    }
}

/// Extra downloads of one package (optionally one version, and one Python) by the population's
/// ordinary clients: a slow ramp of adoption (`ramp`) or a spike (`package-spike`).
public struct PackageTraffic: Sendable, Hashable {
    public var name: String
    /// Written as `ramp` (true) or `package-spike`.
    public var ramp: Bool
    public var package: String
    /// A pinned version (any version, pre-releases included); nil: the newest stable one a client can use.
    public var version: String?
    /// Clients whose Python starts with this; nil: any.
    public var python: String?
    /// Extra downloads per day, in day order.
    public var days: [IncidentDay]

    public init(name: String, ramp: Bool, package: String, version: String? = nil, python: String? = nil, days: [IncidentDay]) {
        self.name = name
        self.ramp = ramp
        self.package = package
        self.version = version
        self.python = python
        self.days = days
    }

    /// A ramp: from `start`, `downloads × (k + 1) / rampDays` extra on day k of the ramp, then
    /// `downloads` a day until `end` (inclusive).
    public static func rampDays(start: Int64, rampDays: Int, downloads: Int, end: Int64) -> [IncidentDay] {
        guard end >= start else { return [] }
        return (start...end).map { d in
            let k = Int(d - start)
            return IncidentDay(day: d, size: .downloads(k < rampDays ? downloads * (k + 1) / rampDays : downloads))
        }
    }
}

/// Whether a version string is a pre-release or development release (`2.0.0rc1`, `1.0a2`,
/// `3.0.dev4`): pip ignores them unless asked (`--pre`, or a pin).
public func isPreRelease(_ version: String) -> Bool {
    let v = version.lowercased()
    if v.contains("dev") { return true }
    var sawDigit = false
    for ch in v {
        if ch.isNumber {
            sawDigit = true
            continue
        }
        if sawDigit, ch == "a" || ch == "b" || ch == "c" || ch == "r" { return true }
        if ch == "+" { return false }
    }
    return false
}

/// A quieter day.
public struct Holiday: Sendable, Hashable {
    public var name: String
    public var day: Int64
    public var factor: Double

    public init(name: String, day: Int64, factor: Double = 0.8) {
        self.name = name
        self.day = day
        self.factor = factor
    }
}

extension DaySize {
    var label: String {
        switch self {
        case .downloads(let n): "downloads \(n)"
        case .total(let n): "total \(n)"
        }
    }
}
