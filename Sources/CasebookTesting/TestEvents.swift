import CasebookAnalysis
import CasebookCore
import Foundation

/// A few download events for a test, built in a few lines, answered in memory (no SQLite).
///
/// ```swift
/// var events = TestEvents()
/// events.daily("flask", from: "2020-02-01", counts: [100, 100, 100, 400])
/// events.add("Flask_Login-0.5.0-py2.py3-none-any.whl", days: days("2020-03-04", 3), perDay: 50,
///            clients: TestEvents.Client.many(10))
/// let store = events.store
/// ```
public struct TestEvents: Sendable {
    public var events: [DownloadEvent] = []
    /// Request lines per hour and status, for analyzers that read the server's answers
    /// (`log-health`); see ``logRequests(hour:status:count:)``.
    public var requests: [RequestCount] = []

    public init() {}

    /// Builds the events with a closure: `TestEvents { $0.daily(...) }`.
    public init(_ build: (inout TestEvents) -> Void) {
        build(&self)
    }

    /// A client as pip reports itself in its user agent.
    public struct Client: Sendable, Hashable {
        public var python: String
        public var cpu: String?
        public var system: String?
        public var ci: Bool?
        public var installer: String
        public var installerVersion: String?
        /// The salted client key the store would keep.
        public var key: String

        public init(
            python: String = "3.8.2", cpu: String? = "x86_64", system: String? = "Linux", ci: Bool? = nil,
            installer: String = "pip", installerVersion: String? = "20.0.2", key: String = "c-0"
        ) {
            self.python = python
            self.cpu = cpu
            self.system = system
            self.ci = ci
            self.installer = installer
            self.installerVersion = installerVersion
            self.key = key
        }

        /// `n` distinct clients alike but for their keys (`prefix-0` … `prefix-(n-1)`).
        public static func many(_ n: Int, like client: Client = Client(), prefix: String = "c") -> [Client] {
            (0..<n).map {
                var c = client
                c.key = "\(prefix)-\($0)"
                return c
            }
        }
    }

    /// `perDay` downloads of a distribution file on each of `days` (`YYYY-MM-DD`), spread over
    /// the day's working hours and over `clients` in turn. Project, version and file type come
    /// from the file name, as ingest reads them.
    public mutating func add(
        _ filename: String, days: [String], perDay: Int, clients: [Client] = [Client()],
        index: String = "test-index"
    ) {
        precondition(!clients.isEmpty, "add(_:days:perDay:clients:) needs at least one client")
        for (d, day) in days.enumerated() {
            guard let start = UTCTime.parse(day) else { preconditionFailure("not a date: \(day)") }
            for i in 0..<perDay {
                let c = clients[(i + d * perDay) % clients.count]
                var e = DownloadEvent(timestamp: start + Int64(8 * 3600 + (i * 37) % 36000))
                e.filename = filename
                e.python = c.python
                e.implementation = "CPython"
                e.cpu = c.cpu
                e.system = c.system
                e.ci = c.ci
                e.installer = c.installer
                e.installerVersion = c.installerVersion
                e.client = c.key
                e.index = index
                e.fillFromFilename()
                events.append(e)
            }
        }
    }

    /// Daily download counts of one project, as a counts CSV (`date,project,downloads`) holds
    /// them: one event per day at midnight carrying the day's count. `nil` leaves a day out
    /// (a gap in the data, not a zero).
    public mutating func daily(
        _ project: String?, from firstDay: String, counts: [Int?],
        dimensions: [CasebookCore.Dimension: String] = [:]
    ) {
        guard let start = UTCTime.parse(firstDay) else { preconditionFailure("not a date: \(firstDay)") }
        for (i, n) in counts.enumerated() {
            guard let n, n > 0 else { continue }
            add(count: Int64(n), at: start + Int64(i) * 86400, project: project, dimensions: dimensions)
        }
    }

    /// Hourly download counts of one project from `firstHour` (an ISO 8601 time on the hour).
    public mutating func hourly(
        _ project: String?, from firstHour: String, counts: [Int?],
        dimensions: [CasebookCore.Dimension: String] = [:]
    ) {
        guard let start = UTCTime.parse(firstHour) else { preconditionFailure("not a time: \(firstHour)") }
        for (i, n) in counts.enumerated() {
            guard let n, n > 0 else { continue }
            add(count: Int64(n), at: start + Int64(i) * 3600, project: project, dimensions: dimensions)
        }
    }

    /// One event of `count` downloads at `time` with the given values.
    public mutating func add(count: Int64, at time: Int64, project: String?, dimensions: [CasebookCore.Dimension: String] = [:]) {
        var e = DownloadEvent(timestamp: time, count: count)
        e.project = project.map(ProjectName.normalize)
        for (d, v) in dimensions { e.set(d, v) }
        events.append(e)
    }

    /// Request lines the server logged in one hour with one status (downloads are not added
    /// automatically: log them too when a test needs the whole log).
    public mutating func logRequests(hour: String, status: Int, count: Int64) {
        guard let t = UTCTime.parse(hour) else { preconditionFailure("not a time: \(hour)") }
        requests.append(RequestCount(hour: TimeBucket.hour.start(of: t), status: status, count: count))
    }

    /// The events as a store answering aggregate queries in memory, with the same semantics as
    /// every backend (``ReferenceAggregator``); it also answers request counts when any were logged.
    public var store: TestStore { TestStore(events: events, requests: requests) }
}

/// An in-memory store for tests: aggregates over an array of events, and request lines by hour
/// and status when the test logged any (else it is a store without access logs).
public struct TestStore: RequestLogStore {
    public var events: [DownloadEvent]
    public var requests: [RequestCount]

    public init(events: [DownloadEvent], requests: [RequestCount] = []) {
        self.events = events
        self.requests = requests
    }

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        ReferenceAggregator.aggregate(query, over: events)
    }

    public func info() async throws -> StoreInfo {
        try await InMemoryEventStore(events: events).info()
    }

    public func requestCounts(in range: TimeRange) async throws -> [RequestCount] {
        requests.filter { range.contains($0.hour) }.sorted { ($0.hour, $0.status) < ($1.hour, $1.status) }
    }

    public func requestLogSpan() async throws -> TimeRange? {
        guard let first = requests.map(\.hour).min(), let last = requests.map(\.hour).max() else { return nil }
        return TimeRange(from: first, to: last + 3600)
    }
}

/// Consecutive days from `first` (inclusive), as `YYYY-MM-DD`.
public func days(_ first: String, _ count: Int) -> [String] {
    guard let start = UTCTime.parse(first) else { preconditionFailure("not a date: \(first)") }
    return (0..<count).map { UTCTime.dateString(start + Int64($0) * 86400) }
}

extension DownloadEvent {
    /// Sets the stored value behind a dimension (derived ones, such as `python_major`, follow
    /// from `python`). For tests that build events by dimension.
    mutating func set(_ dimension: CasebookCore.Dimension, _ value: String) {
        switch dimension {
        case .project: project = ProjectName.normalize(value)
        case .version: version = value
        case .filename:
            filename = value
            fillFromFilename()
        case .fileType: fileType = value
        case .python: python = value
        case .implementation: implementation = value
        case .installer: installer = value
        case .installerVersion: installerVersion = value
        case .distro: distro = value
        case .distroVersion: distroVersion = value
        case .system: system = value
        case .cpu: cpu = value
        case .ci: ci = value == "true"
        case .country: country = value
        case .index: index = value
        case .client: client = value
        default: preconditionFailure("`\(dimension.rawValue)` is derived from another dimension; set that one")
        }
    }
}
