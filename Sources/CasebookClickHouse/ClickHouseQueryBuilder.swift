import CasebookCore

/// Translates an ``AggregateQuery`` into one ClickHouse statement (valid on 18.16 and later)
/// whose rows come in ``AggregateTable``'s canonical order: bucket, downloads descending, values
/// ascending in byte order (ClickHouse compares strings as bytes, as SQLite does) with unknown
/// values last.
///
/// Buckets are computed with integer arithmetic on epoch seconds (exact also before 1970, and
/// free of `toStartOfWeek`, which 18.16 lacks); top-N per bucket is `LIMIT n BY bucket`. Every
/// query reads only committed ingests (``ClickHouseSchema/committed(_:)``).
enum ClickHouseQueryBuilder {
    static func bucketExpression(_ b: TimeBucket, ts: String = "ts") -> String {
        switch b {
        case .hour: "(\(ts) - (((\(ts) % 3600) + 3600) % 3600))"
        case .day: "(\(ts) - (((\(ts) % 86400) + 86400) % 86400))"
        // Weeks start on Monday: 1970-01-01 was a Thursday, three days after one.
        case .week: "(\(ts) - (((\(ts) + 259200) % 604800 + 604800) % 604800))"
        }
    }

    /// The statement for `q` over the events of `database`. Its columns: the bucket (when the
    /// query has one), one per dimension, the downloads and the number of events summed.
    static func sql(for q: AggregateQuery, database: String) -> String {
        sql(for: q, over: .casebook(database))
    }

    /// The statement for `q` over `relation` (Casebook's events, or a table of another layout).
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
        select.append("count() AS event_rows")
        var wheres = relation.conditions + relation.range(q.range)
        for f in q.filters {
            let c = relation.column(f.dimension)
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
        let order = (q.bucket != nil ? ["bucket ASC"] : []) + ["downloads DESC"] + q.dimensions.indices.map { "d\($0) ASC NULLS LAST" }
        sql += " ORDER BY " + order.joined(separator: ", ")
        if let top = q.top {
            sql += q.bucket != nil ? " LIMIT \(max(0, top)) BY bucket" : " LIMIT \(max(0, top))"
        }
        return sql
    }

    /// Runs a query and reads the rows into a table.
    static func run(_ q: AggregateQuery, on client: ClickHouseClient) throws -> AggregateTable {
        try run(q, over: .casebook(client.url.database), on: client)
    }

    /// Runs a query over `relation` and reads the rows into a table.
    static func run(_ q: AggregateQuery, over relation: ClickHouseRelation, on client: ClickHouseClient) throws -> AggregateTable {
        let hasBucket = q.bucket != nil
        let n = q.dimensions.count
        var rows: [AggregateRow] = []
        for r in try client.rows(sql(for: q, over: relation)) {
            let first = hasBucket ? 1 : 0
            guard r.count == first + n + 2 else {
                throw ClickHouseStoreError.queryFailed(
                    client.url.redacted, code: nil, message: "expected \(first + n + 2) columns in the answer, found \(r.count)")
            }
            // A sum over no events (no GROUP BY) is one row of zeros: no group.
            guard let downloads = r[first + n].flatMap({ Int64($0) }), let events = r[first + n + 1].flatMap({ Int64($0) }), events > 0
            else { continue }
            let bucket = hasBucket ? r[0].flatMap { Int64($0) } : nil
            rows.append(AggregateRow(bucketStart: bucket, values: Array(r[first..<(first + n)]), downloads: downloads))
        }
        return AggregateTable(bucket: q.bucket, dimensions: q.dimensions, rows: rows)
    }
}

/// What an aggregate query reads, in SQL: the table, the time and the downloads of its rows,
/// each dimension's (nullable) expression, and the conditions every query applies. Casebook's
/// own events are one relation; a table of another layout (``ClickPyEventStore``) is another,
/// answered by the same statement builder.
struct ClickHouseRelation: Sendable {
    /// The `FROM` clause.
    var from: String
    /// The row's time, in epoch seconds.
    var timestamp: String
    /// The aggregate that sums downloads (`sum(count)`, or `count()` for one row per download).
    var downloads: String
    /// A dimension's value, `NULL` when unknown.
    var column: @Sendable (Dimension) -> String
    /// Conditions every query applies.
    var conditions: [String]
    /// The conditions that keep a time range.
    var range: @Sendable (TimeRange) -> [String]

    /// Casebook's committed events in `database`.
    static func casebook(_ database: String) -> ClickHouseRelation {
        ClickHouseRelation(
            from: ClickHouseSchema.table(database, "events"), timestamp: "ts", downloads: "sum(count)",
            column: { ClickHouseSchema.column($0) }, conditions: [ClickHouseSchema.committed(database)],
            range: { r in
                var w: [String] = []
                if let from = r.from { w.append("ts >= \(from)") }
                if let to = r.to { w.append("ts < \(to)") }
                return w
            })
    }
}
