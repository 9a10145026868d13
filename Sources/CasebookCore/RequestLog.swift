import Foundation

/// The HTTP status classes a web server's log records.
public enum StatusClass: String, Sendable, Codable, Hashable, CaseIterable {
    case success = "2xx"
    case redirect = "3xx"
    case clientError = "4xx"
    case serverError = "5xx"
    /// A status outside 200–599 (`0`, `999`): logged, but not an HTTP answer.
    case other

    public init(status: Int) {
        switch status {
        case 200..<300: self = .success
        case 300..<400: self = .redirect
        case 400..<500: self = .clientError
        case 500..<600: self = .serverError
        default: self = .other
        }
    }
}

/// Request lines of one hour with one status code, downloads included: what an access log
/// says about the server's answers, as opposed to what clients downloaded.
public struct RequestCount: Sendable, Hashable, Codable {
    /// The hour's start (UTC epoch seconds, a multiple of 3600).
    public var hour: Int64
    /// The HTTP status code.
    public var status: Int
    public var count: Int64

    public init(hour: Int64, status: Int, count: Int64) {
        self.hour = hour
        self.status = status
        self.count = count
    }
}

/// A store that keeps, per hour, how many request lines its access logs hold by status code.
///
/// Downloads alone cannot tell a fall in demand from a server that answered with errors, or from
/// a log with missing hours: a server that answered 503 to every request and a log with no
/// lines both show as no downloads. Access logs (the `combined` format) carry every request and
/// the server's answer; counts files and BigQuery rows do not, and their hours are not covered.
public protocol RequestLogStore: EventStore {
    /// Request lines per hour and status code in `range` (hours without lines are absent).
    func requestCounts(in range: TimeRange) async throws -> [RequestCount]
    /// The hours covered by request logs: from the first to the last hour with a logged line,
    /// or `nil` when the store holds no access log.
    func requestLogSpan() async throws -> TimeRange?
}

/// What a store can answer beyond download aggregates, so that an analyzer that needs what the
/// data lacks says so (and is skipped) instead of failing or guessing.
public struct StoreCoverage: Sendable, Hashable, Codable {
    /// The finest time bucket the data supports: `hour` when events carry times of day, `day`
    /// for daily counts (a pypistats or BigQuery daily export).
    public var resolution: TimeBucket
    /// Whether downloads carry client keys (access logs do; counts and BigQuery rows do not).
    public var hasClients: Bool
    /// The hours covered by request logs (status classes and silent hours), if any.
    public var requestLogSpan: TimeRange?
    /// Dimensions that hold at least one known value.
    public var dimensionsWithValues: [Dimension]

    public init(resolution: TimeBucket, hasClients: Bool, requestLogSpan: TimeRange?, dimensionsWithValues: [Dimension]) {
        self.resolution = resolution
        self.hasClients = hasClients
        self.requestLogSpan = requestLogSpan
        self.dimensionsWithValues = dimensionsWithValues
    }

    /// Works out a store's coverage from aggregate queries (each answered from a rollup where
    /// the store keeps one; the client check reads at most the events of one day).
    public static func of(_ store: any EventStore) async throws -> StoreCoverage {
        let info = try await store.info()
        guard let first = info.firstEvent, let last = info.lastEvent else {
            return StoreCoverage(resolution: .day, hasClients: false, requestLogSpan: nil, dimensionsWithValues: [])
        }
        let all = TimeRange(from: TimeBucket.day.start(of: first), to: TimeBucket.day.start(of: last) + 86400)
        let hours = try await store.aggregate(AggregateQuery(bucket: .hour, range: all))
        let resolution: TimeBucket = hours.rows.contains { ($0.bucketStart ?? 0) % 86400 != 0 } ? .hour : .day
        var with: [Dimension] = []
        for d in Dimension.allCases where d != .client {
            let t = try await store.aggregate(AggregateQuery(dimensions: [d], range: all, top: 2))
            if t.rows.contains(where: { $0.values[0] != nil }) { with.append(d) }
        }
        // Clients: the busiest day is enough to see whether keys exist at all.
        let days = try await store.aggregate(AggregateQuery(bucket: .day, range: all))
        var hasClients = false
        if let busiest = days.rows.max(by: { $0.downloads < $1.downloads })?.bucketStart {
            let t = try await store.aggregate(
                AggregateQuery(dimensions: [.client], range: TimeRange(from: busiest, to: busiest + 86400), top: 2))
            hasClients = t.rows.contains { $0.values[0] != nil }
        }
        if hasClients { with.append(.client) }
        let span = try await (store as? any RequestLogStore)?.requestLogSpan()
        return StoreCoverage(resolution: resolution, hasClients: hasClients, requestLogSpan: span, dimensionsWithValues: with)
    }
}
