import CasebookCore
import Foundation

/// The rollups of a ClickHouse store (schema version 2): the tables of ``RollupTable``, each a
/// `SummingMergeTree` kept by a materialized view over `events` (see ``ClickHouseSchema`` for
/// the mechanism, the migration from version 1 included).
///
/// A rollup row carries the `ingest_id` of the events it sums, so the committed-ingest filter
/// (``ClickHouseSchema/committed(_:)``) applies to it unchanged; the start of its hour or day
/// (epoch seconds); its dimensions' values inline, as `events` has them; and two sums,
/// `downloads` and `events` (event rows). A sorting key takes no `Nullable` column in 18.16, so
/// dimension values are stored encoded (``ClickHouseSchema/encoded(_:)``): unknown is a lone NUL
/// byte, and a known value that starts with NUL gets one more in front, so every value decodes
/// exactly.
enum ClickHouseRollups {
    /// The dimensions a rollup keeps, in column order (its sorting key after the time).
    static func dimensions(_ r: RollupTable) -> [CasebookCore.Dimension] {
        CasebookCore.Dimension.allCases.filter { d in
            switch StarSchema.column(d).table {
            case .files: r.hasFile
            case .profiles: r.hasProfile
            case .clients: false
            }
        }
    }

    /// The view that fills `r` from every insert into `events`.
    static func viewName(_ r: RollupTable) -> String { r.rawValue + "_mv" }

    /// The table holding the ingest ids whose events the migration to version 2 copies into the
    /// rollups (those committed before the views existed).
    static let backfillTable = "rollup_backfill"

    /// Rollup tables and the backfill table (idempotent).
    static func createStatements(database db: String) -> [String] {
        RollupTable.allCases.map { r in
            let dims = dimensions(r).map(ClickHouseSchema.column)
            let columns =
                (["ingest_id UInt64", "\(r.timeColumn) Int64"] + dims.map { "\($0) String" } + ["downloads Int64", "events Int64"])
            let key = ([r.timeColumn] + dims + ["ingest_id"]).joined(separator: ", ")
            return """
                CREATE TABLE IF NOT EXISTS \(ClickHouseSchema.table(db, r.rawValue)) (\(columns.joined(separator: ", ")))
                ENGINE = SummingMergeTree((downloads, events)) PARTITION BY toYYYYMM(toDateTime(\(r.timeColumn))) ORDER BY (\(key))
                """
        } + [
            "CREATE TABLE IF NOT EXISTS \(ClickHouseSchema.table(db, backfillTable)) (ingest_id UInt64) ENGINE = MergeTree ORDER BY ingest_id"
        ]
    }

    /// The rows of `r` summed from the events that `condition` keeps (all when `nil`), named as
    /// `r`'s columns: the view's query, and the backfill's.
    static func select(_ r: RollupTable, database db: String, where condition: String? = nil) -> String {
        let dims = dimensions(r).map(ClickHouseSchema.column)
        let time = "toInt64(\(RollupTable.floorSQL("ts", r.granularity))) AS \(r.timeColumn)"
        let columns =
            ["ingest_id", time] + dims.map { "\(ClickHouseSchema.encodedSQL($0)) AS \($0)" } + [
                "toInt64(sum(count)) AS downloads", "toInt64(count()) AS events"
            ]
        let group = (["ingest_id", r.timeColumn] + dims).joined(separator: ", ")
        return "SELECT \(columns.joined(separator: ", ")) FROM \(ClickHouseSchema.table(db, "events"))"
            + (condition.map { " WHERE \($0)" } ?? "") + " GROUP BY \(group)"
    }

    /// `INSERT INTO r (columns)`, in the order of ``select(_:database:where:)``.
    static func insertInto(_ r: RollupTable, database db: String) -> String {
        let columns = ["ingest_id", r.timeColumn] + dimensions(r).map(ClickHouseSchema.column) + ["downloads", "events"]
        return "INSERT INTO \(ClickHouseSchema.table(db, r.rawValue)) (\(columns.joined(separator: ", ")))"
    }

    /// The materialized view that keeps `r` (idempotent).
    static func createView(_ r: RollupTable, database db: String) -> String {
        "CREATE MATERIALIZED VIEW IF NOT EXISTS \(ClickHouseSchema.table(db, viewName(r))) TO \(ClickHouseSchema.table(db, r.rawValue)) AS "
            + select(r, database: db)
    }

    /// Builds the rollups of a store of version 1 (or a new one): see ``ClickHouseSchema``'s
    /// discussion. Every step can run again after a failure or a killed process; the caller
    /// records version 2 only after it returns.
    static func install(_ c: ClickHouseClient) throws {
        let db = c.url.database
        let meta = ClickHouseSchema.table(db, "meta")
        let snapshot = "SELECT ingest_id FROM \(ClickHouseSchema.table(db, backfillTable))"
        for sql in createStatements(database: db) { try c.execute(sql) }
        // 1. Which ingests the backfill copies: those committed now, before any view exists.
        if try c.scalar("SELECT count() FROM \(meta) WHERE key = 'rollup_snapshot'") == "0" {
            try c.execute(snapshotStatement(database: db))
            try c.execute("INSERT INTO \(meta) (key, value) VALUES ('rollup_snapshot', '1')")
        }
        // 2. From here on every insert into `events` also reaches the rollups.
        for r in RollupTable.allCases { try c.execute(createView(r, database: db)) }
        // 3. The snapshot's events, copied once: rows of an earlier attempt that died part-way
        // are deleted first (only the backfill writes those ingest ids into a rollup: they were
        // committed before the views existed).
        for r in RollupTable.allCases {
            let table = ClickHouseSchema.table(db, r.rawValue)
            if try c.scalar("SELECT count() FROM \(table) WHERE ingest_id IN (\(snapshot))") != "0" {
                try c.execute("ALTER TABLE \(table) DELETE WHERE ingest_id IN (\(snapshot))")
                try waitForMutations(c, table: r.rawValue)
            }
            try c.execute(backfillStatement(r, database: db))
        }
    }

    /// Step 1 of ``install(_:)``: the ids of the committed ingests, into the backfill table.
    static func snapshotStatement(database db: String) -> String {
        "INSERT INTO \(ClickHouseSchema.table(db, backfillTable)) SELECT DISTINCT ingest_id FROM \(ClickHouseSchema.table(db, "commits"))"
    }

    /// Step 3 of ``install(_:)`` for `r`: the snapshot's events, summed into `r`.
    static func backfillStatement(_ r: RollupTable, database db: String) -> String {
        let snapshot = "SELECT ingest_id FROM \(ClickHouseSchema.table(db, backfillTable))"
        return insertInto(r, database: db) + " " + select(r, database: db, where: "ingest_id IN (\(snapshot))")
    }

    /// Waits until the server has applied every mutation (`ALTER ... DELETE`) of `table`:
    /// 18.16 runs them in the background and has no setting to wait for them.
    static func waitForMutations(_ c: ClickHouseClient, table: String) throws {
        let sql = """
            SELECT count() FROM system.mutations WHERE database = \(ClickHouseSQL.literal(c.url.database)) \
            AND table = \(ClickHouseSQL.literal(table)) AND is_done = 0
            """
        let deadline = Date().addingTimeInterval(c.url.timeout)
        while try c.scalar(sql) != "0" {
            guard Date() < deadline else {
                throw ClickHouseStoreError.queryFailed(
                    c.url.redacted, code: nil,
                    message:
                        "deleting a partial rollup backfill from `\(table)` did not finish within \(Int(c.url.timeout)) s; see system.mutations on the server, then open the store again (a longer ?timeout=SECONDS waits longer)"
                )
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Drops the views (before the tables they write into, or the database, are dropped).
    static func dropViews(_ c: ClickHouseClient) throws {
        for r in RollupTable.allCases {
            try c.execute("DROP TABLE IF EXISTS \(ClickHouseSchema.table(c.url.database, viewName(r)))")
        }
    }
}

extension ClickHouseSchema {
    /// A dimension value as a rollup stores it: unknown (`nil`) is a lone NUL byte; a known value
    /// that starts with NUL gets one more NUL in front; any other value is itself. The encoding
    /// keeps byte order among known values, so only unknown needs care when sorting.
    static func encoded(_ value: String?) -> String {
        guard let value else { return "\0" }
        return value.utf8.first == 0 ? "\0" + value : value
    }

    /// The value ``encoded(_:)`` encoded (exact for every value).
    static func decoded(_ stored: String) -> String? {
        guard stored.utf8.first == 0 else { return stored }
        return stored.utf8.count == 1 ? nil : String(decoding: stored.utf8.dropFirst(), as: UTF8.self)
    }

    /// ``encoded(_:)`` in SQL, over the `events` column `column` (`Nullable(String)`).
    static func encodedSQL(_ column: String) -> String {
        "ifNull(concat(if(substring(\(column), 1, 1) = '\\0', '\\0', ''), \(column)), '\\0')"
    }
}
