import CasebookCore
import Foundation
import GRDB
import GRDBSQLite

extension SQLiteEventStore {
    public func ingest(_ plan: IngestPlan, _ body: (any IngestSink) throws -> IngestSummary) throws -> IngestSummary {
        var result: IngestSummary?
        var committed: SQLiteIngestSink.WarmCaches?
        try dbQueue.inDatabase { db in
            try db.inTransaction(.immediate) {
                let sourceID: Int64
                if let existing = plan.existing {
                    sourceID = existing.id
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO sources (fingerprint, name, format, index_name, bytes, lines, tail_hash, ingested_at)
                            VALUES (?, ?, ?, ?, 0, 0, '', ?)
                            """, arguments: [plan.fingerprint, plan.name, plan.format, plan.index, Int64(Date().timeIntervalSince1970)])
                    sourceID = db.lastInsertedRowID
                }
                let sink = try SQLiteIngestSink(
                    db: db, sourceID: sourceID, warm: warmCaches,
                    rollupFlushThreshold: rollupFlushThreshold)
                let summary = try body(sink)
                try sink.finish()
                try record(summary, sourceID: sourceID, plan: plan, db: db)
                if var watched = plan.watch {
                    watched.offset = summary.totalBytes
                    watched.headHash = summary.headHash
                    watched.sourceID = sourceID
                    // More to read: the size is not what was read up to, so the next look reads on.
                    if summary.moreToRead { watched.size = -1 }
                    try Self.recordWatchedFile(watched, db: db)
                }
                result = summary
                committed = sink.warmCaches
                return .commit
            }
            // Only ids of committed rows may be remembered: a rolled-back ingest's are gone.
            warmCaches = committed
        }
        return result!
    }

    private func record(_ s: IngestSummary, sourceID: Int64, plan: IngestPlan, db: Database) throws {
        let others = s.otherRequests.values.reduce(0, +)
        let quarantined = s.quarantined.values.reduce(0, +)
        try db.execute(
            sql: """
                UPDATE sources SET name = ?, index_name = COALESCE(?, index_name), bytes = ?, lines = ?, tail_hash = ?, head_hash = ?,
                    downloads = downloads + ?, other_requests = other_requests + ?, quarantined = quarantined + ?,
                    first_event = CASE WHEN first_event IS NULL OR ? < first_event THEN ? ELSE first_event END,
                    last_event = CASE WHEN last_event IS NULL OR ? > last_event THEN ? ELSE last_event END,
                    ingested_at = ?
                WHERE id = ?
                """,
            arguments: [
                plan.name, plan.index, s.totalBytes, s.totalLines, s.tailHash, s.headHash, s.downloads, others, quarantined,
                s.firstEvent, s.firstEvent, s.lastEvent, s.lastEvent, Int64(Date().timeIntervalSince1970), sourceID
            ])
        for (kind, count) in s.otherRequests {
            try db.execute(
                sql: """
                    INSERT INTO other_requests (source_id, kind, count) VALUES (?, ?, ?)
                    ON CONFLICT (source_id, kind) DO UPDATE SET count = count + excluded.count
                    """, arguments: [sourceID, kind, count])
        }
        try db.execute(
            sql: "INSERT INTO ingest_runs (source_id, started_at, lines_read, downloads, seconds) VALUES (?, ?, ?, ?, ?)",
            arguments: [sourceID, Int64(Date().timeIntervalSince1970), s.linesRead, s.downloads, s.seconds])
    }
}

/// Writes events with prepared statements bound through SQLite's C API, mapping files, profiles
/// and clients to integer keys through in-memory caches, and keeps the rollups in step (summed
/// in memory, added to the rollup tables in the same transaction).
///
/// Events go in as multi-row `INSERT`s of ``rowsPerInsert`` rows: the writer is the ingest's
/// bottleneck, and SQLite's per-statement work (step, halt, reset) then happens once per 64
/// events instead of once per event.
final class SQLiteIngestSink: IngestSink {
    private struct FileKey: Hashable {
        var filename: String?, project: String?, version: String?, fileType: String?
    }

    /// Event rows per multi-row `INSERT`.
    static let rowsPerInsert = 64
    /// Columns of an event row, in the order bound.
    private static let eventColumns = ["ts", "seq", "file_id", "profile_id", "client_id", "count", "source_id"]

    private let db: Database
    private let sourceID: Int64
    private var files: [FileKey: Int64] = [:]
    private var profiles: [ClientProfile: Int64] = [:]
    /// Events share their field boxes: recognising a box by identity skips hashing its strings.
    private var fileBoxes: [ObjectIdentifier: (SharedFields<FileFields>, Int64)] = [:]
    private var profileBoxes: [ObjectIdentifier: (SharedFields<ClientProfile>, Int64)] = [:]
    private var clients = ClientIDCache()

    /// Ids an ingest learnt that stay true once it committed (rows are never renumbered or
    /// deleted): the next ingest of the same store starts from them instead of asking SQLite
    /// again for every client and box (consecutive logs share most of them).
    struct WarmCaches {
        var fileBoxes: [ObjectIdentifier: (SharedFields<FileFields>, Int64)]
        var profileBoxes: [ObjectIdentifier: (SharedFields<ClientProfile>, Int64)]
        var clients: ClientIDCache
    }

    /// What this ingest knows, for the next one (valid only once this one has committed).
    var warmCaches: WarmCaches { WarmCaches(fileBoxes: fileBoxes, profileBoxes: profileBoxes, clients: clients) }
    /// Event rows waiting for the next multi-row insert (``eventColumns`` integers each; a
    /// missing client is `Int64.min`).
    private var pending: [Int64] = []
    private var pendingRows = 0
    /// The next event's sequence number (the second half of its key, after the time).
    private var nextSeq: Int64
    private let insertEvents: Statement
    private let insertFile: Statement
    private let insertProfile: Statement
    private let insertClient: Statement
    private let findClient: Statement
    private let insertQuarantine: Statement
    private var rollups: RollupAccumulator
    /// False only for writing stores in the schema before rollups (migration tests), whose
    /// events have no `seq` column either.
    private let currentSchema: Bool

    init(
        db: Database, sourceID: Int64, currentSchema: Bool = true, warm: WarmCaches? = nil,
        rollupFlushThreshold: Int = RollupAccumulator.defaultFlushThreshold
    ) throws {
        self.db = db
        self.sourceID = sourceID
        if let warm {
            fileBoxes = warm.fileBoxes
            profileBoxes = warm.profileBoxes
            clients = warm.clients
        }
        self.currentSchema = currentSchema
        rollups = RollupAccumulator(flushThreshold: rollupFlushThreshold)
        nextSeq = currentSchema ? try Self.storedNextSeq(db) : 0
        insertEvents = try db.makeStatement(
            sql: currentSchema
                ? Self.insertEventsSQL(rows: Self.rowsPerInsert)
                : "INSERT INTO events (ts, file_id, profile_id, client_id, count, source_id) VALUES (?, ?, ?, ?, ?, ?)")
        pending.reserveCapacity(Self.rowsPerInsert * Self.eventColumns.count)
        insertFile = try db.makeStatement(
            sql: """
                INSERT INTO files (filename, project, project_display, version, file_type, python_tag, abi_tag, platform_tag)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let profileColumns = currentSchema ? Self.profileColumns : Array(Self.profileColumns.prefix(Self.version1ProfileColumns))
        insertProfile = try db.makeStatement(
            sql: """
                INSERT INTO profiles (\(profileColumns.joined(separator: ", ")))
                VALUES (\(Array(repeating: "?", count: profileColumns.count).joined(separator: ", ")))
                """)
        insertClient = try db.makeStatement(sql: "INSERT INTO clients (key) VALUES (?)")
        findClient = try db.makeStatement(sql: "SELECT id FROM clients WHERE key = ?")
        insertQuarantine = try db.makeStatement(sql: "INSERT INTO quarantine (source_id, line, reason, raw) VALUES (?, ?, ?, ?)")
        for r in try Row.fetchAll(db, sql: "SELECT id, filename, project, version, file_type FROM files") {
            files[FileKey(filename: r[1], project: r[2], version: r[3], fileType: r[4])] = r[0]
        }
        for r in try Row.fetchAll(
            db,
            sql: """
                SELECT id, installer, installer_version, python, implementation, implementation_version, distro,
                       distro_version, distro_id, system, system_release, cpu, ci, country, index_name
                       \(currentSchema ? ", libc, libc_version, openssl_version" : "") FROM profiles
                """)
        {
            var e = DownloadEvent(timestamp: 0)
            e.installer = r[1]
            e.installerVersion = r[2]
            e.python = r[3]
            e.implementation = r[4]
            e.implementationVersion = r[5]
            e.distro = r[6]
            e.distroVersion = r[7]
            e.distroID = r[8]
            e.system = r[9]
            e.systemRelease = r[10]
            e.cpu = r[11]
            e.ci = (r[12] as String?).map { $0 == "true" }
            e.country = r[13]
            e.index = r[14]
            if currentSchema {
                e.libc = r[15]
                e.libcVersion = r[16]
                e.opensslVersion = r[17]
            }
            profiles[e.profileFields.value] = r[0]
        }
    }

    /// Columns of a profile row, in the order bound (the first ``version1ProfileColumns`` are
    /// schema 1's).
    private static let profileColumns = [
        "installer", "installer_version", "python", "python_major", "python_minor", "implementation",
        "implementation_version", "distro", "distro_version", "distro_id", "system", "system_release", "cpu", "ci",
        "country", "index_name", "libc", "libc_version", "openssl", "openssl_version"
    ]
    private static let version1ProfileColumns = 16

    /// `INSERT` of `rows` event rows.
    static func insertEventsSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: eventColumns.count).joined(separator: ", ") + ")"
        return "INSERT INTO events (\(eventColumns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// The sequence number the next event gets (kept in `casebook_meta`, so that sequence
    /// numbers are never reused; events are keyed by time and sequence).
    static func storedNextSeq(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM casebook_meta WHERE key = 'next_event_seq'") ?? 1
    }

    /// Writes the events and rollups still held; called before the transaction commits.
    func finish() throws {
        try writePending()
        if currentSchema {
            try rollups.flush(db)
            try db.execute(sql: "INSERT OR REPLACE INTO casebook_meta (key, value) VALUES ('next_event_seq', ?)", arguments: [nextSeq])
        }
    }

    func add(_ e: DownloadEvent) throws {
        let fileID = try fileID(for: e)
        let profileID = try profileID(for: e)
        var clientID = Int64.min
        if let key = e.client { clientID = try self.clientID(for: key) }
        pending.append(e.timestamp)
        pending.append(nextSeq)
        pending.append(fileID)
        pending.append(profileID)
        pending.append(clientID)
        pending.append(e.count)
        pending.append(sourceID)
        nextSeq += 1
        pendingRows += 1
        if pendingRows == Self.rowsPerInsert || !currentSchema { try writePending() }
        if currentSchema {
            rollups.add(ts: e.timestamp, file: fileID, profile: profileID, count: e.count)
            if rollups.needsFlush { try rollups.flush(db) }
        }
    }

    /// Inserts the pending event rows: a full batch through the prepared multi-row statement,
    /// a last, shorter one through a statement of its size.
    private func writePending() throws {
        guard pendingRows > 0 else { return }
        let width = Self.eventColumns.count
        let statement: Statement
        if !currentSchema {
            statement = insertEvents
            pending.remove(at: 1)  // no seq column
        } else if pendingRows == Self.rowsPerInsert {
            statement = insertEvents
        } else {
            statement = try db.makeStatement(sql: Self.insertEventsSQL(rows: pendingRows))
        }
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        for (i, v) in pending.enumerated() {
            if v == Int64.min && (currentSchema ? i % width == 4 : i == 3) {
                sqlite3_bind_null(s, Int32(i + 1))
            } else {
                sqlite3_bind_int64(s, Int32(i + 1), v)
            }
        }
        try step(s)
        pending.removeAll(keepingCapacity: true)
        pendingRows = 0
    }

    func addRequestCounts(_ counts: [RequestCount]) throws {
        let insert = try db.makeStatement(
            sql: """
                INSERT INTO request_counts (hour, status, source_id, count) VALUES (?, ?, ?, ?)
                ON CONFLICT (hour, status, source_id) DO UPDATE SET count = count + excluded.count
                """)
        for c in counts { try insert.execute(arguments: [c.hour, c.status, sourceID, c.count]) }
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
            try insertFile.execute(arguments: [
                e.filename, e.project, e.projectDisplay, e.version, e.fileType,
                e.pythonTag, e.abiTag, e.platformTag
            ])
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
        let stored = box.value.keptByStores
        if let known = profiles[stored] {
            id = known
        } else {
            var args: [(any DatabaseValueConvertible)?] = [
                e.installer, e.installerVersion, e.python, e.pythonMajor, e.pythonMinor, e.implementation,
                e.implementationVersion, e.distro, e.distroVersion, e.distroID, e.system, e.systemRelease, e.cpu,
                e.ci.map { $0 ? "true" : "false" }, e.country, e.index
            ]
            if currentSchema { args += [e.libc, e.libcVersion, e.openssl, e.opensslVersion] }
            try insertProfile.execute(arguments: StatementArguments(args))
            id = db.lastInsertedRowID
            profiles[stored] = id
        }
        if profileBoxes.count > 100_000 { profileBoxes.removeAll(keepingCapacity: true) }
        profileBoxes[ObjectIdentifier(box)] = (box, id)
        return id
    }

    private func clientID(for key: String) throws -> Int64 {
        if let id = clients[key] { return id }
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

/// Client keys already mapped to their row ids during one ingest. Keys as ``ClientKeyer``
/// writes them (`c-` and 16 hex digits) are held as 64-bit integers in an open-addressing
/// table (hashing a word instead of an 18-byte string is a large share of the writer's time on
/// busy logs); other keys in a dictionary. Bounded: it starts over past ``limit`` keys.
struct ClientIDCache {
    /// A key and its row id, side by side so that a lookup touches one cache line; id 0 marks
    /// an empty slot (SQLite row ids start at 1).
    private struct Slot {
        var key: UInt64
        var id: Int64
    }
    private var slots: [Slot]
    private var mask: Int
    private var count = 0
    private var others: [String: Int64] = [:]
    static let limit = 2_000_000

    init() {
        slots = Array(repeating: Slot(key: 0, id: 0), count: 1 << 12)
        mask = (1 << 12) - 1
    }

    /// The key's 64-bit value, if it has ``ClientKeyer``'s shape.
    @inline(__always)
    static func word(_ key: String) -> UInt64? {
        var key = key
        return key.withUTF8 { b -> UInt64? in
            guard b.count == 18, b[0] == UInt8(ascii: "c"), b[1] == UInt8(ascii: "-") else { return nil }
            var v: UInt64 = 0
            for i in 2..<18 {
                let c = b[i]
                let d: UInt8
                switch c {
                case 48...57: d = c &- 48
                case 97...102: d = c &- 87
                default: return nil
                }
                v = v << 4 | UInt64(d)
            }
            return v
        }
    }

    @inline(__always)
    private func slot(_ w: UInt64) -> Int { Int(truncatingIfNeeded: (w &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    subscript(key: String) -> Int64? {
        get {
            guard let w = Self.word(key) else { return others[key] }
            return slots.withUnsafeBufferPointer { s in
                var i = slot(w)
                while s[i].id != 0 {
                    if s[i].key == w { return s[i].id }
                    i = (i + 1) & mask
                }
                return nil
            }
        }
        set {
            guard let id = newValue else { return }
            if count + others.count >= Self.limit { self = ClientIDCache() }
            guard let w = Self.word(key) else {
                others[key] = id
                return
            }
            if (count + 1) * 2 > slots.count { grow() }
            var i = slot(w)
            while slots[i].id != 0 {
                if slots[i].key == w {
                    slots[i].id = id
                    return
                }
                i = (i + 1) & mask
            }
            slots[i] = Slot(key: w, id: id)
            count += 1
        }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(key: 0, id: 0), count: old.count * 2)
        mask = slots.count - 1
        for s in old where s.id != 0 {
            var j = slot(s.key)
            while slots[j].id != 0 { j = (j + 1) & mask }
            slots[j] = s
        }
    }
}
