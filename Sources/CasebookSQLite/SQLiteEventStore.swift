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
/// Aggregates are computed by SQLite; ingest is one transaction per source, so an interrupted
/// ingest (even a killed process) leaves the file as it was.
public final class SQLiteEventStore: EventStore, IngestTarget, @unchecked Sendable {
    /// The database file's path.
    public let path: String
    let dbQueue: DatabaseQueue

    /// Opens (and creates or migrates) the store at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.label = "casebook-store"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536")
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw SQLiteStoreError("cannot open store \(path): folder \(dir.path) does not exist")
        }
        do {
            dbQueue = try DatabaseQueue(path: path, configuration: config)
            try SQLiteSchema.migrator.migrate(dbQueue)
            try dbQueue.write { db in
                if try Data.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'client_salt'") == nil {
                    try db.execute(sql: "INSERT INTO casebook_meta (key, value) VALUES ('client_salt', ?)",
                                   arguments: [Data(ClientKeyer.randomSalt())])
                }
            }
        } catch let error as DatabaseError {
            throw SQLiteStoreError("cannot open store \(path): \(error.message ?? error.description) (is it a Casebook store?)")
        }
    }

    // MARK: EventStore

    public func aggregate(_ query: AggregateQuery) async throws -> AggregateTable {
        try aggregateSync(query)
    }

    /// Synchronous form of ``aggregate(_:)``.
    public func aggregateSync(_ query: AggregateQuery) throws -> AggregateTable {
        let (sql, args) = SQLiteQueryBuilder.sql(for: query)
        return try dbQueue.read { db in
            let statement = try db.makeStatement(sql: sql)
            statement.setUncheckedArguments(StatementArguments(args))
            let cursor = try Row.fetchCursor(statement)
            var rows: [AggregateRow] = []
            let hasBucket = query.bucket != nil
            let n = query.dimensions.count
            while let row = try cursor.next() {
                var i = 0
                var bucket: Int64?
                if hasBucket { bucket = row[0]; i = 1 }
                var values: [String?] = []
                values.reserveCapacity(n)
                for k in 0..<n { values.append(row[i + k] as String?) }
                guard let downloads = row[i + n] as Int64? else { continue }  // SUM over no rows
                rows.append(AggregateRow(bucketStart: bucket, values: values, downloads: downloads))
            }
            return AggregateTable(bucket: query.bucket, dimensions: query.dimensions, rows: rows)
        }
    }

    public func info() async throws -> StoreInfo { try infoSync() }

    /// Synchronous form of ``info()``.
    public func infoSync() throws -> StoreInfo {
        try dbQueue.read { db in
            let totals = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(count), 0), MIN(ts), MAX(ts) FROM events")!
            var quarantined: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT reason, COUNT(*) FROM quarantine GROUP BY reason") {
                quarantined[QuarantineReason.kind(of: row[0]), default: 0] += row[1] as Int64
            }
            let sources = try Row.fetchAll(db, sql: """
                SELECT fingerprint, name, format, index_name, bytes, lines, downloads, other_requests, quarantined,
                       first_event, last_event, ingested_at FROM sources ORDER BY id
                """).map { r in
                SourceInfo(fingerprint: r[0], name: r[1], format: r[2], index: r[3], bytes: r[4], lines: r[5],
                           downloads: r[6], otherRequests: r[7], quarantined: r[8], firstEvent: r[9],
                           lastEvent: r[10], ingestedAt: r[11])
            }
            return StoreInfo(eventRows: totals[0], downloads: totals[1], firstEvent: totals[2], lastEvent: totals[3],
                             sources: sources, quarantined: quarantined,
                             schemaVersion: SQLiteSchema.currentVersion, location: path)
        }
    }

    /// Quarantined lines (line number, reason, redacted text) of all sources, oldest first.
    public func quarantinedLines(limit: Int = 100) throws -> [(source: String, line: Int64, reason: String, raw: String)] {
        try dbQueue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.name, q.line, q.reason, q.raw FROM quarantine q JOIN sources s ON s.id = q.source_id
                ORDER BY q.rowid LIMIT ?
                """, arguments: [limit]).map { ($0[0], $0[1], $0[2], $0[3]) }
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
            try Row.fetchAll(db, sql: "SELECT id, fingerprint, name, format, bytes, lines, tail_hash FROM sources WHERE fingerprint = ? ORDER BY bytes DESC",
                             arguments: [fingerprint]).map {
                SourceRecord(id: $0[0], fingerprint: $0[1], name: $0[2], format: $0[3], bytes: $0[4], lines: $0[5], tailHash: $0[6])
            }
        }
    }
}
