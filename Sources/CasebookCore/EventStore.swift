import Foundation

/// Read access to downloads: the only way analyzers see data.
///
/// Implementations compute aggregates where the data lives (SQL in SQLite or PostgreSQL).
public protocol EventStore: Sendable {
    /// Answers an aggregate query. Rows come in ``AggregateTable``'s canonical order.
    func aggregate(_ query: AggregateQuery) async throws -> AggregateTable
    /// What the store holds: counts, time span, sources.
    func info() async throws -> StoreInfo
}

/// A summary of a store's content.
public struct StoreInfo: Sendable, Codable, Hashable {
    /// Number of stored event rows.
    public var eventRows: Int64
    /// Sum of their counts (downloads).
    public var downloads: Int64
    /// First and last event time (UTC epoch seconds), when any.
    public var firstEvent: Int64?
    public var lastEvent: Int64?
    public var sources: [SourceInfo]
    /// Quarantined (unparseable) lines, by reason.
    public var quarantined: [String: Int64]
    /// Schema version of the store.
    public var schemaVersion: Int
    /// A description of where the store is (path or URL without password).
    public var location: String

    public init(
        eventRows: Int64, downloads: Int64, firstEvent: Int64?, lastEvent: Int64?, sources: [SourceInfo],
        quarantined: [String: Int64], schemaVersion: Int, location: String
    ) {
        self.eventRows = eventRows
        self.downloads = downloads
        self.firstEvent = firstEvent
        self.lastEvent = lastEvent
        self.sources = sources
        self.quarantined = quarantined
        self.schemaVersion = schemaVersion
        self.location = location
    }
}

/// One ingested source (a file, recognised by its content).
public struct SourceInfo: Sendable, Codable, Hashable {
    /// The store's id of the source (`casebook sources remove ID`), when the store has ids.
    public var id: Int64?
    /// Content fingerprint: SHA-256 (hex) of the first 4 KiB of the source (all of it when
    /// shorter); sources recorded before schema 4 show the hash of their first line.
    public var fingerprint: String
    /// Name the source had when last ingested (informational only).
    public var name: String
    public var format: String
    public var index: String?
    /// Bytes and lines of the (decompressed) content consumed so far.
    public var bytes: Int64
    public var lines: Int64
    public var downloads: Int64
    public var otherRequests: Int64
    public var quarantined: Int64
    public var firstEvent: Int64?
    public var lastEvent: Int64?
    /// When it was last ingested (UTC epoch seconds).
    public var ingestedAt: Int64

    public init(
        fingerprint: String, name: String, format: String, index: String?, bytes: Int64, lines: Int64,
        downloads: Int64, otherRequests: Int64, quarantined: Int64, firstEvent: Int64?, lastEvent: Int64?,
        ingestedAt: Int64, id: Int64? = nil
    ) {
        self.id = id
        self.fingerprint = fingerprint
        self.name = name
        self.format = format
        self.index = index
        self.bytes = bytes
        self.lines = lines
        self.downloads = downloads
        self.otherRequests = otherRequests
        self.quarantined = quarantined
        self.firstEvent = firstEvent
        self.lastEvent = lastEvent
        self.ingestedAt = ingestedAt
    }
}

/// A store whose sources can be removed (with their events, quarantined lines and their part
/// of the rollups), all-or-nothing.
public protocol SourceRemoval {
    /// Removes the source `id`; returns what it was. Throws when there is no such source.
    func removeSource(id: Int64) throws -> SourceInfo
}

/// An in-memory store over an array of events, answering with ``ReferenceAggregator``.
/// For analyzer tests and small data; not for real logs.
public struct InMemoryEventStore: EventStore {
    public var events: [DownloadEvent]

    public init(events: [DownloadEvent]) { self.events = events }

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        ReferenceAggregator.aggregate(query, over: events)
    }

    public func info() async throws -> StoreInfo {
        StoreInfo(
            eventRows: Int64(events.count), downloads: events.reduce(0) { $0 + $1.count },
            firstEvent: events.map(\.timestamp).min(), lastEvent: events.map(\.timestamp).max(),
            sources: [], quarantined: [:], schemaVersion: 0, location: "memory")
    }
}
