import CasebookCore

/// Casebook's own tables in a ClickHouse database, created by the first ingest.
///
/// ClickHouse 18.16 allows one `JOIN` per `SELECT`, so, unlike the star schema of the SQLite and
/// PostgreSQL stores, `events` carries every dimension's value inline (a column store keeps a
/// repeated value in little space): one `MergeTree` ordered by time, partitioned by month. Its
/// dimension columns are named as ``StarSchema`` names them (``column(_:)``), so every backend
/// reads a dimension from the same place.
///
/// **All-or-nothing ingest, without transactions.** ClickHouse has no multi-statement
/// transactions, and 18.16 deduplicates inserts only in replicated tables. Every ingest therefore
/// draws a random 64-bit *ingest id*, and every row it writes (events, quarantined lines,
/// request counts) carries it. Only when all of them are written does the ingest insert one row
/// into `commits` (a single-row insert, which ClickHouse applies atomically); that row is also
/// the source's record (fingerprint, bytes and lines consumed, tail hash, counts). Every read
/// keeps only rows whose ingest id is in `commits`, so an ingest that fails or whose process
/// dies has left rows that no query sees (and that its own failure path deletes when it can).
/// A source's state is the sum of its commits (its latest, by `commit_seq`, microseconds since
/// 1970, for name, bytes, lines and hashes), so a file already ingested (the same fingerprint) is
/// recognised and adds nothing.
///
/// One ingest at a time per store: ClickHouse has no locks, and two processes ingesting the same
/// new file at the same moment would both record it.
///
/// **Rollups (version 2).** The same rollups as the other stores (``RollupTable``: per hour; per
/// day × file, × profile, × file × profile) are `SummingMergeTree` tables (`rollup_hour`,
/// `rollup_day_profile`, `rollup_day_file`, `rollup_day_file_profile`), each kept by a
/// materialized view (`rollup_..._mv`, `CREATE MATERIALIZED VIEW ... TO rollup_... AS SELECT ...
/// FROM events GROUP BY ...`) that the server runs on every block inserted into `events`. A
/// rollup row keeps the `ingest_id` of the events it sums, so the committed-ingest filter applies
/// to it unchanged: an ingest that is killed leaves rollup rows that no query reads, and the
/// failure path deletes them with its events. Rows with the same key are summed only when the
/// server merges parts, so queries always aggregate (`sum(downloads)`, `sum(events)`). Dimension
/// values are encoded, because a sorting key takes no `Nullable` column in 18.16 (see
/// ``encoded(_:)``; ``ClickHouseRollups``).
///
/// **Migration to version 2** (at a writable open of a version 1 store, and when a store is
/// created). Rows must reach a rollup exactly once, either through a view or through the
/// backfill, never both: (1) the ids of the ingests committed so far are copied into
/// `rollup_backfill`, *before* any view exists, and `meta` records that the snapshot was taken;
/// (2) the views are created, so every later insert into `events` reaches the rollups; (3) the
/// events of the snapshot's ingests are summed into each rollup (`INSERT INTO rollup_... SELECT
/// ... FROM events WHERE ingest_id IN rollup_backfill`). Those ingests were committed, hence fully
/// written, before the views existed, so no view wrote any of their rows, and ingests the
/// snapshot lacks reach the rollups only through the views. The version is recorded last; a
/// migration that died part-way is run again from the start, keeping its snapshot, and deletes
/// whatever an earlier backfill wrote before copying again (only the backfill writes the
/// snapshot's ingest ids into a rollup). Until version 2 is recorded, queries read the events.
/// An ingest running (by an older Casebook) while another process migrates may be counted
/// partly: one ingest at a time, as above.
///
/// **Several servers (a cluster, `?cluster=NAME&shards=...`).** Each shard is a server holding
/// all of the tables above in the same database, as a store of its own: its events, rollups and
/// views, and the `commits` rows of the ingests it holds. Every ingest is written whole to one
/// shard (chosen by its source id, so a source's ingests stay together), its commit row too, so
/// the committed-ingest filter holds on each shard with its own `commits`: a query over the
/// shards sends `ingest_id IN (SELECT ingest_id FROM commits)` to each, which reads its local
/// `commits`, and a killed ingest stays invisible there as on one server. The server the URL
/// names also has a `Distributed` table over each shared table (`dist_events`, `dist_commits`,
/// `dist_rollup_day_file`, ...; no `ON CLUSTER`, which needs ZooKeeper: Casebook creates each
/// shard's tables over HTTP), through which every query and every source lookup reads all
/// shards at once. The client salt is the same on every shard (the URL's server's, copied to
/// the others when their tables are created). The imported catalog lives on the URL's server only.
///
/// **Removing a source (version 3).** `casebook sources remove` inserts one row into
/// `removed_sources` (a single-row insert, atomic like a commit), and the committed-ingest filter
/// keeps only ingests of sources not listed there, so the source's events, rollup rows,
/// quarantined lines and request counts vanish from every query at once. Its rows are then
/// deleted (mutations the server applies in the background). Its `commits` rows stay, hidden, so
/// its id is never given to another source; the same file ingested again is a new source. In a
/// cluster the row goes to every shard, the source's own shard last (its filter is the one that
/// hides the rows).
///
/// **The registry of followed files (version 3)** that `casebook watch` keeps: `watched_files`
/// holds one row per change of a file's state, never updated in place; a file's state is its row
/// of the highest `seq` (microseconds since 1970, increasing). A row written with an ingest's
/// lines carries the ingest's id, on the ingest's shard, and counts only once that ingest is
/// committed, so the offset and the lines become visible together; a row written alone (a file
/// marked finished, moved, or with nothing to read yet) has ingest id 0 and counts at once. A
/// file whose source was removed is forgotten.
///
/// **The imported catalog** (`casebook catalog import`) lives in five more tables, versioned the
/// same way: each import batch draws an *import id* (increasing: microseconds since 1970, then
/// random bits), writes every project it adds or replaces whole under that id into
/// `catalog_projects`, `catalog_releases`, `catalog_files` and `catalog_requirements`, and then
/// inserts one row into `catalog_imports`. A project's current rows are those of the highest
/// committed import id that wrote it (``catalogCurrent(_:names:)``): a replaced project's older
/// rows are shadowed, not deleted, and a batch without its `catalog_imports` row is never seen.
/// They are created with the other tables and need no new schema version (an older Casebook
/// ignores them; a store made before them gets them at its next writable open or import).
enum ClickHouseSchema {
    /// The version of the tables this Casebook writes (kept in `meta`): 1, events and commits;
    /// 2, the rollups and their views; 3, removed sources and the registry of followed files.
    static let currentVersion = 3

    /// The first version with rollups.
    static let rollupVersion = 2

    /// The first version with `removed_sources` and `watched_files` (read only from stores that
    /// have them: a version 2 store opened to read lacks both).
    static let removalVersion = 3

    /// The `events` column holding `dimension`: ``StarSchema``'s column name (`client_key` for
    /// the client's key, which the star schema keeps in `clients.key`).
    static func column(_ dimension: Dimension) -> String {
        let c = StarSchema.column(dimension)
        return c.table == .clients ? "client_key" : c.name
    }

    /// The dimension and detail columns of `events`, in insert order (after the fixed columns).
    static let eventTextColumns = [
        "project", "project_display", "version", "filename", "file_type", "python_tag", "abi_tag", "platform_tag",
        "installer", "installer_version", "python", "python_major", "python_minor", "implementation", "implementation_version",
        "distro", "distro_version", "distro_id", "libc", "libc_version", "openssl", "openssl_version",
        "system", "system_release", "cpu", "ci", "country", "index_name", "client_key"
    ]

    /// The fixed columns of `events`, before the text ones.
    static let eventFixedColumns = ["ingest_id", "source_id", "ts", "count"]

    /// The columns of `commits`, in insert order.
    static let commitColumns = [
        "ingest_id", "source_id", "fingerprint", "head_hash", "name", "format", "index_name", "bytes", "lines", "tail_hash",
        "downloads", "event_rows", "other_kinds", "other_counts", "quarantined", "first_event", "last_event", "lines_read",
        "seconds", "committed_at", "commit_seq"
    ]

    /// `db.table`, quoted.
    static func table(_ db: String, _ name: String) -> String { "\(ClickHouseSQL.ident(db)).\(name)" }

    /// The condition that keeps only committed rows of sources not removed (see the type's
    /// discussion); `removals: false` for a store older than ``removalVersion``, which has no
    /// `removed_sources`.
    static func committed(_ db: String, removals: Bool = true) -> String {
        removals
            ? "ingest_id IN (SELECT ingest_id FROM \(table(db, "commits")) WHERE \(notRemoved(db)))"
            : "ingest_id IN (SELECT ingest_id FROM \(table(db, "commits")))"
    }

    /// The condition on a `source_id` column that keeps sources not removed.
    static func notRemoved(_ db: String) -> String {
        "source_id NOT IN (SELECT source_id FROM \(table(db, "removed_sources")))"
    }

    /// The statements that create the tables (each is idempotent).
    static func createStatements(database db: String) -> [String] {
        let text = eventTextColumns.map { "\($0) Nullable(String)" }.joined(separator: ", ")
        return [
            "CREATE DATABASE IF NOT EXISTS \(ClickHouseSQL.ident(db))",
            "CREATE TABLE IF NOT EXISTS \(table(db, "meta")) (key String, value String) ENGINE = MergeTree ORDER BY key",
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "events")) (
                ingest_id UInt64, source_id Int64, ts Int64, count Int64, \(text)
            ) ENGINE = MergeTree PARTITION BY toYYYYMM(toDateTime(ts)) ORDER BY ts
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "commits")) (
                ingest_id UInt64, source_id Int64, fingerprint String, head_hash String, name String, format String,
                index_name Nullable(String), bytes Int64, lines Int64, tail_hash String, downloads Int64, event_rows Int64,
                other_kinds Array(String), other_counts Array(Int64), quarantined Int64,
                first_event Nullable(Int64), last_event Nullable(Int64), lines_read Int64, seconds Float64, committed_at Int64,
                commit_seq Int64
            ) ENGINE = MergeTree ORDER BY (source_id, ingest_id)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "quarantine")) (
                ingest_id UInt64, source_id Int64, line Int64, reason String, raw String
            ) ENGINE = MergeTree ORDER BY (source_id, line)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "request_counts")) (
                ingest_id UInt64, hour Int64, status Int32, count Int64
            ) ENGINE = MergeTree ORDER BY (hour, status)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "removed_sources")) (source_id Int64, removed_at Int64)
            ENGINE = MergeTree ORDER BY source_id
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "watched_files")) (
                ingest_id UInt64, seq Int64, device UInt64, inode UInt64, path String, head_hash String, offset Int64,
                size Int64, modified Int64, source_id Nullable(Int64), finished UInt8
            ) ENGINE = MergeTree ORDER BY (device, inode, seq)
            """
        ] + catalogCreateStatements(database: db)
    }

    /// The imported catalog's tables (see the type's discussion), `catalog_imports` last: when it
    /// exists, so do the others.
    ///
    /// `catalog_releases` keeps each release's `requires_dist` texts (an array, in order), so a
    /// project is read from three tables ordered by project; `catalog_requirements` is the
    /// reverse-dependency index, ordered by required name and upload time (a sorting key takes no
    /// `Nullable` column in 18.16: `has_upload_time` says whether `upload_time` is known).
    static func catalogCreateStatements(database db: String) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "catalog_projects")) (
                import_id UInt64, name String, deleted UInt8, display_name String, latest_version Nullable(String),
                last_serial Nullable(Int64), newest_upload Nullable(Int64), fingerprint String
            ) ENGINE = MergeTree ORDER BY (name, import_id)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "catalog_releases")) (
                import_id UInt64, project String, version String, upload_time Nullable(Int64), has_metadata UInt8,
                requires_dist_null UInt8, requires_python Nullable(String), metadata_source Nullable(String),
                requires_dist Array(String)
            ) ENGINE = MergeTree ORDER BY (project, import_id, version)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "catalog_files")) (
                import_id UInt64, project String, version String, filename String, packagetype String,
                python_version Nullable(String), upload_time Nullable(Int64), yanked UInt8, yanked_reason Nullable(String),
                requires_python Nullable(String), size Nullable(Int64), sha256 Nullable(String), url Nullable(String)
            ) ENGINE = MergeTree ORDER BY (project, import_id, version, filename)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "catalog_requirements")) (
                import_id UInt64, name String, has_upload_time UInt8, upload_time Int64, project String, version String,
                position Int64, requirement String, specifier Nullable(String), marker Nullable(String), extra Nullable(String)
            ) ENGINE = MergeTree ORDER BY (name, upload_time, project, version, position)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(table(db, "catalog_imports")) (
                import_id UInt64, committed_at Int64, projects Int64
            ) ENGINE = MergeTree ORDER BY import_id
            """
        ]
    }

    /// `(name, import_id)` of every current project (or of those whose name is in `names`, an SQL
    /// set such as `('a', 'b')` or a subquery): the newest committed import that wrote each,
    /// unless that import deleted it.
    static func catalogCurrent(_ db: String, names: String? = nil) -> String {
        """
        SELECT name, max(import_id) FROM \(table(db, "catalog_projects"))
        WHERE import_id IN (SELECT import_id FROM \(table(db, "catalog_imports")))\(names.map { " AND name IN \($0)" } ?? "")
        GROUP BY name HAVING argMax(deleted, import_id) = 0
        """
    }

    /// The tables read across the shards of a cluster, each through `dist_<name>`.
    static let distributedTables = ["events", "commits", "quarantine", "request_counts"] + RollupTable.allCases.map(\.rawValue)

    /// The name through which `name` is read: `dist_<name>` in a cluster, else `name` itself.
    static func readName(_ name: String, distributed: Bool) -> String { distributed ? "dist_" + name : name }

    /// The `Distributed` tables over every shard's tables (idempotent), on the server that runs
    /// the queries.
    static func distributedStatements(database db: String, cluster: String) -> [String] {
        distributedTables.map { name in
            "CREATE TABLE IF NOT EXISTS \(table(db, "dist_" + name)) AS \(table(db, name)) ENGINE = Distributed("
                + "\(ClickHouseSQL.literal(cluster)), \(ClickHouseSQL.literal(db)), \(ClickHouseSQL.literal(name)))"
        }
    }

    /// Whether the database has every `Distributed` table of a cluster store.
    static func distributedExist(_ c: ClickHouseClient) throws -> Bool {
        let db = ClickHouseSQL.literal(c.url.database)
        let names = distributedTables.map { ClickHouseSQL.literal("dist_" + $0) }.joined(separator: ", ")
        return try c.scalar("SELECT count() FROM system.tables WHERE database = \(db) AND name IN (\(names))")
            == String(distributedTables.count)
    }

    /// The client salt recorded in `meta` (the smallest, see ``migrate(_:salt:to:)``), if any.
    static func salt(_ c: ClickHouseClient) throws -> String? {
        try c.scalar("SELECT min(value) FROM \(table(c.url.database, "meta")) WHERE key = 'client_salt'").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the store has the imported catalog's tables.
    static func catalogExists(_ c: ClickHouseClient) throws -> Bool {
        let db = ClickHouseSQL.literal(c.url.database)
        return try c.scalar("SELECT count() FROM system.tables WHERE database = \(db) AND name = 'catalog_imports'") == "1"
    }

    /// Creates the tables when missing, checks the version, builds the rollups of a store older
    /// than version 2 (see the type's discussion) and creates the client salt once.
    /// Two first ingests racing may both write a salt: every reader takes the smallest, so all
    /// agree once both are written.
    /// `target` is the version to reach (an older one only in tests, to make a store as an
    /// older Casebook left it).
    static func migrate(_ c: ClickHouseClient, salt: () -> [UInt8], to target: Int = currentVersion) throws {
        let db = c.url.database
        for sql in createStatements(database: db) { try c.execute(sql) }
        let meta = table(db, "meta")
        let version = try storedVersion(c)
        if version > currentVersion {
            throw ClickHouseStoreError.schemaTooNew(c.url.redacted, found: version, supported: currentVersion)
        }
        if version < rollupVersion, target >= rollupVersion { try ClickHouseRollups.install(c) }
        if version < target {
            try c.execute("INSERT INTO \(meta) (key, value) VALUES ('schema_version', '\(target)')")
        }
        if try c.scalar("SELECT count() FROM \(meta) WHERE key = 'client_salt'") == "0" {
            try c.execute("INSERT INTO \(meta) (key, value) VALUES ('client_salt', \(ClickHouseSQL.literal(salt().hexString)))")
        }
    }

    /// The version recorded in `meta` (0 when none).
    static func storedVersion(_ c: ClickHouseClient) throws -> Int {
        let sql = "SELECT max(toInt64OrZero(value)) FROM \(table(c.url.database, "meta")) WHERE key = 'schema_version'"
        return try c.scalar(sql).flatMap { Int($0) } ?? 0
    }

    /// Drops the database of `c`'s URL and everything in it, the rollups' views first (so that
    /// none is left writing into a table being dropped).
    static func drop(_ c: ClickHouseClient) throws {
        let db = ClickHouseSQL.literal(c.url.database)
        if try c.scalar("SELECT count() FROM system.databases WHERE name = \(db)") != "0" { try ClickHouseRollups.dropViews(c) }
        try c.execute("DROP DATABASE IF EXISTS \(ClickHouseSQL.ident(c.url.database))")
    }

    /// Whether the database holds Casebook's tables.
    static func exists(_ c: ClickHouseClient) throws -> Bool {
        let db = ClickHouseSQL.literal(c.url.database)
        return try c.scalar("SELECT count() FROM system.tables WHERE database = \(db) AND name IN ('events', 'commits', 'meta')") == "3"
    }
}
