import CasebookCore

/// Casebook's own schema in PostgreSQL, as numbered migrations applied in one transaction.
///
/// The same star schema as the embedded store: `events` holds time, count and small integer keys;
/// `files`, `profiles` and `clients` hold each distinct value once. Text columns use the "C"
/// collation so that ordering is byte order, as in SQLite. `events` has a BRIN index on time
/// (cheap to maintain during bulk loads, since logs arrive roughly in time order).
///
/// Version 2 adds the rollups of ``RollupTable`` (per hour; per day × file, × profile, × file ×
/// profile), filled from the events once and then kept in step by every ingest's transaction,
/// as in the embedded store; the query planner is the same.
///
/// Version 3 adds `sources.head_hash`, the fingerprint of a source's content (SHA-256 of its
/// first 4 KiB), as in the embedded store's schema 4; `fingerprint` stays the first line's hash,
/// a lookup key that files with the same header share.
///
/// Version 4 adds `request_counts`: an access log's request lines per source, hour and status
/// code, as in the embedded store's schema 5.
///
/// Version 5 adds the C library and TLS library to `profiles` (`libc`, `libc_version`,
/// `openssl` and the raw `openssl_version`) and to the view, as in the embedded store's schema 6.
///
/// Version 6 adds `watched_files`, the registry of files `casebook watch` follows (identity,
/// committed offset, source), as in the embedded store's schema 7.
///
/// Version 7 adds the imported catalog (`casebook catalog import`): `catalog_projects`,
/// `catalog_releases`, `catalog_files` and `catalog_requirements`, the rows of ``CatalogRows``,
/// with requirements indexed by required name and upload time for reverse dependencies, as in
/// the embedded store's schema 8.
enum PostgresSchema {
    static let currentVersion = 7

    /// The view `downloads`: one readable row per event (the star schema joined back).
    static func downloadsViewSQL(schema s: String, libc: Bool) -> String {
        let libcColumns = libc ? "p.libc, p.libc_version, p.openssl, p.openssl_version," : ""
        return """
            CREATE VIEW \(s).downloads AS
                SELECT e.ts AS timestamp, to_timestamp(e.ts) AT TIME ZONE 'UTC' AS time_utc, e.count,
                       f.project, f.project_display, f.version, f.filename, f.file_type,
                       f.python_tag, f.abi_tag, f.platform_tag,
                       p.installer, p.installer_version, p.python, p.python_major, p.python_minor,
                       p.implementation, p.implementation_version, p.distro, p.distro_version, p.distro_id,
                       \(libcColumns)
                       p.system, p.system_release, p.cpu, p.ci, p.country, p.index_name AS "index",
                       c.key AS client, e.source_id
                FROM \(s).events e JOIN \(s).files f ON f.id = e.file_id JOIN \(s).profiles p ON p.id = e.profile_id
                LEFT JOIN \(s).clients c ON c.id = e.client_id;
            """
    }

    /// Recomputes the rollups of the days in `[from, to)` (day-aligned epoch seconds) from the
    /// events of those days: after a source's events were removed.
    static func rebuildRollupsSQL(schema s: String, from: Int64, to: Int64) -> String {
        let hour = RollupTable.floorSQL("ts", 3600)
        let day = RollupTable.floorSQL("ts", 86400)
        let range = "ts >= \(from) AND ts < \(to)"
        return """
            DELETE FROM \(s).rollup_hour WHERE hour >= \(from) AND hour < \(to);
            DELETE FROM \(s).rollup_day_profile WHERE day >= \(from) AND day < \(to);
            DELETE FROM \(s).rollup_day_file WHERE day >= \(from) AND day < \(to);
            DELETE FROM \(s).rollup_day_file_profile WHERE day >= \(from) AND day < \(to);
            INSERT INTO \(s).rollup_hour (hour, downloads, events) SELECT \(hour), SUM(count), COUNT(*) FROM \(s).events WHERE \(range) GROUP BY 1;
            INSERT INTO \(s).rollup_day_profile (day, profile_id, downloads)
                SELECT \(day), profile_id, SUM(count) FROM \(s).events WHERE \(range) GROUP BY 1, 2;
            INSERT INTO \(s).rollup_day_file (day, file_id, downloads)
                SELECT \(day), file_id, SUM(count) FROM \(s).events WHERE \(range) GROUP BY 1, 2;
            INSERT INTO \(s).rollup_day_file_profile (day, file_id, profile_id, downloads)
                SELECT \(day), file_id, profile_id, SUM(count) FROM \(s).events WHERE \(range) GROUP BY 1, 2, 3;
            """
    }

    /// Recomputes every rollup from `events` (the migration, and a repair tool).
    static func rebuildRollupsSQL(schema s: String) -> String {
        let hour = RollupTable.floorSQL("ts", 3600)
        let day = RollupTable.floorSQL("ts", 86400)
        return """
            TRUNCATE \(s).rollup_hour, \(s).rollup_day_profile, \(s).rollup_day_file, \(s).rollup_day_file_profile;
            INSERT INTO \(s).rollup_hour (hour, downloads, events) SELECT \(hour), SUM(count), COUNT(*) FROM \(s).events GROUP BY 1;
            INSERT INTO \(s).rollup_day_profile (day, profile_id, downloads)
                SELECT \(day), profile_id, SUM(count) FROM \(s).events GROUP BY 1, 2;
            INSERT INTO \(s).rollup_day_file (day, file_id, downloads)
                SELECT \(day), file_id, SUM(count) FROM \(s).events GROUP BY 1, 2;
            INSERT INTO \(s).rollup_day_file_profile (day, file_id, profile_id, downloads)
                SELECT \(day), file_id, profile_id, SUM(count) FROM \(s).events GROUP BY 1, 2, 3;
            """
    }

    static func migrations(schema s: String) -> [(Int, String)] {
        let t = "TEXT COLLATE \"C\""
        return [
            (
                1,
                """
                CREATE TABLE \(s).meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
                CREATE TABLE \(s).files (
                    id INTEGER PRIMARY KEY,
                    filename \(t), project \(t), project_display \(t), version \(t), file_type \(t),
                    python_tag \(t), abi_tag \(t), platform_tag \(t)
                );
                CREATE TABLE \(s).profiles (
                    id INTEGER PRIMARY KEY,
                    installer \(t), installer_version \(t), python \(t), python_major \(t), python_minor \(t),
                    implementation \(t), implementation_version \(t), distro \(t), distro_version \(t), distro_id \(t),
                    system \(t), system_release \(t), cpu \(t), ci \(t), country \(t), index_name \(t)
                );
                CREATE TABLE \(s).clients (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, key \(t) NOT NULL UNIQUE);
                CREATE TABLE \(s).sources (
                    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                    fingerprint TEXT NOT NULL, name TEXT NOT NULL, format TEXT NOT NULL, index_name TEXT,
                    bytes BIGINT NOT NULL, lines BIGINT NOT NULL, tail_hash TEXT NOT NULL,
                    downloads BIGINT NOT NULL DEFAULT 0, other_requests BIGINT NOT NULL DEFAULT 0,
                    quarantined BIGINT NOT NULL DEFAULT 0,
                    first_event BIGINT, last_event BIGINT, ingested_at BIGINT NOT NULL
                );
                CREATE INDEX sources_fingerprint ON \(s).sources (fingerprint);
                CREATE TABLE \(s).ingest_runs (
                    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, source_id BIGINT NOT NULL REFERENCES \(s).sources(id),
                    started_at BIGINT NOT NULL, lines_read BIGINT NOT NULL, downloads BIGINT NOT NULL, seconds DOUBLE PRECISION NOT NULL
                );
                CREATE TABLE \(s).other_requests (
                    source_id BIGINT NOT NULL REFERENCES \(s).sources(id), kind TEXT NOT NULL, count BIGINT NOT NULL,
                    PRIMARY KEY (source_id, kind)
                );
                CREATE TABLE \(s).quarantine (
                    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                    source_id BIGINT NOT NULL REFERENCES \(s).sources(id), line BIGINT NOT NULL,
                    reason TEXT NOT NULL, raw TEXT NOT NULL
                );
                CREATE TABLE \(s).events (
                    ts BIGINT NOT NULL, file_id INTEGER NOT NULL, profile_id INTEGER NOT NULL, client_id BIGINT,
                    count BIGINT NOT NULL, source_id BIGINT NOT NULL
                );
                CREATE INDEX events_ts ON \(s).events USING brin (ts);
                \(downloadsViewSQL(schema: s, libc: false))
                """
            ),
            (
                2,
                """
                CREATE TABLE \(s).rollup_hour (hour BIGINT PRIMARY KEY, downloads BIGINT NOT NULL, events BIGINT NOT NULL);
                CREATE TABLE \(s).rollup_day_profile (
                    day BIGINT NOT NULL, profile_id INTEGER NOT NULL, downloads BIGINT NOT NULL, PRIMARY KEY (day, profile_id)
                );
                CREATE TABLE \(s).rollup_day_file (
                    day BIGINT NOT NULL, file_id INTEGER NOT NULL, downloads BIGINT NOT NULL, PRIMARY KEY (day, file_id)
                );
                CREATE TABLE \(s).rollup_day_file_profile (
                    day BIGINT NOT NULL, file_id INTEGER NOT NULL, profile_id INTEGER NOT NULL, downloads BIGINT NOT NULL,
                    PRIMARY KEY (day, file_id, profile_id)
                );
                \(rebuildRollupsSQL(schema: s))
                """
            ),
            (
                3,
                """
                ALTER TABLE \(s).sources ADD COLUMN head_hash TEXT NOT NULL DEFAULT '';
                """
            ),
            // An access log's request lines per hour and status code (downloads included): what
            // tells an outage or a gap in the log from a change in traffic (`log-health`).
            (
                4,
                """
                CREATE TABLE \(s).request_counts (
                    hour BIGINT NOT NULL, status INTEGER NOT NULL, source_id BIGINT NOT NULL, count BIGINT NOT NULL,
                    PRIMARY KEY (hour, status, source_id)
                );
                """
            ),
            (
                5,
                """
                DROP VIEW \(s).downloads;
                ALTER TABLE \(s).profiles ADD COLUMN libc \(t), ADD COLUMN libc_version \(t),
                    ADD COLUMN openssl \(t), ADD COLUMN openssl_version \(t);
                \(downloadsViewSQL(schema: s, libc: true))
                """
            ),
            (
                6,
                """
                CREATE TABLE \(s).watched_files (
                    device BIGINT NOT NULL, inode BIGINT NOT NULL,
                    path TEXT NOT NULL, head_hash TEXT NOT NULL, "offset" BIGINT NOT NULL,
                    size BIGINT NOT NULL, modified BIGINT NOT NULL,
                    source_id BIGINT REFERENCES \(s).sources(id),
                    finished BOOLEAN NOT NULL DEFAULT false,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (device, inode)
                );
                """
            ),
            (
                7,
                """
                CREATE TABLE \(s).catalog_projects (
                    name \(t) PRIMARY KEY, display_name \(t) NOT NULL, latest_version \(t),
                    last_serial BIGINT, newest_upload BIGINT, fingerprint \(t) NOT NULL
                );
                CREATE TABLE \(s).catalog_releases (
                    project \(t) NOT NULL, version \(t) NOT NULL, upload_time BIGINT,
                    has_metadata BOOLEAN NOT NULL, requires_dist_null BOOLEAN NOT NULL,
                    requires_python \(t), metadata_source \(t),
                    PRIMARY KEY (project, version)
                );
                CREATE TABLE \(s).catalog_files (
                    project \(t) NOT NULL, version \(t) NOT NULL, filename \(t) NOT NULL,
                    packagetype \(t) NOT NULL, python_version \(t), upload_time BIGINT,
                    yanked BOOLEAN NOT NULL, yanked_reason \(t), requires_python \(t),
                    size BIGINT, sha256 \(t), url \(t),
                    PRIMARY KEY (project, version, filename)
                );
                CREATE TABLE \(s).catalog_requirements (
                    project \(t) NOT NULL, version \(t) NOT NULL, position INTEGER NOT NULL,
                    requirement \(t) NOT NULL, name \(t), specifier \(t), marker \(t), extra \(t),
                    upload_time BIGINT,
                    PRIMARY KEY (project, version, position)
                );
                CREATE INDEX catalog_requirements_by_name ON \(s).catalog_requirements (name, upload_time);
                """
            )
        ]
    }

    /// Creates or migrates the schema; the client salt is created once, with the schema.
    static func migrate(_ c: PGConnection, schema: String, salt: () -> [UInt8]) throws {
        let s = SQL.ident(schema)
        try c.transaction {
            // One migrator at a time, even across processes.
            try c.execute("SELECT pg_advisory_xact_lock(hashtext('casebook-migrate:' || $1))", [schema])
            try c.execute("CREATE SCHEMA IF NOT EXISTS \(s)")
            try c.execute(
                "CREATE TABLE IF NOT EXISTS \(s).schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            let current = Int(try c.execute("SELECT COALESCE(MAX(version), 0) FROM \(s).schema_migrations").rows[0][0] ?? "0") ?? 0
            if current > currentVersion {
                throw PostgresStoreError.schemaTooNew(c.url.redacted, found: current, supported: currentVersion)
            }
            for (version, sql) in migrations(schema: s) where version > current {
                try c.execute(sql)
                try c.execute("INSERT INTO \(s).schema_migrations (version) VALUES ($1::int)", [String(version)])
            }
            try c.execute(
                "INSERT INTO \(s).meta (key, value) VALUES ('client_salt', decode($1, 'hex')) ON CONFLICT (key) DO NOTHING",
                [salt().hexString])
        }
    }
}
