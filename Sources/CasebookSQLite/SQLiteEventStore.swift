import CasebookCore
import Foundation
import GRDB
import GRDBSQLite

/// Errors opening or using the embedded store.
public struct SQLiteStoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The embedded event store: one SQLite file (default `./casebook.sqlite`).
///
/// Aggregates are computed by SQLite, from the smallest table that answers them exactly: the
/// rollups kept at ingest (per hour; per day × file, × profile, × file × profile) or the raw
/// events (see ``plan(for:)``). Ingest is one transaction per source, so an interrupted ingest
/// (even a killed process) leaves the file as it was, rollups included.
public final class SQLiteEventStore: EventStore, IngestTarget, @unchecked Sendable {
    /// The database file's path.
    public let path: String
    /// Whether queries may read the rollups (`false` reads the raw events for every query: for
    /// tests that compare both answers, and for benchmarks). The environment variable
    /// `CASEBOOK_SQLITE_RAW_EVENTS=1` turns them off for every store a process opens.
    public let useRollups: Bool
    let dbQueue: DatabaseQueue
    /// Rollup keys an ingest holds in memory before adding them to the tables (tests lower it).
    var rollupFlushThreshold = RollupAccumulator.defaultFlushThreshold
    /// Where to log every aggregate query (`CASEBOOK_QUERY_LOG`), if anywhere.
    let queryLog: SQLiteQueryLog?
    /// Ids the last committed ingest learnt, for the next one (used only inside `dbQueue`).
    var warmCaches: SQLiteIngestSink.WarmCaches?

    /// Opens (and creates or migrates) the store at `path`. Opening a store written before the
    /// rollups existed builds them from its events once; a store of schema v2 has its events
    /// copied into the time-keyed table once (one pass over the events, in time order).
    ///
    /// `readOnly` opens a store that needs no migration without ever taking the write lock, so
    /// it reads the last committed state while another process ingests (it is opened for
    /// writing when it needs a migration). Writers wait for each other (see ``SQLiteLocking``).
    public init(path: String, useRollups: Bool = true, readOnly: Bool = false) throws {
        self.path = path
        self.useRollups = useRollups && ProcessInfo.processInfo.environment["CASEBOOK_SQLITE_RAW_EVENTS"] != "1"
        queryLog = ProcessInfo.processInfo.environment["CASEBOOK_QUERY_LOG"].flatMap { $0.isEmpty ? nil : SQLiteQueryLog(path: $0) }
        var config = Configuration()
        config.label = "casebook-store"
        config.busyMode = SQLiteLocking.busyMode(path: path)
        config.prepareDatabase { db in
            if db.configuration.readonly { return }
            try db.execute(
                sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536")
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw SQLiteStoreError("cannot open store \(path): folder \(dir.path) does not exist")
        }
        do {
            if readOnly, let queue = try Self.openReadOnly(path: path, configuration: config) {
                dbQueue = queue
            } else {
                dbQueue = try DatabaseQueue(path: path, configuration: config)
                try Self.prepareForWriting(dbQueue)
            }
        } catch let error as DatabaseError {
            throw SQLiteStoreError(Self.openFailure(path: path, error))
        }
    }

    // MARK: EventStore

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try aggregateSync(query)
    }

    /// How ``aggregate(_:)`` answers a query: the table it reads (a rollup or the events) and the SQL.
    public func plan(for query: AggregateQuery) -> SQLiteQueryPlan {
        SQLiteQueryBuilder.plan(for: query, useRollups: useRollups)
    }

    /// Synchronous form of ``aggregate(_:)``.
    public func aggregateSync(_ query: AggregateQuery) throws -> AggregateTable {
        let plan = plan(for: query)
        let started = DispatchTime.now().uptimeNanoseconds
        let table: AggregateTable = try dbQueue.read { db in
            let statement = try db.makeStatement(sql: plan.sql)
            statement.setUncheckedArguments(StatementArguments(plan.arguments.map { $0 as (any DatabaseValueConvertible)? }))
            // Rows are read through SQLite's C API: answers can have tens of thousands of rows
            // (a window's clients), and this is where their strings are made.
            let s = statement.sqliteStatement
            var rows: [AggregateRow] = []
            let hasBucket = query.bucket != nil
            let n = Int32(query.dimensions.count)
            let first: Int32 = hasBucket ? 1 : 0
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else {
                    throw SQLiteStoreError("query failed: \(String(cString: sqlite3_errmsg(sqlite3_db_handle(s)))) (\(plan.sql))")
                }
                guard sqlite3_column_type(s, first + n) != SQLITE_NULL else { continue }  // SUM over no rows
                var values: [String?] = []
                values.reserveCapacity(Int(n))
                for c in first..<(first + n) {
                    if sqlite3_column_type(s, c) == SQLITE_NULL {
                        values.append(nil)
                    } else {
                        let text = sqlite3_column_text(s, c)
                        let count = Int(sqlite3_column_bytes(s, c))
                        values.append(text.map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) } ?? "")
                    }
                }
                rows.append(
                    AggregateRow(
                        bucketStart: hasBucket ? sqlite3_column_int64(s, 0) : nil, values: values,
                        downloads: sqlite3_column_int64(s, first + n)))
            }
            return AggregateTable(bucket: query.bucket, dimensions: query.dimensions, rows: rows)
        }
        queryLog?.record(query, plan: plan, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9, table: table)
        return table
    }

    /// Writes every event as one CSV row of the `downloads` view's dimensions (a header, then
    /// `timestamp,project,...,client,count`; unknown values empty) to `path`, for loading the
    /// same events into another tool. Returns the number of rows.
    @discardableResult
    public func exportDownloadsCSV(to path: String) throws -> Int64 {
        guard let out = fopen(path, "w") else { throw SQLiteStoreError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(out) }
        let columns = ["timestamp"] + Dimension.allCases.map(\.rawValue) + ["count"]
        fputs(columns.joined(separator: ",") + "\n", out)
        let select = Dimension.allCases.map { SQLiteQueryBuilder.column($0).sql }.joined(separator: ", ")
        return try dbQueue.read { db in
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT e.ts, \(select), e.count FROM events e JOIN files f ON f.id = e.file_id
                    JOIN profiles p ON p.id = e.profile_id LEFT JOIN clients c ON c.id = e.client_id ORDER BY e.ts
                    """)
            var n: Int64 = 0
            var line = ""
            while let row = try cursor.next() {
                line.removeAll(keepingCapacity: true)
                line += String(row[0] as Int64)
                for i in 1...Dimension.allCases.count {
                    line += ","
                    if let v = row[i] as String? { line += SQLiteQueryLog.csvField(v) }
                }
                line += ","
                line += String(row[Dimension.allCases.count + 1] as Int64)
                line += "\n"
                fputs(line, out)
                n += 1
            }
            return n
        }
    }

    public func info() async throws -> StoreInfo { try infoSync() }

    /// Synchronous form of ``info()``.
    public func infoSync() throws -> StoreInfo {
        try dbQueue.read { db in
            // Counts from the hourly rollup (thousands of rows, not millions); ends from the time index.
            let totals = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COALESCE(SUM(events), 0) FROM rollup_hour), (SELECT COALESCE(SUM(downloads), 0) FROM rollup_hour),
                           (SELECT MIN(ts) FROM events), (SELECT MAX(ts) FROM events)
                    """)!
            var quarantined: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT reason, COUNT(*) FROM quarantine GROUP BY reason") {
                quarantined[QuarantineReason.kind(of: row[0]), default: 0] += row[1] as Int64
            }
            let sources = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.sourceColumns) FROM sources ORDER BY id
                    """
            ).map(Self.sourceInfo)
            return StoreInfo(
                eventRows: totals[0], downloads: totals[1], firstEvent: totals[2], lastEvent: totals[3],
                sources: sources, quarantined: quarantined,
                schemaVersion: SQLiteSchema.currentVersion, location: path)
        }
    }

    /// Recomputes the rollups from the events, in one transaction. Ingest keeps them in step, so
    /// this is a repair tool (and what opening a store from before the rollups does once).
    public func rebuildRollups() throws {
        try dbQueue.write { db in try SQLiteRollup.rebuild(db) }
    }

    /// Quarantined lines (line number, reason, redacted text) of all sources, oldest first.
    public func quarantinedLines(limit: Int = 100) throws -> [(source: String, line: Int64, reason: String, raw: String)] {
        try dbQueue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.name, q.line, q.reason, q.raw FROM quarantine q JOIN sources s ON s.id = q.source_id
                    ORDER BY q.rowid LIMIT ?
                    """, arguments: [limit]
            ).map { ($0[0], $0[1], $0[2], $0[3]) }
        }
    }

    /// Counts of non-download requests by kind, over all sources.
    public func otherRequestCounts() throws -> [String: Int64] {
        try dbQueue.read { db in
            var out: [String: Int64] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT kind, SUM(count) FROM other_requests GROUP BY kind") { out[r[0]] = r[1] }
            return out
        }
    }

    // MARK: IngestTarget

    public func clientKeyer() throws -> ClientKeyer {
        let salt = try dbQueue.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'client_salt'")
        }
        guard let salt else { throw SQLiteStoreError("store \(path) has no client salt") }
        return ClientKeyer(salt: Array(salt))
    }

    public func sources(withFingerprint fingerprint: String) throws -> [SourceRecord] {
        try dbQueue.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT id, fingerprint, name, format, bytes, lines, tail_hash, head_hash FROM sources WHERE fingerprint = ? ORDER BY bytes DESC",
                arguments: [fingerprint]
            ).map {
                SourceRecord(
                    id: $0[0], fingerprint: $0[1], name: $0[2], format: $0[3], bytes: $0[4], lines: $0[5], tailHash: $0[6],
                    headHash: $0[7])
            }
        }
    }

    /// Columns of `sources` read by ``sourceInfo(_:)``: the shown fingerprint is the head hash
    /// (the first line's hash for sources recorded before schema 4).
    static let sourceColumns = """
        CASE WHEN head_hash != '' THEN head_hash ELSE fingerprint END, name, format, index_name, bytes, lines, downloads,
        other_requests, quarantined, first_event, last_event, ingested_at, id
        """

    static func sourceInfo(_ r: Row) -> SourceInfo {
        SourceInfo(
            fingerprint: r[0], name: r[1], format: r[2], index: r[3], bytes: r[4], lines: r[5],
            downloads: r[6], otherRequests: r[7], quarantined: r[8], firstEvent: r[9],
            lastEvent: r[10], ingestedAt: r[11], id: r[12])
    }
}

extension SQLiteEventStore: SourceRemoval {
    /// Removes a source, its events, quarantined lines, other-request counts and ingest runs, and
    /// its part of the rollups, in one transaction. The rollups of the days the source touched
    /// are recomputed from the events that remain, so they stay exactly what a rebuild gives.
    public func removeSource(id: Int64) throws -> SourceInfo {
        try dbQueue.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.sourceColumns) FROM sources WHERE id = ?", arguments: [id]) else {
                let known = try Int64.fetchAll(db, sql: "SELECT id FROM sources ORDER BY id")
                throw SQLiteStoreError(
                    "no source with id \(id) in \(path): "
                        + (known.isEmpty
                            ? "the store has no sources"
                            : "its sources are \(known.map(String.init).joined(separator: ", ")) (see `casebook sources`)"))
            }
            let info = Self.sourceInfo(row)
            // The events' own span (one scan), not the one recorded with the source.
            let span = try Row.fetchOne(db, sql: "SELECT MIN(ts), MAX(ts) FROM events WHERE source_id = ?", arguments: [id])
            if let first = span?[0] as Int64?, let last = span?[1] as Int64? {
                try db.execute(sql: "DELETE FROM events WHERE ts >= ? AND ts <= ? AND source_id = ?", arguments: [first, last, id])
                let d0 = Self.floor(first, 86400)
                let d1 = Self.floor(last, 86400) + 86400
                try SQLiteRollup.rebuild(db, from: d0, to: d1)
            }
            for table in ["quarantine", "other_requests", "request_counts", "ingest_runs", "watched_files"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE source_id = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM sources WHERE id = ?", arguments: [id])
            return info
        }
    }

    static func floor(_ t: Int64, _ step: Int64) -> Int64 {
        let q = t / step
        return (t % step != 0 && t < 0 ? q - 1 : q) * step
    }
}

/// Appends one JSON line per aggregate query to a file (`CASEBOOK_QUERY_LOG=PATH`): the query,
/// the table that answered it, the seconds and the rows. Shows where an investigation spends
/// its time, and lets benchmarks replay the same queries in other tools.
final class SQLiteQueryLog: @unchecked Sendable {
    private let lock = NSLock()
    private let path: String

    init(path: String) { self.path = path }

    func record(_ query: AggregateQuery, plan: SQLiteQueryPlan, seconds: Double, table: AggregateTable) {
        struct Entry: Encodable {
            var query: AggregateQuery
            var table: String
            var seconds: Double
            var rows: Int
            var downloads: Int64
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard
            var data = try? encoder.encode(
                Entry(query: query, table: plan.table.rawValue, seconds: seconds, rows: table.rows.count, downloads: table.total))
        else { return }
        data.append(10)
        lock.lock()
        defer { lock.unlock() }
        if let h = FileHandle(forWritingAtPath: path)
            ?? (FileManager.default.createFile(atPath: path, contents: nil) ? FileHandle(forWritingAtPath: path) : nil)
        {
            h.seekToEndOfFile()
            h.write(data)
            try? h.close()
        }
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ v: String) -> String {
        guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

// MARK: RequestLogStore

extension SQLiteEventStore: RequestLogStore {
    public func requestCounts(in range: TimeRange) async throws -> [RequestCount] { try requestCountsSync(in: range) }

    public func requestLogSpan() async throws -> TimeRange? { try requestLogSpanSync() }

    /// Synchronous form of ``requestCounts(in:)``.
    public func requestCountsSync(in range: TimeRange) throws -> [RequestCount] {
        try dbQueue.read { (db: Database) in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT hour, status, SUM(count) AS n FROM request_counts
                    WHERE hour >= ? AND hour < ? GROUP BY hour, status ORDER BY hour, status
                    """, arguments: [range.from ?? Int64.min, range.to ?? Int64.max]
            )
            .map { RequestCount(hour: $0["hour"], status: $0["status"], count: $0["n"]) }
        }
    }

    /// Synchronous form of ``requestLogSpan()``.
    public func requestLogSpanSync() throws -> TimeRange? {
        try dbQueue.read { (db: Database) -> TimeRange? in
            guard let row = try Row.fetchOne(db, sql: "SELECT MIN(hour) AS a, MAX(hour) AS b FROM request_counts"),
                let a: Int64 = row["a"], let b: Int64 = row["b"]
            else { return nil }
            return TimeRange(from: a, to: b + 3600)
        }
    }
}
