import CasebookCore
import Foundation
import GRDB

/// The embedded store's schema, as versioned migrations.
///
/// A star schema keeps event rows small and aggregates fast: `events` holds the time, the count
/// and three small integer keys; `files` (what was downloaded), `profiles` (who asked: installer,
/// Python, platform, index, country) and `clients` (pseudonymous client keys) hold each distinct
/// value once. The view `downloads` joins them back into one readable row per event.
///
/// Version 2 adds the rollups (``SQLiteRollup``): downloads summed per hour, and per day × file,
/// day × profile and day × file × profile, kept in step with `events` by the ingest transaction,
/// so that aggregate queries read thousands of rows instead of millions. It also replaces the
/// time index by a covering one, so the queries that must read events (by client, or over
/// unaligned ranges) scan a time range without touching the table.
///
/// Version 3 keys `events` by time: a `WITHOUT ROWID` table whose primary key is the time and a
/// sequence number (kept in `casebook_meta` as `next_event_seq`). The rows themselves are then in
/// time order, so a time range is read as directly as the covering index allowed, and an ingest
/// writes each event into one B-tree instead of two (the table and its index), which is about a
/// tenth of the writer's work and half the events' bytes on disk.
///
/// Version 4 adds `sources.head_hash`, the fingerprint of a source's content (its first 4 KiB).
///
/// Version 5 adds `request_counts`: an access log's request lines per source, hour and status
/// code (downloads included), so that an outage (the server answering 5xx) and a gap in the log
/// (hours with no line at all) can be told from a change in traffic (see ``RequestLogStore``).
///
/// Version 6 adds the C library and TLS library to `profiles` (`libc`, `libc_version`,
/// `openssl` and the raw `openssl_version`), and to the view; profiles stored before have them
/// unknown.
///
/// Version 7 adds `watched_files`, the registry of files `casebook watch` follows: each file's
/// identity (device, inode, head hash), its committed offset, size and time, and its source,
/// written in the same transaction as the lines read (see ``WatchedFile``).
enum SQLiteSchema {
    static let currentVersion = 7

    /// The view `downloads`: one readable row per event (the star schema joined back).
    static let downloadsViewSQL = """
        CREATE VIEW downloads AS
            SELECT e.ts AS timestamp, datetime(e.ts, 'unixepoch') AS time_utc, e.count,
                   f.project, f.project_display, f.version, f.filename, f.file_type,
                   f.python_tag, f.abi_tag, f.platform_tag,
                   p.installer, p.installer_version, p.python, p.python_major, p.python_minor,
                   p.implementation, p.implementation_version, p.distro, p.distro_version, p.distro_id,
                   p.libc, p.libc_version, p.openssl, p.openssl_version,
                   p.system, p.system_release, p.cpu, p.ci, p.country, p.index_name AS "index",
                   c.key AS client, e.source_id
            FROM events e JOIN files f ON f.id = e.file_id JOIN profiles p ON p.id = e.profile_id
            LEFT JOIN clients c ON c.id = e.client_id;
        """

    /// The view as versions 1 to 5 defined it (their migrations must not name later columns).
    static let downloadsViewV1SQL = """
        CREATE VIEW downloads AS
            SELECT e.ts AS timestamp, datetime(e.ts, 'unixepoch') AS time_utc, e.count,
                   f.project, f.project_display, f.version, f.filename, f.file_type,
                   f.python_tag, f.abi_tag, f.platform_tag,
                   p.installer, p.installer_version, p.python, p.python_major, p.python_minor,
                   p.implementation, p.implementation_version, p.distro, p.distro_version, p.distro_id,
                   p.system, p.system_release, p.cpu, p.ci, p.country, p.index_name AS "index",
                   c.key AS client, e.source_id
            FROM events e JOIN files f ON f.id = e.file_id JOIN profiles p ON p.id = e.profile_id
            LEFT JOIN clients c ON c.id = e.client_id;
        """

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE casebook_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                    CREATE TABLE files (
                        id INTEGER PRIMARY KEY,
                        filename TEXT, project TEXT, project_display TEXT, version TEXT, file_type TEXT,
                        python_tag TEXT, abi_tag TEXT, platform_tag TEXT,
                        UNIQUE (filename, project, version, file_type)
                    );
                    CREATE TABLE profiles (
                        id INTEGER PRIMARY KEY,
                        installer TEXT, installer_version TEXT,
                        python TEXT, python_major TEXT, python_minor TEXT,
                        implementation TEXT, implementation_version TEXT,
                        distro TEXT, distro_version TEXT, distro_id TEXT,
                        system TEXT, system_release TEXT, cpu TEXT, ci TEXT,
                        country TEXT, index_name TEXT
                    );
                    CREATE TABLE clients (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
                    CREATE TABLE sources (
                        id INTEGER PRIMARY KEY,
                        fingerprint TEXT NOT NULL, name TEXT NOT NULL, format TEXT NOT NULL, index_name TEXT,
                        bytes INTEGER NOT NULL, lines INTEGER NOT NULL, tail_hash TEXT NOT NULL,
                        downloads INTEGER NOT NULL DEFAULT 0, other_requests INTEGER NOT NULL DEFAULT 0,
                        quarantined INTEGER NOT NULL DEFAULT 0,
                        first_event INTEGER, last_event INTEGER, ingested_at INTEGER NOT NULL
                    );
                    CREATE INDEX sources_fingerprint ON sources (fingerprint);
                    CREATE TABLE ingest_runs (
                        id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES sources(id),
                        started_at INTEGER NOT NULL, lines_read INTEGER NOT NULL, downloads INTEGER NOT NULL,
                        seconds REAL NOT NULL
                    );
                    CREATE TABLE other_requests (
                        source_id INTEGER NOT NULL REFERENCES sources(id), kind TEXT NOT NULL, count INTEGER NOT NULL,
                        PRIMARY KEY (source_id, kind)
                    );
                    CREATE TABLE quarantine (
                        source_id INTEGER NOT NULL REFERENCES sources(id), line INTEGER NOT NULL,
                        reason TEXT NOT NULL, raw TEXT NOT NULL
                    );
                    CREATE TABLE events (
                        ts INTEGER NOT NULL,
                        file_id INTEGER NOT NULL, profile_id INTEGER NOT NULL, client_id INTEGER,
                        count INTEGER NOT NULL,
                        source_id INTEGER NOT NULL
                    );
                    CREATE INDEX events_ts ON events (ts);
                    \(downloadsViewV1SQL)
                    """)
        }
        m.registerMigration("v2-rollups") { db in
            try db.execute(sql: SQLiteTable.createSQL)
            try SQLiteRollup.rebuild(db)
            try db.execute(
                sql: """
                    DROP INDEX events_ts;
                    CREATE INDEX events_time ON events (ts, file_id, profile_id, client_id, count);
                    """)
        }
        m.registerMigration("v3-events-by-time") { db in
            try db.execute(
                sql: """
                    DROP VIEW downloads;
                    CREATE TABLE events_by_time (
                        ts INTEGER NOT NULL, seq INTEGER NOT NULL,
                        file_id INTEGER NOT NULL, profile_id INTEGER NOT NULL, client_id INTEGER,
                        count INTEGER NOT NULL, source_id INTEGER NOT NULL,
                        PRIMARY KEY (ts, seq)
                    ) WITHOUT ROWID;
                    INSERT INTO events_by_time (ts, seq, file_id, profile_id, client_id, count, source_id)
                        SELECT ts, rowid, file_id, profile_id, client_id, count, source_id FROM events ORDER BY ts, rowid;
                    INSERT OR REPLACE INTO casebook_meta (key, value)
                        VALUES ('next_event_seq', (SELECT COALESCE(MAX(rowid), 0) + 1 FROM events));
                    DROP TABLE events;
                    ALTER TABLE events_by_time RENAME TO events;
                    \(downloadsViewV1SQL)
                    """)
        }
        m.registerMigration("v4-source-head-hash") { db in
            // The fingerprint of a source's content (first 4 KiB); `fingerprint` stays the
            // first line's hash, a lookup key shared by files with the same header.
            try db.execute(sql: "ALTER TABLE sources ADD COLUMN head_hash TEXT NOT NULL DEFAULT ''")
        }
        m.registerMigration("v5-request-counts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE request_counts (
                        hour INTEGER NOT NULL, status INTEGER NOT NULL, source_id INTEGER NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (hour, status, source_id)
                    ) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("v6-libc-openssl") { db in
            try db.execute(
                sql: """
                    DROP VIEW downloads;
                    ALTER TABLE profiles ADD COLUMN libc TEXT;
                    ALTER TABLE profiles ADD COLUMN libc_version TEXT;
                    ALTER TABLE profiles ADD COLUMN openssl TEXT;
                    ALTER TABLE profiles ADD COLUMN openssl_version TEXT;
                    \(downloadsViewSQL)
                    """)
        }
        m.registerMigration("v7-watched-files") { db in
            try db.execute(sql: watchedFilesSQL)
        }
        m.registerMigration("v8-catalog") { db in
            try db.execute(sql: SQLiteCatalogSchema.sql)
        }
        return m
    }

    static let watchedFilesSQL = """
        CREATE TABLE watched_files (
            device INTEGER NOT NULL, inode INTEGER NOT NULL,
            path TEXT NOT NULL, head_hash TEXT NOT NULL, "offset" INTEGER NOT NULL,
            size INTEGER NOT NULL, modified INTEGER NOT NULL,
            source_id INTEGER REFERENCES sources(id),
            finished INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (device, inode)
        ) WITHOUT ROWID;
        """
}

extension SQLiteEventStore {
    /// Writes a store as Casebook wrote it before the rollups (schema v1) holding `events`: for
    /// the migration tests, which then open it with the current schema.
    static func writeVersion1Store(path: String, events: [DownloadEvent]) throws {
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO casebook_meta (key, value) VALUES ('client_salt', ?)", arguments: [Data(ClientKeyer.randomSalt())])
            try db.execute(
                sql: """
                    INSERT INTO sources (fingerprint, name, format, bytes, lines, tail_hash, ingested_at) VALUES ('v1', 'v1', 'test', 0, 0, '', 0)
                    """)
            let sink = try SQLiteIngestSink(db: db, sourceID: db.lastInsertedRowID, currentSchema: false)
            for e in events { try sink.add(e) }
        }
    }
}
