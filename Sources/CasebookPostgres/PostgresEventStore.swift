import CasebookCore
import Foundation

/// An event store in PostgreSQL, in Casebook's own schema (`casebook` unless `?schema=` says
/// otherwise): the same guarantees as the embedded store, for teams that outgrow one file.
///
/// Aggregates are one SQL statement each, computed by the server, from the smallest table that
/// answers them exactly: the rollups kept at ingest (``RollupTable``, the same planner as the
/// embedded store's) or the events. Each source is ingested in one
/// transaction (bulk-loaded with `COPY ... FROM STDIN`), so a failing ingest, or a client that
/// dies, leaves the store as it was. Sources are fingerprinted; the client salt lives in the schema.
public final class PostgresEventStore: EventStore, IngestTarget, @unchecked Sendable {
    /// The store's URL (``PostgresURL/redacted`` never shows the password).
    public let url: PostgresURL
    let connection: PGConnection
    let schema: String
    /// Whether queries may read the rollups (`false` reads the events for every query: for tests
    /// that compare both answers). `CASEBOOK_POSTGRES_RAW_EVENTS=1` turns them off in a process.
    public let useRollups: Bool

    /// Connects and creates or migrates Casebook's schema.
    public convenience init(url: String, useRollups: Bool = true) throws {
        try self.init(url: PostgresURL(url), useRollups: useRollups)
    }

    /// Connects and creates or migrates Casebook's schema.
    public init(url: PostgresURL, useRollups: Bool = true) throws {
        guard url.layout == .casebook else { throw PostgresStoreError.readOnly(url.redacted) }
        self.url = url
        self.useRollups = useRollups && ProcessInfo.processInfo.environment["CASEBOOK_POSTGRES_RAW_EVENTS"] != "1"
        connection = try PGConnection(url: url)
        schema = SQL.ident(url.schema)
        try PostgresSchema.migrate(connection, schema: url.schema, salt: ClientKeyer.randomSalt)
    }

    /// Connects to an existing store without creating anything; fails when the schema is missing.
    public static func openExisting(url: PostgresURL) throws -> PostgresEventStore {
        let c = try PGConnection(url: url)
        let exists = try c.execute("SELECT to_regclass($1) IS NOT NULL", [url.schema + ".events"]).rows[0][0] == "t"
        guard exists else {
            throw PostgresStoreError.tableMissing(
                url.redacted, table: url.schema + ".events",
                detail: "no Casebook store here: ingest logs first (`casebook ingest FILE --store URL`); missing")
        }
        return try PostgresEventStore(url: url)
    }

    /// The relation the query builder reads when no rollup answers: the events.
    var relation: PostgresRelation { starRelation(table: "events", time: "e.ts", count: "e.count") }

    /// The relation of a rollup: its time column and downloads.
    func relation(for rollup: RollupTable) -> PostgresRelation {
        starRelation(table: rollup.rawValue, time: "e.\(rollup.timeColumn)", count: "e.downloads")
    }

    /// A table of Casebook's star schema (the events or a rollup, aliased `e`), joined to the
    /// dimension tables a query needs (a rollup is never asked for clients: the planner sees to it).
    private func starRelation(table: String, time: String, count: String) -> PostgresRelation {
        let s = schema
        return PostgresRelation(
            timestamp: time, count: count,
            column: { d in
                let c = StarSchema.column(d)
                return (c.qualified, String(c.table.rawValue))
            },
            from: { joins in
                var from = "\(s).\(table) e"
                if joins.contains("f") { from += " JOIN \(s).files f ON f.id = e.file_id" }
                if joins.contains("p") { from += " JOIN \(s).profiles p ON p.id = e.profile_id" }
                if joins.contains("c") { from += " LEFT JOIN \(s).clients c ON c.id = e.client_id" }
                return from
            },
            timeAtLeast: { "\(time) >= \($0)" },
            timeBefore: { "\(time) < \($0)" })
    }

    // MARK: EventStore

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try aggregateSync(query)
    }

    /// Synchronous form of ``aggregate(_:)``.
    public func aggregateSync(_ query: AggregateQuery) throws -> AggregateTable {
        let rollup = useRollups ? RollupTable.choose(for: query).table : nil
        return try PostgresQueryBuilder.run(query, over: rollup.map(relation(for:)) ?? relation, on: connection)
    }

    /// Recomputes the rollups from the events (a repair tool; the result must equal what the
    /// ingests maintained).
    public func rebuildRollups() throws {
        try connection.transaction { _ = try connection.execute(PostgresSchema.rebuildRollupsSQL(schema: schema)) }
    }

    public func info() async throws -> StoreInfo { try infoSync() }

    /// Synchronous form of ``info()``.
    public func infoSync() throws -> StoreInfo {
        let s = schema
        let totals = try connection.execute("SELECT COUNT(*), COALESCE(SUM(count), 0)::bigint, MIN(ts), MAX(ts) FROM \(s).events").rows[0]
        var quarantined: [String: Int64] = [:]
        for r in try connection.execute("SELECT reason, COUNT(*) FROM \(s).quarantine GROUP BY reason").rows {
            quarantined[r[0] ?? ""] = Int64(r[1] ?? "0") ?? 0
        }
        let sources = try connection.execute("SELECT \(Self.sourceColumns) FROM \(s).sources ORDER BY id").rows.map(Self.sourceInfo)
        return StoreInfo(
            eventRows: int(totals[0]), downloads: int(totals[1]), firstEvent: totals[2].flatMap { Int64($0) },
            lastEvent: totals[3].flatMap { Int64($0) }, sources: sources, quarantined: quarantined,
            schemaVersion: PostgresSchema.currentVersion, location: url.redacted)
    }

    /// Quarantined lines (source, line number, reason, redacted text), oldest first.
    public func quarantinedLines(limit: Int = 100) throws -> [(source: String, line: Int64, reason: String, raw: String)] {
        try connection.execute(
            """
            SELECT s.name, q.line, q.reason, q.raw FROM \(schema).quarantine q JOIN \(schema).sources s ON s.id = q.source_id
            ORDER BY q.id LIMIT $1::bigint
            """, [String(limit)]
        ).rows.map { ($0[0] ?? "", int($0[1]), $0[2] ?? "", $0[3] ?? "") }
    }

    /// Counts of non-download requests by kind, over all sources.
    public func otherRequestCounts() throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for r in try connection.execute("SELECT kind, SUM(count)::bigint FROM \(schema).other_requests GROUP BY kind").rows {
            out[r[0] ?? ""] = int(r[1])
        }
        return out
    }

    // MARK: IngestTarget

    public func clientKeyer() throws -> ClientKeyer {
        guard let hex = try connection.execute("SELECT encode(value, 'hex') FROM \(schema).meta WHERE key = 'client_salt'").rows.first?[0]
        else {
            throw PostgresStoreError.tableMissing(url.redacted, table: url.schema + ".meta", detail: "the store has no client salt in")
        }
        return ClientKeyer(salt: bytes(fromHex: hex))
    }

    public func sources(withFingerprint fingerprint: String) throws -> [SourceRecord] {
        try connection.execute(
            """
            SELECT id, fingerprint, name, format, bytes, lines, tail_hash, head_hash FROM \(schema).sources
            WHERE fingerprint = $1 ORDER BY bytes DESC
            """, [fingerprint]
        ).rows.map {
            SourceRecord(
                id: int($0[0]), fingerprint: $0[1] ?? "", name: $0[2] ?? "", format: $0[3] ?? "",
                bytes: int($0[4]), lines: int($0[5]), tailHash: $0[6] ?? "", headHash: $0[7] ?? "")
        }
    }

    /// Columns of `sources` read by ``sourceInfo(_:)``: the shown fingerprint is the head hash
    /// (the first line's hash for sources recorded before schema 3).
    static let sourceColumns = """
        CASE WHEN head_hash <> '' THEN head_hash ELSE fingerprint END, name, format, index_name, bytes, lines, downloads,
        other_requests, quarantined, first_event, last_event, ingested_at, id
        """

    static func sourceInfo(_ r: [String?]) -> SourceInfo {
        SourceInfo(
            fingerprint: r[0] ?? "", name: r[1] ?? "", format: r[2] ?? "", index: r[3], bytes: int(r[4]), lines: int(r[5]),
            downloads: int(r[6]), otherRequests: int(r[7]), quarantined: int(r[8]), firstEvent: r[9].flatMap { Int64($0) },
            lastEvent: r[10].flatMap { Int64($0) }, ingestedAt: int(r[11]), id: int(r[12]))
    }

    public func ingest(_ plan: IngestPlan, _ body: (any IngestSink) throws -> IngestSummary) throws -> IngestSummary {
        let s = schema
        return try connection.transaction {
            // One ingest at a time per store: file and profile ids are assigned by this process.
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext('casebook-ingest:' || $1))", [url.schema])
            let sourceID: Int64
            if let existing = plan.existing {
                sourceID = existing.id
            } else {
                let r = try connection.execute(
                    """
                    INSERT INTO \(s).sources (fingerprint, name, format, index_name, bytes, lines, tail_hash, ingested_at)
                    VALUES ($1, $2, $3, $4, 0, 0, '', $5::bigint) RETURNING id
                    """, [plan.fingerprint, plan.name, plan.format, plan.index, String(Int64(Date().timeIntervalSince1970))])
                sourceID = int(r.rows[0][0])
            }
            let sink = try PostgresIngestSink(connection: connection, schema: s, sourceID: sourceID)
            let summary = try body(sink)
            try sink.flush()
            try record(summary, sourceID: sourceID, plan: plan)
            if var watched = plan.watch {
                // The followed file's offset commits with its lines.
                watched.offset = summary.totalBytes
                watched.headHash = summary.headHash
                watched.sourceID = sourceID
                if summary.moreToRead { watched.size = -1 }
                try recordWatchedFileInTransaction(watched)
            }
            return summary
        }
    }

    private func record(_ sum: IngestSummary, sourceID: Int64, plan: IngestPlan) throws {
        let s = schema
        let others = sum.otherRequests.values.reduce(0, +)
        let quarantined = sum.quarantined.values.reduce(0, +)
        let now = String(Int64(Date().timeIntervalSince1970))
        try connection.execute(
            """
            UPDATE \(s).sources SET name = $1, index_name = COALESCE($2, index_name), bytes = $3::bigint, lines = $4::bigint,
                tail_hash = $5, head_hash = $13, downloads = downloads + $6::bigint, other_requests = other_requests + $7::bigint,
                quarantined = quarantined + $8::bigint,
                first_event = LEAST(first_event, $9::bigint), last_event = GREATEST(last_event, $10::bigint),
                ingested_at = $11::bigint
            WHERE id = $12::bigint
            """,
            [
                plan.name, plan.index, String(sum.totalBytes), String(sum.totalLines), sum.tailHash, String(sum.downloads),
                String(others), String(quarantined), sum.firstEvent.map { String($0) }, sum.lastEvent.map { String($0) },
                now, String(sourceID), sum.headHash
            ])
        for (kind, count) in sum.otherRequests {
            try connection.execute(
                """
                INSERT INTO \(s).other_requests (source_id, kind, count) VALUES ($1::bigint, $2, $3::bigint)
                ON CONFLICT (source_id, kind) DO UPDATE SET count = \(s).other_requests.count + excluded.count
                """, [String(sourceID), kind, String(count)])
        }
        try connection.execute(
            """
            INSERT INTO \(s).ingest_runs (source_id, started_at, lines_read, downloads, seconds)
            VALUES ($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::float8)
            """, [String(sourceID), now, String(sum.linesRead), String(sum.downloads), String(sum.seconds)])
    }
}

@inline(__always) func int(_ s: String?) -> Int64 { s.flatMap { Int64($0) } ?? 0 }

func bytes(fromHex hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 32) - 87 }
    while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
    return out
}

extension PostgresEventStore: SourceRemoval {
    /// Removes a source, its events, quarantined lines, other-request counts and ingest runs, and
    /// recomputes the rollups of the days its events fell on, in one transaction (under the
    /// ingest lock, so no ingest runs meanwhile).
    public func removeSource(id: Int64) throws -> SourceInfo {
        let s = schema
        return try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock(hashtext('casebook-ingest:' || $1))", [url.schema])
            guard
                let row = try connection.execute(
                    "SELECT \(Self.sourceColumns) FROM \(s).sources WHERE id = $1::bigint FOR UPDATE",
                    [String(id)]
                ).rows.first
            else {
                let known = try connection.execute("SELECT id FROM \(s).sources ORDER BY id").rows.compactMap { $0[0] }
                throw PostgresStoreError.noSuchSource(url.redacted, id: id, known: known)
            }
            let info = Self.sourceInfo(row)
            let span = try connection.execute(
                """
                WITH gone AS (DELETE FROM \(s).events WHERE source_id = $1::bigint RETURNING ts) SELECT MIN(ts), MAX(ts) FROM gone
                """, [String(id)]
            ).rows[0]
            if let first = span[0].flatMap({ Int64($0) }), let last = span[1].flatMap({ Int64($0) }) {
                let d0 = Self.floorDay(first)
                let d1 = Self.floorDay(last) + 86400
                try connection.execute(PostgresSchema.rebuildRollupsSQL(schema: s, from: d0, to: d1))
            }
            for table in ["quarantine", "other_requests", "request_counts", "ingest_runs", "watched_files"] {
                try connection.execute("DELETE FROM \(s).\(table) WHERE source_id = $1::bigint", [String(id)])
            }
            try connection.execute("DELETE FROM \(s).sources WHERE id = $1::bigint", [String(id)])
            return info
        }
    }

    static func floorDay(_ t: Int64) -> Int64 {
        let q = t / 86400
        return (t % 86400 != 0 && t < 0 ? q - 1 : q) * 86400
    }
}

extension PostgresEventStore {
    /// Drops Casebook's schema and everything in it (for throwaway stores: tests, benchmarks).
    public func dropSchema() throws {
        try connection.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}

// MARK: RequestLogStore

extension PostgresEventStore: RequestLogStore {
    public func requestCounts(in range: TimeRange) async throws -> [RequestCount] {
        let r = try connection.execute(
            """
            SELECT hour, status, SUM(count) FROM \(schema).request_counts
            WHERE hour >= $1::bigint AND hour < $2::bigint GROUP BY hour, status ORDER BY hour, status
            """, [String(range.from ?? Int64.min), String(range.to ?? Int64.max)])
        return r.rows.map { RequestCount(hour: Int64($0[0] ?? "0") ?? 0, status: Int($0[1] ?? "0") ?? 0, count: Int64($0[2] ?? "0") ?? 0) }
    }

    public func requestLogSpan() async throws -> TimeRange? {
        let r = try connection.execute("SELECT MIN(hour), MAX(hour) FROM \(schema).request_counts")
        guard let row = r.rows.first, let a = row[0].flatMap({ Int64($0) }), let b = row[1].flatMap({ Int64($0) }) else { return nil }
        return TimeRange(from: a, to: b + 3600)
    }
}
