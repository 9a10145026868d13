import CasebookCore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteEventStore {
    public func ingest(_ plan: IngestPlan, _ body: (any IngestSink) throws -> IngestSummary) throws -> IngestSummary {
        var result: IngestSummary?
        try dbQueue.inDatabase { db in
            try db.inTransaction(.immediate) {
                let sourceID: Int64
                if let existing = plan.existing {
                    sourceID = existing.id
                } else {
                    try db.execute(sql: """
                        INSERT INTO sources (fingerprint, name, format, index_name, bytes, lines, tail_hash, ingested_at)
                        VALUES (?, ?, ?, ?, 0, 0, '', ?)
                        """, arguments: [plan.fingerprint, plan.name, plan.format, plan.index, Int64(Date().timeIntervalSince1970)])
                    sourceID = db.lastInsertedRowID
                }
                let sink = try SQLiteIngestSink(db: db, sourceID: sourceID, rollupFlushThreshold: rollupFlushThreshold)
                let summary = try body(sink)
                try sink.finish()
                try record(summary, sourceID: sourceID, plan: plan, db: db)
                result = summary
                return .commit
            }
        }
        return result!
    }

    private func record(_ s: IngestSummary, sourceID: Int64, plan: IngestPlan, db: Database) throws {
        let others = s.otherRequests.values.reduce(0, +)
        let quarantined = s.quarantined.values.reduce(0, +)
        try db.execute(sql: """
            UPDATE sources SET name = ?, index_name = COALESCE(?, index_name), bytes = ?, lines = ?, tail_hash = ?,
                downloads = downloads + ?, other_requests = other_requests + ?, quarantined = quarantined + ?,
                first_event = CASE WHEN first_event IS NULL OR ? < first_event THEN ? ELSE first_event END,
                last_event = CASE WHEN last_event IS NULL OR ? > last_event THEN ? ELSE last_event END,
                ingested_at = ?
            WHERE id = ?
            """, arguments: [plan.name, plan.index, s.totalBytes, s.totalLines, s.tailHash, s.downloads, others, quarantined,
                             s.firstEvent, s.firstEvent, s.lastEvent, s.lastEvent, Int64(Date().timeIntervalSince1970), sourceID])
        for (kind, count) in s.otherRequests {
            try db.execute(sql: """
                INSERT INTO other_requests (source_id, kind, count) VALUES (?, ?, ?)
                ON CONFLICT (source_id, kind) DO UPDATE SET count = count + excluded.count
                """, arguments: [sourceID, kind, count])
        }
        try db.execute(sql: "INSERT INTO ingest_runs (source_id, started_at, lines_read, downloads, seconds) VALUES (?, ?, ?, ?, ?)",
                       arguments: [sourceID, Int64(Date().timeIntervalSince1970), s.linesRead, s.downloads, s.seconds])
    }
}

/// Writes events with prepared statements bound through SQLite's C API, mapping files, profiles
/// and clients to integer keys through in-memory caches, and keeps the rollups in step (summed
/// in memory, added to the rollup tables in the same transaction).
final class SQLiteIngestSink: IngestSink {
    private struct FileKey: Hashable {
        var filename: String?, project: String?, version: String?, fileType: String?
    }

    private let db: Database
    private let sourceID: Int64
    private var files: [FileKey: Int64] = [:]
    private var profiles: [ClientProfile: Int64] = [:]
    /// Events share their field boxes: recognising a box by identity skips hashing its strings.
    private var fileBoxes: [ObjectIdentifier: (SharedFields<FileFields>, Int64)] = [:]
    private var profileBoxes: [ObjectIdentifier: (SharedFields<ClientProfile>, Int64)] = [:]
    private var clients: [String: Int64] = [:]
    private let insertEvent: Statement
    private let insertFile: Statement
    private let insertProfile: Statement
    private let insertClient: Statement
    private let findClient: Statement
    private let insertQuarantine: Statement
    private var rollups: RollupAccumulator
    /// False only for writing stores in the schema before rollups (migration tests).
    private let maintainRollups: Bool

    init(db: Database, sourceID: Int64, maintainRollups: Bool = true,
         rollupFlushThreshold: Int = RollupAccumulator.defaultFlushThreshold) throws {
        self.db = db
        self.sourceID = sourceID
        self.maintainRollups = maintainRollups
        rollups = RollupAccumulator(flushThreshold: rollupFlushThreshold)
        insertEvent = try db.makeStatement(sql: "INSERT INTO events (ts, file_id, profile_id, client_id, count, source_id) VALUES (?, ?, ?, ?, ?, ?)")
        insertFile = try db.makeStatement(sql: """
            INSERT INTO files (filename, project, project_display, version, file_type, python_tag, abi_tag, platform_tag)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertProfile = try db.makeStatement(sql: """
            INSERT INTO profiles (installer, installer_version, python, python_major, python_minor, implementation,
                implementation_version, distro, distro_version, distro_id, system, system_release, cpu, ci, country, index_name)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertClient = try db.makeStatement(sql: "INSERT INTO clients (key) VALUES (?)")
        findClient = try db.makeStatement(sql: "SELECT id FROM clients WHERE key = ?")
        insertQuarantine = try db.makeStatement(sql: "INSERT INTO quarantine (source_id, line, reason, raw) VALUES (?, ?, ?, ?)")
        for r in try Row.fetchAll(db, sql: "SELECT id, filename, project, version, file_type FROM files") {
            files[FileKey(filename: r[1], project: r[2], version: r[3], fileType: r[4])] = r[0]
        }
        for r in try Row.fetchAll(db, sql: """
            SELECT id, installer, installer_version, python, implementation, implementation_version, distro,
                   distro_version, distro_id, system, system_release, cpu, ci, country, index_name FROM profiles
            """) {
            var e = DownloadEvent(timestamp: 0)
            e.installer = r[1]; e.installerVersion = r[2]; e.python = r[3]; e.implementation = r[4]
            e.implementationVersion = r[5]; e.distro = r[6]; e.distroVersion = r[7]; e.distroID = r[8]
            e.system = r[9]; e.systemRelease = r[10]; e.cpu = r[11]
            e.ci = (r[12] as String?).map { $0 == "true" }
            e.country = r[13]; e.index = r[14]
            profiles[e.profileFields.value] = r[0]
        }
    }

    /// Writes what the rollups still hold; called before the transaction commits.
    func finish() throws {
        if maintainRollups { try rollups.flush(db) }
    }

    func add(_ e: DownloadEvent) throws {
        let fileID = try fileID(for: e)
        let profileID = try profileID(for: e)
        var clientID: Int64?
        if let key = e.client { clientID = try self.clientID(for: key) }
        let s = insertEvent.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, e.timestamp)
        sqlite3_bind_int64(s, 2, fileID)
        sqlite3_bind_int64(s, 3, profileID)
        if let clientID { sqlite3_bind_int64(s, 4, clientID) } else { sqlite3_bind_null(s, 4) }
        sqlite3_bind_int64(s, 5, e.count)
        sqlite3_bind_int64(s, 6, sourceID)
        try step(s)
        if maintainRollups {
            rollups.add(ts: e.timestamp, file: fileID, profile: profileID, count: e.count)
            if rollups.needsFlush { try rollups.flush(db) }
        }
    }

    func quarantine(line: Int64, reason: String, redactedLine: String) throws {
        try insertQuarantine.execute(arguments: [sourceID, line, reason, redactedLine])
    }

    private func step(_ s: SQLiteStatement) throws {
        let rc = sqlite3_step(s)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw SQLiteStoreError("insert failed: \(String(cString: sqlite3_errmsg(sqlite3_db_handle(s))))")
        }
    }

    private func fileID(for e: DownloadEvent) throws -> Int64 {
        let box = e.fileFields
        if let hit = fileBoxes[ObjectIdentifier(box)], hit.0 === box { return hit.1 }
        let key = FileKey(filename: e.filename, project: e.project, version: e.version, fileType: e.fileType)
        let id: Int64
        if let known = files[key] {
            id = known
        } else {
            try insertFile.execute(arguments: [e.filename, e.project, e.projectDisplay, e.version, e.fileType,
                                               e.pythonTag, e.abiTag, e.platformTag])
            id = db.lastInsertedRowID
            files[key] = id
        }
        if fileBoxes.count > 100_000 { fileBoxes.removeAll(keepingCapacity: true) }
        fileBoxes[ObjectIdentifier(box)] = (box, id)
        return id
    }

    private func profileID(for e: DownloadEvent) throws -> Int64 {
        let box = e.profileFields
        if let hit = profileBoxes[ObjectIdentifier(box)], hit.0 === box { return hit.1 }
        let id: Int64
        if let known = profiles[box.value] {
            id = known
        } else {
            let args: [(any DatabaseValueConvertible)?] = [
                e.installer, e.installerVersion, e.python, e.pythonMajor, e.pythonMinor, e.implementation,
                e.implementationVersion, e.distro, e.distroVersion, e.distroID, e.system, e.systemRelease, e.cpu,
                e.ci.map { $0 ? "true" : "false" }, e.country, e.index,
            ]
            try insertProfile.execute(arguments: StatementArguments(args))
            id = db.lastInsertedRowID
            profiles[box.value] = id
        }
        if profileBoxes.count > 100_000 { profileBoxes.removeAll(keepingCapacity: true) }
        profileBoxes[ObjectIdentifier(box)] = (box, id)
        return id
    }

    private func clientID(for key: String) throws -> Int64 {
        if let id = clients[key] { return id }
        if clients.count > 2_000_000 { clients.removeAll(keepingCapacity: true) }
        let find = findClient.sqliteStatement
        sqlite3_reset(find)
        var k = key
        let id: Int64 = try k.withUTF8 { utf8 in
            sqlite3_bind_text(find, 1, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(utf8.count), nil)
            if sqlite3_step(find) == SQLITE_ROW { return sqlite3_column_int64(find, 0) }
            let ins = insertClient.sqliteStatement
            sqlite3_reset(ins)
            sqlite3_bind_text(ins, 1, UnsafeRawPointer(utf8.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(utf8.count), nil)
            try step(ins)
            return sqlite3_last_insert_rowid(sqlite3_db_handle(ins))
        }
        sqlite3_reset(find)
        clients[key] = id
        return id
    }
}
