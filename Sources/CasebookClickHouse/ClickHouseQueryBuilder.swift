import CasebookCore

/// Translates an ``AggregateQuery`` into one ClickHouse statement (valid on 18.16 and later)
/// whose rows come in ``AggregateTable``'s canonical order: bucket, downloads descending, values
/// ascending in byte order (ClickHouse compares strings as bytes, as SQLite does) with unknown
/// values last.
///
/// Buckets are computed with integer arithmetic on epoch seconds (exact also before 1970, and
/// free of `toStartOfWeek`, which 18.16 lacks); top-N per bucket is `LIMIT n BY bucket`. Every
/// query reads only committed ingests (``ClickHouseSchema/committed(_:removals:)``).
///
/// A query reads the smallest rollup that answers it exactly (``RollupTable/choose(for:)``, the
/// planner the SQLite and PostgreSQL stores share), summing its `downloads` and `events` (the
/// server may not have merged a rollup's rows yet), or else the events.
enum ClickHouseQueryBuilder {
    /// The rollup that answers `q` (`nil`: the events), and why none does.
    static func choose(for q: AggregateQuery, useRollups: Bool) -> (rollup: RollupTable?, reason: String?) {
        guard useRollups else { return (nil, "rollups disabled") }
        let chosen = RollupTable.choose(for: q)
        return (chosen.table, chosen.reason)
    }

    /// The relation that answers `q` in Casebook's tables of `database` (through their
    /// `Distributed` tables when `distributed`: a cluster's shards), and the plan. `removals`:
    /// whether the store has `removed_sources` (see ``ClickHouseSchema/committed(_:removals:)``).
    static func plan(
        for q: AggregateQuery, database: String, useRollups: Bool, distributed: Bool = false, removals: Bool = true
    ) -> (ClickHouseRelation, ClickHouseQueryPlan) {
        let (rollup, reason) = choose(for: q, useRollups: useRollups)
        let relation =
            rollup.map { ClickHouseRelation.rollup($0, database: database, distributed: distributed, removals: removals) }
            ?? .casebook(database, distributed: distributed, removals: removals)
        return (relation, ClickHouseQueryPlan(rollup: rollup, fallbackReason: reason, sql: sql(for: q, over: relation)))
    }

    static func bucketExpression(_ b: TimeBucket, ts: String = "ts") -> String {
        switch b {
        case .hour: "(\(ts) - (((\(ts) % 3600) + 3600) % 3600))"
        case .day: "(\(ts) - (((\(ts) % 86400) + 86400) % 86400))"
        // Weeks start on Monday: 1970-01-01 was a Thursday, three days after one.
        case .week: "(\(ts) - (((\(ts) + 259200) % 604800 + 604800) % 604800))"
        }
    }

    /// The statement for `q` over `relation` (Casebook's events or a rollup, or a table of
    /// another layout). Its columns: the bucket (when the query has one), one per dimension, the
    /// downloads and the number of events summed.
    static func sql(for q: AggregateQuery, over relation: ClickHouseRelation) -> String {
        var select: [String] = []
        var group: [String] = []
        if let b = q.bucket {
            select.append("\(bucketExpression(b, ts: relation.timestamp)) AS bucket")
            group.append("bucket")
        }
        for (i, d) in q.dimensions.enumerated() {
            select.append("\(relation.column(d)) AS d\(i)")
            group.append("d\(i)")
        }
        select.append("\(relation.downloads) AS downloads")
        select.append("\(relation.eventRows) AS event_rows")
        var wheres = relation.conditions + relation.range(q.range)
        for f in q.filters {
            let c = relation.column(f.dimension)
            if relation.encodesValues {
                // Unknown is a value like any other there (``ClickHouseSchema/encoded(_:)``).
                let list = f.values.map { ClickHouseSQL.literal(ClickHouseSchema.encoded($0)) }.joined(separator: ", ")
                switch f.operation {
                case .in: wheres.append(list.isEmpty ? "0" : "\(c) IN (\(list))")
                case .notIn: if !list.isEmpty { wheres.append("\(c) NOT IN (\(list))") }
                }
                continue
            }
            let known = f.values.compactMap { $0 }
            let hasNull = known.count != f.values.count
            let list = known.map(ClickHouseSQL.literal).joined(separator: ", ")
            switch f.operation {
            case .in:
                var parts: [String] = []
                if !known.isEmpty { parts.append("\(c) IN (\(list))") }
                if hasNull { parts.append("isNull(\(c))") }
                wheres.append(parts.isEmpty ? "0" : "(" + parts.joined(separator: " OR ") + ")")
            case .notIn:
                // NOT IN keeps unknown values unless unknown itself is excluded.
                switch (known.isEmpty, hasNull) {
                case (true, false): continue
                case (true, true): wheres.append("isNotNull(\(c))")
                case (false, true): wheres.append("(isNotNull(\(c)) AND \(c) NOT IN (\(list)))")
                case (false, false): wheres.append("(isNull(\(c)) OR \(c) NOT IN (\(list)))")
                }
            }
        }
        var sql = "SELECT " + select.joined(separator: ", ") + " FROM " + relation.from
        if !wheres.isEmpty { sql += " WHERE " + wheres.joined(separator: " AND ") }
        if !group.isEmpty { sql += " GROUP BY " + group.joined(separator: ", ") }
        // Unknown last: NULLS LAST, or the encoded unknown (a lone NUL byte, which would sort
        // first) after every known value, whose encoding keeps their byte order.
        let values = q.dimensions.indices.map {
            relation.encodesValues ? "d\($0) = '\\0' ASC, d\($0) ASC" : "d\($0) ASC NULLS LAST"
        }
        let order = (q.bucket != nil ? ["bucket ASC"] : []) + ["downloads DESC"] + values
        sql += " ORDER BY " + order.joined(separator: ", ")
        if let top = q.top {
            sql += q.bucket != nil ? " LIMIT \(max(0, top)) BY bucket" : " LIMIT \(max(0, top))"
        }
        return sql
    }

    /// Runs a query over `relation` and reads the rows into a table.
    static func run(_ q: AggregateQuery, over relation: ClickHouseRelation, on client: ClickHouseClient) throws -> AggregateTable {
        try table(q, over: relation, rows: client.rows(sql(for: q, over: relation)), location: client.url.redacted)
    }

    /// The table of the answer's rows (values decoded when `relation` encodes them); `location`
    /// names the store in the error for an answer of the wrong shape.
    static func table(_ q: AggregateQuery, over relation: ClickHouseRelation, rows answer: [[String?]], location: String) throws
        -> AggregateTable
    {
        let hasBucket = q.bucket != nil
        let n = q.dimensions.count
        var rows: [AggregateRow] = []
        for r in answer {
            let first = hasBucket ? 1 : 0
            guard r.count == first + n + 2 else {
                throw ClickHouseStoreError.queryFailed(
                    location, code: nil, message: "expected \(first + n + 2) columns in the answer, found \(r.count)")
            }
            // A sum over no events (no GROUP BY) is one row of zeros: no group.
            guard let downloads = r[first + n].flatMap({ Int64($0) }), let events = r[first + n + 1].flatMap({ Int64($0) }), events > 0
            else { continue }
            let bucket = hasBucket ? r[0].flatMap { Int64($0) } : nil
            var values = Array(r[first..<(first + n)])
            if relation.encodesValues { values = values.map { $0.flatMap(ClickHouseSchema.decoded) } }
            rows.append(AggregateRow(bucketStart: bucket, values: values, downloads: downloads))
        }
        return AggregateTable(bucket: q.bucket, dimensions: q.dimensions, rows: rows)
    }
}

/// What an aggregate query reads, in SQL: the table, the time and the downloads of its rows,
/// each dimension's expression, and the conditions every query applies. Casebook's own events
/// are one relation, each of its rollups another; a table of another layout
/// (``ClickPyEventStore``) is another, answered by the same statement builder.
struct ClickHouseRelation: Sendable {
    /// The `FROM` clause.
    var from: String
    /// The row's time, in epoch seconds.
    var timestamp: String
    /// The aggregate that sums downloads (`sum(count)`, or `count()` for one row per download).
    var downloads: String
    /// The aggregate that counts the events summed (`count()`, or `sum(events)` in a rollup).
    var eventRows = "count()"
    /// Whether dimension values are stored encoded (``ClickHouseSchema/encoded(_:)``, as in a
    /// rollup) rather than as nullable text.
    var encodesValues = false
    /// A dimension's value: `NULL` when unknown, or encoded when ``encodesValues``.
    var column: @Sendable (Dimension) -> String
    /// Conditions every query applies.
    var conditions: [String]
    /// The conditions that keep a time range.
    var range: @Sendable (TimeRange) -> [String]

    /// Casebook's committed events in `database` (on every shard when `distributed`: each shard
    /// keeps the rows its own `commits` has committed).
    static func casebook(_ database: String, distributed: Bool = false, removals: Bool = true) -> ClickHouseRelation {
        ClickHouseRelation(
            from: ClickHouseSchema.table(database, ClickHouseSchema.readName("events", distributed: distributed)), timestamp: "ts",
            downloads: "sum(count)",
            column: { ClickHouseSchema.column($0) }, conditions: [ClickHouseSchema.committed(database, removals: removals)],
            range: { r in
                var w: [String] = []
                if let from = r.from { w.append("ts >= \(from)") }
                if let to = r.to { w.append("ts < \(to)") }
                return w
            })
    }

    /// A rollup of Casebook's tables in `database`: committed rows, read at its granularity (the
    /// planner asks it only for ranges and buckets aligned to it).
    static func rollup(_ r: RollupTable, database: String, distributed: Bool = false, removals: Bool = true) -> ClickHouseRelation {
        let time = r.timeColumn
        return ClickHouseRelation(
            from: ClickHouseSchema.table(database, ClickHouseSchema.readName(r.rawValue, distributed: distributed)), timestamp: time,
            downloads: "sum(downloads)", eventRows: "sum(events)",
            encodesValues: true, column: { ClickHouseSchema.column($0) },
            conditions: [ClickHouseSchema.committed(database, removals: removals)],
            range: { range in
                var w: [String] = []
                if let from = range.from { w.append("\(time) >= \(from)") }
                if let to = range.to { w.append("\(time) < \(to)") }
                return w
            })
    }
}

/// How the ClickHouse store answers one aggregate query: the table it reads and the SQL.
public struct ClickHouseQueryPlan: Sendable, Hashable, CustomStringConvertible {
    /// The rollup read, or `nil` when the query reads the events.
    public var rollup: RollupTable?
    /// Why no rollup answers the query (`nil` when one does).
    public var fallbackReason: String?
    /// The statement sent to the server.
    public var sql: String

    /// The table read: a rollup's name, or `events`.
    public var table: String { rollup?.rawValue ?? "events" }

    public var description: String {
        "\(table)\(fallbackReason.map { " (\($0))" } ?? ""): \(sql)"
    }
}
