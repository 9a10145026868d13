import CasebookCore

/// Where one ingest writes: events, quarantined lines and request counts, each row tagged with
/// the ingest's id and sent in batched `INSERT ... FORMAT TabSeparated` requests. Nothing it
/// writes is visible until the store inserts the ingest's `commits` row (see ``ClickHouseSchema``).
final class ClickHouseIngestSink: IngestSink {
    /// Events per `INSERT` request.
    static let batchSize = 100_000

    private let client: ClickHouseClient
    private let ingestID: UInt64
    private let sourceID: Int64
    private var events = TabSeparatedWriter(reserve: 16 << 20)
    private var quarantined = TabSeparatedWriter()
    private var requestCounts = TabSeparatedWriter()
    /// Events and downloads written (for the commit row).
    private(set) var eventRows: Int64 = 0

    init(client: ClickHouseClient, ingestID: UInt64, sourceID: Int64) {
        self.client = client
        self.ingestID = ingestID
        self.sourceID = sourceID
    }

    private var database: String { client.url.database }

    func add(_ e: DownloadEvent) throws {
        Self.write(e, ingestID: ingestID, sourceID: sourceID, into: &events)
        eventRows += 1
        if events.rows >= Self.batchSize { try flushEvents() }
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

    /// One `events` row, in the columns ``eventInsert(database:)`` names.
    static func write(_ e: DownloadEvent, ingestID: UInt64, sourceID: Int64, into events: inout TabSeparatedWriter) {
        events.int(ingestID)
        events.int(sourceID)
        events.int(e.timestamp)
        events.int(e.count)
        for v in [
            e.project, e.projectDisplay, e.version, e.filename, e.fileType, e.pythonTag, e.abiTag, e.platformTag,
            e.installer, e.installerVersion, e.python, e.pythonMajor, e.pythonMinor, e.implementation, e.implementationVersion,
            e.distro, e.distroVersion, e.distroID, e.libc, e.libcVersion, e.openssl, e.opensslVersion,
            e.system, e.systemRelease, e.cpu, e.ci.map { $0 ? "true" : "false" }, e.country, e.index, e.client
        ] { events.text(v) }
        events.endRow()
    }

    /// The statement that inserts ``write(_:ingestID:sourceID:into:)``'s rows.
    static func eventInsert(database: String) -> String {
        let columns = (ClickHouseSchema.eventFixedColumns + ClickHouseSchema.eventTextColumns).joined(separator: ", ")
        return "INSERT INTO \(ClickHouseSchema.table(database, "events")) (\(columns)) FORMAT TabSeparated"
    }

    private func flushEvents() throws {
        guard !events.isEmpty else { return }
        try client.insert(Self.eventInsert(database: database), rows: events.bytes)
        events.reset()
    }

    private func flushQuarantine() throws {
        guard !quarantined.isEmpty else { return }
        try client.insert(
            "INSERT INTO \(ClickHouseSchema.table(database, "quarantine")) (ingest_id, source_id, line, reason, raw) FORMAT TabSeparated",
            rows: quarantined.bytes)
        quarantined.reset()
    }

    /// Sends everything still buffered (before the commit row).
    func flush() throws {
        try flushEvents()
        try flushQuarantine()
        if !requestCounts.isEmpty {
            try client.insert(
                "INSERT INTO \(ClickHouseSchema.table(database, "request_counts")) (ingest_id, hour, status, count) FORMAT TabSeparated",
                rows: requestCounts.bytes)
            requestCounts.reset()
        }
    }
}
