import CasebookCore
import Foundation

/// Where one ingest writes: events, quarantined lines and request counts, each row tagged with
/// the ingest's id. Nothing it writes is visible until the store inserts the ingest's `commits`
/// row (see ``ClickHouseSchema``).
///
/// Events go as `RowBinary` (no escaping to write, nothing to unescape for the server) in
/// inserts of ``rowsPerInsert`` rows, each sent on another thread while the next is written
/// (one in flight at most): the server stores a batch, through the rollups' views, while the
/// log's next lines are parsed. Quarantined lines and request counts, few, go as `TabSeparated`.
final class ClickHouseIngestSink: IngestSink {
    /// Events per insert request by default.
    static let defaultRowsPerInsert = 100_000
    /// Quarantined lines per insert request.
    static let batchSize = 100_000

    private let client: ClickHouseClient
    private let ingestID: UInt64
    private let sourceID: Int64
    /// Events per insert request.
    let rowsPerInsert: Int
    private var events: RowBinaryWriter
    private let inFlight = InsertInFlight()
    private var quarantined = TabSeparatedWriter()
    private var requestCounts = TabSeparatedWriter()
    /// Events and downloads written (for the commit row).
    private(set) var eventRows: Int64 = 0

    init(client: ClickHouseClient, ingestID: UInt64, sourceID: Int64, rowsPerInsert: Int = defaultRowsPerInsert) {
        self.client = client
        self.ingestID = ingestID
        self.sourceID = sourceID
        self.rowsPerInsert = max(1, rowsPerInsert)
        events = RowBinaryWriter(reserve: min(self.rowsPerInsert, 100_000) * 256)
    }

    private var database: String { client.url.database }

    func add(_ e: DownloadEvent) throws {
        Self.write(e, ingestID: ingestID, sourceID: sourceID, into: &events)
        eventRows += 1
        if events.rows >= rowsPerInsert { try sendEvents() }
    }

    func quarantine(line: Int64, reason: String, redactedLine: String) throws {
        quarantined.int(ingestID)
        quarantined.int(sourceID)
        quarantined.int(line)
        quarantined.text(reason)
        quarantined.text(redactedLine)
        quarantined.endRow()
        if quarantined.rows >= Self.batchSize { try flushQuarantine() }
    }

    func addRequestCounts(_ counts: [RequestCount]) throws {
        for c in counts {
            requestCounts.int(ingestID)
            requestCounts.int(c.hour)
            requestCounts.int(c.status)
            requestCounts.int(c.count)
            requestCounts.endRow()
        }
    }

    /// One `events` row, in the columns ``eventInsert(database:)`` names (in
    /// ``ClickHouseSchema/eventTextColumns``' order after the fixed ones).
    static func write(_ e: DownloadEvent, ingestID: UInt64, sourceID: Int64, into events: inout RowBinaryWriter) {
        events.int64(ingestID)
        events.int64(sourceID)
        events.int64(e.timestamp)
        events.int64(e.count)
        events.nullableText(e.project)
        events.nullableText(e.projectDisplay)
        events.nullableText(e.version)
        events.nullableText(e.filename)
        events.nullableText(e.fileType)
        events.nullableText(e.pythonTag)
        events.nullableText(e.abiTag)
        events.nullableText(e.platformTag)
        events.nullableText(e.installer)
        events.nullableText(e.installerVersion)
        events.nullableText(e.python)
        events.nullableText(e.pythonMajor)
        events.nullableText(e.pythonMinor)
        events.nullableText(e.implementation)
        events.nullableText(e.implementationVersion)
        events.nullableText(e.distro)
        events.nullableText(e.distroVersion)
        events.nullableText(e.distroID)
        events.nullableText(e.libc)
        events.nullableText(e.libcVersion)
        events.nullableText(e.openssl)
        events.nullableText(e.opensslVersion)
        events.nullableText(e.system)
        events.nullableText(e.systemRelease)
        events.nullableText(e.cpu)
        events.nullableText(e.ci.map { $0 ? "true" : "false" })
        events.nullableText(e.country)
        events.nullableText(e.index)
        events.nullableText(e.client)
        events.endRow()
    }

    /// The statement that inserts ``write(_:ingestID:sourceID:into:)``'s rows.
    static func eventInsert(database: String) -> String {
        let columns = (ClickHouseSchema.eventFixedColumns + ClickHouseSchema.eventTextColumns).joined(separator: ", ")
        return "INSERT INTO \(ClickHouseSchema.table(database, "events")) (\(columns)) FORMAT RowBinary"
    }

    /// Sends the events written so far, once the insert before them has gone.
    private func sendEvents() throws {
        guard !events.isEmpty else { return }
        let client = client
        let sql = Self.eventInsert(database: database)
        let rows = events.take()
        try inFlight.send { try client.insert(sql, rows: rows) }
    }

    private func flushQuarantine() throws {
        guard !quarantined.isEmpty else { return }
        try client.insert(
            "INSERT INTO \(ClickHouseSchema.table(database, "quarantine")) (ingest_id, source_id, line, reason, raw) FORMAT TabSeparated",
            rows: quarantined.bytes)
        quarantined.reset()
    }

    /// Waits for the insert in flight, ignoring its failure (the ingest is failing already).
    func abandon() { try? inFlight.wait() }

    /// Sends everything still buffered and waits until the server has it all (before the
    /// commit row).
    func flush() throws {
        try sendEvents()
        try inFlight.wait()
        try flushQuarantine()
        if !requestCounts.isEmpty {
            try client.insert(
                "INSERT INTO \(ClickHouseSchema.table(database, "request_counts")) (ingest_id, hour, status, count) FORMAT TabSeparated",
                rows: requestCounts.bytes)
            requestCounts.reset()
        }
    }
}

/// One insert request sent on another thread while the caller goes on; the next ``send(_:)`` and
/// ``wait()`` wait for it first, and throw its error.
final class InsertInFlight: @unchecked Sendable {
    private let queue = DispatchQueue(label: "casebook.clickhouse.insert")
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var failure: (any Error)?

    /// Waits for the request in flight (throwing its error), then sends `request`.
    func send(_ request: @escaping @Sendable () throws -> Void) throws {
        try wait()
        queue.async(group: group) { [self] in
            do { try request() } catch { lock.withLock { failure = error } }
        }
    }

    /// Waits until no request is in flight; throws the error of one that failed.
    func wait() throws {
        group.wait()
        let e = lock.withLock { () -> (any Error)? in
            defer { failure = nil }
            return failure
        }
        if let e { throw e }
    }

    deinit { group.wait() }
}
